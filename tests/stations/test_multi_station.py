"""Eight stations at once on one database: real processes, separate card stores.

Different customers: every sale goes through, serials stay strict, the ledger equals the
credit the meters applied. One customer's card copied into eight stations, sold to at once:
exactly one sale wins, the others are refused with a clear error, nothing is charged twice.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from station_kit import HERE, Site, check_ledger_matches_purchases, credited_centi, open_customer

STATIONS = [f"s{i}" for i in range(1, 9)]
LOSING_CODES = {"sale_in_progress", "card_mismatch", "card_not_swiped"}


def run_workers(site: Site, config: dict, stations: list[str]) -> list[dict]:
    workers = [
        site.popen(
            json.dumps(config),
            station=name,
            argv0=[sys.executable, str(HERE / "station_worker.py")],
        )
        for name in stations
    ]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        reports.append(json.loads(out))
    return reports


def ledger_by_customer(site: Site) -> dict[str, int]:
    rows = site.sql(
        "SELECT c.user_number, sum(l.quantity_centi) FROM vending_ledgerentry l "
        "JOIN customers_customer c ON c.id = l.customer_id "
        "WHERE l.kind IN ('sale', 'reversal', 'transfer') GROUP BY c.user_number"
    )
    return {number: int(total) for number, total in rows}


def test_eight_stations_sell_to_their_own_customers(site):
    for name in STATIONS:
        site.add_station(name)
    config = {"customers": 2, "account": site.account, "price": site.price, "rounds": 5}
    reports = run_workers(site, config, STATIONS)
    assert [r["refusals"] for r in reports] == [{}] * 8
    assert sum(r["sales"] for r in reports) == 8 * 2 * 5
    applied = {n: c for r in reports for n, c in r["applied_centi"].items()}
    assert len(applied) == 16
    assert ledger_by_customer(site) == applied
    serials = site.sql(
        "SELECT customer_account_id, count(*), max(serial) FROM vending_purchase "
        "WHERE status = 'completed' GROUP BY customer_account_id"
    )
    assert sorted((count, top) for _, count, top in serials) == [(6, 6)] * 16
    # Registered at the same moment by eight stations: consecutive user numbers, first try.
    numbers = sorted(int(n) for (n,) in site.sql("SELECT user_number FROM customers_customer"))
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    check_ledger_matches_purchases(site)
    assert site.json("audit", "verify")["ok"]


def sell_everywhere(site: Site, image: bytes) -> list[tuple[str, dict]]:
    for name in STATIONS:
        site.put_card(name, "u1", image)
    sellers = [site.popen("sell", "--quantity", "2", "--json", station=name) for name in STATIONS]
    results = []
    for name, seller in zip(STATIONS, sellers, strict=True):
        out, err = seller.communicate(timeout=300)
        assert seller.returncode in (0, 1), err[-3000:]
        results.append((name, json.loads(out)))
    return results


def test_one_card_copied_into_eight_stations_one_sale_wins(site):
    for name in STATIONS:
        site.add_station(name)
    number, meter = open_customer(site)
    image, now = site.card("site", "u1"), 1_700_001_000
    for round_ in range(3):
        results = sell_everywhere(site, image)
        winners = [name for name, doc in results if "error" not in doc]
        codes = Counter(doc["error"] for _, doc in results if "error" in doc)
        assert len(winners) == 1, results
        assert set(codes) <= LOSING_CODES, codes
        assert dict(results)[winners[0]]["serial"] == round_ + 2
        now += 60
        assert site.swipe(meter, winners[0], "u1", now).ok
        image = site.card(winners[0], "u1")
    check_ledger_matches_purchases(site)
    applied = credited_centi(meter)
    assert ledger_by_customer(site) == {number: applied}
    assert applied == 1000 + 3 * 200
    assert site.json("audit", "verify")["ok"]

"""A sale retried with the same request key (``--key``) is charged once and answers with
the first result: a lost reply, a double click, a station restarted mid-sale."""

from __future__ import annotations

import json

from station_kit import check_ledger_matches_purchases, open_customer

SAME = ("purchase_id", "serial", "quantity", "amount", "status")


def bookings(site, key: str) -> int:
    return int(
        site.sql(
            "SELECT count(*) FROM vending_ledgerentry WHERE idempotency_key = %s", f"{key}:book"
        )[0][0]
    )


def test_lost_reply_retry_returns_the_first_result(site):
    open_customer(site)
    first = site.json("sell", "--quantity", "2", "--key", "lost-1")
    again = site.json("sell", "--quantity", "2", "--key", "lost-1")
    assert {k: again[k] for k in SAME} == {k: first[k] for k in SAME}
    assert bookings(site, "lost-1") == 1
    check_ledger_matches_purchases(site)


def test_double_click_at_one_station_is_charged_once(site):
    open_customer(site)
    clicks = [
        site.popen("sell", "--quantity", "2", "--key", "click-1", "--json", station="site")
        for _ in range(2)
    ]
    results = [json.loads(click.communicate(timeout=120)[0]) for click in clicks]
    # The station's reader is held for a whole sale: the second click waits for the first
    # and answers with its result.
    assert all("error" not in r for r in results), results
    first, second = results
    assert {k: second[k] for k in SAME} == {k: first[k] for k in SAME}
    retry = site.json("sell", "--quantity", "2", "--key", "click-1")
    assert retry["purchase_id"] == first["purchase_id"]
    assert bookings(site, "click-1") == 1
    check_ledger_matches_purchases(site)

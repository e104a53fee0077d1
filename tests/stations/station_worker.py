"""One station selling through the service layer, as a process of its own.

Used by the multi-station tests and by ``bench/stations.py``::

    PREPAID_HOME=… DATABASE_URL=… PREPAID_STATION=s1 PREPAID_PASSWORD=… \\
        python station_worker.py '{"customers": 2, "account": 1, "price": 1, "rounds": 5}'

The station registers its ``customers``; each gets a card in this station's store
(formatted, opened with 10.00) and a simulated meter set by a setting card. Then it sells
to them in turn — ``rounds`` times, or for ``seconds`` — swiping each card into its meter
after each sale; with a ``barrier`` directory it first writes ``ready-NAME`` there and
waits for the file ``go`` (holding the start time). Prints one JSON document: sales,
latencies, refusals, and per customer the credit the meter applied.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

QUANTITIES = ("1.00", "2.50", "3.75", "0.50")


@dataclass
class Counter:
    station: Any
    store: Any
    account: Any
    price: Any
    clock: int = 1_700_000_000
    meters: dict[str, Any] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    keys: int = 0

    def key(self) -> str:
        self.keys += 1
        return f"{self.station.name}-{os.getpid()}-{self.keys}"

    def tick(self) -> int:
        self.clock += 60
        return self.clock

    def swipe(self, user_number: str) -> None:
        from prepaid.core.card import codec

        reader = self.station.reader
        outcome = self.meters[user_number].swipe(reader.read(), self.station.site_key, self.tick())
        assert outcome.ok, outcome.result
        reader.write(outcome.meter_area, codec.METER_AREA.start)
        self.applied[user_number] = self.applied.get(user_number, 0) + outcome.applied_centi


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepaid.settings")
    import django

    django.setup()


def make_counter(config: dict[str, Any]) -> Counter:
    from prepaid.accounts.models import Account, Price
    from prepaid.home import DataHome, default_home
    from prepaid.operators.services import authenticate_cli
    from prepaid.readers.virtual import CardStore, VirtualReader
    from prepaid.vending.services import Station

    home = DataHome(default_home())
    store = CardStore(home.cards)
    operator = authenticate_cli("admin", os.environ["PREPAID_PASSWORD"])
    station = Station(
        operator=operator,
        reader=VirtualReader(store),
        site_key=home.load_secrets().card_key,
        name=os.environ["PREPAID_STATION"],
    )
    return Counter(
        station,
        store,
        Account.objects.get(pk=config["account"]),
        Price.objects.get(pk=config["price"]),
    )


def register(counter: Counter, name: str) -> Any:
    """Register a customer: the stations register at the same moment, and each gets the
    next user number at the first try."""
    from prepaid.customers.services import register_customer

    return register_customer(counter.station.operator, name=name)


def open_customer(counter: Counter, index: int) -> str:
    """A customer registered, a new card opened with 10.00, a meter set and swiped once."""
    from prepaid.cards.services import format_card, make_tool_card
    from prepaid.core.card import codec
    from prepaid.core.meter import new_meter
    from prepaid.vending.services import open_account

    customer = register(counter, f"{counter.station.name}-{index}")
    user_number = customer.user_number

    setting, card = f"setting-{user_number}", f"u{user_number}"
    counter.store.create(setting, codec.blank_image())
    counter.store.insert(setting)
    make_tool_card(counter.station, "setting", counter.account)
    meter = new_meter(f"M{user_number}", counter.tick())
    assert meter.swipe(counter.station.reader.read(), counter.station.site_key, counter.tick()).ok
    counter.meters[user_number] = meter
    counter.store.create(card, codec.blank_image())
    counter.store.insert(card)
    format_card(counter.station)
    open_account(
        counter.station, customer, counter.account, counter.price, quantity="10", key=counter.key()
    )
    counter.swipe(user_number)
    return user_number


def sell_once(counter: Counter, user_number: str, turn: int, report: dict[str, Any]) -> None:
    from prepaid.core.errors import PrepaidError
    from prepaid.vending.services import sell

    counter.store.insert(f"u{user_number}")
    started = time.perf_counter()
    try:
        sell(counter.station, quantity=QUANTITIES[turn % len(QUANTITIES)], key=counter.key())
    except PrepaidError as exc:
        report["refusals"][exc.code] = report["refusals"].get(exc.code, 0) + 1
        return
    report["latencies_ms"].append((time.perf_counter() - started) * 1000)
    report["sales"] += 1
    counter.swipe(user_number)


def wait_for_go(config: dict[str, Any], name: str) -> float:
    """Tell the barrier this station is ready; wait for the go file; the start time."""
    barrier = config.get("barrier")
    if not barrier:
        return time.time()
    with open(os.path.join(barrier, f"ready-{name}"), "w") as handle:
        handle.write("ready")
    go = os.path.join(barrier, "go")
    while not os.path.exists(go):
        time.sleep(0.01)
    time.sleep(0.01)  # the file is written before it is renamed into place
    return float(open(go).read())


def sell_loop(
    counter: Counter, customers: list[str], config: dict[str, Any], start: float
) -> dict[str, Any]:
    report: dict[str, Any] = {"sales": 0, "latencies_ms": [], "refusals": {}}
    time.sleep(max(0.0, start - time.time()))
    deadline = start + config.get("seconds", 1e9)
    turn = 0
    while turn < config.get("rounds", 10**9) * len(customers) and time.time() < deadline:
        sell_once(counter, customers[turn % len(customers)], turn // len(customers), report)
        turn += 1
    report["elapsed_s"] = time.time() - start
    return report


def main() -> None:
    config = json.loads(sys.argv[1])
    setup_django()
    counter = make_counter(config)
    customers = [open_customer(counter, index) for index in range(config["customers"])]
    start = wait_for_go(config, counter.station.name)
    report = sell_loop(counter, customers, config, start)
    report["applied_centi"] = counter.applied
    report["station"] = counter.station.name
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()

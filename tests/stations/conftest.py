"""Several stations on one database.

In-process tests get ``two_stations``: one office (account, price, customer) and two
stations with their own card stores, as two counters of one office would be. The
multi-process tests use ``shared_site`` (see ``site.py``): a database every station process
reaches through one ``DATABASE_URL`` — a fresh database on the run's PostgreSQL server when
``PREPAID_TEST_DATABASE=postgres``, else one SQLite file shared by all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from prepaid.core.card import codec
from prepaid.core.meter import Meter, new_meter
from prepaid.readers.virtual import CardStore, VirtualReader
from prepaid.vending.services import Station


@dataclass
class Counter:
    """One station of the office with its own card store."""

    station: Station
    store: CardStore

    def take(self, other: Counter, name: str) -> None:
        """Copy a card from another station's store into this one and insert it."""
        image = other.store.path(name).read_bytes()
        if self.store.exists(name):
            self.store.path(name).write_bytes(image)
        else:
            self.store.create(name, image)
        self.store.insert(name)

    def new_card(self, name: str) -> None:
        from prepaid.cards.services import format_card

        self.store.create(name, codec.blank_image())
        self.store.insert(name)
        format_card(self.station)


@dataclass
class TwoStations:
    one: Counter
    two: Counter
    account: object
    price: object
    customer: object
    site_key: bytes
    clock: int = 1_700_000_000

    def meter(self, counter: Counter, meter_id: str) -> Meter:
        """A meter cleared and set with a setting card made at ``counter``."""
        from prepaid.cards.services import make_tool_card

        inserted = counter.store.inserted()
        meter = new_meter(meter_id, self.tick())
        counter.store.create(f"setting-{meter_id}", codec.blank_image())
        counter.store.insert(f"setting-{meter_id}")
        make_tool_card(counter.station, "setting", self.account)
        assert meter.swipe(counter.station.reader.read(), self.site_key, self.tick()).ok
        if inserted:
            counter.store.insert(inserted)
        return meter

    def swipe(self, counter: Counter, meter: Meter) -> object:
        outcome = meter.swipe(counter.station.reader.read(), self.site_key, self.tick())
        if outcome.meter_area is not None:
            counter.station.reader.write(outcome.meter_area, codec.METER_AREA.start)
        return outcome

    def tick(self) -> int:
        self.clock += 60
        return self.clock


def _counter(admin, root: Path, site_key: bytes, name: str) -> Counter:
    store = CardStore(root / name)
    store.root.mkdir()
    station = Station(operator=admin, reader=VirtualReader(store), site_key=site_key, name=name)
    return Counter(station, store)


@pytest.fixture
def two_stations(admin, tmp_path, site_key) -> TwoStations:
    from prepaid.accounts.services import add_price, create_account
    from prepaid.customers.services import register_customer

    account = create_account(
        admin,
        meter_type="water",
        sub_meter=1,
        limit="999",
        prestore="5",
        alarm="10",
        overdraft="5",
        maintenance_code="1234",
    )
    price = add_price(admin, account_id=account.pk, name="居民用水", unit_price="3.45")
    customer = register_customer(admin, name="李四", phone="13900000000", address="和平路2号")
    one = _counter(admin, tmp_path, site_key, "counter-1")
    two = _counter(admin, tmp_path, site_key, "counter-2")
    return TwoStations(one, two, account, price, customer, site_key)


@pytest.fixture
def site(request, tmp_path):
    """A site on a fresh database (PostgreSQL or SQLite, as the run says), initialised, with
    a water account and a price; stations are added with ``site.add_station(name)``."""
    import uuid

    from station_kit import Site, database_url_for

    url = database_url_for(request, f"site_{uuid.uuid4().hex[:12]}")
    site = Site(tmp_path, url)
    site.init()
    site.account, site.price = site.water_account()
    return site

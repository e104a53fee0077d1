"""A small office for vending tests: one water account with a flat and a tiered price, a
registered customer, a station with a virtual reader, and simulated meters."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from prepaid.core.card import codec
from prepaid.core.meter import Meter, new_meter
from prepaid.readers.virtual import CardStore, VirtualReader
from prepaid.vending.services import Station

_keys = itertools.count(1)


def _key() -> str:
    return f"test-key-{next(_keys)}"


@pytest.fixture
def key():
    """A function giving a fresh request key (idempotency key) at each call."""
    return _key


@dataclass
class Office:
    station: Station
    store: CardStore
    account: object
    price: object
    tiered: object
    customer: object
    site_key: bytes
    clock: int = 1_700_000_000

    def blank(self, name: str) -> None:
        self.store.create(name, codec.blank_image())

    def insert(self, name: str) -> None:
        self.store.insert(name)

    def new_card(self, name: str) -> None:
        from prepaid.cards.services import format_card

        self.blank(name)
        self.insert(name)
        format_card(self.station)

    def meter(self, meter_id: str = "M1") -> Meter:
        """A meter cleared and set with the account's setting card."""
        from prepaid.cards.services import make_tool_card

        meter = new_meter(meter_id, self.clock)
        inserted = self.store.inserted()
        name = f"setting-{meter_id}"
        self.blank(name)
        self.insert(name)
        make_tool_card(self.station, "setting", self.account)
        outcome = meter.swipe(self.station.reader.read(), self.site_key, self.tick())
        assert outcome.ok, outcome.result
        if inserted:
            self.insert(inserted)
        return meter

    def tick(self) -> int:
        self.clock += 60
        return self.clock

    def swipe(self, meter: Meter):
        """Insert the card in the reader into the meter; the meter writes back."""
        outcome = meter.swipe(self.station.reader.read(), self.site_key, self.tick())
        if outcome.meter_area is not None:
            self.station.reader.write(outcome.meter_area, codec.METER_AREA.start)
        return outcome


@pytest.fixture
def office(admin, tmp_path, site_key) -> Office:
    store = CardStore(tmp_path / "cards")
    store.root.mkdir()
    station = Station(
        operator=admin, reader=VirtualReader(store), site_key=site_key, name="counter-1"
    )
    return build_office(station, store)


def build_office(station: Station, store) -> Office:
    """The office every vending test starts from, on the station's reader; ``store`` is the
    card store of that reader (virtual or emulated chips)."""
    account, price, tiered, customer = office_records(station.operator)
    return Office(station, store, account, price, tiered, customer, station.site_key)


def office_records(admin):
    """One water account (limit 999, pre-stored 5, alarm 10, overdraft 5, code 1234) with a
    flat and a tiered price, and one customer: what the vending and web tests count on."""
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
    tiered = add_price(
        admin,
        account_id=account.pk,
        name="阶梯水价",
        tiers="0-180:5.00,180-260:7.00,260-:9.00",
        period="year",
    )
    customer = register_customer(admin, name="张三", phone="13800000000", address="幸福路1号")
    return account, price, tiered, customer

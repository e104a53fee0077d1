"""One demo office history for the whole report test group, played once.

The demo runs inside a transaction that is rolled back when the group ends, so the rest of
the suite still starts from an empty database. Tests read it (each test's own changes are
rolled back by pytest-django as usual). ``PREPAID_TEST_DEMO`` = ``customers,months,seed``
plays another history (e.g. ``60,12,11``).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import pytest

DEMO = tuple(int(x) for x in os.environ.get("PREPAID_TEST_DEMO", "40,10,7").split(","))
DEMO_PASSWORD = "Demo-admin-pw1"
# The demo and the small offices beside it are one site on one database: one card key.
SITE_KEY = secrets.token_bytes(32)


@dataclass
class Demo:
    result: Any  # prepaid.demo.generator.DemoResult
    admin: Any
    site_key: bytes
    seconds: float

    @property
    def record(self) -> Any:
        return self.result.record


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker):
    from django.test import override_settings

    from prepaid.demo.generator import DemoConfig, generate
    from prepaid.operators.models import Operator, Role
    from rolled_back import rolled_back

    customers, months, seed = DEMO
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        with rolled_back():  # a test's kind: the demo's use cases run inside it
            admin = Operator(username="demo-admin", role=Role.ADMIN, is_staff=True)
            admin.set_password(DEMO_PASSWORD)
            admin.save()
            key = SITE_KEY
            started = time.perf_counter()
            result = generate(admin, key, DemoConfig(customers=customers, months=months, seed=seed))
            seconds = time.perf_counter() - started
            print(
                f"\ndemo: {customers} customers × {months} months, seed {seed}: "
                f"{result.record.sales} sales in {seconds:.1f} s"
            )
            yield Demo(result, admin, key, seconds)


# -- a small office of its own, for tests that change things ----------------------------------


@dataclass
class SmallOffice:
    """One heat account (sub-meter 4, free beside the demo's), a customer with a card, a
    meter, and stations for an operator and an administrator."""

    admin: Any
    clerk: Any
    account: Any
    price: Any
    customer: Any
    store: Any
    site_key: bytes
    meter: Any
    counter: int = 0

    def station(self, operator: Any = None, name: str = "desk-1") -> Any:
        from prepaid.readers.virtual import VirtualReader
        from prepaid.vending.services import Station

        return Station(
            operator=operator or self.clerk,
            reader=VirtualReader(self.store),
            site_key=self.site_key,
            name=name,
        )

    def key(self) -> str:
        self.counter += 1
        return f"small-office-{id(self)}-{self.counter}"

    def open(self, **wanted: str) -> Any:
        """Open the customer's account on the user card in the reader: ``quantity=`` or
        ``amount=``, as the clerk at desk-1."""
        from prepaid.vending import services as vending

        self.store.insert("user")
        return vending.open_account(
            self.station(), self.customer, self.account, self.price, key=self.key(), **wanted
        )

    def swipe(self) -> Any:
        from prepaid.core.card import codec
        from prepaid.readers.virtual import VirtualReader

        reader = VirtualReader(self.store)
        self.meter.clock += 60
        outcome = self.meter.swipe(reader.read(), self.site_key, self.meter.clock)
        if outcome.meter_area is not None:
            reader.write(outcome.meter_area, codec.METER_AREA.start)
        return outcome


@pytest.fixture
def small_office(db, tmp_path):
    from prepaid.accounts.services import add_price, create_account
    from prepaid.cards.services import format_card, make_tool_card
    from prepaid.core.card import codec
    from prepaid.core.meter import new_meter
    from prepaid.customers.services import register_customer
    from prepaid.operators.models import Operator, Role
    from prepaid.readers.virtual import CardStore

    admin = Operator(username="office-admin", role=Role.ADMIN, is_staff=True)
    admin.set_password("Office-admin-1")
    admin.save()
    clerk = Operator(username="office-clerk", role=Role.OPERATOR)
    clerk.set_password("Office-clerk-1")
    clerk.save()
    store = CardStore(tmp_path / "cards")
    store.root.mkdir()
    account = create_account(
        admin,
        meter_type="heat",
        sub_meter=4,
        limit="500",
        prestore="2",
        alarm="5",
        overdraft="2",
        maintenance_code="4321",
        name="热",
    )
    price = add_price(admin, account_id=account.pk, name="居民供热", unit_price="45.00")
    customer = register_customer(clerk, name="王五", phone="13900000000", address="暖气路1号")
    office = SmallOffice(
        admin,
        clerk,
        account,
        price,
        customer,
        store,
        SITE_KEY,
        new_meter("H1", 1_700_000_000),
    )
    store.create("setting", codec.blank_image())
    store.insert("setting")
    make_tool_card(office.station(admin), "setting", account)
    assert office.meter.swipe(store.path("setting").read_bytes(), office.site_key, 1_700_000_001).ok
    store.create("user", codec.blank_image())
    store.insert("user")
    format_card(office.station(admin))
    return office

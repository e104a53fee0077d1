"""Fixtures of the web tests: a data directory (secrets, card store, meters) the web layer
uses through ``settings.HOME``, logged-in clients, and a small office set up by the services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prepaid.home import DataHome

_keys = itertools.count(1)


@pytest.fixture
def web_home(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> DataHome:
    from prepaid.web import station

    home = DataHome(tmp_path / "data")
    home.create_dirs()
    home.ensure_secrets()
    settings.HOME = home
    monkeypatch.setenv("PREPAID_READER", "virtual")
    monkeypatch.setenv("PREPAID_STATION", "web-test")
    monkeypatch.delenv("PREPAID_WEB_CARD_STORE", raising=False)
    monkeypatch.delenv("PREPAID_WEB_IDLE_MINUTES", raising=False)
    station._secrets.cache_clear()
    return home


@pytest.fixture
def admin_client(client: Any, admin: Any, web_home: DataHome) -> Any:
    client.force_login(admin)
    return client


@pytest.fixture
def clerk_client(clerk: Any, web_home: DataHome) -> Any:
    from django.test import Client

    other = Client()
    other.force_login(clerk)
    return other


@dataclass
class WebOffice:
    """An office set up through the services; the tests drive it through the web pages."""

    home: DataHome
    admin: Any
    account: Any
    price: Any
    tiered: Any
    customer: Any

    @property
    def store(self) -> Any:
        from prepaid.readers.virtual import CardStore

        return CardStore(self.home.cards)

    @property
    def site_key(self) -> bytes:
        return self.home.load_secrets().card_key

    def station(self) -> Any:
        from prepaid.readers.virtual import VirtualReader
        from prepaid.vending.services import Station

        return Station(
            operator=self.admin,
            reader=VirtualReader(self.store),
            site_key=self.site_key,
            name="web-test",
        )

    def blank(self, name: str) -> None:
        from prepaid.core.card.codec import blank_image

        self.store.create(name, blank_image())

    def insert(self, name: str) -> None:
        self.store.insert(name)

    def new_card(self, name: str) -> None:
        from prepaid.cards.services import format_card

        self.blank(name)
        self.insert(name)
        format_card(self.station())

    def meter(self, meter_id: str = "M1") -> str:
        """A simulated meter, cleared and set with the account's setting card."""
        from prepaid.cards.services import make_tool_card
        from prepaid.web import simulator

        inserted = self.store.inserted()
        simulator.add(meter_id)
        self.blank(f"setting-{meter_id}")
        self.insert(f"setting-{meter_id}")
        make_tool_card(self.station(), "setting", self.account)
        assert simulator.swipe(meter_id, self.station()).outcome.ok
        if inserted:
            self.insert(inserted)
        return meter_id

    def swipe(self, meter_id: str = "M1") -> Any:
        from prepaid.web import simulator

        return simulator.swipe(meter_id, self.station()).outcome

    def open(self, card: str = "u1", quantity: str = "10") -> Any:
        """The customer opened on the flat price with a new card ``card`` in the reader."""
        from prepaid.vending.services import open_account

        self.new_card(card)
        return open_account(
            self.station(),
            self.customer,
            self.account,
            self.price,
            quantity=quantity,
            key=f"setup-{next(_keys)}",
        )


@pytest.fixture
def office(admin: Any, web_home: DataHome) -> WebOffice:
    from vending.conftest import office_records

    account, price, tiered, customer = office_records(admin)
    return WebOffice(web_home, admin, account, price, tiered, customer)

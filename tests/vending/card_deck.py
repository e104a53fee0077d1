"""Every card an office may find in its reader, made through the services: the rows of the
card operation matrix (tests/vending/test_card_operation_matrix.py, and its samples through
the CLI and the web pages).

A deck is built on an office (one water account with its price, and the customer 张三): a
second account (electricity, sub-meter 2), two more customers — 李四 with a card of his own,
王五 registered without one — and a meter set for the water account, on which 张三's card
``own`` was opened, swiped and read back. :data:`CARDS` then puts one card in the reader.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prepaid.core.card import codec
from prepaid.core.card.model import Card, CardType, MeterType, Slot
from prepaid.core.errors import PrepaidError
from prepaid.core.meter import Meter, new_meter
from prepaid.readers.virtual import CardStore, VirtualReader

_keys = itertools.count(1)
OWN = "own"  # 张三's card in the card store
CARD = "card"  # the name of any other card put in the reader


def key() -> str:
    return f"deck-{os.getpid()}-{next(_keys)}"


@dataclass
class Deck:
    station: Any
    store: CardStore
    account: Any  # water, sub-meter 1
    price: Any
    customer: Any  # 张三: opened on ``account`` with card ``own``, swiped
    account2: Any  # electricity, sub-meter 2: no one is open on it
    price2: Any
    neighbour: Any  # 李四: a card of his own on ``account``
    newcomer: Any  # 王五: registered, no card
    meter: Meter
    clock: int = 1_700_000_000

    def tick(self) -> int:
        self.clock += 60
        return self.clock

    def blank(self, name: str = CARD) -> None:
        self.store.create(name, codec.blank_image())
        self.store.insert(name)

    def new_card(self, name: str = CARD) -> None:
        from prepaid.cards.services import format_card

        self.blank(name)
        format_card(self.station)

    def swipe(self) -> Any:
        """Insert the card in the reader into the meter; the meter writes back."""
        reader = self.station.reader
        outcome = self.meter.swipe(reader.read(), self.station.site_key, self.tick())
        if outcome.meter_area is not None:
            reader.write(outcome.meter_area, codec.METER_AREA.start)
        return outcome

    def cutting(self, cut_after: int) -> Any:
        """This station with a reader whose writes are cut after ``cut_after`` bytes."""
        from prepaid.vending.services import Station

        station = self.station
        reader = VirtualReader(self.store, cut_after=cut_after)
        return Station(station.operator, reader, station.site_key, station.name)

    def flip(self, name: str, *offsets: int) -> None:
        path = self.store.path(name)
        image = bytearray(path.read_bytes())
        for offset in offsets:
            image[offset] ^= 0xFF
        path.write_bytes(bytes(image))


def _recorded_models() -> tuple[Any, ...]:
    """Everything a card operation can add a row to."""
    from prepaid.audit.models import AuditEntry
    from prepaid.cards.models import CardOperation
    from prepaid.reports.models import WriteBackObservation
    from prepaid.vending.models import (
        CustomerAccount,
        CustomerCard,
        LedgerEntry,
        MeterChange,
        Purchase,
    )

    return (
        Purchase,
        LedgerEntry,
        CustomerCard,
        CustomerAccount,
        CardOperation,
        MeterChange,
        WriteBackObservation,
        AuditEntry,
    )


class Snapshot:
    """What a refusal must leave as it was: the card store (the cards' bytes and which card
    is in the reader) and the rows of everything a card operation can add."""

    def __init__(self, deck: Deck) -> None:
        self.deck = deck
        self.files = self._files()
        self.rows = self._rows()

    def _files(self) -> dict[str, bytes]:
        root = self.deck.store.root
        return {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}

    def _rows(self) -> dict[str, int]:
        return {model.__name__: model.objects.count() for model in _recorded_models()}

    def changes(self) -> list[str]:
        files, rows = self._files(), self._rows()
        names = sorted(set(files) | set(self.files))
        changed = [f"card {name}" for name in names if files.get(name) != self.files.get(name)]
        changed += [f"{name} +{rows[name] - n}" for name, n in self.rows.items() if rows[name] != n]
        return changed

    def put_back(self) -> None:
        root = self.deck.store.root
        for path in root.iterdir():
            if path.is_file() and path.name not in self.files:
                path.unlink()
        for name, content in self.files.items():
            (root / name).write_bytes(content)


def build_deck(station: Any, store: CardStore, account: Any, price: Any, customer: Any) -> Deck:
    """The deck on an office set up by ``office_records`` (tests/vending/conftest.py)."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.cards.services import make_tool_card
    from prepaid.customers.services import register_customer
    from prepaid.vending import services as vending

    admin = station.operator
    account2 = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="999",
        prestore="5",
        alarm="10",
        overdraft="5",
        maintenance_code="1234",
    )
    price2 = add_price(admin, account_id=account2.pk, name="居民用电", unit_price="0.50")
    neighbour = register_customer(admin, name="李四", phone="13900000000", address="幸福路2号")
    newcomer = register_customer(admin, name="王五", phone="13700000000", address="幸福路3号")
    meter = new_meter("M1", Deck.clock)
    deck = Deck(
        station, store, account, price, customer, account2, price2, neighbour, newcomer, meter
    )
    deck.blank("setting-M1")
    make_tool_card(station, "setting", account)
    assert deck.swipe().ok
    deck.new_card(OWN)
    vending.open_account(station, customer, account, price, quantity="10", key=key())
    assert deck.swipe().ok
    vending.read_user_card(station)  # the swipe seen (and recorded) once
    return deck


# -- the cards ---------------------------------------------------------------------------


def _blank(deck: Deck) -> None:
    deck.blank()


def _new(deck: Deck) -> None:
    deck.new_card()


def _own(deck: Deck) -> None:
    deck.store.insert(OWN)


def _own_unswiped(deck: Deck) -> None:
    """张三's card with a second purchase the meter has not taken yet."""
    from prepaid.vending import services as vending

    deck.store.insert(OWN)
    vending.sell(deck.station, quantity="1", key=key())


def _neighbours(deck: Deck) -> None:
    """李四's card in use, its first purchase not swiped yet."""
    from prepaid.vending import services as vending

    deck.new_card()
    vending.open_account(
        deck.station, deck.neighbour, deck.account, deck.price, quantity="10", key=key()
    )


def _revoked(deck: Deck) -> None:
    """张三's card replaced by a reissue (the new card is kept elsewhere)."""
    from prepaid.vending import services as vending

    deck.new_card("reissued")
    vending.reissue(deck.station, deck.customer, key=key())
    deck.store.insert(OWN)


def _recycled(deck: Deck) -> None:
    """张三's revoked card recycled (卡片回收): a new card again."""
    from prepaid.cards.services import recycle_card

    _revoked(deck)
    recycle_card(deck.station)


def _unwritten_first_card(deck: Deck) -> None:
    """李四's first card, registered by his opening, whose write was cut before its first
    byte: a new card still, that the office knows as his card in use (his first purchase
    pending)."""
    from prepaid.vending import services as vending

    deck.new_card()
    try:
        vending.open_account(
            deck.cutting(0), deck.neighbour, deck.account, deck.price, quantity="10", key=key()
        )
    except PrepaidError as exc:
        assert exc.code == "card_removed", exc.code
    else:
        raise AssertionError("the write was not cut")
    deck.store.insert(CARD)


def _unwritten_reissue(deck: Deck) -> None:
    """张三's card reissued onto a new card whose write was cut before its first byte: his
    card in use as the office knows it, a new card still (his old card is revoked)."""
    from prepaid.vending import services as vending

    deck.new_card()
    try:
        vending.reissue(deck.cutting(0), deck.customer, key=key())
    except PrepaidError as exc:
        assert exc.code == "card_removed", exc.code
    else:
        raise AssertionError("the write was not cut")
    deck.store.insert(CARD)


def _tool(tool: str) -> Callable[[Deck], None]:
    def make(deck: Deck) -> None:
        from prepaid.cards.services import make_tool_card

        deck.blank()
        make_tool_card(deck.station, tool, deck.account)

    make.__doc__ = f"A {tool} card of the water account."
    return make


def _check_with_reading(deck: Deck) -> None:
    """A check card swiped on 张三's meter: it carries the meter's reading."""
    _tool("check")(deck)
    assert deck.swipe().ok


def _check_with_recorded_reading(deck: Deck) -> None:
    """A check card swiped on 张三's meter, its reading recorded (记录表计读数)."""
    from prepaid.reports.writebacks import record_check_reading

    _check_with_reading(deck)
    assert record_check_reading(deck.station).new


def _of_another_site(deck: Deck) -> None:
    """A user card of 张三's number written under another site's key."""
    card = Card(
        type=CardType.USER,
        serial=codec.new_serial(),
        generation=1,
        user_number=int(deck.customer.user_number),
        slots=(Slot(1, MeterType.WATER, 1234, 1, 1000),),
    )
    deck.store.create(CARD, codec.encode(card, b"\x01" * 32))
    deck.store.insert(CARD)


def _torn_sale(deck: Deck) -> None:
    """张三's card pulled out while a sale wrote it: all but the last byte of the office area
    written, so it fails its check; the purchase is left pending."""
    from prepaid.vending import services as vending

    deck.store.insert(OWN)
    size = codec.OFFICE_AREA.stop - codec.OFFICE_AREA.start
    try:
        vending.sell(deck.cutting(size - 1), quantity="1", key=key())
    except PrepaidError as exc:
        assert exc.code == "card_removed", exc.code
    else:
        raise AssertionError("the write was not cut")
    deck.store.insert(OWN)


def _torn_format(deck: Deck) -> None:
    """A blank card pulled out while it was formatted: no serial the office registered."""
    from prepaid.cards.services import format_card

    deck.store.create(CARD, codec.blank_image())
    deck.store.insert(CARD)
    try:
        format_card(deck.cutting(40))
    except PrepaidError as exc:
        assert exc.code == "card_removed", exc.code
    else:
        raise AssertionError("the write was not cut")
    deck.store.insert(CARD)


def _damaged(deck: Deck) -> None:
    """张三's card with a byte of its office MAC flipped: its serial still says whose it is."""
    deck.store.insert(OWN)
    deck.flip(OWN, codec.OFFICE_MAC_AREA.start + 5)


def _meter_write_torn(deck: Deck) -> None:
    """张三's card pulled out while the meter wrote back (a byte of the meter's record
    flipped): the office's part is whole, the meter's fails its check."""
    deck.store.insert(OWN)
    deck.flip(OWN, codec.METER_AREA.start + 5)


def _garbled(deck: Deck) -> None:
    """张三's card with a byte of its serial flipped: it shows no serial of this office."""
    deck.store.insert(OWN)
    deck.flip(OWN, codec.HEADER_AREA.start + 9)


def _garbage(deck: Deck) -> None:
    """256 bytes of no system at all."""
    deck.store.create(CARD, bytes((n * 37 + 11) % 256 for n in range(codec.CARD_SIZE)))
    deck.store.insert(CARD)


def _wrong_size(deck: Deck) -> None:
    """An image of 100 bytes: another kind of chip, or a truncated card file."""
    deck.store.create(CARD, b"\x00" * 100)
    deck.store.insert(CARD)


def _no_card(deck: Deck) -> None:
    deck.store.eject()


CARDS: dict[str, Callable[[Deck], None]] = {
    "blank": _blank,
    "new": _new,
    "own": _own,
    "own unswiped": _own_unswiped,
    "neighbour's": _neighbours,
    "revoked": _revoked,
    "recycled": _recycled,
    "unwritten first card": _unwritten_first_card,
    "unwritten reissue": _unwritten_reissue,
    "setting": _tool("setting"),
    "clear-all": _tool("clear-all"),
    "zero": _tool("zero"),
    "check": _tool("check"),
    "check with reading": _check_with_reading,
    "check with recorded reading": _check_with_recorded_reading,
    "another site": _of_another_site,
    "torn sale": _torn_sale,
    "torn format": _torn_format,
    "damaged": _damaged,
    "meter write torn": _meter_write_torn,
    "garbled": _garbled,
    "garbage": _garbage,
    "wrong size": _wrong_size,
    "no card": _no_card,
}

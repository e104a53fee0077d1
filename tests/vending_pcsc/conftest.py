"""The vending office of ``tests/vending`` on a real PC/SC stack: pcscd + vpcd + emulated cards.

The ``office`` fixture here is the one of ``tests/vending/conftest.py`` — the same ``Office``
helper and the same account, prices and customer — with two things changed: the station
writes through a ``PcscReader``, and the cards are emulated chips (``EmulatedCards``, which
has the card store's interface). Putting another card in the reader takes the one there out
and waits until pcscd has seen the change; a meter swipe reads and writes the card through
the same reader. Every test runs once per card profile: SLE4442 (ACS dialect) and Mifare
Classic 1K with separate read (A) and write (B) keys.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from prepaid.readers.pcsc import PcscReader
from prepaid.readers.testing_stack import READER_NAME, EmulatedCards, PcscStack
from prepaid.vending.services import Station
from vending.conftest import Office, build_office

# The site's card secrets: the emulated cards come personalised with them.
SITE_PSC = bytes.fromhex("3C5A7E")
SITE_MIFARE_KEYS = bytes.fromhex("A0A1A2A3A4A5B0B1B2B3B4B5")  # key A reads, key B writes

_keys = itertools.count(1)


@pytest.fixture
def key():
    """A function giving a fresh request key (idempotency key) at each call."""
    return lambda: f"pcsc-key-{next(_keys)}"


@pytest.fixture(params=["sle4442", "mifare1k"])
def card_profile(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def cards(pcsc_stack: PcscStack, card_profile: str) -> Iterator[EmulatedCards]:
    cards = EmulatedCards(pcsc_stack, card_profile, psc=SITE_PSC, mifare_key=SITE_MIFARE_KEYS)
    yield cards
    cards.eject()


@pytest.fixture
def office(admin, site_key: bytes, cards: EmulatedCards, card_profile: str) -> Office:

    reader = PcscReader.from_settings(
        reader_pattern=READER_NAME,
        profile=card_profile,
        psc=SITE_PSC,
        mifare_key=SITE_MIFARE_KEYS,
        dialect="acs",
    )
    station = Station(operator=admin, reader=reader, site_key=site_key, name="counter-1")
    return build_office(station, cards)  # the numbers the reused tests count on

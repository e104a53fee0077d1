"""``EmulatedCards``: named emulated chips changed in the stack's reader like card files."""

from __future__ import annotations

import pytest

from prepaid.readers.pcsc import PcscReader
from prepaid.readers.testing_stack import READER_NAME, EmulatedCards, PcscStack

PSC = bytes.fromhex("5A1C3E")
MIFARE_KEYS = bytes.fromhex("A0A1A2A3A4A5B0B1B2B3B4B5")  # key A reads, key B writes


def image(seed: int) -> bytes:
    return bytes((seed + 7 * index) % 256 for index in range(256))


@pytest.mark.pcsc
@pytest.mark.parametrize("profile", ["sle4442", "mifare1k"])
def test_cards_are_changed_in_the_reader_like_card_files(pcsc_stack: PcscStack, profile: str):
    cards = EmulatedCards(pcsc_stack, profile, psc=PSC, mifare_key=MIFARE_KEYS)
    reader = PcscReader.from_settings(READER_NAME, profile, PSC, MIFARE_KEYS)
    kept = slice(0x20, 0x100) if profile == "sle4442" else slice(0, 0x100)  # SLE: factory area
    try:
        cards.create("a", image(1))
        cards.create("b", image(2))
        assert cards.names() == ["a", "b"] and cards.inserted() is None
        assert not reader.card_present()

        cards.insert("a")
        assert cards.inserted() == "a"
        assert reader.read() == cards.image("a") and cards.image("a")[kept] == image(1)[kept]
        first_serial = reader.serial()

        cards.insert("b")  # takes "a" out first
        assert cards.inserted() == "b" and reader.serial() != first_serial
        reader.write(b"\x01\x02", 0x40)  # with the site's PSC / key B
        assert cards.image("b")[0x40:0x42] == b"\x01\x02"
        assert cards.image("a")[kept] == image(1)[kept]

        assert cards.eject() == "b" and cards.inserted() is None
        assert not reader.card_present()
        with pytest.raises(ValueError):
            cards.create("a", image(3))
    finally:
        cards.eject()

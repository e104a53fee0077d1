"""The PC/SC reader backend: pure parts first, then through a real pcscd + vpcd + emulator."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.utils import translation

from prepaid.core.errors import InvalidInput, ReaderError
from prepaid.readers import pcsc as pcsc_module
from prepaid.readers.base import CardReader
from prepaid.readers.emulator import (
    MIFARE_1K_ATR,
    SLE4442_ATR,
    EmulatedCard,
    MifareClassic1kCard,
    Sle4442Card,
    VpcdEmulator,
    make_access_bytes,
)
from prepaid.readers.pcsc import (
    Mifare1kProfile,
    MifareKeySlots,
    PcscReader,
    Sle4442Profile,
    _changed_runs,
    command_for_log,
    mifare_block,
    mifare_key_slots,
    response_for_log,
)
from prepaid.readers.testing_stack import READER_NAME, PcscStack

InsertCard = Callable[..., VpcdEmulator]  # the insert_card fixture (tests/pcsc_fixtures.py)

PSC = bytes.fromhex("5A1C3E")
MIFARE_KEY = bytes.fromhex("A0A1A2A3A4A5")
MIFARE_KEY_B = bytes.fromhex("B0B1B2B3B4B5")
FACTORY = bytes.fromhex("A2131091FFFF8115FFFFD27600000400") + bytes(range(0x10, 0x20))
IRREVERSIBLE = ("ffd1", "ffd2")  # write protection memory, change PSC


def sle_card(counter: int = 0x07, psc: bytes = PSC) -> Sle4442Card:
    memory = bytearray(256)
    memory[:32] = FACTORY
    memory[32:] = b"\xff" * 224  # a fresh chip reads FF
    return Sle4442Card(memory=memory, psc=psc, error_counter=counter)


def mifare_card(key_a: bytes = MIFARE_KEY, access_hex: str = "FF078069") -> MifareClassic1kCard:
    card = MifareClassic1kCard()
    for sector in range(1, 16):
        card.set_trailer(sector, key_a, MIFARE_KEY_B, bytes.fromhex(access_hex))
    return card


def mifare_image(card: MifareClassic1kCard) -> bytes:
    return b"".join(card.data_block(mifare_block(index)) for index in range(16))


def image(seed: int) -> bytes:
    return FACTORY + bytes((seed + 7 * index) % 256 for index in range(224))


def sle_reader(dialect: str = "acs", psc: bytes = PSC) -> PcscReader:
    return PcscReader.from_settings(READER_NAME, "sle4442", psc, b"", dialect)


def mifare_reader(key: bytes = MIFARE_KEY, slot: str = "", structure: str = "") -> PcscReader:
    slots = mifare_key_slots(slot, structure)
    return PcscReader.from_settings(READER_NAME, "mifare1k", b"", key, key_slots=slots)


def sent(trace: list[tuple[str, str]]) -> list[str]:
    return [command for command, _response in trace]


# -- without a stack ---------------------------------------------------------------------------


def test_mifare_block_map_avoids_sector_0_and_trailers() -> None:
    blocks = [mifare_block(index) for index in range(16)]
    assert blocks[:4] == [4, 5, 6, 8]
    assert blocks[-1] == 24
    assert len(set(blocks)) == 16
    assert all(block % 4 != 3 and block >= 4 for block in blocks)
    with pytest.raises(ValueError):
        mifare_block(16)


def test_changed_runs_merge_close_changes_and_skip_the_factory_area() -> None:
    old = bytes(64)
    new = bytearray(old)
    new[3] = new[33] = new[36] = new[50] = 1
    assert _changed_runs(old, bytes(new), 32, gap=6) == [(33, 37), (50, 51)]


def test_profiles_recognise_their_atrs() -> None:
    sle = Sle4442Profile(PSC)
    mifare = Mifare1kProfile(MIFARE_KEY)
    assert sle.accepts(SLE4442_ATR) and not sle.accepts(MIFARE_1K_ATR)
    assert mifare.accepts(MIFARE_1K_ATR) and not mifare.accepts(SLE4442_ATR)
    mifare_4k = MIFARE_1K_ATR[:13] + b"\x00\x02" + MIFARE_1K_ATR[15:]
    assert not mifare.accepts(mifare_4k)


@pytest.mark.parametrize(
    ("profile", "psc", "key", "dialect"),
    [
        ("sle4442", b"\x01\x02", b"", "acs"),
        ("sle4442", PSC, b"", "gemalto"),
        ("mifare1k", b"", b"\x01" * 5, "acs"),
        ("cpu", PSC, MIFARE_KEY, "acs"),
    ],
)
def test_bad_settings_are_refused(profile: str, psc: bytes, key: bytes, dialect: str) -> None:
    with pytest.raises(ReaderError) as refused:
        PcscReader.from_settings("", profile, psc, key, dialect)
    assert refused.value.code == "reader_config"


def test_settings_from_the_environment() -> None:
    env = {"PREPAID_PCSC_READER": "ACR39", "PREPAID_CARD_PROFILE": "mifare1k"}
    reader = PcscReader.from_environment(env, PSC, MIFARE_KEY + MIFARE_KEY_B)
    assert reader.reader_pattern == "ACR39"
    assert isinstance(reader.profile, Mifare1kProfile) and reader.profile.key_b == MIFARE_KEY_B
    assert isinstance(reader, CardReader)


def test_the_apdu_trace_masks_the_psc_and_the_keys() -> None:
    assert command_for_log(bytes.fromhex("FF200000035A1C3E")) == "FF 20 00 00 03 ** ** **"
    assert command_for_log(bytes.fromhex("FFD20001035A1C3E")) == "FF D2 00 01 03 ** ** **"
    load_key = bytes.fromhex("FF82000106") + MIFARE_KEY_B
    assert command_for_log(load_key) == "FF 82 00 01 06 ** ** ** ** ** **"
    assert command_for_log(bytes.fromhex("FFB0009010")) == "FF B0 00 90 10"
    assert command_for_log(bytes.fromhex("FFD0009002AABB")) == "FF D0 00 90 02 AA BB"
    security_memory = response_for_log(bytes.fromhex("FFB1000004"), b"\x07" + PSC, 0x9000)
    assert security_memory == "07 ** ** ** | 90 00"
    assert response_for_log(bytes.fromhex("FF200000035A1C3E"), b"", 0x9003) == "90 03"
    assert response_for_log(bytes.fromhex("FFB0000402"), b"\x01\x02", 0x9000) == "01 02 | 90 00"


def test_mifare_key_slots_default_to_the_volatile_slots_0_and_1() -> None:
    assert mifare_key_slots() == MifareKeySlots(0x00, 0x01, 0x00, permanent=False)
    reader = PcscReader.from_environment({"PREPAID_CARD_PROFILE": "mifare1k"}, PSC, MIFARE_KEY)
    assert isinstance(reader.profile, Mifare1kProfile)
    assert reader.profile.slots == MifareKeySlots()


@pytest.mark.parametrize(
    ("slot", "structure", "expected"),
    [
        ("20", "", MifareKeySlots(0x20, 0x20, 0x00, permanent=False)),
        ("20H", "", None),
        (" 00,01 ", "00", MifareKeySlots(0x00, 0x01, 0x00, permanent=False)),
        ("permanent:05", "20", MifareKeySlots(0x05, 0x05, 0x20, permanent=True)),
        ("Permanent:00,01", "", MifareKeySlots(0x00, 0x01, 0x00, permanent=True)),
    ],
)
def test_mifare_key_slot_settings(slot: str, structure: str, expected: object) -> None:
    if expected is None:
        with pytest.raises(InvalidInput) as refused:
            mifare_key_slots(slot, structure)
        assert refused.value.code == "bad_mifare_key_slot"
        return
    env = {
        "PREPAID_CARD_PROFILE": "mifare1k",
        "PREPAID_MIFARE_KEY_SLOT": slot,
        "PREPAID_MIFARE_KEY_STRUCTURE": structure,
    }
    reader = PcscReader.from_environment(env, PSC, MIFARE_KEY)
    assert isinstance(reader.profile, Mifare1kProfile) and reader.profile.slots == expected


@pytest.mark.parametrize(
    ("slot", "structure", "code"),
    [
        ("0", "", "bad_mifare_key_slot"),
        ("100", "", "bad_mifare_key_slot"),
        ("slot 1", "", "bad_mifare_key_slot"),
        ("01,01", "", "bad_mifare_key_slot"),
        ("00,01,02", "", "bad_mifare_key_slot"),
        ("permanent:", "", "bad_mifare_key_slot"),
        ("00", "40", "bad_mifare_key_structure"),
        ("00", "volatile", "bad_mifare_key_structure"),
        ("00", "20", "bad_mifare_key_structure"),  # permanent memory, not named so
    ],
)
def test_bad_mifare_key_slot_settings_are_refused_in_the_operators_language(
    slot: str, structure: str, code: str
) -> None:
    from prepaid.readers import reader_for_station

    env = {
        "PREPAID_READER": "pcsc",
        "PREPAID_CARD_PROFILE": "mifare1k",
        "PREPAID_MIFARE_KEY_SLOT": slot,
        "PREPAID_MIFARE_KEY_STRUCTURE": structure,
    }
    secrets = SimpleNamespace(psc=PSC, mifare_key=MIFARE_KEY)
    with pytest.raises(InvalidInput) as refused:
        reader_for_station(None, secrets, env)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert "PREPAID_MIFARE_KEY_S" in refused.value.message
    with translation.override("zh-hans"):
        chinese = refused.value.translate(translation.gettext)
    assert "PREPAID_MIFARE_KEY_S" in chinese and chinese != refused.value.message


class NamedChannel:
    """A channel of a reader with a PC/SC name, recording what it is sent."""

    def __init__(self, reader: str) -> None:
        self.reader = reader
        self.sent: list[bytes] = []

    def command(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        return b""


@pytest.mark.parametrize("name", ["ACS ACR128U PICC Interface 00 00", "ACS ACM1281U 01"])
def test_a_reader_whose_low_slots_are_permanent_gets_no_key_there(name: str) -> None:
    """On an ACR128 key numbers 00-1F are the reader's permanent memory."""
    channel = NamedChannel(name)
    with pytest.raises(ReaderError) as refused:
        Mifare1kProfile(MIFARE_KEY).prepare(channel)  # type: ignore[arg-type]
    assert refused.value.code == "mifare_key_slot_permanent"
    assert "PREPAID_MIFARE_KEY_SLOT=20" in refused.value.message
    assert channel.sent == []
    Mifare1kProfile(MIFARE_KEY, slots=mifare_key_slots("20")).prepare(channel)  # type: ignore[arg-type]
    assert channel.sent == [bytes.fromhex("FF82002006") + MIFARE_KEY]
    permanent = Mifare1kProfile(MIFARE_KEY, slots=mifare_key_slots("permanent:03"))
    permanent.prepare(NamedChannel(name))  # type: ignore[arg-type]


class ScriptedChannel:
    """A channel whose card answers every APDU with one status word."""

    def __init__(self, sw: int) -> None:
        self.sw = sw
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        return b"", self.sw


@pytest.mark.parametrize("sw", [0x6300, 0x6982, 0x6983, 0x6984], ids=lambda sw: f"{sw:04X}")
def test_mifare_authentication_refused_by_the_card_means_foreign_keys(sw: int) -> None:
    channel = ScriptedChannel(sw)
    with pytest.raises(ReaderError) as refused:
        Mifare1kProfile(MIFARE_KEY).read_region(channel, 0, 16)  # type: ignore[arg-type]
    assert refused.value.code == "card_foreign_keys"
    assert channel.sent == [bytes.fromhex("FF860000050100046000")]


@pytest.mark.parametrize("sw", [0x6D00, 0x6A81, 0x6986, 0x6988, 0x6700], ids=lambda sw: f"{sw:04X}")
def test_mifare_authentication_the_reader_cannot_do_is_a_reader_failure(sw: int) -> None:
    with pytest.raises(ReaderError) as failed:
        Mifare1kProfile(MIFARE_KEY).read_region(ScriptedChannel(sw), 0, 16)  # type: ignore[arg-type]
    assert failed.value.code == "reader_failed"
    assert f"{sw:04X}" in failed.value.message


def test_without_pyscard_the_reader_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "smartcard", None)
    with pytest.raises(ReaderError) as refused:
        sle_reader().read()
    assert refused.value.code == "no_reader"
    assert "pip install 'prepaid[pcsc]'" in refused.value.message
    assert "apt-get install pcscd" in refused.value.message


# -- through pcscd + vpcd + the emulator --------------------------------------------------------

pcsc = pytest.mark.pcsc


@pcsc
def test_sle4442_full_read(insert_card: InsertCard) -> None:
    card = sle_card()
    card.memory[32:] = image(3)[32:]
    insert_card(card)
    reader = sle_reader()
    assert reader.card_present()
    assert reader.read() == bytes(card.memory)
    assert reader.serial() == FACTORY.hex().upper()


@pcsc
def test_sle4442_write_and_verify_whole_image(insert_card: InsertCard) -> None:
    card = sle_card()
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    reader = sle_reader()
    reader.write(image(1))
    assert bytes(card.memory) == image(1)
    assert reader.read() == image(1)
    commands = sent(trace)
    assert commands.count("ff20000003" + PSC.hex()) == 1
    assert commands.index("ffb1000004") < commands.index("ff20000003" + PSC.hex())
    assert not [c for c in commands if c.startswith(IRREVERSIBLE)]
    assert not [c for c in commands if c.startswith("ffd0") and int(c[6:8], 16) < 0x20]
    assert card.error_counter == 0x07 and card.psc_presentations == 1


def secrets_in(text: str, *secrets: bytes) -> list[str]:
    text = text.upper()
    forms = [form for secret in secrets for form in (secret.hex(" ").upper(), secret.hex().upper())]
    return [form for form in forms if form in text]


@pcsc
@pytest.mark.parametrize("dialect", ["acs", "omnikey"])
def test_sle4442_debug_trace_shows_every_apdu_but_never_the_psc(
    insert_card: InsertCard, caplog: pytest.LogCaptureFixture, dialect: str
) -> None:
    card = sle_card()
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    caplog.set_level(logging.DEBUG, logger="prepaid.readers.pcsc")
    sle_reader(dialect).write(b"\x01\x02\x03", 0x90)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2 * len(trace)  # each command and its answer
    assert "APDU > FF 20 00 00 03 ** ** **" in lines
    assert "APDU < 90 07" in lines
    assert "APDU < 07 ** ** ** | 90 00" in lines  # the counter read back after presenting
    write = "D0" if dialect == "acs" else "D6"
    assert f"APDU > FF {write} 00 90 03 01 02 03" in lines
    assert secrets_in(caplog.text, PSC) == []
    assert any(PSC.hex() in response for _command, response in trace)  # the chip showed it


@pcsc
def test_mifare_debug_trace_shows_every_apdu_but_never_the_keys(
    insert_card: InsertCard, caplog: pytest.LogCaptureFixture
) -> None:
    access = make_access_bytes([(1, 0, 0)] * 3 + [(0, 1, 1)]).hex() + "69"  # write with B
    insert_card(mifare_card(access_hex=access))
    caplog.set_level(logging.DEBUG, logger="prepaid.readers.pcsc")
    reader = mifare_reader(MIFARE_KEY + MIFARE_KEY_B)
    reader.write(b"\xaa\xbb", 0x31)
    lines = [record.getMessage() for record in caplog.records]
    assert "APDU > FF 82 00 00 06 ** ** ** ** ** **" in lines
    assert "APDU > FF 82 00 01 06 ** ** ** ** ** **" in lines
    assert "APDU > FF 86 00 00 05 01 00 08 61 01" in lines
    assert "APDU > FF D6 00 08 10 00 AA BB" + " 00" * 13 in lines
    assert secrets_in(caplog.text, MIFARE_KEY, MIFARE_KEY_B) == []


@pcsc
def test_sle4442_partial_write_sends_only_changed_bytes(insert_card: InsertCard) -> None:
    card = sle_card()
    card.memory[:] = image(2)
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    sle_reader().write(b"\x01\x02\x03", 0x90)
    assert bytes(card.memory) == image(2)[:0x90] + b"\x01\x02\x03" + image(2)[0x93:]
    writes = [c for c in sent(trace) if c.startswith("ffd0")]
    assert writes == ["ffd0009003010203"]


@pcsc
def test_sle4442_factory_area_is_never_written(insert_card: InsertCard) -> None:
    card = sle_card()
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    with pytest.raises(ValueError):
        sle_reader().write(b"\x00" * 4, 0x00)
    assert not [c for c in sent(trace) if c.startswith(("ffd0", "ff20"))]
    assert bytes(card.memory[:32]) == FACTORY


@pcsc
def test_sle4442_omnikey_dialect(insert_card: InsertCard) -> None:
    card = sle_card()
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    reader = sle_reader("omnikey")
    reader.write(image(5))
    assert reader.read() == image(5) == bytes(card.memory)
    commands = sent(trace)
    assert not [c for c in commands if c.startswith(("ffa4", "ffd0"))]
    assert [c for c in commands if c.startswith("ffd6")]


class UnlockLostSle4442Card(Sle4442Card):
    """A chip that accepts the PSC and then loses the unlock (a contact bounce resets it)."""

    def _present_psc(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        answer = super()._present_psc(p1, p2, data, le)
        self.psc_verified = False
        return answer


@pcsc
def test_a_write_the_chip_did_not_execute_is_caught_by_the_read_back(
    insert_card: InsertCard,
) -> None:
    card = UnlockLostSle4442Card(memory=bytearray(sle_card().memory), psc=PSC)
    insert_card(card)
    with pytest.raises(ReaderError) as failed:
        sle_reader().write(b"\x01\x02\x03", 0x90)
    assert failed.value.code == "write_failed"  # the reader answered 90 00 to every write
    assert card.writes_ignored == 1 and bytes(card.memory[0x90:0x93]) == b"\xff" * 3


@pcsc
def test_wrong_psc_reports_tries_left(insert_card: InsertCard) -> None:
    card = sle_card(psc=b"\x11\x22\x33")
    insert_card(card)
    with pytest.raises(ReaderError) as refused:
        sle_reader().write(image(1))
    assert refused.value.code == "psc_wrong"
    assert refused.value.params == {"tries_left": 2}
    assert "2" in refused.value.message
    assert card.tries_left == 2
    assert bytes(card.memory[32:]) == b"\xff" * 224


@pcsc
def test_psc_not_presented_at_the_last_try(insert_card: InsertCard) -> None:
    card = sle_card(counter=0x01)
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    reader = sle_reader()
    with pytest.raises(ReaderError) as refused:
        reader.write(image(1))
    assert refused.value.code == "psc_last_try"
    assert refused.value.params == {"tries_left": 1}
    assert not [c for c in sent(trace) if c.startswith("ff20")]
    assert card.error_counter == 0x01 and card.psc_presentations == 0
    assert reader.read() == bytes(card.memory)  # reading needs no PSC


@pcsc
def test_locked_card_is_reported(insert_card: InsertCard) -> None:
    card = sle_card(counter=0x00)
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    with pytest.raises(ReaderError) as refused:
        sle_reader().write(image(1))
    assert refused.value.code == "card_locked"
    assert not [c for c in sent(trace) if c.startswith("ff20")]


@pcsc
def test_card_pulled_mid_write_leaves_a_torn_image(
    insert_card: InsertCard, pcsc_stack: PcscStack
) -> None:
    card = sle_card()
    before = bytes(card.memory)
    emulator = insert_card(card, cut_after=100)
    reader = sle_reader()
    with pytest.raises(ReaderError) as failed:
        reader.write(image(9))
    assert failed.value.code == "write_failed"
    assert isinstance(failed.value.__cause__, ReaderError)
    assert failed.value.__cause__.code == "card_removed"
    assert emulator.pulled
    pcsc_stack.wait_for_card(False)
    with pytest.raises(ReaderError) as empty:
        reader.read()
    assert empty.value.code == "no_card"

    insert_card(card)  # the operator puts it back
    torn = reader.read()
    assert torn[:132] == image(9)[:132]
    assert torn[132:] == before[132:]
    reader.write(image(9))  # and the office restores it in one step
    assert reader.read() == image(9)


@pcsc
def test_no_card(pcsc_stack: PcscStack) -> None:
    reader = sle_reader()
    assert not reader.card_present()
    for operation in (reader.read, reader.serial, lambda: reader.write(b"\x01", 0x40)):
        with pytest.raises(ReaderError) as refused:
            operation()
        assert refused.value.code == "no_card"


@pcsc
def test_no_matching_reader(pcsc_stack: PcscStack) -> None:
    reader = PcscReader.from_settings("ACR39U", "sle4442", PSC, b"")
    with pytest.raises(ReaderError) as refused:
        reader.card_present()
    assert refused.value.code == "no_reader"
    assert READER_NAME in refused.value.message


@pcsc
@pytest.mark.parametrize(
    ("card", "reader_profile"),
    [
        (MifareClassic1kCard(), "sle4442"),
        (Sle4442Card(), "mifare1k"),
        (Sle4442Card(atr=bytes.fromhex("3B8F8001804F0CA0000003060300020000000069")), "mifare1k"),
    ],
    ids=["mifare-in-sle-reader", "sle-in-mifare-reader", "mifare-4k"],
)
def test_unsupported_card(insert_card: InsertCard, card: EmulatedCard, reader_profile: str) -> None:
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    reader = PcscReader.from_settings(READER_NAME, reader_profile, PSC, MIFARE_KEY)
    for operation in (reader.read, lambda: reader.write(b"\x01", 0x40)):
        with pytest.raises(ReaderError) as refused:
            operation()
        assert refused.value.code == "unsupported_card"
        assert card.atr.hex(" ").upper() in refused.value.message
    assert trace == []


@pcsc
def test_mifare_read_write_and_verify(insert_card: InsertCard) -> None:
    card = mifare_card()
    trailers = {sector: card.data_block(sector * 4 + 3) for sector in range(16)}
    sector_0 = [card.data_block(block) for block in range(4)]
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    reader = mifare_reader()
    assert reader.read() == bytes(256)
    assert reader.serial() == "5A3C9E01"
    reader.write(image(4))
    assert mifare_image(card) == image(4)
    assert reader.read() == image(4)
    assert {sector: card.data_block(sector * 4 + 3) for sector in range(16)} == trailers
    assert [card.data_block(block) for block in range(4)] == sector_0
    written = {int(c[6:8], 16) for c in sent(trace) if c.startswith("ffd6")}
    assert written == {mifare_block(index) for index in range(16)}
    for block in range(25, 64):
        assert card.data_block(block) == (trailers[block // 4] if block % 4 == 3 else bytes(16))


@pcsc
def test_mifare_partial_write_touches_one_block(insert_card: InsertCard) -> None:
    card = mifare_card()
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    mifare_reader().write(b"\xaa\xbb", 0x31)  # image block 3 = sector 2 block 8
    assert card.data_block(8) == b"\x00\xaa\xbb" + bytes(13)
    assert [c[:8] for c in sent(trace) if c.startswith("ffd6")] == ["ffd60008"]


@pcsc
def test_mifare_key_b_writes(insert_card: InsertCard) -> None:
    access = make_access_bytes([(1, 0, 0)] * 3 + [(0, 1, 1)]).hex() + "69"  # write with B
    card = mifare_card(access_hex=access)
    insert_card(card)
    with pytest.raises(ReaderError) as refused:
        mifare_reader(MIFARE_KEY).write(image(6))
    assert refused.value.code == "card_foreign_keys"  # refused at the first block: intact
    assert mifare_image(card) == bytes(256)
    reader = mifare_reader(MIFARE_KEY + MIFARE_KEY_B)
    reader.write(image(6))
    assert reader.read() == image(6) == mifare_image(card)


@pcsc
def test_mifare_foreign_keys(insert_card: InsertCard) -> None:
    card = mifare_card(key_a=bytes.fromhex("FFFFFFFFFFFF"))
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    reader = mifare_reader()
    for operation in (reader.read, lambda: reader.write(image(1))):
        with pytest.raises(ReaderError) as refused:
            operation()
        assert refused.value.code == "card_foreign_keys"
        assert "key" in refused.value.message
    assert not [c for c in sent(trace) if c.startswith("ffd6")]


@pytest.fixture
def reader_keys_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    """No permanent key slot loaded by an earlier test (the emulated reader is new)."""
    monkeypatch.setattr(pcsc_module, "_permanent_keys", {})


@pcsc
def test_mifare_keys_in_the_one_temporary_slot_20h(insert_card: InsertCard) -> None:
    """ACR128 / ACM1281U: keys A and B take turns in slot 20h; its permanent memory (00-1F)
    is never written."""
    access = make_access_bytes([(1, 0, 0)] * 3 + [(0, 1, 1)]).hex() + "69"  # write with B
    card = mifare_card(access_hex=access)
    card.key_memory = "acr128"
    trace: list[tuple[str, str]] = []
    insert_card(card, trace=trace)
    reader = mifare_reader(MIFARE_KEY + MIFARE_KEY_B, slot="20")
    reader.write(image(7))
    assert reader.read() == image(7) == mifare_image(card)
    assert card.permanent_key_loads == []
    commands = sent(trace)
    loads = [c[:10] for c in commands if c.startswith("ff82")]
    assert loads and set(loads) == {"ff82002006"}
    assert {c[-4:] for c in commands if c.startswith("ff86")} == {"6020", "6120"}
    assert not [c for c in commands if c.startswith("ff82") and c[4:8] != "0020"]


@pcsc
def test_mifare_key_in_a_permanent_slot_named_so(
    insert_card: InsertCard, reader_keys_forgotten: None
) -> None:
    """OMNIKEY 5x21 keeps no volatile key (69 86): the site key goes into its permanent memory
    when the slot is named permanent, once, not at every connection."""
    card = mifare_card()
    card.key_memory = "omnikey"
    insert_card(card)
    with pytest.raises(ReaderError) as refused:
        mifare_reader().read()
    assert refused.value.code == "reader_failed" and "6986" in refused.value.message
    reader = mifare_reader(slot="permanent:04", structure="20")
    reader.write(image(8))
    assert reader.read() == image(8) == mifare_image(card)
    assert mifare_reader(slot="permanent:04", structure="20").read() == image(8)
    assert card.permanent_key_loads == [0x04]


@pcsc
def test_mifare_card_pulled_mid_write(insert_card: InsertCard) -> None:
    card = mifare_card()
    insert_card(card, cut_after=16 * 5 + 7)
    reader = mifare_reader()
    with pytest.raises(ReaderError) as failed:
        reader.write(image(8))
    assert failed.value.code == "write_failed"
    insert_card(card)
    torn = reader.read()
    assert torn[: 16 * 5 + 7] == image(8)[: 16 * 5 + 7]
    assert torn[16 * 5 + 7 :] == bytes(256 - 16 * 5 - 7)

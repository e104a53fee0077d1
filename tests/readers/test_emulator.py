"""The card emulators, driven through a fake vpcd over a socket pair (no pcscd needed)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from prepaid.readers.emulator import (
    KEY_A,
    KEY_B,
    MIFARE_1K_ATR,
    SLE4442_ATR,
    TRANSPORT_ACCESS,
    EmulatedCard,
    MifareClassic1kCard,
    Sle4442Card,
    VpcdEmulator,
    access_bits_valid,
    access_conditions,
    make_access_bytes,
    recv_frame,
    send_frame,
)

PSC = bytes.fromhex("A1B2C3")
SITE_KEY = bytes.fromhex("0102030405FF")
SITE_KEY_B = bytes.fromhex("B0B1B2B3B4B5")


class FakeVpcd:
    """The vpcd side of the socket: sends frames as vpcd does, reads the card's replies."""

    def __init__(self, card: EmulatedCard, cut_after: int | None = None) -> None:
        self.ours, theirs = socket.socketpair()
        self.ours.settimeout(5)
        self.trace: list[tuple[str, str]] = []
        self.emulator = VpcdEmulator(card, cut_after=cut_after, trace=self.trace)
        self.thread = threading.Thread(target=self._serve, args=(theirs,), daemon=True)
        self.thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            self.emulator.serve(sock)

    def control(self, code: int) -> None:
        send_frame(self.ours, bytes([code]))

    def atr(self) -> bytes | None:
        self.control(0x04)
        return recv_frame(self.ours)

    def apdu(self, command: str) -> str:
        send_frame(self.ours, bytes.fromhex(command.replace(" ", "")))
        reply = recv_frame(self.ours)
        assert reply is not None, "the card left"
        return reply.hex().upper()

    def apdu_unanswered(self, command: str) -> bytes | None:
        send_frame(self.ours, bytes.fromhex(command.replace(" ", "")))
        return recv_frame(self.ours)

    def close(self) -> None:
        self.ours.close()
        self.thread.join(timeout=5)


@pytest.fixture
def vpcd() -> Iterator[list[FakeVpcd]]:
    opened: list[FakeVpcd] = []
    yield opened
    for fake in opened:
        fake.close()


def connect(opened: list[FakeVpcd], card: EmulatedCard, cut_after: int | None = None) -> FakeVpcd:
    fake = FakeVpcd(card, cut_after)
    opened.append(fake)
    fake.control(0x01)  # power on: no reply
    return fake


# -- framing ---------------------------------------------------------------------------------


def test_control_messages_and_apdu_framing(vpcd: list[FakeVpcd]) -> None:
    fake = connect(vpcd, Sle4442Card())
    assert fake.atr() == SLE4442_ATR
    fake.control(0x02)  # reset: no reply, the next frame is answered normally
    fake.control(0x00)
    assert fake.atr() == SLE4442_ATR
    assert fake.apdu("FFA4000001 06") == "9000"
    assert fake.trace == [("ffa400000106", "9000")]


def test_mifare_atr_is_a_pcsc_part3_1k_atr(vpcd: list[FakeVpcd]) -> None:
    fake = connect(vpcd, MifareClassic1kCard())
    atr = fake.atr()
    assert atr == MIFARE_1K_ATR
    check = 0
    for value in atr[1:]:
        check ^= value
    assert check == 0  # TCK


# -- SLE4442 ---------------------------------------------------------------------------------


def test_sle4442_write_ignored_until_psc_presented(vpcd: list[FakeVpcd]) -> None:
    card = Sle4442Card(psc=PSC)
    fake = connect(vpcd, card)
    assert fake.apdu("FFD0004002 1122") == "9000"  # as the reader answers: the chip is silent
    assert card.memory[0x40:0x42] == b"\x00\x00" and card.writes_ignored == 1
    assert fake.apdu("FF20000003" + PSC.hex()) == "9007"
    assert fake.apdu("FFD0004002 1122") == "9000"
    assert fake.apdu("FFB0004002") == "11229000"


def test_sle4442_wrong_psc_spends_tries_and_right_psc_restores_them(
    vpcd: list[FakeVpcd],
) -> None:
    card = Sle4442Card(psc=PSC)
    fake = connect(vpcd, card)
    assert fake.apdu("FFB1000004") == "07000000" + "9000"
    assert fake.apdu("FF20000003 000000") == "9003"
    assert fake.apdu("FFB1000004") == "03000000" + "9000"
    assert fake.apdu("FF20000003 000000") == "9001"
    assert card.tries_left == 1
    assert fake.apdu("FF20000003" + PSC.hex()) == "9007"
    assert fake.apdu("FFB1000004") == "07" + PSC.hex().upper() + "9000"  # PSC readable now


def test_sle4442_locked_card_never_verifies(vpcd: list[FakeVpcd]) -> None:
    card = Sle4442Card(psc=PSC, error_counter=0x01)
    fake = connect(vpcd, card)
    assert fake.apdu("FF20000003 000000") == "9000"  # the last try spent: locked for ever
    assert fake.apdu("FF20000003" + PSC.hex()) == "9000"
    assert fake.apdu("FFD0004001 11") == "9000"
    assert card.error_counter == 0 and card.memory[0x40] == 0 and card.writes_ignored == 1


def test_sle4442_power_cycle_forgets_the_psc(vpcd: list[FakeVpcd]) -> None:
    card = Sle4442Card(psc=PSC)
    fake = connect(vpcd, card)
    assert fake.apdu("FF20000003" + PSC.hex()) == "9007"
    fake.control(0x02)
    assert fake.apdu("FFD0004001 11") == "9000"
    assert fake.apdu("FF20000003" + PSC.hex()) == "9007"
    assert fake.apdu("FFA4000001 06") == "9000"  # select card type powers the card up again
    assert fake.apdu("FFD0004001 11") == "9000"
    assert card.memory[0x40] == 0 and card.writes_ignored == 2


def test_sle4442_protected_memory_is_not_written(vpcd: list[FakeVpcd]) -> None:
    factory = bytearray(256)
    factory[0:4] = bytes.fromhex("A2131091")
    card = Sle4442Card(memory=factory, psc=PSC)
    fake = connect(vpcd, card)
    assert fake.apdu("FF20000003" + PSC.hex()) == "9007"
    assert fake.apdu("FFD0001C08 " + "EE" * 8) == "9000"  # the chip executes it silently…
    assert card.memory[0x1C:0x20] == b"\x00" * 4  # …but not on protected bytes
    assert card.memory[0x20:0x24] == b"\xee" * 4
    assert card.memory[0:4] == bytes.fromhex("A2131091")
    assert fake.apdu("FFB2000004") == "00000000" + "9000"


def test_sle4442_unprotected_low_bytes_can_be_written(vpcd: list[FakeVpcd]) -> None:
    card = Sle4442Card(psc=PSC, protection=0xFFFFFFFF)
    fake = connect(vpcd, card)
    fake.apdu("FF20000003" + PSC.hex())
    assert fake.apdu("FFD6001001 EE") == "9000"  # OMNIKEY-style update binary
    assert card.memory[0x10] == 0xEE


def test_sle4442_irreversible_commands_are_not_implemented(vpcd: list[FakeVpcd]) -> None:
    fake = connect(vpcd, Sle4442Card(psc=PSC))
    fake.apdu("FF20000003" + PSC.hex())
    assert fake.apdu("FFD1002001 00") == "6D00"  # write protection memory
    assert fake.apdu("FFD2000103 000000") == "6D00"  # change PSC
    assert fake.apdu("FFB0000004") == "000000009000"


def test_sle4442_read_may_append_protection_bytes(vpcd: list[FakeVpcd]) -> None:
    fake = connect(vpcd, Sle4442Card(read_appends_protection=True, protection=0x0F))
    assert fake.apdu("FFB0002002") == "0000" + "0F000000" + "9000"


# -- Mifare Classic 1K -----------------------------------------------------------------------


def site_mifare(access: bytes = TRANSPORT_ACCESS, key_b: bytes = SITE_KEY_B) -> MifareClassic1kCard:
    card = MifareClassic1kCard()
    for sector in range(1, 16):
        card.set_trailer(sector, SITE_KEY, key_b, access)
    return card


def authenticate(fake: FakeVpcd, block: int, key_type: int = KEY_A, slot: int = 0) -> str:
    return fake.apdu(f"FF86000005 0100{block:02X}{key_type:02X}{slot:02X}")


def test_mifare_authentication_and_sector_scope(vpcd: list[FakeVpcd]) -> None:
    fake = connect(vpcd, site_mifare())
    assert fake.apdu("FFB0000410") == "6982"  # not authenticated
    assert authenticate(fake, 4) == "6986"  # no key loaded yet
    assert fake.apdu("FF82000006 FFFFFFFFFFFF") == "9000"
    assert authenticate(fake, 4) == "6300"  # transport key: foreign
    assert fake.apdu("FF82000006" + SITE_KEY.hex()) == "9000"
    assert authenticate(fake, 4) == "9000"
    assert fake.apdu("FFB0000410") == "00" * 16 + "9000"
    assert fake.apdu("FFB0000810") == "6982"  # block 8 is in sector 2
    assert fake.apdu("FFCA000000") == "5A3C9E01" + "9000"


def test_mifare_failed_authentication_drops_the_session(vpcd: list[FakeVpcd]) -> None:
    fake = connect(vpcd, site_mifare())
    fake.apdu("FF82000006" + SITE_KEY.hex())
    fake.apdu("FF82000106 000000000000")
    assert authenticate(fake, 4) == "9000"
    assert authenticate(fake, 4, slot=1) == "6300"
    assert fake.apdu("FFB0000410") == "6982"


def test_mifare_access_bits_read_a_write_b(vpcd: list[FakeVpcd]) -> None:
    # data blocks 100 (read A|B, write B), trailer 011 (keys written with B, B not readable)
    access = make_access_bytes([(1, 0, 0)] * 3 + [(0, 1, 1)]) + b"\x69"
    card = site_mifare(access)
    fake = connect(vpcd, card)
    fake.apdu("FF82000006" + SITE_KEY.hex())
    fake.apdu("FF82000106" + SITE_KEY_B.hex())
    authenticate(fake, 5)
    assert fake.apdu("FFB0000510") == "00" * 16 + "9000"
    assert fake.apdu("FFD6000510" + "AB" * 16) == "6982"
    assert authenticate(fake, 5, KEY_B, 1) == "9000"
    assert fake.apdu("FFD6000510" + "AB" * 16) == "9000"
    assert card.data_block(5) == b"\xab" * 16


def test_mifare_key_b_is_unusable_when_readable(vpcd: list[FakeVpcd]) -> None:
    card = site_mifare(TRANSPORT_ACCESS)  # trailer 001: key B readable, so not a key
    fake = connect(vpcd, card)
    fake.apdu("FF82000106" + SITE_KEY_B.hex())
    assert authenticate(fake, 4, KEY_B, 1) == "9000"
    assert fake.apdu("FFB0000410") == "6982"


def test_mifare_read_only_and_no_access_blocks(vpcd: list[FakeVpcd]) -> None:
    access = make_access_bytes([(0, 1, 0), (1, 1, 1), (0, 1, 1), (0, 0, 1)]) + b"\x69"
    card = site_mifare(access)
    fake = connect(vpcd, card)
    fake.apdu("FF82000006" + SITE_KEY.hex())
    authenticate(fake, 4)
    assert fake.apdu("FFB0000410").endswith("9000")
    assert fake.apdu("FFD6000410" + "00" * 16) == "6982"  # 010: read only
    assert fake.apdu("FFB0000510") == "6982"  # 111: never
    assert fake.apdu("FFB0000610") == "6982"  # 011: key B only


def test_mifare_trailer_reads_hide_key_a(vpcd: list[FakeVpcd]) -> None:
    fake = connect(vpcd, site_mifare())
    fake.apdu("FF82000006" + SITE_KEY.hex())
    authenticate(fake, 7)
    reply = fake.apdu("FFB0000710")
    assert reply == "00" * 6 + TRANSPORT_ACCESS.hex().upper() + SITE_KEY_B.hex().upper() + "9000"


def test_mifare_trailer_protection(vpcd: list[FakeVpcd]) -> None:
    access = make_access_bytes([(0, 0, 0)] * 3 + [(0, 1, 1)]) + b"\x69"  # keys with B only
    card = site_mifare(access)
    fake = connect(vpcd, card)
    fake.apdu("FF82000006" + SITE_KEY.hex())
    authenticate(fake, 4)
    before = card.data_block(7)
    new_trailer = "FFFFFFFFFFFF" + access.hex() + SITE_KEY_B.hex()
    assert fake.apdu("FFD6000710" + new_trailer) == "6982"  # key A may not change key A
    bad_bits = "000000" + "69"
    assert fake.apdu("FFD6000710" + SITE_KEY.hex() + bad_bits + SITE_KEY_B.hex()) == "6982"
    assert card.data_block(7) == before
    assert card.refused_trailer_writes == 2
    assert fake.apdu("FFD6000010" + "00" * 16) == "6982"  # block 0 is read-only


def test_mifare_transport_trailer_accepts_a_valid_rewrite_with_key_a(
    vpcd: list[FakeVpcd],
) -> None:
    card = MifareClassic1kCard()
    fake = connect(vpcd, card)
    fake.apdu("FF82000006 FFFFFFFFFFFF")
    authenticate(fake, 8)
    new_trailer = SITE_KEY.hex() + TRANSPORT_ACCESS.hex() + SITE_KEY_B.hex()
    assert fake.apdu("FFD6000B10" + new_trailer) == "9000"
    assert card.data_block(11) == bytes.fromhex(new_trailer)


def test_access_bit_helpers_round_trip() -> None:
    assert make_access_bytes([(0, 0, 0)] * 3 + [(0, 0, 1)]) == TRANSPORT_ACCESS[:3]
    conditions = [(1, 0, 0), (0, 1, 1), (1, 1, 1), (0, 1, 1)]
    access = make_access_bytes(conditions)
    assert access_bits_valid(access)
    assert [access_conditions(access, block) for block in range(4)] == conditions
    assert not access_bits_valid(b"\x00\x00\x00")


# -- fault injection -------------------------------------------------------------------------


def test_cut_after_tears_an_sle4442_write_and_pulls_the_card(vpcd: list[FakeVpcd]) -> None:
    card = Sle4442Card(psc=PSC)
    fake = connect(vpcd, card, cut_after=20)
    fake.apdu("FF20000003" + PSC.hex())
    assert fake.apdu("FFD0004010" + "11" * 16) == "9000"
    assert fake.apdu_unanswered("FFD0005010" + "22" * 16) is None  # connection closed
    assert fake.emulator.pulled
    assert card.memory[0x40:0x50] == b"\x11" * 16
    assert card.memory[0x50:0x54] == b"\x22" * 4
    assert card.memory[0x54:0x60] == b"\x00" * 12
    assert card.written_bytes == 20
    assert fake.trace[-1] == ("ffd0005010" + "22" * 16, "pulled")


def test_cut_after_tears_a_mifare_block(vpcd: list[FakeVpcd]) -> None:
    card = site_mifare()
    fake = connect(vpcd, card, cut_after=5)
    fake.apdu("FF82000006" + SITE_KEY.hex())
    authenticate(fake, 4)
    assert fake.apdu_unanswered("FFD6000410" + "33" * 16) is None
    assert card.data_block(4) == b"\x33" * 5 + b"\x00" * 11


def test_cut_after_zero_writes_nothing(vpcd: list[FakeVpcd]) -> None:
    card = Sle4442Card(psc=PSC)
    fake = connect(vpcd, card, cut_after=0)
    fake.apdu("FF20000003" + PSC.hex())
    assert fake.apdu("FFB0004001") == "009000"  # reads are not affected
    assert fake.apdu_unanswered("FFD0004001 11") is None
    assert card.memory[0x40] == 0

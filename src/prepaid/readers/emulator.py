"""Card emulators for the PC/SC test stack (pure Python, no pyscard needed).

A :class:`VpcdEmulator` connects as a client to the TCP port of vsmartcard's ``vpcd`` driver
running inside ``pcscd`` and plays a card in that virtual reader. The vpcd socket protocol:
every frame is a 2-byte big-endian length and a payload. A 1-byte payload from vpcd is a
control message (``00`` power off, ``01`` power on, ``02`` reset — no reply; ``04`` get ATR —
reply with the ATR); a longer payload is a command APDU, answered with response data + SW1 SW2.

Two cards are emulated the way their usual PC/SC readers expose them:

* :class:`Sle4442Card` — an SLE4442/5542 memory card behind an ACS ACR38/ACR39-class reader
  (the ``FF A4/B0/B1/B2/D0/20`` pseudo-APDUs; ``FF D6`` too, as OMNIKEY readers write).
* :class:`MifareClassic1kCard` — a Mifare Classic 1K behind a PC/SC part 3 contactless reader
  (``FF CA/82/86/B0/D6``), with keys A/B and access bits per sector.

Fault injection: ``cut_after=N`` pulls the card after N data bytes of writes — the rest of that
write is not applied, the connection is closed and the reader sees no card.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY = b"\x69\x82"  # security status not satisfied
SW_AUTH_FAILED = b"\x63\x00"
SW_KEY_MISSING = b"\x69\x86"  # command not allowed: no key loaded in that slot
SW_NOT_SUPPORTED = b"\x6a\x81"
SW_OUT_OF_RANGE = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6b\x00"
SW_UNKNOWN_INS = b"\x6d\x00"
SW_UNKNOWN_CLA = b"\x6e\x00"

# ATR an ACS ACR38/ACR39 reports for an SLE4442 (synchronous card header A2 13 10 91).
SLE4442_ATR = bytes.fromhex("3B04A2131091")
# PC/SC part 3 ATR of a contactless storage card: standard 03 (ISO 14443 A-3), name 0001 = 1K.
MIFARE_1K_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")

VPCD_DEFAULT_PORT = 35963
CTRL_POWER_OFF = 0x00
CTRL_POWER_ON = 0x01
CTRL_RESET = 0x02
CTRL_ATR = 0x04


class CardPulled(Exception):
    """Raised inside an emulated card when ``cut_after`` is used up: the card leaves."""


@dataclass
class EmulatedCard:
    """What every emulated card shares: the ATR, the fault injection budget, the trace."""

    atr: bytes = b""
    cut_after: int | None = None  # data bytes of writes still allowed before the card leaves
    # (set by VpcdEmulator for each insertion)
    written_bytes: int = 0  # data bytes of writes applied so far (all connections)

    def power_on(self) -> None:
        """Power-up or reset: volatile state (verified PSC, authentication) is lost."""

    def transmit(self, apdu: bytes) -> bytes:
        raise NotImplementedError

    def _apply_write(self, data: bytes, store: Callable[[bytes], None]) -> None:
        """Apply the allowed prefix of ``data`` with ``store``; pull the card when spent."""
        allowed = len(data) if self.cut_after is None else min(len(data), self.cut_after)
        if allowed:
            store(data[:allowed])
        self.written_bytes += allowed
        if self.cut_after is not None:
            self.cut_after -= allowed
            if self.cut_after <= 0:
                raise CardPulled(f"card pulled after {self.written_bytes} written bytes")


def parse_pseudo_apdu(apdu: bytes) -> tuple[int, int, int, int, bytes, int | None]:
    """Split a short APDU into CLA INS P1 P2, command data and Le (``None`` when absent)."""
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if not body:
        return cla, ins, p1, p2, b"", None
    if len(body) == 1:
        return cla, ins, p1, p2, b"", body[0]
    lc = body[0]
    data = body[1 : 1 + lc]
    if len(data) != lc:
        raise ValueError("APDU shorter than its Lc")
    rest = body[1 + lc :]
    return cla, ins, p1, p2, data, (rest[0] if rest else None)


# ---------------------------------------------------------------------------------------------
# SLE4442 behind an ACS reader


@dataclass
class Sle4442Card(EmulatedCard):
    """An SLE4442 as an ACS ACR38/ACR39 reader exposes it.

    * 256 bytes of main memory; the first 32 bytes have protection bits (``protection``, bit i
      for byte i, 0 = protected). Writes to protected bytes are silently not executed, as the
      chip does; the reader cannot tell, only a read-back shows it.
    * Security memory: the error counter (``07`` three tries, ``03``, ``01``, ``00`` locked)
      and the 3-byte PSC, readable only after a successful presentation.
    * Writes before the PSC has been presented are answered ``90 00`` and not executed, as the
      chip ignores them and the reader cannot tell (``written_ignored`` counts them): only a
      read-back shows it.
    * ``FF 20`` presentation: clears one bit of the counter, compares, restores ``07`` when the
      PSC is right; answers ``90 <counter>``. A locked card (counter 0) never verifies.
    * Never emulated because never used: write-protection (``FF D1``) and change-PSC (``FF D2``)
      answer ``6D 00`` — they are irreversible on a real card.
    """

    atr: bytes = SLE4442_ATR
    memory: bytearray = field(default_factory=lambda: bytearray(256))
    psc: bytes = b"\xff\xff\xff"
    error_counter: int = 0x07
    protection: int = 0  # 32 bits, 0 = the first 32 bytes are all protected (factory data)
    read_appends_protection: bool = False  # some ACR38x firmware append PROT1..4 to FF B0
    psc_verified: bool = False
    selected: bool = False
    psc_presentations: int = 0
    writes_ignored: int = 0  # writes sent before the PSC was presented

    def __post_init__(self) -> None:
        if len(self.memory) != 256:
            raise ValueError("SLE4442 main memory is 256 bytes")
        self.memory = bytearray(self.memory)

    def power_on(self) -> None:
        self.psc_verified = False

    def transmit(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        try:
            cla, ins, p1, p2, data, le = parse_pseudo_apdu(apdu)
        except ValueError:
            return SW_WRONG_LENGTH
        if cla != 0xFF:
            return SW_UNKNOWN_CLA
        handler = {
            0xA4: self._select,
            0xB0: self._read,
            0xB1: self._read_security,
            0xB2: self._read_protection,
            0xD0: self._write,
            0xD6: self._write,
            0x20: self._present_psc,
        }.get(ins)
        if handler is None:
            return SW_UNKNOWN_INS
        return handler(p1, p2, data, le)

    def _select(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if data != b"\x06":
            return SW_NOT_SUPPORTED
        self.power_on()
        self.selected = True
        return SW_OK

    def _read(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        length = 256 if le == 0 else le
        if p1 != 0 or length is None or p2 + length > 256:
            return SW_OUT_OF_RANGE
        content = bytes(self.memory[p2 : p2 + length])
        if self.read_appends_protection:
            content += self.protection.to_bytes(4, "little")
        return content + SW_OK

    def _read_security(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        shown_psc = self.psc if self.psc_verified else b"\x00\x00\x00"
        return bytes([self.error_counter]) + shown_psc + SW_OK

    def _read_protection(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        return self.protection.to_bytes(4, "little") + SW_OK

    def _write(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 != 0 or not data or p2 + len(data) > 256:
            return SW_OUT_OF_RANGE
        if not self.psc_verified:
            self.writes_ignored += 1  # the chip does not execute it; the reader says 90 00
            return SW_OK
        self._apply_write(data, lambda chunk: self._store(p2, chunk))
        return SW_OK

    def _store(self, address: int, chunk: bytes) -> None:
        for index, value in enumerate(chunk):
            byte_address = address + index
            if byte_address < 32 and not (self.protection >> byte_address) & 1:
                continue  # protected byte: the chip does not execute the update
            self.memory[byte_address] = value

    def _present_psc(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if len(data) != 3:
            return SW_WRONG_LENGTH
        self.psc_presentations += 1
        if self.error_counter & 0x07 == 0:
            return bytes([0x90, 0x00])  # locked for ever
        highest = 1 << (self.error_counter & 0x07).bit_length() - 1
        self.error_counter &= ~highest & 0xFF  # the chip spends a try before comparing
        if data == self.psc:
            self.error_counter = 0x07
            self.psc_verified = True
        return bytes([0x90, self.error_counter])

    @property
    def tries_left(self) -> int:
        return (self.error_counter & 0x07).bit_count()


# ---------------------------------------------------------------------------------------------
# Mifare Classic 1K behind a PC/SC part 3 contactless reader

TRANSPORT_ACCESS = bytes.fromhex("FF078069")  # data blocks 000, trailer 001, GPB 69
KEY_A = 0x60
KEY_B = 0x61

# (C1, C2, C3) of a data block -> (who may read, who may write)
DATA_ACCESS: dict[tuple[int, int, int], tuple[str, str]] = {
    (0, 0, 0): ("AB", "AB"),
    (0, 1, 0): ("AB", ""),
    (1, 0, 0): ("AB", "B"),
    (1, 1, 0): ("AB", "B"),
    (0, 0, 1): ("AB", ""),
    (0, 1, 1): ("B", "B"),
    (1, 0, 1): ("B", ""),
    (1, 1, 1): ("", ""),
}
# (C1, C2, C3) of the trailer -> (key A write, access read, access write, key B read, B write)
TRAILER_ACCESS: dict[tuple[int, int, int], tuple[str, str, str, str, str]] = {
    (0, 0, 0): ("A", "A", "", "A", "A"),
    (0, 1, 0): ("", "A", "", "A", ""),
    (1, 0, 0): ("B", "AB", "", "", "B"),
    (1, 1, 0): ("", "AB", "", "", ""),
    (0, 0, 1): ("A", "A", "A", "A", "A"),
    (0, 1, 1): ("B", "AB", "B", "", "B"),
    (1, 0, 1): ("", "AB", "B", "", ""),
    (1, 1, 1): ("", "AB", "", "", ""),
}


def access_bits_valid(access: bytes) -> bool:
    """Whether bytes 6..8 of a trailer hold consistent (inverted-copy) access bits."""
    b6, b7, b8 = access[:3]
    return (
        (b6 & 0x0F) == (~b7 >> 4) & 0x0F  # ~C1
        and (b6 >> 4) == (~b8) & 0x0F  # ~C2
        and (b7 & 0x0F) == (~b8 >> 4) & 0x0F  # ~C3
    )


def access_conditions(access: bytes, block_in_sector: int) -> tuple[int, int, int]:
    """(C1, C2, C3) of one block from a trailer's access bytes 6..8."""
    b7, b8 = access[1], access[2]
    return (
        (b7 >> (4 + block_in_sector)) & 1,
        (b8 >> block_in_sector) & 1,
        (b8 >> (4 + block_in_sector)) & 1,
    )


def make_access_bytes(conditions: list[tuple[int, int, int]]) -> bytes:
    """Bytes 6..8 of a trailer from (C1, C2, C3) of blocks 0..3 of the sector."""
    c1 = sum(c[0] << i for i, c in enumerate(conditions))
    c2 = sum(c[1] << i for i, c in enumerate(conditions))
    c3 = sum(c[2] << i for i, c in enumerate(conditions))
    b6 = ((~c2 & 0x0F) << 4) | (~c1 & 0x0F)
    b7 = (c1 << 4) | (~c3 & 0x0F)
    b8 = (c3 << 4) | c2
    return bytes([b6, b7, b8])


def _sector_of(block: int) -> int:
    return block // 4


def _is_trailer(block: int) -> bool:
    return block % 4 == 3


def _key_memory(
    volatile: list[tuple[int, int]], permanent: list[tuple[int, int]]
) -> dict[tuple[int, int], str]:
    return {**dict.fromkeys(volatile, "volatile"), **dict.fromkeys(permanent, "permanent")}


# LOAD KEYS (P1 key structure, P2 key number) -> the reader memory it writes, as the readers'
# manuals give it (docs/readers.md); any other P1 P2 is refused.
READER_KEY_MEMORY: dict[str, dict[tuple[int, int], str]] = {
    # ACS ACR122U / ACR1252U: two volatile key slots, 00 and 01
    "acr122u": _key_memory([(0x00, 0x00), (0x00, 0x01)], []),
    # ACS ACR128 / ACM1281U: 00-1F permanent, the one volatile slot 20h
    "acr128": _key_memory([(0x00, 0x20)], [(0x00, n) for n in range(0x20)]),
    # HID OMNIKEY 5x21: only non-volatile keys (P1 20h), 00-1F
    "omnikey": _key_memory([], [(0x20, n) for n in range(0x20)]),
}


@dataclass
class MifareClassic1kCard(EmulatedCard):
    """A Mifare Classic 1K as a PC/SC part 3 contactless reader (ACR122U, OMNIKEY 5x21…) shows it.

    64 blocks of 16 bytes in 16 sectors; block 0 is the read-only manufacturer block; block 3
    of every sector is its trailer (key A, access bits, GPB, key B). The reader holds loaded
    keys (``FF 82``); ``FF 86`` authenticates one sector with key A (60) or B (61); reads and
    updates honour the access conditions of the authenticated sector; key A never reads out;
    key B cannot serve when the access conditions make it readable. Trailer updates are
    refused whole when they change a part the access conditions do not let the key write, or
    when the new access bits are inconsistent (a real card would lose that sector for ever).
    """

    atr: bytes = MIFARE_1K_ATR
    uid: bytes = bytes.fromhex("5A3C9E01")
    blocks: list[bytearray] = field(default_factory=list)
    loaded_keys: dict[int, bytes] = field(default_factory=dict)
    # Whose key memory LOAD KEYS finds (READER_KEY_MEMORY); keys written into the reader's
    # permanent memory are counted, by slot.
    key_memory: str = "acr122u"
    permanent_key_loads: list[int] = field(default_factory=list)
    authenticated: tuple[int, int] | None = None  # (sector, key type 60/61)
    refused_trailer_writes: int = 0

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks = [bytearray(16) for _ in range(64)]
            for sector in range(16):
                self.set_trailer(sector, b"\xff" * 6, b"\xff" * 6)
        uid = self.uid
        bcc = uid[0] ^ uid[1] ^ uid[2] ^ uid[3]
        self.blocks[0] = bytearray(uid + bytes([bcc, 0x08, 0x04, 0x00]) + b"PREPAIDEMU")[:16]

    def set_trailer(
        self, sector: int, key_a: bytes, key_b: bytes, access: bytes = TRANSPORT_ACCESS
    ) -> None:
        """Personalise a sector directly (as a card supplier would), bypassing access bits."""
        self.blocks[sector * 4 + 3] = bytearray(key_a + access + key_b)

    def power_on(self) -> None:
        self.authenticated = None

    def transmit(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        try:
            cla, ins, p1, p2, data, le = parse_pseudo_apdu(apdu)
        except ValueError:
            return SW_WRONG_LENGTH
        if cla != 0xFF:
            return SW_UNKNOWN_CLA
        if ins == 0xCA:
            return (self.uid + SW_OK) if p1 == 0 else SW_NOT_SUPPORTED
        if ins == 0x82:
            return self._load_key(p1, p2, data)
        if ins == 0x86:
            return self._authenticate(data)
        if ins == 0xB0:
            return self._read(p1, p2, le)
        if ins == 0xD6:
            return self._update(p1, p2, data)
        return SW_UNKNOWN_INS

    def _load_key(self, p1: int, p2: int, data: bytes) -> bytes:
        if len(data) != 6:
            return SW_WRONG_LENGTH
        memory = READER_KEY_MEMORY[self.key_memory].get((p1, p2))
        if memory is None:
            # OMNIKEY 5x21 keeps no key in volatile memory: "command not allowed"
            return SW_KEY_MISSING if p1 == 0x00 and self.key_memory == "omnikey" else SW_WRONG_P1P2
        if memory == "permanent":
            self.permanent_key_loads.append(p2)
        self.loaded_keys[p2] = bytes(data)
        return SW_OK

    def _authenticate(self, data: bytes) -> bytes:
        if len(data) != 5 or data[0] != 0x01 or data[1] != 0x00:
            return SW_WRONG_LENGTH
        block, key_type, key_number = data[2], data[3], data[4]
        self.authenticated = None  # a failed authentication halts the card
        if block >= 64 or key_type not in (KEY_A, KEY_B):
            return SW_OUT_OF_RANGE
        key = self.loaded_keys.get(key_number)
        if key is None:
            return SW_KEY_MISSING
        trailer = self.blocks[_sector_of(block) * 4 + 3]
        expected = trailer[0:6] if key_type == KEY_A else trailer[10:16]
        if key != bytes(expected):
            return SW_AUTH_FAILED
        self.authenticated = (_sector_of(block), key_type)
        return SW_OK

    def _key_letter(self, block: int) -> str | None:
        """``"A"``/``"B"`` when the block's sector is authenticated with a usable key."""
        if self.authenticated is None or self.authenticated[0] != _sector_of(block):
            return None
        if self.authenticated[1] == KEY_A:
            return "A"
        trailer_conditions = access_conditions(self._access(block), 3)
        key_b_readable = TRAILER_ACCESS[trailer_conditions][3] != ""
        return None if key_b_readable else "B"

    def _access(self, block: int) -> bytes:
        return bytes(self.blocks[_sector_of(block) * 4 + 3][6:9])

    def _read(self, p1: int, block: int, le: int | None) -> bytes:
        if p1 != 0 or block >= 64:
            return SW_OUT_OF_RANGE
        if le not in (0x00, 0x10):
            return SW_WRONG_LENGTH
        key = self._key_letter(block)
        if key is None:
            return SW_SECURITY
        if _is_trailer(block):
            return self._read_trailer(block, key) + SW_OK
        read_by, _write_by = DATA_ACCESS[access_conditions(self._access(block), block % 4)]
        if key not in read_by:
            return SW_SECURITY
        return bytes(self.blocks[block]) + SW_OK

    def _read_trailer(self, block: int, key: str) -> bytes:
        trailer = self.blocks[block]
        rights = TRAILER_ACCESS[access_conditions(self._access(block), 3)]
        access = bytes(trailer[6:10]) if key in rights[1] else b"\x00" * 4
        key_b = bytes(trailer[10:16]) if key in rights[3] else b"\x00" * 6
        return b"\x00" * 6 + access + key_b

    def _update(self, p1: int, block: int, data: bytes) -> bytes:
        if p1 != 0 or block >= 64:
            return SW_OUT_OF_RANGE
        if len(data) != 16:
            return SW_WRONG_LENGTH
        key = self._key_letter(block)
        if key is None or block == 0:
            return SW_SECURITY
        if _is_trailer(block):
            if not self._trailer_write_allowed(block, data, key):
                self.refused_trailer_writes += 1
                return SW_SECURITY
        else:
            _read_by, write_by = DATA_ACCESS[access_conditions(self._access(block), block % 4)]
            if key not in write_by:
                return SW_SECURITY
        target = self.blocks[block]
        self._apply_write(data, lambda chunk: target.__setitem__(slice(0, len(chunk)), chunk))
        return SW_OK

    def _trailer_write_allowed(self, block: int, data: bytes, key: str) -> bool:
        old = self.blocks[block]
        rights = TRAILER_ACCESS[access_conditions(self._access(block), 3)]
        parts = ((slice(0, 6), rights[0]), (slice(6, 10), rights[2]), (slice(10, 16), rights[4]))
        for part, writers in parts:
            if data[part] != old[part] and key not in writers:
                return False
        return access_bits_valid(data[6:9])

    def data_block(self, block: int) -> bytes:
        """A block's content, for tests (no access check)."""
        return bytes(self.blocks[block])


# ---------------------------------------------------------------------------------------------
# The vpcd client


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        _quickack(sock)
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _quickack(sock: socket.socket) -> None:
    """Acknowledge at once: vpcd sends a frame's length and payload in two writes, and a
    delayed ACK would hold the payload back by Nagle's ~40 ms on every APDU."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def recv_frame(sock: socket.socket) -> bytes | None:
    """One vpcd frame's payload, ``None`` when the peer closed the connection."""
    header = _recv_exactly(sock, 2)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _recv_exactly(sock, length) if length else b""


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


class VpcdEmulator:
    """Plays ``card`` in vpcd's virtual reader: :meth:`insert` connects, :meth:`remove` leaves.

    The card object keeps its memory across insertions, so a test can pull a card mid-write
    (``cut_after``) and insert it again to read the torn image. ``trace`` collects
    ``(command hex, response hex)`` of every APDU when it is a list.
    """

    def __init__(
        self,
        card: EmulatedCard,
        port: int = VPCD_DEFAULT_PORT,
        host: str = "127.0.0.1",
        cut_after: int | None = None,
        trace: list[tuple[str, str]] | None = None,
    ) -> None:
        self.card = card
        self.port = port
        self.host = host
        self.trace = trace
        card.cut_after = cut_after  # this insertion's fault injection (None: none)
        self.pulled = False
        self.left_at: float | None = None  # time.monotonic() when the card last left
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def inserted(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def insert(self, timeout_s: float = 5.0) -> None:
        """Connect to vpcd and serve it in a background thread."""
        if self.inserted:
            return
        sock = socket.create_connection((self.host, self.port), timeout=timeout_s)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pulled = False
        with self._lock:
            self._sock = sock
        self._thread = threading.Thread(
            target=self._serve_and_close, args=(sock,), name="vpcd-card", daemon=True
        )
        self._thread.start()

    def remove(self) -> None:
        """Take the card out: close the connection (vpcd notices at its next poll)."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _serve_and_close(self, sock: socket.socket) -> None:
        try:
            self.serve(sock)
        except OSError:
            pass  # vpcd went away or remove() shut the socket
        finally:
            sock.close()
            self.left_at = time.monotonic()

    def serve(self, sock: socket.socket) -> None:
        """Answer vpcd's frames on ``sock`` until it closes or the card is pulled."""
        while True:
            frame = recv_frame(sock)
            if frame is None:
                return
            reply = self.handle_frame(frame)
            if self.pulled:
                return
            if reply is not None:
                send_frame(sock, reply)

    def handle_frame(self, frame: bytes) -> bytes | None:
        """The reply to one vpcd frame (``None``: no reply); sets ``pulled`` on a cut."""
        if len(frame) == 1:
            return self._control(frame[0])
        try:
            response = self.card.transmit(frame)
        except CardPulled:
            self.pulled = True
            if self.trace is not None:
                self.trace.append((frame.hex(), "pulled"))
            return None
        if self.trace is not None:
            self.trace.append((frame.hex(), response.hex()))
        return response

    def _control(self, code: int) -> bytes | None:
        if code == CTRL_ATR:
            return self.card.atr
        if code in (CTRL_POWER_ON, CTRL_RESET, CTRL_POWER_OFF):
            self.card.power_on()
        return None

"""The PC/SC card reader backend, over pyscard (``pip install 'prepaid[pcsc]'``).

Two card profiles map the 256-byte logical card image onto a physical card
(docs/readers.md has the APDU tables and the Mifare block map):

* ``sle4442`` — SLE4442/5542 memory cards on ACS ACR38/ACR39-class readers (``acs`` dialect:
  ``FF A4`` select card type, ``FF D0`` write) or OMNIKEY readers (``omnikey`` dialect: no
  select, ``FF D6`` update binary). Image byte *n* is card byte *n*; 0x00–0x1F is the chip's
  factory (protected) memory and is never written.
* ``mifare1k`` — Mifare Classic 1K on PC/SC contactless readers. The image's sixteen 16-byte
  blocks are the data blocks of sectors 1–6 (sector 0 and every sector trailer untouched).
  The keys go into the reader's key slots ``PREPAID_MIFARE_KEY_SLOT`` (volatile 00 and 01 by
  default; a reader's permanent key memory only when named ``permanent:NN``).

Safety rules, because some card operations cannot be undone: the SLE4442 PSC is presented
only after reading the error counter and never when only one try is left; write-protect
(``FF D1``), change-PSC (``FF D2``) and sector trailer writes are never sent. Every write is
verified by reading it back.

pyscard is imported lazily so that ``prepaid`` works without it.

At DEBUG level (``PREPAID_LOG_LEVEL=DEBUG``) the logger ``prepaid.readers.pcsc`` traces every
command APDU and its answer, in hex as the readers' manuals write them, with the secrets masked
(the PSC presented or read back, the Mifare keys loaded): a trace can be sent for support.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

from prepaid.core.errors import InvalidInput, ReaderError, _
from prepaid.readers.base import CARD_IMAGE_SIZE, check_region, no_card, write_failed

PROFILES = ("sle4442", "mifare1k")
DIALECTS = ("acs", "omnikey")
SLE4442_PROTECTED_END = 0x20  # bytes below are factory data, protected on the chip
SLE4442_CHUNK = 0x80  # bytes per read/write APDU (ACS readers take up to 0xFF)
SLE4442_MERGE_GAP = 6  # unchanged bytes cheaper to rewrite than a second APDU header
SLE4442_HEADERS = (bytes.fromhex("A2131091"), bytes.fromhex("92231091"))
PCSC_STORAGE_ATR_PREFIX = bytes.fromhex("3B8F8001804F0CA000000306")
MIFARE_1K_NAME = bytes.fromhex("0001")
MIFARE_FIRST_SECTOR = 1
# GENERAL AUTHENTICATE answers that mean the card refused the key: 63 00 (ACS readers), and
# PC/SC part 3's 69 82 security status not satisfied, 69 83 authentication cannot be done,
# 69 84 reference key not usable. Anything else is the reader's failure, not the card's keys.
MIFARE_AUTHENTICATION_REFUSED = frozenset({0x6300, 0x6982, 0x6983, 0x6984})
IMAGE_BLOCKS = CARD_IMAGE_SIZE // 16
# LOAD KEYS' P1, the key structure (PC/SC part 3): bit 5 set = the reader's non-volatile memory.
KEY_STRUCTURE_VOLATILE = 0x00
KEY_STRUCTURE_NON_VOLATILE = 0x20
PERMANENT_SLOT_PREFIX = "permanent:"
# Readers whose key numbers 00-1F are non-volatile and whose one volatile slot is 20h (ACR128,
# ACM1281U): a key loaded below 20h there is written into the reader for good.
VOLATILE_SLOT_20_READERS = ("ACR128", "ACM1281")
READER_VOLATILE_SLOT = 0x20
# Instructions whose command data is a secret: present PSC, change PSC, load key.
SECRET_COMMAND_DATA = frozenset({0x20, 0xD2, 0x82})
READ_SECURITY_MEMORY = 0xB1  # answers the error counter, then the PSC once it is presented
LOG_MASK = "**"

log = logging.getLogger("prepaid.readers.pcsc")

INSTALL_HINT = _(
    "Install the PC/SC stack: apt-get install pcscd libpcsclite-dev swig "
    "(and the reader's driver, e.g. libacsccid1 or libccid), start pcscd, "
    "then pip install 'prepaid[pcsc]'."
)


# ---------------------------------------------------------------------------------------------
# The APDU trace (DEBUG), secrets masked


def _hex(data: bytes) -> str:
    return data.hex(" ").upper()


def _masked(shown: bytes, hidden: int) -> str:
    return " ".join(part for part in (_hex(shown), " ".join([LOG_MASK] * hidden)) if part)


def command_for_log(apdu: bytes) -> str:
    """A command APDU for the trace: the PSC (``FF 20``, ``FF D2``) and keys (``FF 82``) masked."""
    if len(apdu) > 5 and apdu[0] == 0xFF and apdu[1] in SECRET_COMMAND_DATA:
        return _masked(apdu[:5], len(apdu) - 5)
    return _hex(apdu)


def response_for_log(apdu: bytes, data: bytes, sw: int) -> str:
    """An answer for the trace: data, then SW1 SW2; the PSC read back by ``FF B1`` masked."""
    status = f"{sw >> 8:02X} {sw & 0xFF:02X}"
    if apdu[:2] == bytes([0xFF, READ_SECURITY_MEMORY]) and len(data) > 1:
        return f"{_masked(data[:1], len(data) - 1)} | {status}"
    return f"{_hex(data)} | {status}" if data else status


# ---------------------------------------------------------------------------------------------
# Errors (stable codes; English msgids translated at the edge)


def no_reader(reason: str) -> ReaderError:
    return ReaderError(
        "no_reader",
        _("No PC/SC card reader is available (%(reason)s). %(hint)s"),
        reason=reason,
        hint=INSTALL_HINT,
    )


def card_removed() -> ReaderError:
    return ReaderError(
        "card_removed", _("The card was taken out of the reader; put it back and try again.")
    )


def psc_wrong(tries_left: int) -> ReaderError:
    return ReaderError(
        "psc_wrong",
        _(
            "The card refused the site PSC: it belongs to another site or the configured PSC "
            "is wrong. Tries left before the card locks for ever: %(tries_left)d."
        ),
        tries_left=tries_left,
    )


def psc_last_try(tries_left: int) -> ReaderError:
    return ReaderError(
        "psc_last_try",
        _(
            "The PSC was not presented: the card has only %(tries_left)d try left, and a wrong "
            "PSC would lock it for ever. Check the site PSC with an engineer first."
        ),
        tries_left=tries_left,
    )


def card_locked() -> ReaderError:
    return ReaderError(
        "card_locked",
        _("The card is locked (no PSC tries left); it can be read but never written again."),
    )


def psc_counter_unreadable(status: str) -> ReaderError:
    return ReaderError(
        "psc_counter_unreadable",
        _(
            "The reader could not read the card's PSC error counter (status %(status)s); "
            "the PSC was not presented."
        ),
        status=status,
    )


def unsupported_card(atr: str, profile: str) -> ReaderError:
    return ReaderError(
        "unsupported_card",
        _("The card in the reader is not a %(profile)s card (ATR %(atr)s)."),
        atr=atr,
        profile=profile,
    )


def card_foreign_keys(block: int) -> ReaderError:
    return ReaderError(
        "card_foreign_keys",
        _(
            "The card's keys or access conditions do not match this site's Mifare key "
            "(block %(block)d); it is not one of this site's cards."
        ),
        block=block,
    )


def reader_failed(detail: str) -> ReaderError:
    return ReaderError(
        "reader_failed", _("The card reader reported an error: %(detail)s."), detail=detail
    )


def reader_config(detail: str) -> ReaderError:
    return ReaderError(
        "reader_config", _("The card reader configuration is wrong: %(detail)s."), detail=detail
    )


def bad_mifare_key_slot(value: str) -> InvalidInput:
    return InvalidInput(
        "bad_mifare_key_slot",
        _(
            "PREPAID_MIFARE_KEY_SLOT is no key slot: “%(value)s”. Give the reader's key number "
            "in hex: 00 (ACR122U, ACR1252U; the default), 20 (ACR128, ACM1281U), two numbers "
            "for key A and key B (00,01), or permanent:NN to store the site key in the reader's "
            "permanent memory (docs/readers.md)."
        ),
        value=value,
    )


def bad_mifare_key_structure(value: str) -> InvalidInput:
    return InvalidInput(
        "bad_mifare_key_structure",
        _(
            "PREPAID_MIFARE_KEY_STRUCTURE must be 00 (the default) or 20 (the reader's "
            "permanent memory, OMNIKEY 5x21), not “%(value)s”."
        ),
        value=value,
    )


def mifare_key_not_permanent() -> InvalidInput:
    return InvalidInput(
        "bad_mifare_key_structure",
        _(
            "PREPAID_MIFARE_KEY_STRUCTURE=20 stores the site's Mifare key in the reader's "
            "permanent memory: name the slot permanent:NN in PREPAID_MIFARE_KEY_SLOT to mean "
            "it (docs/readers.md)."
        ),
    )


def mifare_key_slot_permanent(reader: str, slot: int) -> ReaderError:
    return ReaderError(
        "mifare_key_slot_permanent",
        _(
            "Key slot %(slot)s of the reader %(reader)s is its permanent key memory: the "
            "site's Mifare key was not loaded. Set PREPAID_MIFARE_KEY_SLOT=20 (its temporary "
            "slot), or permanent:%(slot)s to store the key in the reader (docs/readers.md)."
        ),
        slot=f"{slot:02X}",
        reader=reader,
    )


def _load_scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:
        raise no_reader("pyscard is not installed") from exc
    return scard


def _hresult_name(scard: Any, hresult: int) -> str:
    code = hresult & 0xFFFFFFFF
    for name in dir(scard):
        if name.startswith(("SCARD_E_", "SCARD_W_", "SCARD_F_")):
            if getattr(scard, name) & 0xFFFFFFFF == code:
                return name
    return f"0x{code:08X}"


def _error_for(scard: Any, hresult: int) -> ReaderError:
    """The ReaderError for a failed PC/SC call."""
    code = hresult & 0xFFFFFFFF
    name = _hresult_name(scard, hresult)

    def codes(*names: str) -> set[int]:
        return {getattr(scard, n) & 0xFFFFFFFF for n in names if hasattr(scard, n)}

    if code in codes(
        "SCARD_E_NO_SERVICE",
        "SCARD_E_SERVICE_STOPPED",
        "SCARD_E_NO_READERS_AVAILABLE",
        "SCARD_E_UNKNOWN_READER",
        "SCARD_E_READER_UNAVAILABLE",
        "SCARD_E_INVALID_HANDLE",
    ):
        return no_reader(f"pcscd: {name}")
    if code in codes(
        "SCARD_W_REMOVED_CARD",
        "SCARD_W_RESET_CARD",
        "SCARD_E_NO_SMARTCARD",
        "SCARD_E_NOT_TRANSACTED",
        "SCARD_E_COMM_DATA_LOST",
        "SCARD_F_COMM_ERROR",
        "SCARD_W_UNPOWERED_CARD",
        "SCARD_W_UNRESPONSIVE_CARD",
    ):
        return card_removed()
    return reader_failed(f"pcscd: {name}")


class Channel:
    """A connection to the card in the reader, inside a PC/SC transaction."""

    def __init__(self, scard: Any, hcard: Any, protocol: int, atr: bytes, reader: str = "") -> None:
        self.scard = scard
        self.hcard = hcard
        self.protocol = protocol
        self.atr = atr
        self.reader = reader  # its PC/SC name
        self.writes_done = 0  # write commands the card executed
        self.write_in_flight = False  # a write command sent, its answer not yet received

    @property
    def may_be_torn(self) -> bool:
        """Whether the card may now hold a mix of old and new content."""
        return self.write_in_flight or self.writes_done > 0

    def write_command(self, apdu: bytes) -> int:
        """Send a write APDU; returns SW1SW2. A refusal (no 90 00) changed nothing."""
        self.write_in_flight = True
        _data, sw = self.transmit(apdu)  # card_removed here leaves write_in_flight set
        self.write_in_flight = False
        if sw == 0x9000:
            self.writes_done += 1
        return sw

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU; returns (response data, SW1SW2 as an int)."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("APDU > %s", command_for_log(apdu))
        hresult, response = self.scard.SCardTransmit(self.hcard, self.protocol, list(apdu))
        if hresult != self.scard.SCARD_S_SUCCESS:
            log.debug("APDU < (%s)", _hresult_name(self.scard, hresult))
            raise _error_for(self.scard, hresult)
        if not response:  # vpcd answers nothing when the card left mid-command
            log.debug("APDU < (no answer: the card left)")
            raise card_removed()
        if len(response) < 2:
            log.debug("APDU < (short answer of %d bytes)", len(response))
            raise reader_failed(f"short response {bytes(response).hex()} to {apdu[:2].hex()}")
        data, sw = bytes(response[:-2]), (response[-2] << 8) | response[-1]
        if log.isEnabledFor(logging.DEBUG):
            log.debug("APDU < %s", response_for_log(apdu, data, sw))
        return data, sw

    def command(self, apdu: bytes) -> bytes:
        """Send an APDU that must succeed with 90 00; returns the response data."""
        data, sw = self.transmit(apdu)
        if sw != 0x9000:
            raise reader_failed(f"status {sw:04X} to command {apdu[:4].hex().upper()}")
        return data


class CardProfile(Protocol):
    """How one kind of card carries the logical image."""

    name: str

    def accepts(self, atr: bytes) -> bool: ...

    def prepare(self, channel: Channel) -> None: ...

    def card_serial(self, channel: Channel) -> str: ...

    def read_region(self, channel: Channel, start: int, end: int) -> bytes:
        """Image bytes ``start``..``end`` (exclusive)."""
        ...

    def write_changes(self, channel: Channel, old: bytes, new: bytes) -> None:
        """Bring the card from image ``old`` (as read) to ``new``, in ascending order."""
        ...


def _changed_runs(old: bytes, new: bytes, start: int, gap: int) -> list[tuple[int, int]]:
    """(first, end) ranges from ``start`` on where ``new`` differs, close runs merged."""
    runs: list[tuple[int, int]] = []
    for index in range(start, len(new)):
        if old[index] == new[index]:
            continue
        if runs and index - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


# ---------------------------------------------------------------------------------------------
# SLE4442 / SLE5542 memory cards


class Sle4442Profile:
    """SLE4442/5542 on ACS (``acs``) or OMNIKEY (``omnikey``) readers; image byte = card byte."""

    name = "sle4442"

    def __init__(self, psc: bytes, dialect: str = "acs", extra_atrs: tuple[bytes, ...] = ()):
        if len(psc) != 3:
            raise reader_config("the SLE4442 PSC must be 3 bytes")
        if dialect not in DIALECTS:
            raise reader_config(f"unknown reader dialect {dialect!r} (acs or omnikey)")
        self.psc = psc
        self.dialect = dialect
        self.extra_atrs = extra_atrs
        self.psc_presented = False

    def accepts(self, atr: bytes) -> bool:
        if atr in self.extra_atrs or atr in SLE4442_HEADERS:
            return True
        return len(atr) == 6 and atr[:2] == b"\x3b\x04" and atr[2:] in SLE4442_HEADERS

    def prepare(self, channel: Channel) -> None:
        self.psc_presented = False
        if self.dialect == "acs":
            channel.command(bytes.fromhex("FFA4000001") + b"\x06")  # select SLE4432/4442/5542

    def card_serial(self, channel: Channel) -> str:
        """The factory area 0x00–0x1F in hex (chip header and issuer data; not always unique)."""
        return self.read_region(channel, 0, SLE4442_PROTECTED_END).hex().upper()

    def read_region(self, channel: Channel, start: int, end: int) -> bytes:
        image = bytearray()
        for address in range(start, end, SLE4442_CHUNK):
            length = min(SLE4442_CHUNK, end - address)
            data = channel.command(bytes([0xFF, 0xB0, 0x00, address, length]))
            if len(data) < length:  # some ACR38x firmware append 4 protection bytes: ignored
                raise reader_failed(f"read of {length} bytes returned {len(data)}")
            image += data[:length]
        return bytes(image)

    def read_security_memory(self, channel: Channel) -> bytes:
        """Error counter + PSC (the PSC reads as 00 00 00 until presented)."""
        data, sw = channel.transmit(bytes.fromhex("FFB1000004"))
        if sw != 0x9000 or len(data) < 1:
            raise psc_counter_unreadable(f"{sw:04X}")
        return data

    def tries_left(self, channel: Channel) -> int:
        return (self.read_security_memory(channel)[0] & 0x07).bit_count()

    def present_psc(self, channel: Channel) -> None:
        """Unlock writing; never risks the card's last try."""
        if self.psc_presented:
            return
        tries = self.tries_left(channel)
        if tries == 0:
            raise card_locked()
        if tries == 1:
            raise psc_last_try(tries)
        _data, sw = channel.transmit(bytes.fromhex("FF20000003") + self.psc)
        if sw >> 8 not in (0x90, 0x63):
            raise reader_failed(f"status {sw:04X} to the PSC presentation")
        counter = self.read_security_memory(channel)[0] & 0x07
        if counter != 0x07:  # ACS answers 90 <counter>; the counter read back is authoritative
            raise psc_wrong(counter.bit_count())
        self.psc_presented = True

    def write_changes(self, channel: Channel, old: bytes, new: bytes) -> None:
        if old[:SLE4442_PROTECTED_END] != new[:SLE4442_PROTECTED_END]:
            raise ValueError("bytes 0x00-0x1F of an SLE4442 are factory memory: never written")
        runs = _changed_runs(old, new, SLE4442_PROTECTED_END, SLE4442_MERGE_GAP)
        if not runs:
            return
        self.present_psc(channel)
        instruction = 0xD0 if self.dialect == "acs" else 0xD6
        for first, end in runs:
            for address in range(first, end, SLE4442_CHUNK):
                chunk = new[address : min(end, address + SLE4442_CHUNK)]
                sw = channel.write_command(
                    bytes([0xFF, instruction, 0x00, address, len(chunk)]) + chunk
                )
                if sw != 0x9000:
                    raise reader_failed(f"status {sw:04X} to a write at 0x{address:02X}")


# ---------------------------------------------------------------------------------------------
# Mifare Classic 1K


def mifare_block(image_block: int) -> int:
    """The card block holding image block ``image_block`` (0..15): sectors 1..6, data only.

    Image block i -> sector 1 + i // 3, block i % 3 of that sector; trailers (block 3 of every
    sector) and sector 0 (manufacturer block, often the MAD) are never used.
    """
    if not 0 <= image_block < IMAGE_BLOCKS:
        raise ValueError(f"image block {image_block} out of range")
    sector = MIFARE_FIRST_SECTOR + image_block // 3
    return sector * 4 + image_block % 3


@dataclass(frozen=True)
class MifareKeySlots:
    """Where LOAD KEYS puts the site's Mifare keys: P1 (the key structure) and the key numbers
    GENERAL AUTHENTICATE then names. One slot for both keys: key B is loaded into it when a
    write needs it, and key A again after. ``permanent``: the slots are the reader's permanent
    key memory, named so explicitly (``permanent:NN``); such a slot is loaded once per process
    and reader, not at every connection (each load writes the reader's memory)."""

    key_a: int = 0x00
    key_b: int = 0x01
    structure: int = KEY_STRUCTURE_VOLATILE
    permanent: bool = False


def mifare_key_slots(slot: str = "", structure: str = "") -> MifareKeySlots:
    """The key slots from ``PREPAID_MIFARE_KEY_SLOT`` and ``PREPAID_MIFARE_KEY_STRUCTURE``
    (empty: the defaults, volatile slots 00 and 01 with P1 00); a bad value is refused."""
    text = slot.strip().lower()
    permanent = text.startswith(PERMANENT_SLOT_PREFIX)
    numbers = text.removeprefix(PERMANENT_SLOT_PREFIX).split(",") if text else ["00", "01"]
    if len(numbers) > 2 or not all(re.fullmatch(r"[0-9a-f]{2}", n.strip()) for n in numbers):
        raise bad_mifare_key_slot(slot)
    key_a, key_b = int(numbers[0], 16), int(numbers[-1], 16)
    if len(numbers) == 2 and key_a == key_b:
        raise bad_mifare_key_slot(slot)
    p1 = structure.strip().lower() or "00"
    if p1 not in ("00", "20"):
        raise bad_mifare_key_structure(structure)
    if int(p1, 16) & KEY_STRUCTURE_NON_VOLATILE and not permanent:
        raise mifare_key_not_permanent()
    return MifareKeySlots(key_a, key_b, int(p1, 16), permanent)


# Permanent key slots loaded by this process: (reader, P1, slot) -> the key there.
_permanent_keys: dict[tuple[str, int, int], bytes] = {}


class Mifare1kProfile:
    """Mifare Classic 1K on a PC/SC part 3 contactless reader.

    ``key`` is 6 bytes (key A reads and writes) or 12 bytes (key A reads, key B writes);
    ``slots`` says where the reader keeps them (:class:`MifareKeySlots`).
    """

    name = "mifare1k"
    KEY_A = 0x60
    KEY_B = 0x61

    def __init__(
        self,
        key: bytes,
        extra_atrs: tuple[bytes, ...] = (),
        slots: MifareKeySlots = MifareKeySlots(),
    ) -> None:
        if len(key) not in (6, 12):
            raise reader_config("the Mifare key must be 6 bytes (key A) or 12 bytes (A then B)")
        self.key_a = key[:6]
        self.key_b = key[6:] or None
        self.extra_atrs = extra_atrs
        self.slots = slots
        self._authenticated: tuple[int, int] | None = None
        self._loaded: dict[int, int] = {}  # slot -> key type loaded in it on this connection

    def accepts(self, atr: bytes) -> bool:
        if atr in self.extra_atrs:
            return True
        prefix = PCSC_STORAGE_ATR_PREFIX
        return len(atr) == 20 and atr.startswith(prefix) and atr[13:15] == MIFARE_1K_NAME

    def prepare(self, channel: Channel) -> None:
        self._authenticated = None
        self._loaded = {}
        self._refuse_permanent_slot(getattr(channel, "reader", ""))
        self._load_key(channel, self.KEY_A)
        if self.key_b is not None and self.slots.key_b != self.slots.key_a:
            self._load_key(channel, self.KEY_B)

    def _refuse_permanent_slot(self, reader: str) -> None:
        """Never write the key into a reader's permanent memory unless told to."""
        if self.slots.permanent or not any(m in reader for m in VOLATILE_SLOT_20_READERS):
            return
        for slot in {self.slots.key_a, self.slots.key_b}:
            if slot != READER_VOLATILE_SLOT:
                raise mifare_key_slot_permanent(reader, slot)

    def _load_key(self, channel: Channel, key_type: int) -> None:
        """Load the key of ``key_type`` into its slot (a permanent slot: unless it is there)."""
        slot = self.slots.key_a if key_type == self.KEY_A else self.slots.key_b
        key = self.key_a if key_type == self.KEY_A or self.key_b is None else self.key_b
        remembered = (getattr(channel, "reader", ""), self.slots.structure, slot)
        if not self.slots.permanent or _permanent_keys.get(remembered) != key:
            channel.command(bytes([0xFF, 0x82, self.slots.structure, slot, 0x06]) + key)
            if self.slots.permanent:
                _permanent_keys[remembered] = key
        self._loaded[slot] = key_type

    def card_serial(self, channel: Channel) -> str:
        return channel.command(bytes.fromhex("FFCA000000")).hex().upper()

    def _authenticate(self, channel: Channel, block: int, key_type: int) -> None:
        sector = block // 4
        if self._authenticated == (sector, key_type):
            return
        self._authenticated = None
        slot = self.slots.key_a if key_type == self.KEY_A else self.slots.key_b
        if self._loaded.get(slot, key_type) != key_type:  # a slot shared by keys A and B
            self._load_key(channel, key_type)
        _data, sw = channel.transmit(
            bytes([0xFF, 0x86, 0x00, 0x00, 0x05, 0x01, 0x00, block, key_type, slot])
        )
        if sw != 0x9000 and self.slots.permanent:  # the reader may have lost it: load again
            _permanent_keys.pop((getattr(channel, "reader", ""), self.slots.structure, slot), None)
        if sw in MIFARE_AUTHENTICATION_REFUSED:
            raise card_foreign_keys(block)
        if sw != 0x9000:  # e.g. 6D 00 / 6A 81: the reader has no GENERAL AUTHENTICATE
            raise reader_failed(f"status {sw:04X} to the authentication of block {block}")
        self._authenticated = (sector, key_type)

    def read_region(self, channel: Channel, start: int, end: int) -> bytes:
        first, last = start // 16, (end - 1) // 16
        image = bytearray()
        for image_block in range(first, last + 1):
            block = mifare_block(image_block)
            self._authenticate(channel, block, self.KEY_A)
            data, sw = channel.transmit(bytes([0xFF, 0xB0, 0x00, block, 0x10]))
            if sw in (0x6982, 0x6300, 0x6983):
                raise card_foreign_keys(block)
            if sw != 0x9000 or len(data) != 16:
                raise reader_failed(f"status {sw:04X} reading block {block}")
            image += data
        offset = first * 16
        return bytes(image[start - offset : end - offset])

    def write_changes(self, channel: Channel, old: bytes, new: bytes) -> None:
        write_key = self.KEY_A if self.key_b is None else self.KEY_B
        for image_block in range(IMAGE_BLOCKS):
            chunk = new[image_block * 16 : image_block * 16 + 16]
            if chunk == old[image_block * 16 : image_block * 16 + 16]:
                continue
            block = mifare_block(image_block)
            assert block % 4 != 3 and block != 0, "never write a trailer or block 0"
            self._authenticate(channel, block, write_key)
            sw = channel.write_command(bytes([0xFF, 0xD6, 0x00, block, 0x10]) + chunk)
            if sw in (0x6982, 0x6300, 0x6983):
                raise card_foreign_keys(block)
            if sw != 0x9000:
                raise reader_failed(f"status {sw:04X} writing block {block}")


# ---------------------------------------------------------------------------------------------
# The reader


class PcscReader:
    """A :class:`~prepaid.readers.base.CardReader` on a PC/SC reader.

    ``reader_pattern`` picks the reader: a case-insensitive substring of its PC/SC name, or
    else a regular expression searched in it; empty means the first reader pcscd lists.
    """

    def __init__(self, profile: CardProfile, reader_pattern: str = "") -> None:
        self.profile = profile
        self.reader_pattern = reader_pattern
        self._context: Any = None
        self._lock = threading.RLock()

    @classmethod
    def from_settings(
        cls,
        reader_pattern: str,
        profile: str,
        psc: bytes,
        mifare_key: bytes,
        dialect: str = "acs",
        key_slots: MifareKeySlots = MifareKeySlots(),
    ) -> PcscReader:
        """The reader from the site's settings; ``psc`` / ``mifare_key`` from its secrets."""
        if profile == "sle4442":
            return cls(Sle4442Profile(psc, dialect), reader_pattern)
        if profile == "mifare1k":
            return cls(Mifare1kProfile(mifare_key, slots=key_slots), reader_pattern)
        raise reader_config(f"unknown card profile {profile!r} (sle4442 or mifare1k)")

    @classmethod
    def from_environment(cls, env: Mapping[str, str], psc: bytes, mifare_key: bytes) -> PcscReader:
        """``PREPAID_PCSC_READER``, ``PREPAID_CARD_PROFILE``, ``PREPAID_PCSC_DIALECT``,
        ``PREPAID_MIFARE_KEY_SLOT``, ``PREPAID_MIFARE_KEY_STRUCTURE``."""
        return cls.from_settings(
            env.get("PREPAID_PCSC_READER", ""),
            env.get("PREPAID_CARD_PROFILE", "sle4442"),
            psc,
            mifare_key,
            env.get("PREPAID_PCSC_DIALECT", "acs"),
            mifare_key_slots(
                env.get("PREPAID_MIFARE_KEY_SLOT", ""), env.get("PREPAID_MIFARE_KEY_STRUCTURE", "")
            ),
        )

    # -- the CardReader protocol -------------------------------------------------------------

    def card_present(self) -> bool:
        with self._lock:
            scard = _load_scard()
            context = self._get_context(scard)
            reader = self._find_reader(scard, context)
            hresult, states = scard.SCardGetStatusChange(
                context, 0, [(reader, scard.SCARD_STATE_UNAWARE)]
            )
            if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
                raise self._drop_context(_error_for(scard, hresult))
            state = states[0][1]
            return bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE

    def serial(self) -> str:
        with self._session(write=False) as channel:
            return self.profile.card_serial(channel)

    def read(self) -> bytes:
        with self._session(write=False) as channel:
            return self.profile.read_region(channel, 0, CARD_IMAGE_SIZE)

    def write(self, data: bytes, offset: int = 0) -> None:
        check_region(data, offset)
        end = offset + len(data)
        with self._session(write=True) as channel:
            try:
                old = self.profile.read_region(channel, 0, CARD_IMAGE_SIZE)
                new = old[:offset] + bytes(data) + old[end:]
                self.profile.write_changes(channel, old, new)
                if self.profile.read_region(channel, offset, end) != bytes(data):
                    raise write_failed()
            except ReaderError as exc:
                if channel.may_be_torn and exc.code != "write_failed":
                    raise write_failed() from exc  # the card may hold a torn image
                raise

    # -- PC/SC plumbing ----------------------------------------------------------------------

    def _get_context(self, scard: Any) -> Any:
        if self._context is None:
            hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hresult != scard.SCARD_S_SUCCESS:
                raise no_reader(f"pcscd is not running ({_hresult_name(scard, hresult)})")
            self._context = context
        return self._context

    def _drop_context(self, error: ReaderError) -> ReaderError:
        """Forget the PC/SC context after a reader-level failure (pcscd may have restarted)."""
        if error.code == "no_reader" and self._context is not None:
            with suppress(Exception):
                _load_scard().SCardReleaseContext(self._context)
            self._context = None
        return error

    def _find_reader(self, scard: Any, context: Any) -> str:
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult != scard.SCARD_S_SUCCESS or not readers:
            reason = "pcscd lists no reader"
            if hresult != scard.SCARD_S_SUCCESS:
                reason += f" ({_hresult_name(scard, hresult)})"
            raise self._drop_context(no_reader(reason))
        matching = [name for name in readers if _reader_matches(self.reader_pattern, name)]
        if not matching:
            raise no_reader(
                f"no reader matches {self.reader_pattern!r}; readers: {', '.join(readers)}"
            )
        return str(matching[0])

    @contextmanager
    def _session(self, write: bool) -> Iterator[Channel]:
        """Connect to the card, check its ATR, prepare it; disconnect afterwards."""
        with self._lock:
            scard = _load_scard()
            context = self._get_context(scard)
            reader = self._find_reader(scard, context)
            channel = self._connect(scard, context, reader)
            # Reset after writing so that no verified PSC / authentication outlives us.
            disposition = scard.SCARD_RESET_CARD if write else scard.SCARD_LEAVE_CARD
            try:
                if not self.profile.accepts(channel.atr):
                    raise unsupported_card(channel.atr.hex(" ").upper(), self.profile.name)
                self.profile.prepare(channel)
                yield channel
            finally:
                with suppress(Exception):
                    scard.SCardEndTransaction(channel.hcard, scard.SCARD_LEAVE_CARD)
                with suppress(Exception):
                    scard.SCardDisconnect(channel.hcard, disposition)

    def _connect(self, scard: Any, context: Any, reader: str) -> Channel:
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        hresult, hcard, protocol = scard.SCardConnect(
            context, reader, scard.SCARD_SHARE_SHARED, protocols
        )
        if hresult != scard.SCARD_S_SUCCESS:
            mute = {scard.SCARD_W_UNRESPONSIVE_CARD, scard.SCARD_W_UNPOWERED_CARD}
            if hresult in mute:  # a card that does not answer reset: not one of ours
                raise unsupported_card("none (no answer to reset)", self.profile.name)
            error = _error_for(scard, hresult)
            if error.code == "card_removed":
                raise no_card()
            raise self._drop_context(error)
        hresult = scard.SCardBeginTransaction(hcard)
        if hresult == scard.SCARD_S_SUCCESS:
            hresult, _name, _state, _protocol, atr = scard.SCardStatus(hcard)
        if hresult != scard.SCARD_S_SUCCESS:
            with suppress(Exception):
                scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
            raise _error_for(scard, hresult)
        return Channel(scard, hcard, protocol, bytes(atr), reader)


def _reader_matches(pattern: str, name: str) -> bool:
    if not pattern or pattern.lower() in name.lower():
        return True
    try:
        return re.search(pattern, name, re.IGNORECASE) is not None
    except re.error:
        return False

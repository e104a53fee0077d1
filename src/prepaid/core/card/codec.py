"""The card image codec, layout v1: a :class:`Card` to and from its 256-byte logical image.

The layout is documented byte by byte in ``docs/card-format.md``. In short::

    0x00-0x1F  factory data (never read or written here)
    0x20-0x3F  header  ┐
    0x40-0x7F  body    ├ office area, written only by the office
    0x80-0x8F  office MAC ┘
    0x90-0xDF  four meter write-back records, or a check reading ┐ meter area, written
    0xE0-0xEF  meter MAC                                         ┘ only by meters
    0xF0-0xFF  reserved, zero

Each area carries its own MAC *after* the bytes it covers, so a write cut at any byte leaves
an area that is either its old content, its new content, or fails its MAC (torn-write
reasoning in the doc). ``encode*`` refuse an invalid :class:`Card` with
``card_field_out_of_range``; :func:`decode` raises only ``bad_card``, and reports a meter area
that fails its MAC with ``write_back_damaged`` instead of refusing the whole card.

Every image :func:`decode` accepts is canonical: encoding the decoded card gives the same
bytes back, so no two images mean the same card.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
import struct
from collections.abc import Iterable, Sequence
from typing import Final, TypeVar

from prepaid.core.card import mac
from prepaid.core.card.model import (
    SLOT_COUNT,
    Card,
    CardType,
    CheckReading,
    MeterParameters,
    MeterStatus,
    MeterType,
    Slot,
    SlotKind,
    WriteBack,
    checked_value,
    meter_status,
)
from prepaid.core.errors import CardError, _

CARD_SIZE: Final = 256
FACTORY_AREA: Final = slice(0x00, 0x20)
HEADER_AREA: Final = slice(0x20, 0x40)
BODY_AREA: Final = slice(0x40, 0x80)
OFFICE_CONTENT: Final = slice(0x20, 0x80)  # what the office MAC covers
OFFICE_MAC_AREA: Final = slice(0x80, 0x90)
OFFICE_AREA: Final = slice(0x20, 0x90)  # header + body + office MAC: what the office writes
METER_RECORDS_AREA: Final = slice(0x90, 0xE0)
METER_MAC_AREA: Final = slice(0xE0, 0xF0)
METER_AREA: Final = slice(0x90, 0xF0)  # what a meter writes
RESERVED_AREA: Final = slice(0xF0, 0x100)

MAGIC: Final = b"PP"
FORMAT_VERSION: Final = 1
# First byte of a meter area holding a check reading. A write-back area starts with a
# sub-meter number (0..4), so the two encodings can never be mistaken for each other.
CHECK_TAG: Final = 0xC5
BLANK_FILL: Final = 0xFF  # what a factory-fresh memory card holds
# What a factory-blank card holds after its factory data: 0xFF (memory cards) or zeros
# (Mifare data blocks). Anything else without the magic is not blank but damaged or foreign.
_BLANK_CONTENTS: Final = frozenset(
    {bytes([BLANK_FILL]) * (CARD_SIZE - 0x20), bytes(CARD_SIZE - 0x20)}
)

MAX_GENERATION: Final = 0xFFFF
MAX_MAINTENANCE_CODE: Final = 99_999_999
METER_STATES: Final = 3  # check reading state: 0 cleared, 1 set, 2 bound

_U8: Final = range(0, 2**8)
_U16: Final = range(0, 2**16)
_U32: Final = range(0, 2**32)
_U64: Final = range(0, 2**64)
_I32: Final = range(-(2**31), 2**31)
_SUB_METER: Final = range(1, SLOT_COUNT + 1)
_CODE: Final = range(0, MAX_MAINTENANCE_CODE + 1)

# magic | version | type | key version | reserved | generation | serial | user number | reserved
_HEADER: Final = struct.Struct(">2sBBBBH8sQ8s")
# sub-meter | meter type | kind | flags | maintenance code | purchase serial | quantity
_SLOT: Final = struct.Struct(">BBBBIIi")
# sub-meter | meter type | reserved | maintenance code | limit | prestore | alarm | overdraft
_PARAMETERS: Final = struct.Struct(">BBHIIIII")
_TOOL_CODE: Final = struct.Struct(">I")
# sub-meter | result | status | last serial | balance | cumulative | time
_RECORD: Final = struct.Struct(">BBHIiII")
# tag | sub-meter | meter type | state | status | generation | maintenance code | user number
# | last serial | balance | cumulative | time
_CHECK: Final = struct.Struct(">BBBBHHIQIiII")

_BODY_SIZE: Final = 0x40
_RECORDS_SIZE: Final = 0x50
assert _HEADER.size == 0x20 and _SLOT.size * SLOT_COUNT == _BODY_SIZE
assert _RECORD.size * SLOT_COUNT == _RECORDS_SIZE and _CHECK.size <= _RECORDS_SIZE
assert _PARAMETERS.size <= _BODY_SIZE

# Value types _check_rules passes without a closer look (bool, an int too, is not one of them).
_INT_TYPES: Final = frozenset({int, MeterType, SlotKind, MeterStatus})
_ZEROS: Final = bytes(CARD_SIZE)
_CARD_TYPES: Final = {t.value: t for t in CardType if t is not CardType.BLANK}
_METER_TYPES: Final = {t.value: t for t in MeterType}
_SLOT_KINDS: Final = {k.value: k for k in SlotKind}

# (attribute, allowed values, message) for the fields checked only by range. One message per
# field, so the operator (and the developer) sees which field is wrong.
_Rule = tuple[str, range, str]

_SLOT_RULES: Final[tuple[_Rule, ...]] = (
    (
        "sub_meter",
        _SUB_METER,
        _("A purchase slot's sub-meter number must be 1 to 4, not %(value)s."),
    ),
    ("meter_type", range(1, 5), _("A purchase slot's meter type %(value)s is unknown.")),
    ("kind", range(1, 3), _("A purchase slot's kind %(value)s is unknown.")),
    (
        "maintenance_code",
        _CODE,
        _("A purchase slot's maintenance code must be 0 to 99999999, not %(value)s."),
    ),
    ("serial", _U32, _("A purchase serial must be 0 to 4294967295, not %(value)s.")),
)
_TRANSFER_RULE: Final[_Rule] = (
    "quantity_centi",
    _I32,
    _("A transfer's quantity must be -2147483648 to 2147483647 hundredths, not %(value)s."),
)
SLOT_TAKEN: Final = 0x01  # a slot's flag: a meter has applied its serial (no meter credits it)
_SLOT_FLAGS: Final = {0: False, SLOT_TAKEN: True}
_TAKEN_MESSAGE: Final = _(
    "A purchase slot's taken flag must be 0 or 1 on the card (False or True), not %(value)s."
)
_PURCHASE_RULE: Final[_Rule] = (
    "quantity_centi",
    range(0, 2**31),
    _("A purchase's quantity must be 0 to 2147483647 hundredths, not %(value)s."),
)
_WRITE_BACK_RULES: Final[tuple[_Rule, ...]] = (
    (
        "sub_meter",
        _SUB_METER,
        _("A meter write-back's sub-meter number must be 1 to 4, not %(value)s."),
    ),
    ("result", _U8, _("A meter write-back's result code must be 0 to 255, not %(value)s.")),
    ("status", _U16, _("A meter write-back's status flags must fit 16 bits, not %(value)s.")),
    (
        "last_serial",
        _U32,
        _("A meter write-back's last purchase serial must be 0 to 4294967295, not %(value)s."),
    ),
    (
        "balance_centi",
        _I32,
        _(
            "A meter write-back's balance must be -2147483648 to 2147483647 hundredths, "
            "not %(value)s."
        ),
    ),
    (
        "cumulative_centi",
        _U32,
        _("A meter write-back's cumulative use must be 0 to 4294967295 hundredths, not %(value)s."),
    ),
    ("time", _U32, _("A meter write-back's time must be 0 to 4294967295 seconds, not %(value)s.")),
)
_PARAMETER_RULES: Final[tuple[_Rule, ...]] = (
    (
        "sub_meter",
        _SUB_METER,
        _("A setting card's sub-meter number must be 1 to 4, not %(value)s."),
    ),
    ("meter_type", range(1, 5), _("A setting card's meter type %(value)s is unknown.")),
    (
        "maintenance_code",
        _CODE,
        _("A setting card's maintenance code must be 0 to 99999999, not %(value)s."),
    ),
    (
        "limit_centi",
        _U32,
        _("A setting card's purchase limit must be 0 to 4294967295 hundredths, not %(value)s."),
    ),
    (
        "prestore_centi",
        _U32,
        _(
            "A setting card's pre-stored quantity must be 0 to 4294967295 hundredths, "
            "not %(value)s."
        ),
    ),
    (
        "alarm_centi",
        _U32,
        _("A setting card's alarm level must be 0 to 4294967295 hundredths, not %(value)s."),
    ),
    (
        "overdraft_centi",
        _U32,
        _("A setting card's overdraft must be 0 to 4294967295 hundredths, not %(value)s."),
    ),
)
_CHECK_RULES: Final[tuple[_Rule, ...]] = (
    (
        "sub_meter",
        range(0, SLOT_COUNT + 1),
        _("A check reading's sub-meter number must be 0 to 4, not %(value)s."),
    ),
    ("meter_type", range(1, 5), _("A check reading's meter type %(value)s is unknown.")),
    (
        "maintenance_code",
        _CODE,
        _("A check reading's maintenance code must be 0 to 99999999, not %(value)s."),
    ),
    (
        "state",
        range(0, METER_STATES),
        _("A check reading's meter state must be 0, 1 or 2, not %(value)s."),
    ),
    (
        "user_number",
        _U64,
        _("A check reading's user number must be 0 to 18446744073709551615, not %(value)s."),
    ),
    ("generation", _U16, _("A check reading's card generation must be 0 to 65535, not %(value)s.")),
    (
        "last_serial",
        _U32,
        _("A check reading's last purchase serial must be 0 to 4294967295, not %(value)s."),
    ),
    (
        "balance_centi",
        _I32,
        _("A check reading's balance must be -2147483648 to 2147483647 hundredths, not %(value)s."),
    ),
    (
        "cumulative_centi",
        _U32,
        _("A check reading's cumulative use must be 0 to 4294967295 hundredths, not %(value)s."),
    ),
    ("status", _U16, _("A check reading's status flags must fit 16 bits, not %(value)s.")),
    ("time", _U32, _("A check reading's time must be 0 to 4294967295 seconds, not %(value)s.")),
)
_HEADER_RULES: Final[tuple[_Rule, ...]] = (
    ("generation", _U16, _("The card generation must be 0 to 65535, not %(value)s.")),
    ("user_number", _U64, _("The user number must be 0 to 18446744073709551615, not %(value)s.")),
    ("key_version", _U8, _("The key version must be 0 to 255, not %(value)s.")),
    (
        "maintenance_code",
        _CODE,
        _("A clear-all or zero card's maintenance code must be 0 to 99999999, not %(value)s."),
    ),
)

_E = TypeVar("_E", bound=enum.IntEnum)


# ---------------------------------------------------------------------------------------------
# Public API


def new_serial() -> str:
    """A fresh random card serial: 16 lowercase hex digits (64 bits from ``secrets``)."""
    return secrets.token_hex(mac.SERIAL_SIZE)


def blank_image(base: bytes | None = None) -> bytes:
    """A factory-blank card: the factory bytes of ``base`` (or zeros), then all 0xFF."""
    image = _factory_bytes(base) + bytes([BLANK_FILL]) * (CARD_SIZE - 0x20)
    assert len(image) == CARD_SIZE and image[HEADER_AREA][:2] != MAGIC
    return image


def encode(card: Card, site_key: bytes, base: bytes | None = None) -> bytes:
    """The full 256-byte image of ``card``; the factory bytes 0x00..0x1F come from ``base``.

    The meter area is built from ``card.write_backs`` (user card) or ``card.check`` (check
    card), MAC'd; with neither it is all zeros ("no write-back yet"). ``write_back_damaged``
    is a read-side flag and is ignored.
    """
    mac.check_site_key(site_key)
    serial_bytes = _valid_card_serial(card)
    office = _office_area(card, serial_bytes, site_key)
    # _valid_card_serial checked the write-backs and the check reading with the rest of the
    # card (and that a card carries at most one of them): pack them without a second check.
    meter = _meter_area(serial_bytes, card.generation, card.write_backs, card.check, site_key)
    image = _factory_bytes(base) + office + meter + _ZEROS[RESERVED_AREA]
    assert len(image) == CARD_SIZE
    return image


def encode_office_area(card: Card, site_key: bytes) -> bytes:
    """The 112 bytes to write at ``OFFICE_AREA``: header, body and office MAC."""
    mac.check_site_key(site_key)
    return _office_area(card, _valid_card_serial(card), site_key)


def encode_meter_area(
    serial: str,
    generation: int,
    write_backs: Sequence[WriteBack] | None,
    site_key: bytes,
    check: CheckReading | None = None,
) -> bytes:
    """The 96 bytes a meter writes at ``METER_AREA`` for the card ``serial``/``generation``.

    Pass the write-backs of *all* sub-meters (a meter keeps the other meters' records it read
    from the card and replaces its own), or, on a check card, the ``check`` reading. With
    neither the area is all zeros, which reads as "no write-back yet".
    """
    mac.check_site_key(site_key)
    serial_bytes = _serial_bytes(serial)
    _check_rule(generation, _HEADER_RULES[0], "generation")
    write_backs = tuple(write_backs or ())
    if check is not None and write_backs:
        raise _out_of_range(
            "check", check, _("A meter area holds either write-backs or a check reading, not both.")
        )
    if check is not None:
        _check_rules(check, _CHECK_RULES, "check")
    _check_write_backs(write_backs)
    return _meter_area(serial_bytes, generation, write_backs, check, site_key)


def meter_write_back_area(card: Card, own: WriteBack, site_key: bytes) -> bytes:
    """The 96 bytes a meter writes at ``METER_AREA`` after a swipe of the user card ``card``
    (as :func:`decode` returned it): the records of the other sub-meters it read from the
    card, kept, and ``own`` in place of its sub-meter's record.

    What :func:`encode_meter_area` gives for the same records, checking only ``own``: decode
    has checked the rest. The meter's path on every swipe.
    """
    mac.check_site_key(site_key)
    _check_rules(own, _WRITE_BACK_RULES, "write_back")
    sub_meter = own.sub_meter
    others = () if card.write_back_damaged else card.write_backs
    records = [own]
    records.extend(wb for wb in others if wb.sub_meter != sub_meter)
    if len(records) > 1:
        records.sort(key=_sub_meter_of)
    return _meter_area(bytes.fromhex(card.serial), card.generation, records, None, site_key)


def decode(data: bytes, site_key: bytes) -> Card:
    """The card held by ``data``; raises only ``CardError("bad_card")`` for bad data.

    A factory-blank card (no ``PP`` magic, and nothing but 0xFF or nothing but zeros after
    the factory data) decodes as ``Card(type=BLANK)``; without the magic anything else is
    ``bad_card`` (a damaged card, or one another system wrote), never taken for blank. A meter
    area that fails its MAC (a torn meter write) does not refuse the card: it decodes with no
    write-backs and ``write_back_damaged=True``.
    """
    mac.check_site_key(site_key)
    image = _as_image(data)
    if image[0x20:0x22] != MAGIC:
        if image[0x20:] in _BLANK_CONTENTS:
            return Card(type=CardType.BLANK)
        raise _bad_card(
            _(
                "The card's content is not in this system's format, and the card is not blank "
                "either."
            )
        )
    version = image[0x22]
    if version != FORMAT_VERSION:
        raise _bad_card(_("The card has an unknown format version %(version)s."), version=version)
    _verify_office_mac(image, site_key)
    if image[RESERVED_AREA] != _ZEROS[RESERVED_AREA]:
        raise _bad_card(_("The card's reserved bytes 0xF0-0xFF are not zero."))
    card_type, serial, generation, user_number, key_version = _decode_header(image)
    write_backs, check, damaged = _decode_meter_area(
        card_type, serial, generation, image[METER_AREA], site_key
    )
    body = image[BODY_AREA]
    slots = _canonical_slots(body) if card_type is CardType.USER else None
    if slots is None:  # another card type, or a user card the quick check doubts
        office = Card(card_type, serial.hex(), generation, user_number, key_version)
        office = _decode_body_checked(office, body)
        return dataclasses.replace(
            office, write_backs=write_backs, check=check, write_back_damaged=damaged
        )
    return checked_value(
        Card,
        {
            "type": card_type,
            "serial": serial.hex(),
            "generation": generation,
            "user_number": user_number,
            "key_version": key_version,
            "slots": slots,
            "write_backs": write_backs,
            "parameters": None,
            "maintenance_code": 0,
            "check": check,
            "write_back_damaged": damaged,
        },
    )


def key_version_of(data: bytes) -> int | None:
    """The key version stated in an image's header (not yet authenticated), or None if blank.

    For a site that rotates its key: pick the site key of this version, then :func:`decode`.
    """
    image = _as_image(data)
    return image[0x24] if image[HEADER_AREA][:2] == MAGIC else None


# ---------------------------------------------------------------------------------------------
# Validation (encode side); decode reuses it to explain a refusal as bad_card.


def _out_of_range(field: str, value: object, message: str) -> CardError:
    return CardError("card_field_out_of_range", message, field=field, value=value)


def _check_rule(value: object, rule: _Rule, field: str) -> None:
    _name, allowed, message = rule
    # bool is an int in Python; a True where a number belongs is a bug, not the value 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _out_of_range(field, value, message)
    # int(): `in range` is O(1) only for exact ints; for an IntEnum it would iterate the range.
    if int(value) not in allowed:
        raise _out_of_range(field, value, message)


def _check_rules(obj: object, rules: Iterable[_Rule], prefix: str) -> None:
    for rule in rules:
        name, allowed, _message = rule
        value = getattr(obj, name)
        # The common case in one test, without building the field name; anything else (a
        # bool, another type, a value out of range) goes to _check_rule, which decides.
        if type(value) in _INT_TYPES and allowed.start <= value < allowed.stop:
            continue
        _check_rule(value, rule, f"{prefix}.{name}")


def _valid_card_serial(card: Card) -> bytes:
    """Check the whole card (raises ``card_field_out_of_range``); the serial's 8 bytes."""
    _check_card(card)
    return bytes.fromhex(card.serial)


def _check_card(card: Card) -> None:
    assert isinstance(card, Card), "encode takes a Card"
    if card.type == CardType.BLANK:
        raise _out_of_range(
            "type", card.type, _("A blank card has no header: write blank_image() instead.")
        )
    if not isinstance(card.type, CardType):
        raise _out_of_range("type", card.type, _("The card type %(value)s is unknown."))
    _serial_bytes(card.serial)
    _check_rules(card, _HEADER_RULES, "card")
    _check_type_content(card)
    _check_slots(card.slots)
    _check_write_backs(card.write_backs)
    if card.parameters is not None:
        _check_rules(card.parameters, _PARAMETER_RULES, "parameters")
    if card.check is not None:
        _check_rules(card.check, _CHECK_RULES, "check")


def _check_type_content(card: Card) -> None:
    """Each card type carries only its own kind of content, so decode gives the same card."""
    kind = card.type
    if card.slots and kind != CardType.USER:
        raise _out_of_range("slots", kind.code, _("Only a user card carries purchase slots."))
    if card.write_backs and kind != CardType.USER:
        raise _out_of_range(
            "write_backs", kind.code, _("Only a user card carries meter write-backs.")
        )
    if (card.parameters is not None) != (kind == CardType.SETTING):
        raise _out_of_range(
            "parameters",
            kind.code,
            _("A setting card, and only a setting card, carries meter parameters."),
        )
    if card.maintenance_code and kind not in (CardType.CLEAR_ALL, CardType.ZERO):
        raise _out_of_range(
            "maintenance_code",
            kind.code,
            _("Only a clear-all or zero card carries a maintenance code of its own."),
        )
    if card.check is not None and kind != CardType.CHECK:
        raise _out_of_range("check", kind.code, _("Only a check card carries a check reading."))


def _check_slots(slots: Sequence[Slot]) -> None:
    if len(slots) > SLOT_COUNT:
        raise _out_of_range(
            "slots", len(slots), _("A card has at most 4 purchase slots, not %(value)s.")
        )
    for slot in slots:
        _check_rules(slot, _SLOT_RULES, "slot")
        # Only a meter-change transfer may take credit away (the old meter's pre-store).
        rule = _TRANSFER_RULE if slot.kind == SlotKind.TRANSFER else _PURCHASE_RULE
        _check_rules(slot, (rule,), "slot")
        if type(slot.taken) is not bool:
            raise _out_of_range("slot.taken", slot.taken, _TAKEN_MESSAGE)
    _check_unique(
        [slot.sub_meter for slot in slots],
        "slots",
        _("Sub-meter %(value)s has two purchase slots."),
    )


def _check_write_backs(write_backs: Sequence[WriteBack]) -> None:
    if len(write_backs) > SLOT_COUNT:
        raise _out_of_range(
            "write_backs",
            len(write_backs),
            _("A card has at most 4 meter write-backs, not %(value)s."),
        )
    for write_back in write_backs:
        _check_rules(write_back, _WRITE_BACK_RULES, "write_back")
    _check_unique(
        [wb.sub_meter for wb in write_backs],
        "write_backs",
        _("Sub-meter %(value)s has two meter write-backs."),
    )


def _check_unique(sub_meters: Sequence[int], field: str, message: str) -> None:
    seen: set[int] = set()
    for sub_meter in sub_meters:
        if sub_meter in seen:
            raise _out_of_range(field, sub_meter, message)
        seen.add(sub_meter)


def _serial_bytes(serial: object) -> bytes:
    if isinstance(serial, str) and len(serial) == 2 * mac.SERIAL_SIZE:
        try:
            serial_bytes = bytes.fromhex(serial)
        except ValueError:
            pass
        else:
            # fromhex() also takes upper case and spaces; only 16 lowercase digits map back.
            if serial_bytes.hex() == serial:
                return serial_bytes
    raise _out_of_range(
        "serial",
        serial,
        _("The card serial must be 16 lowercase hexadecimal digits, not “%(value)s”."),
    )


# ---------------------------------------------------------------------------------------------
# Packing (encode side). Input is validated; packing asserts only what validation promised.


def _factory_bytes(base: bytes | None) -> bytes:
    """The factory data to keep: the codec never invents or alters them."""
    if base is None:
        return bytes(FACTORY_AREA.stop)
    if not isinstance(base, bytes | bytearray | memoryview) or len(base) < FACTORY_AREA.stop:
        raise ValueError("base must be bytes holding at least the 32 factory bytes")
    return bytes(base[FACTORY_AREA])


def _office_area(card: Card, serial_bytes: bytes, site_key: bytes) -> bytes:
    """Header, body and office MAC of a validated card."""
    content = _pack_header(card, serial_bytes) + _pack_body(card)
    assert len(content) == OFFICE_CONTENT.stop - OFFICE_CONTENT.start
    area = content + mac.office_mac(site_key, serial_bytes, content)
    assert len(area) == OFFICE_AREA.stop - OFFICE_AREA.start
    return area


def _meter_area(
    serial_bytes: bytes,
    generation: int,
    write_backs: Sequence[WriteBack],
    check: CheckReading | None,
    site_key: bytes,
) -> bytes:
    """Records or check reading, and meter MAC, of validated content (never both kinds)."""
    if check is None and not write_backs:
        return _ZEROS[METER_AREA]
    records = _pack_check(check) if check is not None else _pack_write_backs(write_backs)
    area = records + mac.meter_mac(site_key, serial_bytes, generation, records)
    assert len(area) == METER_AREA.stop - METER_AREA.start
    return area


def _pack_header(card: Card, serial_bytes: bytes) -> bytes:
    return _HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        card.type,
        card.key_version,
        0,
        card.generation,
        serial_bytes,
        card.user_number,
        bytes(8),
    )


def _pack_body(card: Card) -> bytes:
    if card.type == CardType.USER:
        body = b"".join(_pack_slot(slot) for slot in _sorted(card.slots))
    elif card.type == CardType.SETTING:
        body = _pack_parameters(card.parameters)
    elif card.type in (CardType.CLEAR_ALL, CardType.ZERO):
        body = _TOOL_CODE.pack(card.maintenance_code)
    else:  # NEW and CHECK carry nothing in the body
        assert card.type in (CardType.NEW, CardType.CHECK)
        body = b""
    assert len(body) <= _BODY_SIZE
    return body.ljust(_BODY_SIZE, b"\0")


def _pack_slot(slot: Slot) -> bytes:
    return _SLOT.pack(
        slot.sub_meter,
        slot.meter_type,
        slot.kind,
        SLOT_TAKEN if slot.taken else 0,
        slot.maintenance_code,
        slot.serial,
        slot.quantity_centi,
    )


def _pack_parameters(parameters: MeterParameters | None) -> bytes:
    assert parameters is not None, "validated: a setting card has parameters"
    p = parameters
    return _PARAMETERS.pack(
        p.sub_meter,
        p.meter_type,
        0,
        p.maintenance_code,
        p.limit_centi,
        p.prestore_centi,
        p.alarm_centi,
        p.overdraft_centi,
    )


def _pack_write_backs(write_backs: Sequence[WriteBack]) -> bytes:
    records = b"".join(
        _RECORD.pack(
            wb.sub_meter,
            wb.result,
            wb.status,
            wb.last_serial,
            wb.balance_centi,
            wb.cumulative_centi,
            wb.time,
        )
        for wb in _sorted(write_backs)
    )
    return records.ljust(_RECORDS_SIZE, b"\0")


def _pack_check(check: CheckReading) -> bytes:
    c = check
    packed = _CHECK.pack(
        CHECK_TAG,
        c.sub_meter,
        c.meter_type,
        c.state,
        c.status,
        c.generation,
        c.maintenance_code,
        c.user_number,
        c.last_serial,
        c.balance_centi,
        c.cumulative_centi,
        c.time,
    )
    return packed.ljust(_RECORDS_SIZE, b"\0")


_T = TypeVar("_T", Slot, WriteBack)


def _sorted(items: Iterable[_T]) -> list[_T]:
    """Slots and records are stored sorted by sub-meter, empty ones last: one image per card."""
    return sorted(items, key=_sub_meter_of)


def _sub_meter_of(item: Slot | WriteBack) -> int:
    return item.sub_meter


# ---------------------------------------------------------------------------------------------
# Unpacking (decode side)


def _bad_card(message: str, **params: object) -> CardError:
    return CardError("bad_card", message, **params)


def _as_image(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _bad_card(_("The card image is not bytes but %(kind)s."), kind=type(data).__name__)
    image = bytes(data)
    if len(image) != CARD_SIZE:
        raise _bad_card(_("The card image has %(size)s bytes instead of 256."), size=len(image))
    return image


def _verify_office_mac(image: bytes, site_key: bytes) -> None:
    serial_bytes = image[0x28:0x30]
    expected = mac.office_mac(site_key, serial_bytes, image[OFFICE_CONTENT])
    if not mac.macs_equal(expected, image[OFFICE_MAC_AREA]):
        raise _bad_card(
            _(
                "The card failed its authentication check: it was edited, its last write was "
                "interrupted, or it was copied from another card or another site."
            )
        )


def _decode_header(image: bytes) -> tuple[CardType, bytes, int, int, int]:
    """Type, serial bytes, generation, user number, key version of an authentic header."""
    fields = _HEADER.unpack_from(image, HEADER_AREA.start)
    _magic, _version, type_value, key_version, reserved, generation, serial, user, tail = fields
    if reserved or tail != _ZEROS[:8]:
        raise _bad_card(_("The card's reserved header bytes are not zero."))
    card_type = _CARD_TYPES.get(type_value)
    if card_type is None:  # 0 (blank) is never written with a header
        raise _bad_card(_("The card has an unknown card type %(value)s."), value=type_value)
    return card_type, serial, generation, user, key_version


def _canonical_slots(body: bytes) -> tuple[Slot, ...] | None:
    """The slots of a user card's body if it is valid and canonical, else None.

    Checks only what the struct format does not already bound: sub-meter 1..4 in increasing
    order (sorted, each once), the enumerations, flags, maintenance code, a purchase's
    sign, and empty slots all zero after the used ones. Exactly what the full check
    (:func:`_decode_body_checked`) accepts for a user card, so that None only means "let the
    full check explain the refusal".
    """
    slots = []
    previous = 0
    for sub_meter, meter_type, kind, flags, code, serial, quantity in _SLOT.iter_unpack(body):
        if sub_meter == 0:
            break
        meter_type_member = _METER_TYPES.get(meter_type)
        kind_member = _SLOT_KINDS.get(kind)
        taken = _SLOT_FLAGS.get(flags)
        if (
            not previous < sub_meter <= SLOT_COUNT
            or meter_type_member is None
            or kind_member is None
            or taken is None
            or code > MAX_MAINTENANCE_CODE
            or (quantity < 0 and kind_member is not SlotKind.TRANSFER)
        ):
            return None
        previous = sub_meter
        slot = {
            "sub_meter": sub_meter,
            "meter_type": meter_type_member,
            "maintenance_code": code,
            "serial": serial,
            "quantity_centi": quantity,
            "kind": kind_member,
            "taken": taken,
        }
        slots.append(checked_value(Slot, slot))
    used = len(slots) * _SLOT.size
    if body[used:] != _ZEROS[used:_BODY_SIZE]:
        return None
    return tuple(slots)


def _decode_body_checked(card: Card, body: bytes) -> Card:
    """The card with its body, by the full encode-side check (raises ``bad_card``).

    Decodes the card types other than user cards, and explains the refusal of a user card's
    body with the message :func:`encode` gives for the same field.
    """
    try:
        card = _decode_body(card, body)
        _check_card(card)
    except CardError as error:  # a field out of range, e.g. written by other software
        raise _bad_card(error.message_template, **error.params) from None
    if _pack_body(card) != body:  # padding, empty slots or order not as encode writes them
        raise _bad_card(_("The card's body holds stray bytes or unsorted slots."))
    return card


def _decode_body(card: Card, body: bytes) -> Card:
    if card.type == CardType.USER:
        return dataclasses.replace(card, slots=_unpack_slots(body))
    if card.type == CardType.SETTING:
        return dataclasses.replace(card, parameters=_unpack_parameters(body))
    if card.type in (CardType.CLEAR_ALL, CardType.ZERO):
        (code,) = _TOOL_CODE.unpack_from(body)
        return dataclasses.replace(card, maintenance_code=code)
    return card


def _unpack_slots(body: bytes) -> tuple[Slot, ...]:
    slots = []
    for offset in range(0, _BODY_SIZE, _SLOT.size):
        sub_meter, meter_type, kind, flags, code, serial, quantity = _SLOT.unpack_from(body, offset)
        if sub_meter == 0:  # an empty slot; canonical form (all zeros) is checked afterwards
            continue
        slots.append(
            Slot(
                sub_meter=sub_meter,
                meter_type=_enum(MeterType, meter_type, _SLOT_RULES[1]),
                maintenance_code=code,
                serial=serial,
                quantity_centi=quantity,
                kind=_enum(SlotKind, kind, _SLOT_RULES[2]),
                taken=_slot_taken(flags),
            )
        )
    return tuple(slots)


def _unpack_parameters(body: bytes) -> MeterParameters:
    sub_meter, meter_type, _reserved, code, limit, prestore, alarm, overdraft = (
        _PARAMETERS.unpack_from(body)
    )
    return MeterParameters(
        sub_meter=sub_meter,
        meter_type=_enum(MeterType, meter_type, _PARAMETER_RULES[1]),
        maintenance_code=code,
        limit_centi=limit,
        prestore_centi=prestore,
        alarm_centi=alarm,
        overdraft_centi=overdraft,
    )


def _slot_taken(flags: int) -> bool:
    taken = _SLOT_FLAGS.get(flags)
    if taken is None:
        raise _out_of_range("slot.taken", flags, _TAKEN_MESSAGE)
    return taken


def _enum(kind: type[_E], value: int, rule: _Rule) -> _E:
    if value not in kind._value2member_map_:
        raise _out_of_range(rule[0], value, rule[2])
    return kind(value)


_MeterArea = tuple[tuple[WriteBack, ...], CheckReading | None, bool]
_NO_METER_AREA: Final[_MeterArea] = ((), None, False)
_DAMAGED_METER_AREA: Final[_MeterArea] = ((), None, True)


def _decode_meter_area(
    card_type: CardType, serial_bytes: bytes, generation: int, area: bytes, site_key: bytes
) -> _MeterArea:
    """Write-backs, check reading and the damaged flag: a meter area never refuses a card.

    The office area is authentic at this point, so the office can still serve the customer;
    only the meters' word is unknown until the next swipe rewrites the area.
    """
    if area == _ZEROS[METER_AREA]:
        return _NO_METER_AREA  # no write-back yet
    records, found_mac = area[:_RECORDS_SIZE], area[_RECORDS_SIZE:]
    expected = mac.meter_mac(site_key, serial_bytes, generation, records)
    if not mac.macs_equal(expected, found_mac):
        return _DAMAGED_METER_AREA  # torn or edited meter write, or another generation's
    # Authentic but unusable (the other kind, a card type without a meter area, not in
    # canonical form) is treated like a torn write: the next swipe rewrites it.
    if card_type is CardType.USER:
        write_backs = _canonical_write_backs(records)
        if write_backs:
            return write_backs, None, False
    elif card_type is CardType.CHECK and records[0] == CHECK_TAG:
        check = _canonical_check(records)
        if check is not None:
            return (), check, False
    return _DAMAGED_METER_AREA


def _canonical_write_backs(records: bytes) -> tuple[WriteBack, ...] | None:
    """The records if they are exactly what encode writes for them, else None.

    The struct format bounds every field; left to check: sub-meter 1..4 in increasing order
    (sorted, each once) and empty records all zero after the used ones. No records at all
    under a MAC is not how encode writes "none yet" (all zeros): () then, refused by the
    caller, so that each card has exactly one image.
    """
    write_backs = []
    previous = 0
    for fields in _RECORD.iter_unpack(records):
        sub_meter, result, status, last_serial, balance, cumulative, time = fields
        if sub_meter == 0:
            break
        if not previous < sub_meter <= SLOT_COUNT:
            return None
        previous = sub_meter
        write_back = {
            "sub_meter": sub_meter,
            "last_serial": last_serial,
            "balance_centi": balance,
            "cumulative_centi": cumulative,
            "status": meter_status(status),
            "result": result,
            "time": time,
        }
        write_backs.append(checked_value(WriteBack, write_back))
    used = len(write_backs) * _RECORD.size
    if records[used:] != _ZEROS[used:_RECORDS_SIZE]:
        return None
    return tuple(write_backs)


def _canonical_check(records: bytes) -> CheckReading | None:
    try:
        check = _unpack_check(records)
        _check_rules(check, _CHECK_RULES, "check")
    except CardError:
        return None
    return check if _pack_check(check) == records else None


def _unpack_check(records: bytes) -> CheckReading:
    (
        tag,
        sub_meter,
        meter_type,
        state,
        status,
        generation,
        code,
        user,
        last,
        balance,
        cumul,
        time,
    ) = _CHECK.unpack_from(records)
    assert tag == CHECK_TAG
    return CheckReading(
        sub_meter=sub_meter,
        meter_type=_enum(MeterType, meter_type, _CHECK_RULES[1]),
        maintenance_code=code,
        state=state,
        user_number=user,
        generation=generation,
        last_serial=last,
        balance_centi=balance,
        cumulative_centi=cumul,
        status=meter_status(status),
        time=time,
    )

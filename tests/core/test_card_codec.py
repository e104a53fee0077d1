"""The card image codec, layout v1 (docs/card-format.md): round trips, tamper detection,
copies and other sites, arbitrary input, field validation, and torn writes at every byte."""

from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from prepaid.core.card import codec, mac
from prepaid.core.card.codec import (
    CARD_SIZE,
    METER_AREA,
    OFFICE_AREA,
    blank_image,
    decode,
    encode,
    encode_meter_area,
    encode_office_area,
    key_version_of,
    meter_write_back_area,
    new_serial,
)
from prepaid.core.card.model import (
    Card,
    CardType,
    CheckReading,
    MeterParameters,
    MeterStatus,
    MeterType,
    Slot,
    SlotKind,
    WriteBack,
)
from prepaid.core.errors import CardError

SITE_KEY = bytes(range(32))
OTHER_SITE_KEY = bytes(range(1, 33))

U8 = st.integers(0, 2**8 - 1)
U16 = st.integers(0, 2**16 - 1)
U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
I32 = st.integers(-(2**31), 2**31 - 1)
CODES = st.integers(0, 99_999_999)
SERIALS = st.binary(min_size=8, max_size=8).map(bytes.hex)
METER_TYPES = st.sampled_from(MeterType)
STATUSES = U16.map(MeterStatus)
ENCODABLE_TYPES = [t for t in CardType if t != CardType.BLANK]


# ---------------------------------------------------------------------------------------------
# Strategies: random valid cards, in the canonical order decode returns (sorted by sub-meter).


@st.composite
def slot_tuples(draw: st.DrawFn) -> tuple[Slot, ...]:
    sub_meters = draw(st.lists(st.integers(1, 4), unique=True, max_size=4))
    slots = []
    for sub_meter in sorted(sub_meters):
        kind = draw(st.sampled_from(SlotKind))
        quantity = draw(I32 if kind == SlotKind.TRANSFER else st.integers(0, 2**31 - 1))
        slots.append(
            Slot(
                sub_meter=sub_meter,
                meter_type=draw(METER_TYPES),
                maintenance_code=draw(CODES),
                serial=draw(U32),
                quantity_centi=quantity,
                kind=kind,
                taken=draw(st.booleans()),
            )
        )
    return tuple(slots)


@st.composite
def write_back_tuples(draw: st.DrawFn, min_size: int = 0) -> tuple[WriteBack, ...]:
    sub_meters = draw(st.lists(st.integers(1, 4), unique=True, min_size=min_size, max_size=4))
    return tuple(
        WriteBack(
            sub_meter=sub_meter,
            last_serial=draw(U32),
            balance_centi=draw(I32),
            cumulative_centi=draw(U32),
            status=draw(STATUSES),
            result=draw(U8),
            time=draw(U32),
        )
        for sub_meter in sorted(sub_meters)
    )


PARAMETERS = st.builds(
    MeterParameters,
    sub_meter=st.integers(1, 4),
    meter_type=METER_TYPES,
    maintenance_code=CODES,
    limit_centi=U32,
    prestore_centi=U32,
    alarm_centi=U32,
    overdraft_centi=U32,
)

CHECK_READINGS = st.builds(
    CheckReading,
    sub_meter=st.integers(0, 4),
    meter_type=METER_TYPES,
    maintenance_code=CODES,
    state=st.integers(0, 2),
    user_number=U64,
    generation=U16,
    last_serial=U32,
    balance_centi=I32,
    cumulative_centi=U32,
    status=STATUSES,
    time=U32,
)


@st.composite
def cards(draw: st.DrawFn, types: st.SearchStrategy[CardType] | None = None) -> Card:
    card_type = draw(types if types is not None else st.sampled_from(ENCODABLE_TYPES))
    card = Card(
        type=card_type,
        serial=draw(SERIALS),
        generation=draw(U16),
        user_number=draw(U64),
        key_version=draw(U8),
    )
    if card_type == CardType.USER:
        return dataclasses.replace(
            card, slots=draw(slot_tuples()), write_backs=draw(write_back_tuples())
        )
    if card_type == CardType.SETTING:
        return dataclasses.replace(card, parameters=draw(PARAMETERS))
    if card_type in (CardType.CLEAR_ALL, CardType.ZERO):
        return dataclasses.replace(card, maintenance_code=draw(CODES))
    if card_type == CardType.CHECK:
        return dataclasses.replace(card, check=draw(st.none() | CHECK_READINGS))
    return card


def decoded(image: bytes, site_key: bytes = SITE_KEY) -> Card | str:
    """The decoded card, or the error code (asserting it is the only one decode may raise)."""
    try:
        return decode(image, site_key)
    except CardError as error:
        assert error.code == "bad_card", error.code
        assert error.message  # the English message formats with its parameters
        return error.code


def office_part(card: Card) -> Card:
    """The card without its meter area: what the office area alone says."""
    return dataclasses.replace(card, write_backs=(), check=None, write_back_damaged=False)


# Sample cards of every type, with a meter area where the type has one.
SERIAL = "0123456789abcdef"
USER_CARD = Card(
    type=CardType.USER,
    serial=SERIAL,
    generation=2,
    user_number=20240001,
    slots=(
        Slot(1, MeterType.WATER, 1234, 7, 1_000, SlotKind.PURCHASE),
        Slot(3, MeterType.GAS, 1234, 1, -250, SlotKind.TRANSFER, taken=True),
    ),
    write_backs=(
        WriteBack(1, 6, 1_250, 98_000, MeterStatus.ALARM, 0, 1_700_000_000),
        WriteBack(3, 0, -5, 10, MeterStatus.OVERDRAFT | MeterStatus.VALVE_CLOSED, 3, 1_700_000_100),
    ),
)
SAMPLE_CARDS = [
    USER_CARD,
    dataclasses.replace(USER_CARD, write_backs=()),  # never swiped: all-zero meter area
    Card(type=CardType.NEW, serial=SERIAL, generation=1),
    Card(
        type=CardType.SETTING,
        serial=SERIAL,
        parameters=MeterParameters(2, MeterType.ELECTRICITY, 5678, 99_900, 500, 1_000, 500),
    ),
    Card(type=CardType.CLEAR_ALL, serial=SERIAL, maintenance_code=5678),
    Card(type=CardType.ZERO, serial=SERIAL, maintenance_code=0),
    Card(
        type=CardType.CHECK,
        serial=SERIAL,
        check=CheckReading(
            4, MeterType.HEAT, 42, 2, 20240001, 2, 9, 1_500, 77_000, MeterStatus.TAMPER, 1
        ),
    ),
]
SAMPLE_IDS = ["user", "user-unswiped", "new", "setting", "clear-all", "zero", "check"]


# ---------------------------------------------------------------------------------------------
# Round trips


@settings(max_examples=200, deadline=None)
@given(card=cards(), factory=st.binary(min_size=32, max_size=32))
def test_every_valid_card_round_trips(card: Card, factory: bytes) -> None:
    image = encode(card, SITE_KEY, base=factory + bytes(224))
    assert len(image) == CARD_SIZE
    assert image[:32] == factory  # the factory data are kept as given
    back = decode(image, SITE_KEY)
    assert back == card
    assert back.write_back_damaged is False
    assert_as_if_constructed(back)
    # The areas are the same bytes the partial encoders give, so partial writes compose.
    assert image[OFFICE_AREA] == encode_office_area(card, SITE_KEY)
    assert image[METER_AREA] == encode_meter_area(
        card.serial, card.generation, card.write_backs, SITE_KEY, check=card.check
    )


def assert_as_if_constructed(card: Card) -> None:
    """Decode builds its values without their __init__ (checked_value): they must hold
    exactly the fields, in the order, an __init__ would give, hash alike and stay frozen."""
    for value in (card, *card.slots, *card.write_backs):
        rebuilt = dataclasses.replace(value)
        assert list(vars(value).items()) == list(vars(rebuilt).items())
        assert hash(value) == hash(rebuilt) and repr(value) == repr(rebuilt)
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.time = 0  # type: ignore[misc, union-attr]


@pytest.mark.parametrize("card", SAMPLE_CARDS, ids=SAMPLE_IDS)
def test_sample_cards_round_trip(card: Card) -> None:
    assert decode(encode(card, SITE_KEY), SITE_KEY) == card


def test_encode_stores_slots_and_write_backs_sorted_by_sub_meter() -> None:
    shuffled = dataclasses.replace(
        USER_CARD, slots=USER_CARD.slots[::-1], write_backs=USER_CARD.write_backs[::-1]
    )
    assert encode(shuffled, SITE_KEY) == encode(USER_CARD, SITE_KEY)
    assert decode(encode(shuffled, SITE_KEY), SITE_KEY) == USER_CARD


def test_layout_offsets_of_a_user_card() -> None:
    """Pin the documented byte positions (docs/card-format.md), not just the round trip."""
    image = encode(USER_CARD, SITE_KEY)
    assert image[0x20:0x22] == b"PP" and image[0x22] == 1 and image[0x23] == CardType.USER
    assert image[0x24] == 1 and image[0x25] == 0
    assert struct.unpack(">H", image[0x26:0x28]) == (2,)
    assert image[0x28:0x30].hex() == SERIAL
    assert struct.unpack(">Q", image[0x30:0x38]) == (20240001,)
    assert image[0x38:0x40] == bytes(8)
    assert struct.unpack(">BBBBIIi", image[0x40:0x50]) == (1, 1, 1, 0, 1234, 7, 1000)
    assert struct.unpack(">BBBBIIi", image[0x50:0x60]) == (3, 3, 2, 1, 1234, 1, -250)
    assert image[0x60:0x80] == bytes(32)
    serial_bytes = bytes.fromhex(SERIAL)
    assert image[0x80:0x90] == mac.office_mac(SITE_KEY, serial_bytes, image[0x20:0x80])
    assert struct.unpack(">BBHIiII", image[0x90:0xA4]) == (1, 0, 1, 6, 1250, 98000, 1700000000)
    assert struct.unpack(">BBHIiII", image[0xA4:0xB8])[:4] == (3, 3, 6, 0)
    assert image[0xB8:0xE0] == bytes(40)
    assert image[0xE0:0xF0] == mac.meter_mac(SITE_KEY, serial_bytes, 2, image[0x90:0xE0])
    assert image[0xF0:] == bytes(16)


def test_mac_key_derivation_is_as_documented() -> None:
    import hashlib
    import hmac

    serial_bytes = bytes.fromhex(SERIAL)
    office_key = hmac.new(SITE_KEY, b"prepaid/office/v1" + serial_bytes, hashlib.sha256).digest()
    meter_key = hmac.new(SITE_KEY, b"prepaid/meter/v1" + serial_bytes, hashlib.sha256).digest()
    image = encode(USER_CARD, SITE_KEY)
    office = hmac.new(office_key, image[0x20:0x80], hashlib.sha256).digest()[:16]
    message = serial_bytes + (2).to_bytes(2, "big") + image[0x90:0xE0]
    meter = hmac.new(meter_key, message, hashlib.sha256).digest()[:16]
    assert image[0x80:0x90] == office and image[0xE0:0xF0] == meter


def test_check_reading_layout() -> None:
    card = SAMPLE_CARDS[-1]
    image = encode(card, SITE_KEY)
    assert image[0x90] == codec.CHECK_TAG
    fields = struct.unpack(">BBBBHHIQIiII", image[0x90:0xB4])
    assert fields == (0xC5, 4, 4, 2, 8, 2, 42, 20240001, 9, 1500, 77000, 1)
    assert image[0xB4:0xE0] == bytes(44)


def test_empty_meter_area_is_zeros_and_means_no_write_back_yet() -> None:
    for card in (
        SAMPLE_CARDS[1],
        SAMPLE_CARDS[2],
        dataclasses.replace(SAMPLE_CARDS[-1], check=None),
    ):
        image = encode(card, SITE_KEY)
        assert image[METER_AREA] == bytes(96)
        back = decode(image, SITE_KEY)
        assert back.write_backs == () and back.check is None and not back.write_back_damaged


def test_new_serial_is_16_lowercase_hex_digits_and_random() -> None:
    serials = {new_serial() for _ in range(100)}
    assert len(serials) == 100
    assert all(re.fullmatch(r"[0-9a-f]{16}", s) for s in serials)


def test_blank_image_decodes_as_blank_and_keeps_factory_bytes() -> None:
    factory = bytes(range(100, 132))
    image = blank_image(factory + bytes(224))
    assert len(image) == CARD_SIZE and image[:32] == factory
    assert decode(image, SITE_KEY) == Card(type=CardType.BLANK)
    assert decode(blank_image(), SITE_KEY) == Card(type=CardType.BLANK)
    assert key_version_of(image) is None


def test_a_blank_card_holds_nothing_but_0xff_or_nothing_but_zeros() -> None:
    """Memory cards leave the factory with 0xFF, Mifare data blocks with zeros."""
    for fill in (0xFF, 0x00):
        image = bytes(range(32)) + bytes([fill]) * 224
        assert decode(image, SITE_KEY) == Card(type=CardType.BLANK)


@settings(max_examples=100, deadline=None)
@given(rest=st.binary(min_size=224, max_size=224))
def test_without_the_magic_other_content_is_a_bad_card_not_a_blank_one(rest: bytes) -> None:
    """A card whose magic was garbled is damaged, not blank: taken for blank, it would be
    offered to be formatted and opened for another customer."""
    image = bytes(32) + rest
    result = decoded(image)
    if rest[:2] != b"PP" and rest not in (b"\xff" * 224, bytes(224)):
        assert result == "bad_card"


def test_a_user_card_with_its_magic_garbled_is_a_bad_card() -> None:
    image = bytearray(encode(USER_CARD, SITE_KEY))
    image[0x20] ^= 0xFF
    with pytest.raises(CardError) as refused:
        decode(bytes(image), SITE_KEY)
    assert refused.value.code == "bad_card"
    assert "not in this system's format" in refused.value.message


def test_key_version_is_readable_before_decoding() -> None:
    card = dataclasses.replace(USER_CARD, key_version=7)
    assert key_version_of(encode(card, SITE_KEY)) == 7


def test_short_base_and_short_site_key_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        encode(USER_CARD, SITE_KEY, base=bytes(31))
    with pytest.raises(ValueError):
        decode(encode(USER_CARD, SITE_KEY), b"short")
    with pytest.raises(TypeError):
        encode(USER_CARD, "key")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Every single-byte change is detected


def expected_after_change(card: Card, position: int) -> Card | str:
    if position < 0x20:
        return card  # factory data: ignored
    if position < 0x90 or position >= 0xF0:  # the magic too: damaged, never blank
        return "bad_card"
    return dataclasses.replace(office_part(card), write_back_damaged=True)


def assert_change_detected(image: bytes, card: Card, position: int, xor: int) -> None:
    changed = bytearray(image)
    changed[position] ^= xor
    result = decoded(bytes(changed))
    expected = expected_after_change(card, position)
    assert result == expected, (hex(position), xor, result)
    if isinstance(expected, Card):
        assert isinstance(result, Card)
        assert result.write_back_damaged == expected.write_back_damaged, hex(position)


@pytest.mark.parametrize("card", SAMPLE_CARDS, ids=SAMPLE_IDS)
def test_one_changed_byte_anywhere_is_detected(card: Card) -> None:
    image = encode(card, SITE_KEY)
    for position in range(CARD_SIZE):
        for xor in (0x01, 0x80, 0xFF):
            assert_change_detected(image, card, position, xor)


@pytest.mark.parametrize("card", SAMPLE_CARDS[:2], ids=SAMPLE_IDS[:2])
def test_every_value_of_a_byte_in_each_field_is_detected(card: Card) -> None:
    image = encode(card, SITE_KEY)
    positions = [
        0x00,
        0x1F,
        0x20,
        0x22,
        0x23,
        0x24,
        0x25,
        0x27,
        0x28,
        0x37,
        0x3F,
        0x40,
        0x42,
        0x4F,
        0x7F,
        0x80,
        0x8F,
        0x90,
        0x93,
        0xDF,
        0xE0,
        0xEF,
        0xF0,
        0xFF,
    ]
    for position in positions:
        for xor in range(1, 256):
            assert_change_detected(image, card, position, xor)


# ---------------------------------------------------------------------------------------------
# Copies and other sites


def test_office_content_under_another_serial_is_refused() -> None:
    image = bytearray(encode(USER_CARD, SITE_KEY))
    image[0x28:0x30] = bytes.fromhex("fedcba9876543210")  # same content, another card's serial
    assert decoded(bytes(image)) == "bad_card"


def test_body_and_mac_copied_onto_another_card_are_refused() -> None:
    other = encode(dataclasses.replace(USER_CARD, serial="fedcba9876543210"), SITE_KEY)
    mine = encode(dataclasses.replace(USER_CARD, slots=USER_CARD.slots[:1]), SITE_KEY)
    forged = other[:0x40] + mine[0x40:0x90] + other[0x90:]
    assert decoded(forged) == "bad_card"


def test_meter_area_copied_from_another_card_is_damaged_not_trusted() -> None:
    other_card = dataclasses.replace(USER_CARD, serial="fedcba9876543210")
    unswiped = dataclasses.replace(USER_CARD, write_backs=())
    image = encode(unswiped, SITE_KEY)
    forged = image[:0x90] + encode(other_card, SITE_KEY)[METER_AREA] + image[0xF0:]
    result = decode(forged, SITE_KEY)
    assert result == unswiped and result.write_back_damaged


def test_write_backs_of_an_older_generation_are_damaged() -> None:
    """A reissue (higher generation) on the same serial voids the old write-backs."""
    old = encode(USER_CARD, SITE_KEY)
    newer = dataclasses.replace(USER_CARD, generation=3, write_backs=())
    image = old[:0x20] + encode_office_area(newer, SITE_KEY) + old[0x90:]
    result = decode(image, SITE_KEY)
    assert result == newer and result.write_back_damaged


def test_a_meter_area_of_the_other_kind_is_damaged() -> None:
    """Check readings on a user card, or write-backs on a check card, are never interpreted."""
    check_card = SAMPLE_CARDS[-1]
    user = dataclasses.replace(USER_CARD, generation=check_card.generation)
    user_image = encode(user, SITE_KEY)
    check_image = encode(check_card, SITE_KEY)
    swapped = user_image[:0x90] + check_image[METER_AREA] + user_image[0xF0:]
    result = decode(swapped, SITE_KEY)
    assert result == office_part(user) and result.write_back_damaged
    swapped = check_image[:0x90] + user_image[METER_AREA] + check_image[0xF0:]
    result = decode(swapped, SITE_KEY)
    assert result == office_part(check_card) and result.write_back_damaged


@pytest.mark.parametrize("card", SAMPLE_CARDS[2:6], ids=SAMPLE_IDS[2:6])
def test_a_meter_area_on_a_card_without_one_is_damaged(card: Card) -> None:
    """Only user and check cards have a meter area; leftovers on others are not trusted."""
    meter = encode_meter_area(SERIAL, card.generation, USER_CARD.write_backs, SITE_KEY)
    image = encode(card, SITE_KEY)
    result = decode(image[:0x90] + meter + image[0xF0:], SITE_KEY)
    assert result == card and result.write_back_damaged


@pytest.mark.parametrize("card", SAMPLE_CARDS, ids=SAMPLE_IDS)
def test_another_site_key_is_refused(card: Card) -> None:
    assert decoded(encode(card, SITE_KEY), OTHER_SITE_KEY) == "bad_card"


def test_a_whole_image_clone_reads_the_same() -> None:
    """Documented limit: a bit-for-bit clone is the same logical card (the codec ignores the
    chip's factory data). The meter's purchase-serial rule keeps it from crediting twice."""
    image = encode(USER_CARD, SITE_KEY)
    clone = bytes(range(32)) + image[32:]
    assert decode(clone, SITE_KEY) == decode(image, SITE_KEY)


# ---------------------------------------------------------------------------------------------
# Arbitrary input: decode returns a Card or raises bad_card, nothing else


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
@example(b"")
@example(bytes(256))
@example(b"\xff" * 256)
def test_arbitrary_bytes_decode_or_raise_bad_card(data: bytes) -> None:
    result = decoded(data)
    assert isinstance(result, Card) or result == "bad_card"


@settings(max_examples=300, deadline=None)
@given(rest=st.binary(min_size=222, max_size=222), factory=st.binary(min_size=32, max_size=32))
def test_arbitrary_images_starting_with_the_magic_are_bad_cards(
    rest: bytes, factory: bytes
) -> None:
    assert decoded(factory + b"PP" + rest) == "bad_card"


@pytest.mark.parametrize("data", [None, "PP" * 128, 256, [0] * 256, bytearray(255)])
def test_input_of_the_wrong_type_or_length_is_a_bad_card(data: Any) -> None:
    assert decoded(data) == "bad_card"


def test_bytearray_and_memoryview_are_accepted() -> None:
    image = encode(USER_CARD, SITE_KEY)
    assert decode(bytearray(image), SITE_KEY) == USER_CARD
    assert decode(memoryview(image), SITE_KEY) == USER_CARD


def raw_slot() -> st.SearchStrategy[bytes]:
    """Slot bytes near the valid ones, so that validation (not only the MAC) is exercised."""
    fields = st.tuples(
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(0, 3),
        st.sampled_from([0, 0, 1]),
        st.sampled_from([0, 1234, 99_999_999, 100_000_000]),
        U32,
        I32,
    )
    return st.one_of(
        st.just(bytes(16)),
        st.binary(min_size=16, max_size=16),
        fields.map(lambda f: struct.pack(">BBBBIIi", *f)),
    )


def raw_record() -> st.SearchStrategy[bytes]:
    fields = st.tuples(st.integers(0, 5), U8, U16, U32, I32, U32, U32)
    return st.one_of(
        st.just(bytes(20)),
        st.binary(min_size=20, max_size=20),
        fields.map(lambda f: struct.pack(">BBHIiII", *f)),
    )


@st.composite
def structured_images(draw: st.DrawFn) -> bytes:
    """Header, body and records drawn field by field near and beyond their ranges."""
    serial = draw(st.binary(min_size=8, max_size=8))
    generation = draw(U16)
    header = struct.pack(
        ">2sBBBBH8sQ8s",
        b"PP",
        1,
        draw(st.integers(0, 8)),
        draw(U8),
        draw(st.sampled_from([0, 0, 0, 1])),
        generation,
        serial,
        draw(U64),
        draw(st.sampled_from([bytes(8), bytes(8), bytes(7) + b"\x01"])),
    )
    body = b"".join(draw(st.lists(raw_slot(), min_size=4, max_size=4)))
    records = draw(
        st.one_of(
            st.lists(raw_record(), min_size=4, max_size=4).map(b"".join),
            st.binary(min_size=80, max_size=80).map(lambda b: bytes([0xC5]) + b[1:]),
            st.just(bytes(80)),
        )
    )
    return bytes(32) + header + body + bytes(16) + records + bytes(32)


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    """A valid image with a few bytes of header, body or records set to other values."""
    image = bytearray(encode(draw(cards()), SITE_KEY))
    positions = st.one_of(st.integers(0x22, 0x7F), st.integers(0x90, 0xDF))
    values = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 0x7F, 0x80, 0xC5, 0xFF]), U8)
    for position, value in draw(st.lists(st.tuples(positions, values), min_size=1, max_size=3)):
        image[position] = value
    return bytes(image)


@st.composite
def authentic_images(draw: st.DrawFn) -> bytes:
    """Images signed with the site key but with fields out of place or out of range: what
    buggy or foreign software holding the key could write. Both MACs are made valid."""
    image = bytearray(draw(st.one_of(structured_images(), mutated_images())))
    serial = bytes(image[0x28:0x30])
    generation = int.from_bytes(image[0x26:0x28], "big")
    image[0x80:0x90] = mac.office_mac(SITE_KEY, serial, bytes(image[0x20:0x80]))
    if draw(st.booleans()) or any(image[0x90:0xE0]):
        records = bytes(image[0x90:0xE0])
        image[0xE0:0xF0] = mac.meter_mac(SITE_KEY, serial, generation, records)
    return bytes(image)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=authentic_images())
def test_authentic_images_decode_canonically_or_are_bad_cards(image: bytes) -> None:
    """Whatever decode accepts encodes back to the very same bytes: one image per card, and
    every field decode returns is one encode accepts."""
    result = decoded(image)
    if not isinstance(result, Card):
        return
    assert encode_office_area(result, SITE_KEY) == image[OFFICE_AREA]
    if not result.write_back_damaged:
        area = encode_meter_area(
            result.serial, result.generation, result.write_backs, SITE_KEY, check=result.check
        )
        assert area == image[METER_AREA]


def test_a_slot_s_flags_byte_holds_only_the_taken_flag() -> None:
    """Slot byte +3 (0x43 for the first slot): 0 or 1 (taken); any other value, even under
    an authentic MAC, is a bad card, so a later flag is never misread as none."""
    image = bytearray(encode(USER_CARD, SITE_KEY))
    assert image[0x43] == 0 and image[0x53] == 1
    for value, expected in ((1, True), (2, None), (0x80, None), (0xFF, None)):
        changed = bytearray(image)
        changed[0x43] = value
        changed[0x80:0x90] = mac.office_mac(
            SITE_KEY, bytes.fromhex(SERIAL), bytes(changed[0x20:0x80])
        )
        result = decoded(bytes(changed))
        if expected is None:
            assert result == "bad_card", value
        else:
            assert isinstance(result, Card) and result.slots[0].taken is expected


def test_authentic_but_unknown_version_and_type_are_bad_cards() -> None:
    image = bytearray(encode(SAMPLE_CARDS[2], SITE_KEY))
    for offset, value in ((0x22, 2), (0x23, 0), (0x23, 7), (0x25, 1), (0x3F, 1), (0x60, 1)):
        changed = bytearray(image)
        changed[offset] = value
        content = bytes(changed[0x20:0x80])
        changed[0x80:0x90] = mac.office_mac(SITE_KEY, bytes.fromhex(SERIAL), content)
        assert decoded(bytes(changed)) == "bad_card", hex(offset)


# ---------------------------------------------------------------------------------------------
# encode refuses every out-of-range field, naming it


def _slot(**changes: Any) -> Card:
    return dataclasses.replace(
        USER_CARD, slots=(dataclasses.replace(USER_CARD.slots[0], **changes),)
    )


def _write_back(**changes: Any) -> Card:
    wb = dataclasses.replace(USER_CARD.write_backs[0], **changes)
    return dataclasses.replace(USER_CARD, write_backs=(wb,))


def _parameters(**changes: Any) -> Card:
    card = SAMPLE_CARDS[3]
    assert card.parameters is not None
    return dataclasses.replace(card, parameters=dataclasses.replace(card.parameters, **changes))


def _check(**changes: Any) -> Card:
    card = SAMPLE_CARDS[-1]
    assert card.check is not None
    return dataclasses.replace(card, check=dataclasses.replace(card.check, **changes))


def _card(**changes: Any) -> Card:
    return dataclasses.replace(USER_CARD, **changes)


SLOT_1 = USER_CARD.slots[0]
WB_1 = USER_CARD.write_backs[0]
OUT_OF_RANGE: list[tuple[str, Callable[[], Card]]] = [
    ("type", lambda: Card(type=CardType.BLANK, serial=SERIAL)),
    ("type", lambda: _card(type=9)),
    ("serial", lambda: _card(serial="0123456789ABCDEF")),
    ("serial", lambda: _card(serial="0123456789abcde")),
    ("serial", lambda: _card(serial="0123456789abcdeg")),
    ("serial", lambda: _card(serial=0x0123456789ABCDEF)),
    ("card.generation", lambda: _card(generation=65536)),
    ("card.generation", lambda: _card(generation=-1)),
    ("card.generation", lambda: _card(generation=True)),
    ("card.user_number", lambda: _card(user_number=2**64)),
    ("card.user_number", lambda: _card(user_number=-1)),
    ("card.key_version", lambda: _card(key_version=256)),
    ("card.maintenance_code", lambda: Card(CardType.ZERO, SERIAL, maintenance_code=10**8)),
    ("slots", lambda: Card(CardType.NEW, SERIAL, slots=USER_CARD.slots)),
    ("slots", lambda: _card(slots=tuple(SLOT_1 for _ in range(5)))),
    ("slots", lambda: _card(slots=(SLOT_1, SLOT_1))),
    ("write_backs", lambda: Card(CardType.CHECK, SERIAL, write_backs=USER_CARD.write_backs)),
    ("write_backs", lambda: _card(write_backs=tuple(WB_1 for _ in range(5)))),
    ("write_backs", lambda: _card(write_backs=(WB_1, WB_1))),
    ("parameters", lambda: Card(CardType.SETTING, SERIAL)),
    ("parameters", lambda: _card(parameters=SAMPLE_CARDS[3].parameters)),
    ("maintenance_code", lambda: _card(maintenance_code=1234)),
    ("check", lambda: _card(check=SAMPLE_CARDS[-1].check)),
    ("slot.sub_meter", lambda: _slot(sub_meter=0)),
    ("slot.sub_meter", lambda: _slot(sub_meter=5)),
    ("slot.meter_type", lambda: _slot(meter_type=0)),
    ("slot.meter_type", lambda: _slot(meter_type=5)),
    ("slot.kind", lambda: _slot(kind=3)),
    ("slot.taken", lambda: _slot(taken=1)),
    ("slot.taken", lambda: _slot(taken=None)),
    ("slot.maintenance_code", lambda: _slot(maintenance_code=100_000_000)),
    ("slot.serial", lambda: _slot(serial=-1)),
    ("slot.serial", lambda: _slot(serial=2**32)),
    ("slot.quantity_centi", lambda: _slot(quantity_centi=-1)),
    ("slot.quantity_centi", lambda: _slot(quantity_centi=2**31)),
    ("slot.quantity_centi", lambda: _slot(kind=SlotKind.TRANSFER, quantity_centi=-(2**31) - 1)),
    ("write_back.sub_meter", lambda: _write_back(sub_meter=0)),
    ("write_back.result", lambda: _write_back(result=256)),
    ("write_back.status", lambda: _write_back(status=2**16)),
    ("write_back.last_serial", lambda: _write_back(last_serial=2**32)),
    ("write_back.balance_centi", lambda: _write_back(balance_centi=2**31)),
    ("write_back.cumulative_centi", lambda: _write_back(cumulative_centi=-1)),
    ("write_back.time", lambda: _write_back(time=2**32)),
    ("parameters.sub_meter", lambda: _parameters(sub_meter=5)),
    ("parameters.meter_type", lambda: _parameters(meter_type=7)),
    ("parameters.maintenance_code", lambda: _parameters(maintenance_code=10**8)),
    ("parameters.limit_centi", lambda: _parameters(limit_centi=2**32)),
    ("parameters.prestore_centi", lambda: _parameters(prestore_centi=-1)),
    ("parameters.alarm_centi", lambda: _parameters(alarm_centi=-1)),
    ("parameters.overdraft_centi", lambda: _parameters(overdraft_centi=2**32)),
    ("check.sub_meter", lambda: _check(sub_meter=5)),
    ("check.meter_type", lambda: _check(meter_type=0)),
    ("check.maintenance_code", lambda: _check(maintenance_code=10**8)),
    ("check.state", lambda: _check(state=3)),
    ("check.user_number", lambda: _check(user_number=2**64)),
    ("check.generation", lambda: _check(generation=65536)),
    ("check.last_serial", lambda: _check(last_serial=-1)),
    ("check.balance_centi", lambda: _check(balance_centi=-(2**31) - 1)),
    ("check.cumulative_centi", lambda: _check(cumulative_centi=2**32)),
    ("check.status", lambda: _check(status=-1)),
    ("check.time", lambda: _check(time=-1)),
]


@pytest.mark.parametrize(
    ("field", "make"), OUT_OF_RANGE, ids=[f"{f}-{i}" for i, (f, _m) in enumerate(OUT_OF_RANGE)]
)
def test_encode_refuses_an_out_of_range_field(field: str, make: Callable[[], Card]) -> None:
    card = make()
    for encoder in (lambda: encode(card, SITE_KEY), lambda: encode_office_area(card, SITE_KEY)):
        with pytest.raises(CardError) as raised:
            encoder()
        assert raised.value.code == "card_field_out_of_range"
        assert raised.value.params["field"] == field
        assert raised.value.message  # formats


def test_each_field_has_its_own_message() -> None:
    templates: dict[str, set[str]] = {}
    for field, make in OUT_OF_RANGE:
        card = make()
        with pytest.raises(CardError) as raised:
            encode(card, SITE_KEY)
        templates.setdefault(field, set()).add(raised.value.message_template)
    owners: dict[str, str] = {}
    for field, messages in templates.items():
        for message in messages:
            assert owners.setdefault(message, field) == field, (message, field)


@settings(max_examples=200, deadline=None)
@given(
    card=cards(st.just(CardType.USER)),
    own=write_back_tuples(min_size=1).map(lambda records: records[0]),
    damaged=st.booleans(),
)
def test_a_meters_write_back_area_is_what_encode_meter_area_gives(
    card: Card, own: WriteBack, damaged: bool
) -> None:
    card = dataclasses.replace(card, write_back_damaged=damaged)
    kept = () if damaged else tuple(wb for wb in card.write_backs if wb.sub_meter != own.sub_meter)
    expected = encode_meter_area(card.serial, card.generation, (*kept, own), SITE_KEY)
    assert meter_write_back_area(card, own, SITE_KEY) == expected
    written = decode(encode(card, SITE_KEY)[: METER_AREA.start] + expected + bytes(16), SITE_KEY)
    assert own in written.write_backs


def test_a_meters_own_write_back_out_of_range_is_refused() -> None:
    own = dataclasses.replace(WB_1, balance_centi=2**31)
    with pytest.raises(CardError) as raised:
        meter_write_back_area(USER_CARD, own, SITE_KEY)
    assert raised.value.params["field"] == "write_back.balance_centi"


def test_encode_meter_area_refuses_bad_arguments() -> None:
    check = SAMPLE_CARDS[-1].check
    cases: list[tuple[str, Callable[[], bytes]]] = [
        ("check", lambda: encode_meter_area(SERIAL, 1, USER_CARD.write_backs, SITE_KEY, check)),
        ("serial", lambda: encode_meter_area("xyz", 1, USER_CARD.write_backs, SITE_KEY)),
        ("generation", lambda: encode_meter_area(SERIAL, 2**16, USER_CARD.write_backs, SITE_KEY)),
        ("write_backs", lambda: encode_meter_area(SERIAL, 1, [WB_1, WB_1], SITE_KEY)),
        (
            "write_back.time",
            lambda: encode_meter_area(SERIAL, 1, [dataclasses.replace(WB_1, time=-1)], SITE_KEY),
        ),
    ]
    for field, call in cases:
        with pytest.raises(CardError) as raised:
            call()
        assert raised.value.code == "card_field_out_of_range"
        assert raised.value.params["field"] == field


# ---------------------------------------------------------------------------------------------
# Torn writes (docs/card-format.md, "Torn writes"): a write proceeds in ascending address
# order and may stop after any byte. For every cut ``k`` the image ``new[:k] + old[k:]`` decodes
# to the old card, to the new card, or is detected (``bad_card`` for the office area,
# ``write_back_damaged`` for the meter area) — never to a third valid content — and repeating
# the interrupted write restores the new card.


Outcome = tuple[Card, bool] | str  # (card, write_back_damaged) or an error code


def outcome(image: bytes) -> Outcome:
    result = decoded(image)
    return (result, result.write_back_damaged) if isinstance(result, Card) else result


def cut(old: bytes, new_bytes: bytes, start: int, k: int) -> bytes:
    """``old`` with the first ``k`` bytes of a write of ``new_bytes`` at ``start`` done."""
    assert 0 <= k <= len(new_bytes) and start + len(new_bytes) <= CARD_SIZE
    return old[:start] + new_bytes[:k] + old[start + k :]


def written(old: bytes, new_bytes: bytes, start: int) -> bytes:
    return cut(old, new_bytes, start, len(new_bytes))


# Old images: a valid card of any type (with or without write-backs), or a factory-blank card.
OLD_IMAGES = st.one_of(
    cards().map(lambda card: encode(card, SITE_KEY)),
    st.just(blank_image()),
)


@st.composite
def office_rewrites(draw: st.DrawFn) -> tuple[bytes, Card]:
    """An old image and the card the office writes onto it. Mostly the same card serial (a
    sale, a correction, opening an account on a new card), sometimes another one."""
    old = draw(OLD_IMAGES)
    new = draw(cards())
    old_card = decoded(old)
    if isinstance(old_card, Card) and old_card.type != CardType.BLANK and draw(st.booleans()):
        same_generation = draw(st.booleans())
        generation = old_card.generation if same_generation else new.generation
        new = dataclasses.replace(new, serial=old_card.serial, generation=generation)
    return old, new


@settings(max_examples=40, deadline=None)
@given(case=office_rewrites())
def test_office_area_write_cut_at_every_byte(case: tuple[bytes, Card]) -> None:
    old, new_card = case
    area = encode_office_area(new_card, SITE_KEY)
    new = written(old, area, OFFICE_AREA.start)
    allowed = {outcome(old), outcome(new), "bad_card"}
    assert outcome(cut(old, area, OFFICE_AREA.start, 0)) == outcome(old)
    for k in range(len(area) + 1):
        torn = cut(old, area, OFFICE_AREA.start, k)
        assert outcome(torn) in allowed, k
        # Recovery: the office writes the intended office area again, in one step.
        assert outcome(written(torn, area, OFFICE_AREA.start)) == outcome(new), k


@settings(max_examples=40, deadline=None)
@given(case=office_rewrites())
def test_whole_image_write_cut_at_every_byte_each_area_is_old_new_or_detected(
    case: tuple[bytes, Card],
) -> None:
    """Each area on its own is atomic or detected, whatever the two images hold. (With the
    same serial and generation, new office + old meter area can show: the very card an
    office-area write gives, see the doc.)"""
    old, new_card = case
    new = encode(new_card, SITE_KEY)
    old_result, new_result = decoded(old), decoded(new)
    offices = {office_part(r) for r in (old_result, new_result) if isinstance(r, Card)}
    meters = {(r.write_backs, r.check) for r in (old_result, new_result) if isinstance(r, Card)}
    for k in range(CARD_SIZE + 1):
        torn = cut(old, new, 0, k)
        result = decoded(torn)
        if result == "bad_card":
            continue
        assert isinstance(result, Card), k
        assert office_part(result) in offices, k
        assert result.write_back_damaged or (result.write_backs, result.check) in meters, k
        assert outcome(written(torn, new, 0)) == outcome(new), k


WHOLE_IMAGE_WRITES = ("format", "reissue", "tool_card", "rewrite_keeping_meter_area")


@st.composite
def whole_image_rewrites(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """An old image and a whole image the office writes over it, by the rule of the doc: the
    new meter area is empty and the old one cannot verify under the new header (a fresh
    serial, a new generation, or a card type without a meter area), or the new image keeps
    the meter area already on the card."""
    old = draw(OLD_IMAGES)
    old_card = decoded(old)
    assert isinstance(old_card, Card)
    new_card = dataclasses.replace(draw(cards()), write_backs=(), check=None)
    mode = draw(st.sampled_from(WHOLE_IMAGE_WRITES))
    if old_card.type == CardType.BLANK or mode == "format":
        # A format always draws a fresh serial (it is random: equal only by accident here).
        assume(old_card.type == CardType.BLANK or new_card.serial != old_card.serial)
        return old, encode(new_card, SITE_KEY)
    same = dataclasses.replace(new_card, serial=old_card.serial, generation=old_card.generation)
    if mode == "reissue":
        generation = (old_card.generation + draw(st.integers(1, 65535))) % 65536
        return old, encode(dataclasses.replace(same, generation=generation), SITE_KEY)
    if mode == "tool_card":
        # Same serial and generation; a check card (which has a meter area) is re-armed under
        # a new generation, like a reissue.
        card_type = draw(st.sampled_from([t for t in ENCODABLE_TYPES if t != CardType.USER]))
        tool = draw(cards(st.just(card_type)))
        generation = old_card.generation + (1 if card_type == CardType.CHECK else 0)
        tool = dataclasses.replace(tool, serial=old_card.serial, generation=generation % 65536)
        return old, encode(dataclasses.replace(tool, check=None), SITE_KEY)
    new = encode(same, SITE_KEY)
    return old, new[: METER_AREA.start] + old[METER_AREA] + new[METER_AREA.stop :]


@settings(max_examples=50, deadline=None)
@given(case=whole_image_rewrites())
def test_whole_image_write_as_the_office_makes_it_is_old_new_or_detected(
    case: tuple[bytes, bytes],
) -> None:
    """For the whole-image writes the office makes, the cut image is the old card, the new
    card, or detected — also across the two areas."""
    old, new = case
    complete = {outcome(old), outcome(new)}
    offices = {office_part(r) for r in map(decoded, (old, new)) if isinstance(r, Card)}
    for k in range(CARD_SIZE + 1):
        torn = cut(old, new, 0, k)
        result = decoded(torn)
        if result == "bad_card":
            continue
        assert isinstance(result, Card)
        if result.write_back_damaged:
            assert office_part(result) in offices, k
        else:
            assert (result, False) in complete, k
        assert outcome(written(torn, new, 0)) == outcome(new), k


@st.composite
def swipes(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A user card (maybe with earlier write-backs) and the meter area a swipe writes on it,
    or a check card and the reading a meter writes on it."""
    card = draw(cards(st.sampled_from([CardType.USER, CardType.CHECK])))
    old = encode(card, SITE_KEY)
    if card.type == CardType.USER:
        write_backs = draw(write_back_tuples(min_size=1))
        area = encode_meter_area(card.serial, card.generation, write_backs, SITE_KEY)
    else:
        check = draw(CHECK_READINGS)
        area = encode_meter_area(card.serial, card.generation, None, SITE_KEY, check=check)
    return old, area


@settings(max_examples=50, deadline=None)
@given(case=swipes())
def test_meter_area_write_cut_at_every_byte(case: tuple[bytes, bytes]) -> None:
    old, area = case
    new = written(old, area, METER_AREA.start)
    old_card, new_card = decode(old, SITE_KEY), decode(new, SITE_KEY)
    assert not new_card.write_back_damaged
    for k in range(len(area) + 1):
        torn_image = cut(old, area, METER_AREA.start, k)
        torn = decode(torn_image, SITE_KEY)
        # The office area is never touched by a meter: the card is always readable.
        assert office_part(torn) == office_part(old_card), k
        if not torn.write_back_damaged:
            assert torn in (old_card, new_card), k
        # Recovery: the next swipe writes the meter area again.
        assert decode(written(torn_image, area, METER_AREA.start), SITE_KEY) == new_card, k


def test_first_write_onto_a_factory_blank_card() -> None:
    """Formatting a blank card: until the whole image is written the card reads as blank
    (nothing written yet) or bad_card, never as a valid card."""
    blank = blank_image()
    card = Card(type=CardType.NEW, serial="00112233aabbccdd", generation=1)
    new = encode(card, SITE_KEY)
    for k in range(CARD_SIZE + 1):
        result = decoded(cut(blank, new, 0, k))
        if k <= OFFICE_AREA.start:
            assert result == Card(type=CardType.BLANK), k
        elif k < CARD_SIZE:
            # Office area incomplete, or the reserved bytes still hold the factory 0xFF.
            assert result == "bad_card", k
        else:
            assert result == card

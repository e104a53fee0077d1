"""The meter model (DESIGN §4): every cell of the transition table, every display code."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from prepaid.core.card import codec
from prepaid.core.card.model import (
    Card,
    CardType,
    MeterParameters,
    MeterStatus,
    MeterType,
    Slot,
    SlotKind,
    WriteBack,
)
from prepaid.core.meter import (
    ERROR_CODES,
    EVENT_LOG_SIZE,
    MESSAGES,
    Meter,
    MeterState,
    SwipeOutcome,
    SwipeResult,
    new_meter,
)

KEY = bytes(range(32))
OTHER_SITE_KEY = bytes(range(1, 33))
CODE = 1234
USER = 42
CARD_SERIAL = "00112233445566aa"
PARAMS = MeterParameters(
    sub_meter=1,
    meter_type=MeterType.WATER,
    maintenance_code=CODE,
    limit_centi=100_00,
    prestore_centi=5_00,
    alarm_centi=3_00,
    overdraft_centi=5_00,
)
T0 = 1_700_000_000


# ---------------------------------------------------------------------------------- cards


def setting_card(params: MeterParameters = PARAMS) -> bytes:
    return codec.encode(Card(CardType.SETTING, codec.new_serial(), 1, parameters=params), KEY)


def tool_card(card_type: CardType, code: int = 0) -> bytes:
    return codec.encode(Card(card_type, codec.new_serial(), 1, maintenance_code=code), KEY)


def user_card(
    serial: int = 1,
    quantity_centi: int = 20_00,
    *,
    user: int = USER,
    generation: int = 1,
    kind: SlotKind = SlotKind.PURCHASE,
    sub_meter: int = 1,
    meter_type: MeterType = MeterType.WATER,
    code: int = CODE,
    card_serial: str = CARD_SERIAL,
    other_slots: tuple[Slot, ...] = (),
    write_backs: tuple[WriteBack, ...] = (),
    taken: bool = False,
) -> bytes:
    slot = Slot(sub_meter, meter_type, code, serial, quantity_centi, kind, taken)
    card = Card(
        CardType.USER,
        card_serial,
        generation,
        user_number=user,
        slots=(slot, *other_slots),
        write_backs=write_backs,
    )
    return codec.encode(card, KEY)


def with_meter_area(image: bytes, outcome: SwipeOutcome) -> bytes:
    """The card after the meter wrote back (unchanged when it wrote nothing)."""
    if outcome.meter_area is None:
        return image
    return image[: codec.METER_AREA.start] + outcome.meter_area + image[codec.METER_AREA.stop :]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        self.now += 60
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def cleared(clock: Clock) -> Meter:
    return new_meter("M1", clock())


def set_meter(clock: Clock, params: MeterParameters = PARAMS) -> Meter:
    meter = cleared(clock)
    assert meter.swipe(setting_card(params), KEY, clock()).ok
    return meter


def bound(clock: Clock, quantity_centi: int = 20_00) -> Meter:
    meter = set_meter(clock)
    outcome = meter.swipe(user_card(1, quantity_centi), KEY, clock())
    assert outcome.ok and meter.state is MeterState.BOUND
    return meter


def in_state(state: str, clock: Clock) -> Meter:
    return {"cleared": cleared, "set": set_meter, "bound": bound}[state](clock)


def used_meter(state: str, clock: Clock) -> Meter:
    """A meter in ``state`` with some history (use, a wrong card, tamper)."""
    meter = in_state(state, clock)
    meter.use(1_00, clock())
    meter.swipe(user_card(1, user=7), KEY, clock())
    meter.tamper(clock())
    return meter


# ------------------------------------------------------------------------- codes


def test_every_result_has_an_error_code_and_a_message() -> None:
    assert [r.code for r in SwipeResult] == ["ok"] + [f"E{n:02d}" for n in range(1, 13)]
    assert set(ERROR_CODES) == set(SwipeResult) - {SwipeResult.OK}
    assert set(MESSAGES) == set(SwipeResult)
    assert ERROR_CODES == {
        SwipeResult.E01: "bad_card",
        SwipeResult.E02: "maintenance_code_mismatch",
        SwipeResult.E03: "meter_not_set",
        SwipeResult.E04: "not_this_meter",
        SwipeResult.E05: "card_revoked",
        SwipeResult.E06: "over_limit",
        SwipeResult.E07: "serial_gap",
        SwipeResult.E08: "meter_in_use",
        SwipeResult.E09: "transfer_refused",
        SwipeResult.E10: "no_slot",
        SwipeResult.E11: "not_a_user_card",
        SwipeResult.E12: "taken_by_another_meter",
    }
    assert SwipeResult.from_code("E07") is SwipeResult.E07
    assert SwipeResult.from_code("ok") is SwipeResult.OK
    outcome = SwipeOutcome(SwipeResult.E05, CardType.USER)
    error = outcome.error()
    assert error is not None and error.code == "card_revoked"
    assert SwipeOutcome(SwipeResult.OK, CardType.USER).error() is None


# ------------------------------------------------------------------ setting card row


def test_setting_card_on_cleared_meter_loads_parameters(clock: Clock) -> None:
    meter = cleared(clock)
    assert not meter.valve_open and meter.use(1_00, clock()) == 0
    outcome = meter.swipe(setting_card(), KEY, clock())
    assert outcome.result is SwipeResult.OK and outcome.card_type is CardType.SETTING
    assert outcome.meter_area is None
    assert meter.state is MeterState.SET
    assert meter.parameters == PARAMS
    assert meter.balance_centi == PARAMS.prestore_centi
    assert meter.valve_open and meter.last_serial == 0 and meter.user_number == 0


@pytest.mark.parametrize("state", ["set", "bound"])
def test_setting_card_on_set_or_bound_meter_is_refused(state: str, clock: Clock) -> None:
    meter = in_state(state, clock)
    before = meter.to_dict()
    other = dataclasses.replace(PARAMS, prestore_centi=50_00)
    outcome = meter.swipe(setting_card(other), KEY, clock())
    assert outcome.result is SwipeResult.E08
    assert outcome.error_code == "meter_in_use"
    assert meter.parameters == PARAMS
    assert meter.balance_centi == before["balance_centi"]


def test_setting_card_with_nothing_usable_is_refused_as_bad_card(clock: Clock) -> None:
    meter = cleared(clock)
    bad = dataclasses.replace(PARAMS, limit_centi=2**31)  # beyond any card quantity
    assert meter.swipe(setting_card(bad), KEY, clock()).result is SwipeResult.E01
    assert meter.state is MeterState.CLEARED


# ---------------------------------------------------------------- clear-all, zero rows


@pytest.mark.parametrize("state", ["cleared", "set", "bound"])
def test_clear_all_card_resets_everything_but_the_clock(state: str, clock: Clock) -> None:
    meter = used_meter(state, clock)
    now = clock()
    outcome = meter.swipe(tool_card(CardType.CLEAR_ALL), KEY, now)
    assert outcome.result is SwipeResult.OK and outcome.meter_area is None
    assert meter.state is MeterState.CLEARED
    assert meter.parameters is None
    assert (meter.balance_centi, meter.cumulative_centi) == (0, 0)
    assert (meter.user_number, meter.generation, meter.last_serial) == (0, 0, 0)
    assert meter.status == MeterStatus.VALVE_CLOSED  # TAMPER and WRONG_METER gone too
    assert not meter.valve_open
    assert meter.clock == now


@pytest.mark.parametrize("state", ["cleared", "set", "bound"])
def test_zero_card_resets_all_but_clock_and_cumulative(state: str, clock: Clock) -> None:
    meter = used_meter(state, clock)
    cumulative = meter.cumulative_centi
    now = clock()
    assert meter.swipe(tool_card(CardType.ZERO), KEY, now).ok
    assert meter.state is MeterState.CLEARED and meter.parameters is None
    assert meter.balance_centi == 0
    assert meter.cumulative_centi == cumulative
    assert (meter.user_number, meter.generation, meter.last_serial) == (0, 0, 0)
    assert meter.status == MeterStatus.VALVE_CLOSED | MeterStatus.TAMPER  # only clear-all
    assert meter.clock == now


def test_zero_then_setting_makes_a_used_meter_ready_for_a_new_customer(clock: Clock) -> None:
    meter = bound(clock)
    assert meter.swipe(tool_card(CardType.ZERO, CODE), KEY, clock()).ok
    assert meter.swipe(setting_card(), KEY, clock()).ok
    assert meter.swipe(
        user_card(1, 10_00, user=99, card_serial="ffee000000000001"), KEY, clock()
    ).ok
    assert meter.user_number == 99 and meter.balance_centi == 15_00


# ------------------------------------------------------------------------- check row


@pytest.mark.parametrize("state", ["cleared", "set", "bound"])
def test_check_card_receives_the_readings(state: str, clock: Clock) -> None:
    meter = in_state(state, clock)
    card = tool_card(CardType.CHECK)
    before = meter.to_dict()
    now = clock()
    outcome = meter.swipe(card, KEY, now)
    assert outcome.result is SwipeResult.OK and outcome.meter_area is not None
    written = with_meter_area(card, outcome)
    assert written[codec.OFFICE_AREA] == card[codec.OFFICE_AREA]
    reading = codec.decode(written, KEY).check
    assert reading is not None
    assert reading.state == MeterState[state.upper()]
    assert reading.balance_centi == meter.balance_centi == before["balance_centi"]
    assert reading.cumulative_centi == meter.cumulative_centi
    assert reading.user_number == meter.user_number
    assert reading.last_serial == meter.last_serial
    assert reading.status == meter.status
    assert reading.time == now
    if state != "cleared":
        assert reading.sub_meter == PARAMS.sub_meter
        assert reading.maintenance_code == CODE


# -------------------------------------------------------------------------- user row


def test_user_card_on_cleared_meter_is_refused_not_set(clock: Clock) -> None:
    meter = cleared(clock)
    outcome = meter.swipe(user_card(), KEY, clock())
    assert outcome.result is SwipeResult.E03 and outcome.error_code == "meter_not_set"
    assert outcome.meter_area is None and meter.state is MeterState.CLEARED


def test_user_card_on_set_meter_binds_and_applies_credit(clock: Clock) -> None:
    meter = set_meter(clock)
    card = user_card(1, 20_00, generation=3)
    outcome = meter.swipe(card, KEY, clock())
    assert outcome.result is SwipeResult.OK
    assert (outcome.applied_centi, outcome.applied_serial) == (20_00, 1)
    assert meter.state is MeterState.BOUND
    assert (meter.user_number, meter.generation, meter.last_serial) == (USER, 3, 1)
    assert meter.balance_centi == 25_00  # pre-stored + purchase


def test_user_card_on_bound_meter_applies_the_next_purchase(clock: Clock) -> None:
    meter = bound(clock)
    outcome = meter.swipe(user_card(2, 7_50), KEY, clock())
    assert outcome.ok and outcome.applied_centi == 7_50
    assert meter.last_serial == 2 and meter.balance_centi == 32_50


def test_prestore_is_usable_before_the_first_user_card(clock: Clock) -> None:
    meter = set_meter(clock)
    assert meter.use(1_00, clock()) == 1_00
    assert meter.swipe(user_card(1, 10_00), KEY, clock()).ok
    assert meter.balance_centi == 14_00 and meter.cumulative_centi == 1_00


# -------------------------------------------------------------------- refusals


@pytest.mark.parametrize("state", ["cleared", "set", "bound"])
def test_unreadable_forged_or_foreign_cards_are_bad_cards(state: str, clock: Clock) -> None:
    meter = in_state(state, clock)
    before = meter.to_dict()
    good = user_card(2)
    edited = bytearray(good)
    edited[0x50] ^= 0x01  # a purchase slot byte
    foreign = codec.encode(codec.decode(good, KEY), OTHER_SITE_KEY)
    for image in (b"", bytes(10), bytes(edited), foreign, good[:-1]):
        outcome = meter.swipe(image, KEY, clock())
        assert outcome.result is SwipeResult.E01 and outcome.card_type is None
        assert outcome.meter_area is None and outcome.error_code == "bad_card"
    after = meter.to_dict()
    assert {k: v for k, v in after.items() if k not in ("clock", "events", "last_result")} == {
        k: v for k, v in before.items() if k not in ("clock", "events", "last_result")
    }


def test_copied_office_area_on_another_card_serial_is_a_bad_card(clock: Clock) -> None:
    meter = bound(clock)
    original = user_card(2)
    other = user_card(1, card_serial="0123456789abcdef")
    copy = other[: codec.OFFICE_AREA.start] + original[codec.OFFICE_AREA] + other[0x90:]
    copy = copy[:0x28] + bytes.fromhex("0123456789abcdef") + copy[0x30:]
    assert meter.swipe(copy, KEY, clock()).result is SwipeResult.E01


def test_user_card_with_other_maintenance_code_is_a_warning(clock: Clock) -> None:
    meter = bound(clock)
    outcome = meter.swipe(user_card(2, code=9999), KEY, clock())
    assert outcome.result is SwipeResult.E02
    assert outcome.error_code == "maintenance_code_mismatch" and outcome.meter_area is None
    assert meter.last_serial == 1 and meter.balance_centi == 25_00


def test_user_card_on_set_meter_with_other_maintenance_code_does_not_bind(clock: Clock) -> None:
    meter = set_meter(clock)
    assert meter.swipe(user_card(1, code=9999), KEY, clock()).result is SwipeResult.E02
    assert meter.state is MeterState.SET


@pytest.mark.parametrize("card_type", [CardType.CLEAR_ALL, CardType.ZERO])
def test_tool_card_with_other_maintenance_code_is_refused(
    card_type: CardType, clock: Clock
) -> None:
    meter = bound(clock)
    outcome = meter.swipe(tool_card(card_type, 9999), KEY, clock())
    assert outcome.result is SwipeResult.E02 and outcome.meter_area is None
    assert meter.state is MeterState.BOUND
    assert meter.swipe(tool_card(card_type, CODE), KEY, clock()).ok  # own code
    meter = bound(clock)
    assert meter.swipe(tool_card(card_type, 0), KEY, clock()).ok  # 0 = any meter


def test_setting_card_with_other_maintenance_code_on_set_meter_is_e02(clock: Clock) -> None:
    meter = set_meter(clock)
    other = dataclasses.replace(PARAMS, maintenance_code=9999)
    assert meter.swipe(setting_card(other), KEY, clock()).result is SwipeResult.E02


def test_card_of_another_customer_is_refused_and_flags_wrong_meter(clock: Clock) -> None:
    meter = bound(clock)
    card = user_card(2, user=7, card_serial="7777777777777777")
    outcome = meter.swipe(card, KEY, clock())
    assert outcome.result is SwipeResult.E04 and outcome.error_code == "not_this_meter"
    assert outcome.meter_area is None
    assert MeterStatus.WRONG_METER in meter.status
    assert meter.balance_centi == 25_00 and meter.user_number == USER
    # a refused swipe of the right card keeps the flag, the next good swipe clears it
    meter.swipe(user_card(5), KEY, clock())  # E07
    assert MeterStatus.WRONG_METER in meter.status
    outcome = meter.swipe(user_card(2), KEY, clock())
    assert outcome.ok and MeterStatus.WRONG_METER not in meter.status


def test_wrong_meter_flag_is_written_back_to_the_customer(clock: Clock) -> None:
    meter = bound(clock)
    meter.swipe(user_card(2, user=7), KEY, clock())
    outcome = meter.swipe(user_card(1), KEY, clock())  # already applied: still a good swipe
    record = codec.decode(with_meter_area(user_card(1), outcome), KEY).write_back(1)
    assert record is not None
    assert MeterStatus.WRONG_METER in record.status  # the record is made before clearing
    assert MeterStatus.WRONG_METER not in meter.status


def test_older_generation_is_revoked(clock: Clock) -> None:
    meter = set_meter(clock)
    assert meter.swipe(user_card(1, generation=2), KEY, clock()).ok
    outcome = meter.swipe(user_card(2, generation=1), KEY, clock())
    assert outcome.result is SwipeResult.E05 and outcome.error_code == "card_revoked"
    assert outcome.meter_area is None and meter.last_serial == 1


def test_over_limit_is_refused_with_write_back(clock: Clock) -> None:
    meter = bound(clock)  # balance 25.00, limit 100.00
    card = user_card(2, 75_01)
    outcome = meter.swipe(card, KEY, clock())
    assert outcome.result is SwipeResult.E06 and outcome.error_code == "over_limit"
    assert meter.balance_centi == 25_00 and meter.last_serial == 1
    record = codec.decode(with_meter_area(card, outcome), KEY).write_back(1)
    assert record is not None
    assert (record.result, record.last_serial, record.balance_centi) == (6, 1, 25_00)
    assert meter.swipe(user_card(2, 75_00), KEY, clock()).ok  # exactly the limit
    assert meter.balance_centi == 100_00


def test_first_purchase_over_limit_does_not_bind(clock: Clock) -> None:
    meter = set_meter(clock)  # pre-stored 5.00
    outcome = meter.swipe(user_card(1, 95_01), KEY, clock())
    assert outcome.result is SwipeResult.E06 and outcome.meter_area is None
    assert meter.state is MeterState.SET


def test_setting_card_on_set_meter_is_meter_in_use(clock: Clock) -> None:
    meter = set_meter(clock)
    assert meter.swipe(setting_card(), KEY, clock()).result is SwipeResult.E08


def test_card_without_slot_for_this_meter_is_no_slot(clock: Clock) -> None:
    for state in ("set", "bound"):
        meter = in_state(state, clock)
        outcome = meter.swipe(user_card(2, sub_meter=2), KEY, clock())
        assert outcome.result is SwipeResult.E10 and outcome.error_code == "no_slot"
        outcome = meter.swipe(user_card(2, meter_type=MeterType.GAS), KEY, clock())
        assert outcome.result is SwipeResult.E10 and outcome.meter_area is None


@pytest.mark.parametrize("state", ["cleared", "set", "bound"])
def test_new_and_blank_cards_are_not_user_cards(state: str, clock: Clock) -> None:
    meter = in_state(state, clock)
    new = codec.encode(Card(CardType.NEW, codec.new_serial(), 1), KEY)
    for image in (new, codec.blank_image()):
        outcome = meter.swipe(image, KEY, clock())
        assert outcome.result is SwipeResult.E11 and outcome.meter_area is None
        assert outcome.error_code == "not_a_user_card"


# ----------------------------------------------------------------- strict serials


def test_serials_are_strict(clock: Clock) -> None:
    meter = bound(clock)
    again = meter.swipe(user_card(1), KEY, clock())  # already applied
    assert again.ok and again.applied_centi == 0 and again.applied_serial == 0
    assert again.meter_area is not None  # the card learns it was applied
    gap = meter.swipe(user_card(3), KEY, clock())
    assert gap.result is SwipeResult.E07 and gap.error_code == "serial_gap"
    assert gap.meter_area is not None and meter.last_serial == 1
    assert meter.swipe(user_card(2, 1_00), KEY, clock()).applied_centi == 1_00
    assert meter.swipe(user_card(3, 2_00), KEY, clock()).applied_centi == 2_00
    assert meter.swipe(user_card(2, 1_00), KEY, clock()).applied_centi == 0
    assert meter.balance_centi == 28_00 and meter.last_serial == 3


def test_set_meter_takes_only_a_first_purchase_or_a_transfer(clock: Clock) -> None:
    meter = set_meter(clock)
    outcome = meter.swipe(user_card(4), KEY, clock())
    assert outcome.result is SwipeResult.E07 and outcome.meter_area is None
    assert meter.state is MeterState.SET and meter.balance_centi == 5_00
    nothing_yet = meter.swipe(user_card(0, 0), KEY, clock())
    assert nothing_yet.ok and nothing_yet.applied_centi == 0
    assert meter.state is MeterState.SET


def test_copied_and_replayed_cards_credit_nothing_twice(clock: Clock) -> None:
    meter = bound(clock)
    card = user_card(2, 10_00)
    copy = bytes(card)
    outcome = meter.swipe(card, KEY, clock())
    assert outcome.applied_centi == 10_00
    swiped = with_meter_area(card, outcome)
    for image in (copy, swiped, card):
        again = meter.swipe(image, KEY, clock())
        assert again.ok and again.applied_centi == 0
    assert meter.balance_centi == 35_00


# ----------------------------------------------------------------------- reissue


def test_reissued_card_revokes_the_old_one_without_double_credit(clock: Clock) -> None:
    meter = bound(clock)
    old = user_card(2, 10_00, generation=1)
    reissued = user_card(2, 10_00, generation=2, card_serial="9999999999999999")
    outcome = meter.swipe(reissued, KEY, clock())
    assert outcome.ok and outcome.applied_centi == 10_00 and meter.generation == 2
    assert meter.swipe(old, KEY, clock()).result is SwipeResult.E05
    assert meter.swipe(reissued, KEY, clock()).applied_centi == 0
    assert meter.balance_centi == 35_00


def test_reissue_after_the_old_card_was_swiped_credits_nothing(clock: Clock) -> None:
    meter = bound(clock)
    assert meter.swipe(user_card(2, 10_00), KEY, clock()).applied_centi == 10_00
    reissued = user_card(2, 10_00, generation=2, card_serial="9999999999999999")
    outcome = meter.swipe(reissued, KEY, clock())
    assert outcome.ok and outcome.applied_centi == 0 and meter.generation == 2
    record = codec.decode(with_meter_area(reissued, outcome), KEY).write_back(1)
    assert record is not None and record.last_serial == 2  # the office sees "swiped"
    assert meter.swipe(user_card(3, 1_00, generation=1), KEY, clock()).result is SwipeResult.E05


# ----------------------------------------------------------------------- transfer


def test_transfer_binds_a_set_meter_and_is_refused_by_a_bound_one(clock: Clock) -> None:
    old = bound(clock)  # serial 1 applied
    transfer = user_card(2, 12_00, kind=SlotKind.TRANSFER)
    refused = old.swipe(transfer, KEY, clock())
    assert refused.result is SwipeResult.E09 and refused.error_code == "transfer_refused"
    assert refused.meter_area is None and old.balance_centi == 25_00
    new = set_meter(clock)
    outcome = new.swipe(transfer, KEY, clock())
    assert outcome.ok and outcome.applied_centi == 12_00
    assert new.state is MeterState.BOUND and new.last_serial == 2
    assert new.balance_centi == 17_00
    swiped = with_meter_area(transfer, outcome)
    assert new.swipe(swiped, KEY, clock()).applied_centi == 0  # swiped again: ok, nothing
    assert old.swipe(swiped, KEY, clock()).result is SwipeResult.E09  # still never
    assert new.swipe(user_card(3, 1_00), KEY, clock()).applied_centi == 1_00


def test_a_transfer_one_new_meter_took_is_not_credited_by_another(clock: Clock) -> None:
    transfer = user_card(2, 12_00, kind=SlotKind.TRANSFER)
    first = set_meter(clock)
    taken = with_meter_area(transfer, first.swipe(transfer, KEY, clock()))
    for _ in range(2):  # any further new meter, or the first one cleared and set again
        another = set_meter(clock)
        refused = another.swipe(taken, KEY, clock())
        assert refused.result is SwipeResult.E12 and refused.applied_centi == 0
        assert refused.error_code == "taken_by_another_meter" and refused.meter_area is None
        assert another.state is MeterState.SET and another.balance_centi == 5_00
    # the same holds for an account's first purchase taken by a meter replaced without a change
    first_purchase = user_card(1, 10_00)
    old = set_meter(clock)
    swiped = with_meter_area(first_purchase, old.swipe(first_purchase, KEY, clock()))
    assert set_meter(clock).swipe(swiped, KEY, clock()).result is SwipeResult.E12
    assert old.swipe(swiped, KEY, clock()).applied_centi == 0  # its own meter: ok, nothing


@pytest.mark.parametrize("kind", [SlotKind.PURCHASE, SlotKind.TRANSFER])
def test_a_slot_marked_taken_is_credited_by_no_meter(clock: Clock, kind: SlotKind) -> None:
    """A reissued card carries the purchase (or transfer) with no meter record of its own;
    the office marks the slot taken when it read, on the card replaced, that a meter applied
    it. A set meter (a spare, the old meter set again) refuses it and stays unbound."""
    serial = 1 if kind is SlotKind.PURCHASE else 2
    reissued = user_card(serial, 12_00, kind=kind, generation=2, taken=True)
    spare = set_meter(clock)
    refused = spare.swipe(reissued, KEY, clock())
    assert refused.result is SwipeResult.E12 and refused.applied_centi == 0
    assert refused.meter_area is None
    assert spare.state is MeterState.SET and spare.balance_centi == 5_00
    # unmarked, the same card is a first purchase or transfer any set meter takes
    unmarked = user_card(serial, 12_00, kind=kind, generation=2)
    assert set_meter(clock).swipe(unmarked, KEY, clock()).applied_centi == 12_00


def test_a_slot_marked_taken_is_taken_as_applied_by_the_meter_that_applied_it(
    clock: Clock,
) -> None:
    meter = bound(clock)  # serial 1 applied, generation 1
    reissued = user_card(1, 20_00, generation=2, taken=True)
    outcome = meter.swipe(reissued, KEY, clock())
    assert outcome.ok and outcome.applied_centi == 0 and outcome.meter_area is not None
    assert meter.generation == 2 and meter.balance_centi == 25_00
    # a bound meter that has not applied it does not credit it either
    refused = meter.swipe(user_card(2, 3_00, generation=2, taken=True), KEY, clock())
    assert refused.result is SwipeResult.E12 and refused.applied_centi == 0
    assert meter.last_serial == 1 and meter.balance_centi == 25_00


def test_negative_transfer_deducts_the_prestore(clock: Clock) -> None:
    new = set_meter(clock)  # pre-stored 5.00
    outcome = new.swipe(user_card(6, -3_00, kind=SlotKind.TRANSFER), KEY, clock())
    assert outcome.ok and new.balance_centi == 2_00 and new.last_serial == 6


def test_negative_quantity_in_a_purchase_is_a_bad_card(clock: Clock) -> None:
    card = Card(
        CardType.USER,
        CARD_SERIAL,
        1,
        user_number=USER,
        slots=(Slot(1, MeterType.WATER, CODE, 2, -1_00, SlotKind.PURCHASE),),
    )
    try:
        image = codec.encode(card, KEY)
    except Exception:  # the codec refuses it already: nothing for the meter to check
        return
    assert bound(clock).swipe(image, KEY, clock()).result is SwipeResult.E01


@pytest.mark.parametrize("state", ["set", "bound"])
def test_transfer_without_a_serial_is_a_bad_card(state: str, clock: Clock) -> None:
    # The office gives a meter-change transfer the next purchase serial (1 or more); one with
    # serial 0 is no card the office wrote, and must not crash a set meter.
    meter = in_state(state, clock)
    before = meter.to_dict()
    outcome = meter.swipe(user_card(0, 3_00, kind=SlotKind.TRANSFER), KEY, clock())
    assert outcome.result is SwipeResult.E01 and outcome.meter_area is None
    assert outcome.applied_centi == 0
    after = meter.to_dict()
    for key in ("state", "balance_centi", "last_serial", "user_number", "generation"):
        assert after[key] == before[key]


# -------------------------------------------------------------- alarm, overdraft, valve


def test_alarm_closes_the_valve_once_until_a_card_is_inserted(clock: Clock) -> None:
    meter = bound(clock, quantity_centi=5_00)  # balance 10.00, alarm 3.00
    assert meter.use(6_00, clock()) == 6_00 and not meter.alarm
    assert meter.use(5_00, clock()) == 1_00  # stops at the alarm level
    assert meter.balance_centi == 3_00 and meter.alarm and not meter.valve_open
    assert meter.status & (MeterStatus.ALARM | MeterStatus.VALVE_CLOSED)
    assert meter.use(1_00, clock()) == 0
    assert [e.code for e in meter.events][-1] == "alarm"
    assert meter.swipe(user_card(1, 5_00), KEY, clock()).ok  # the card reopens it
    assert meter.valve_open
    assert meter.use(2_00, clock()) == 2_00  # latched: no second closure
    assert meter.valve_open and meter.alarm


def test_alarm_rearms_after_a_credit_above_the_alarm_level(clock: Clock) -> None:
    meter = bound(clock, quantity_centi=0)  # balance 5.00
    assert meter.use(5_00, clock()) == 2_00 and not meter.valve_open
    assert meter.swipe(user_card(2, 10_00), KEY, clock()).ok  # balance 13.00
    assert not meter.alarm and meter.valve_open
    assert meter.use(20_00, clock()) == 10_00 and not meter.valve_open


def test_other_cards_do_not_reopen_the_valve(clock: Clock) -> None:
    meter = bound(clock, quantity_centi=0)
    meter.use(5_00, clock())
    assert not meter.valve_open
    meter.swipe(user_card(1, user=7), KEY, clock())
    meter.swipe(tool_card(CardType.CHECK), KEY, clock())
    assert not meter.valve_open


def test_overdraft_closes_the_valve_and_a_credit_repays_it(clock: Clock) -> None:
    meter = bound(clock, quantity_centi=0)  # balance 5.00, alarm 3.00, overdraft 5.00
    meter.use(10_00, clock())  # to the alarm
    meter.swipe(user_card(1), KEY, clock())
    assert meter.use(100_00, clock()) == 8_00  # down to -overdraft, never below
    assert meter.balance_centi == -5_00 and not meter.valve_open
    assert MeterStatus.OVERDRAFT in meter.status and MeterStatus.VALVE_CLOSED in meter.status
    assert [e.code for e in meter.events][-1] == "valve_closed"
    assert meter.swipe(user_card(1), KEY, clock()).ok  # a card without credit: still shut
    assert not meter.valve_open and meter.use(1_00, clock()) == 0
    outcome = meter.swipe(user_card(2, 4_00), KEY, clock())
    assert outcome.applied_centi == 4_00 and meter.balance_centi == -1_00  # repaid first
    assert meter.valve_open and MeterStatus.OVERDRAFT in meter.status
    assert meter.use(9_00, clock()) == 4_00 and meter.balance_centi == -5_00


def test_credit_alone_does_not_reopen_a_valve_without_a_card(clock: Clock) -> None:
    meter = bound(clock, quantity_centi=0)
    meter.use(10_00, clock())
    assert not meter.valve_open
    assert meter.use(0, clock()) == 0


def test_zero_overdraft_and_zero_prestore_keep_the_valve_shut(clock: Clock) -> None:
    params = dataclasses.replace(PARAMS, prestore_centi=0, overdraft_centi=0, alarm_centi=0)
    meter = set_meter(clock, params)
    assert not meter.valve_open and meter.use(1_00, clock()) == 0
    assert meter.swipe(user_card(1, 1_00), KEY, clock()).ok and meter.valve_open
    assert meter.use(5_00, clock()) == 1_00 and meter.balance_centi == 0


def test_tamper_is_kept_until_clear_all(clock: Clock) -> None:
    meter = bound(clock)
    meter.tamper(clock())
    assert MeterStatus.TAMPER in meter.status
    outcome = meter.swipe(user_card(2, 1_00), KEY, clock())
    record = codec.decode(with_meter_area(user_card(2, 1_00), outcome), KEY).write_back(1)
    assert record is not None and MeterStatus.TAMPER in record.status
    meter.swipe(tool_card(CardType.ZERO), KEY, clock())
    assert MeterStatus.TAMPER in meter.status
    meter.swipe(tool_card(CardType.CLEAR_ALL), KEY, clock())
    assert MeterStatus.TAMPER not in meter.status
    assert [e.code for e in meter.events].count("tamper") == 1


# -------------------------------------------------------------------- write-back


def test_write_back_contents_and_office_area_untouched(clock: Clock) -> None:
    meter = bound(clock)
    meter.use(2_00, clock())
    other_slot = Slot(2, MeterType.ELECTRICITY, CODE, 4, 30_00)
    other_record = WriteBack(2, 3, 12_34, 56_78, MeterStatus.ALARM, 0, T0)
    card = user_card(2, 5_00, other_slots=(other_slot,), write_backs=(other_record,))
    now = clock()
    outcome = meter.swipe(card, KEY, now)
    assert outcome.ok and outcome.meter_area is not None
    assert len(outcome.meter_area) == codec.METER_AREA.stop - codec.METER_AREA.start
    written = with_meter_area(card, outcome)
    assert written[: codec.METER_AREA.start] == card[: codec.METER_AREA.start]
    assert written[codec.METER_AREA.stop :] == card[codec.METER_AREA.stop :]
    decoded = codec.decode(written, KEY)
    assert decoded.write_back(2) == other_record  # the other sub-meter's record is kept
    assert decoded.write_back(1) == WriteBack(
        sub_meter=1,
        last_serial=2,
        balance_centi=28_00,
        cumulative_centi=2_00,
        status=meter.status,
        result=0,
        time=now,
    )
    assert decoded.swiped(1) and not decoded.swiped(2)


def test_damaged_meter_area_gets_only_the_own_record(clock: Clock) -> None:
    meter = bound(clock)
    other_record = WriteBack(2, 4, 12_34, 56_78, MeterStatus(0), 0, T0)
    other_slot = Slot(2, MeterType.ELECTRICITY, CODE, 4, 30_00)
    card = bytearray(user_card(2, other_slots=(other_slot,), write_backs=(other_record,)))
    card[0xA5] ^= 0xFF  # a torn meter write
    assert codec.decode(bytes(card), KEY).write_back_damaged
    outcome = meter.swipe(bytes(card), KEY, clock())
    decoded = codec.decode(with_meter_area(bytes(card), outcome), KEY)
    assert not decoded.write_back_damaged
    assert [w.sub_meter for w in decoded.write_backs] == [1]


@pytest.mark.parametrize("state", ["cleared", "set", "bound"])
def test_tool_and_refused_cards_get_nothing_written(state: str, clock: Clock) -> None:
    meter = in_state(state, clock)
    for image in (
        tool_card(CardType.ZERO, 9999),
        user_card(2, user=7),
        user_card(2, sub_meter=3),
    ):
        assert meter.swipe(image, KEY, clock()).meter_area is None


def test_cumulative_register_wraps_like_a_meters_instead_of_refusing_to_write_back(
    clock: Clock,
) -> None:
    """The cumulative register holds what the card's field holds (4294967295 hundredths): past
    it, it starts again from zero, as a meter's register does, so the meter still writes back
    to user and check cards instead of failing on every card."""
    big = MeterParameters(1, MeterType.WATER, CODE, 2**31 - 1, 0, 0, 0)
    meter = set_meter(clock, big)
    used = 0
    for serial in (1, 2, 3):
        assert meter.swipe(user_card(serial, 2**31 - 1), KEY, clock()).ok
        used += meter.use(2**31 - 1, clock())
    assert used == 3 * (2**31 - 1)
    assert meter.cumulative_centi == used - 2**32
    outcome = meter.swipe(user_card(3, 1_00), KEY, clock())
    assert outcome.ok and outcome.meter_area is not None
    record = codec.decode(with_meter_area(user_card(3, 1_00), outcome), KEY).write_back(1)
    assert record is not None and record.cumulative_centi == used - 2**32
    check = tool_card(CardType.CHECK)
    reading = codec.decode(with_meter_area(check, meter.swipe(check, KEY, clock())), KEY).check
    assert reading is not None and reading.cumulative_centi == used - 2**32
    assert Meter.from_dict(json.loads(json.dumps(meter.to_dict()))) == meter


# -------------------------------------------------------------- persistence, log


def test_to_dict_from_dict_round_trip(clock: Clock) -> None:
    meter = bound(clock)
    meter.use(30_00, clock())
    meter.tamper(clock())
    meter.swipe(user_card(2, user=7), KEY, clock())
    data = json.loads(json.dumps(meter.to_dict()))
    again = Meter.from_dict(data)
    assert again == meter
    assert again.status == meter.status
    assert again.to_dict() == data
    for state in ("cleared", "set"):
        fresh = in_state(state, clock)
        assert Meter.from_dict(json.loads(json.dumps(fresh.to_dict()))) == fresh


@pytest.mark.parametrize(
    "change",
    [
        {"version": 99},
        {"state": "broken"},
        {"balance_centi": "1.00"},
        {"state": "cleared"},  # parameters but cleared: inconsistent
        {"status": ["no_such_flag"]},
        {"events": [{"time": 1}]},
    ],
)
def test_from_dict_refuses_malformed_data(change: dict[str, object], clock: Clock) -> None:
    data = bound(clock).to_dict() | change
    with pytest.raises(ValueError):
        Meter.from_dict(data)


def test_event_log_records_swipes_and_is_bounded(clock: Clock) -> None:
    meter = bound(clock)
    codes = [e.code for e in meter.events]
    assert codes == ["set", "swipe", "bind", "swipe"]
    assert meter.events[-1].details == {
        "card": "user",
        "result": "ok",
        "serial": 1,
        "applied_centi": 20_00,
    }
    for _ in range(EVENT_LOG_SIZE):
        meter.swipe(b"junk", KEY, clock())
    assert len(meter.events) == EVENT_LOG_SIZE
    assert meter.events[-1].details == {"card": "unreadable", "result": "E01"}
    assert meter.last_result is SwipeResult.E01


def test_meter_core_imports_no_framework() -> None:
    code = (
        "import sys, prepaid.core.meter\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_meters_event_log_and_write_back_hold_values_as_if_constructed(clock: Clock) -> None:
    """The meter builds its events and its own write-back record without their __init__
    (checked_value): they must be the values an __init__ gives."""
    meter = bound(clock)
    outcome = meter.swipe(user_card(2, 5_00), KEY, clock())
    assert outcome.ok and outcome.meter_area is not None
    card = codec.decode(with_meter_area(user_card(2, 5_00), outcome), KEY)
    for value in (*meter.events, *card.write_backs):
        rebuilt = dataclasses.replace(value)
        assert list(vars(value).items()) == list(vars(rebuilt).items())
        assert value == rebuilt and repr(value) == repr(rebuilt)
    last = meter.events[-1]
    assert (last.code, last.details["serial"], last.details["applied_centi"]) == ("swipe", 2, 5_00)
    assert card.write_back(1) == dataclasses.replace(card.write_backs[0], last_serial=2)

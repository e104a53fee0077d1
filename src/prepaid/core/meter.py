"""The software model of a prepaid IC-card meter (DESIGN §4).

A meter goes ``cleared`` → (setting card) → ``set`` (balance = pre-stored quantity) → (first
user card) → ``bound`` to one customer (user number) and card generation. Every swipe returns a
:class:`SwipeOutcome`: a display code (``ok``, ``E01``…``E12``) and what the meter writes back
into the card's *meter area*. The meter never writes the office area.

Rules beyond the transition table, decided here:

* Purchase serials are strict, also for a ``set`` meter, whose last applied serial is 0: it
  takes purchase serial 1 (a new account's first purchase) and refuses a higher one with
  ``E07``, so a card whose purchases were applied by another meter cannot be credited again.
  A meter-change **transfer** is the one way into a set meter with any serial: the meter binds
  and adopts the transfer's serial. A bound meter never takes a transfer (``E09``).
* A slot the office marked **taken** (a reissued card carrying a purchase or transfer whose
  write-back the office read on the card it replaces) is never credited: a set meter and a
  bound meter that has not applied that serial refuse it with ``E12``; the meter that did
  apply it takes the card as usual (nothing to add) and writes back.
* The meter binds only when it applies a user card; a refused card leaves it unbound. A bound
  meter adopts a newer card generation from its customer's card whenever it writes back to
  it (``ok``, ``E06``, ``E07``): the office revoked the older card when it wrote the newer.
* The meter writes its record back only to a card of the customer it is bound to, for the
  results ``ok`` (also "already applied"), ``E06`` and ``E07``; with a damaged meter area on the
  card it writes only its own record, otherwise it keeps the other sub-meters' records.
* The alarm is latched: the valve closes once, when consumption brings the balance down to the
  alarm level; inserting the customer's card reopens it, and it does not close again for the
  alarm until a credit has lifted the balance above the alarm level. At ``−overdraft`` the valve
  closes until a credit lifts the balance above ``−overdraft`` and the card is inserted.
  A cleared meter keeps its valve closed.
* Credits are plain arithmetic: a credit repays an overdraft first; a negative meter-change
  transfer (remaining credit smaller than the new meter's pre-stored quantity) is subtracted.
* The cumulative-use register wraps to zero past 42949672.95 units (the card's field), as a
  meter's register does, rather than leaving the meter unable to write back.
* The event log is the simulator's record of what happened and survives clearing; it keeps
  the last :data:`EVENT_LOG_SIZE` events.

Quantities are integers of centi-units (see :mod:`prepaid.core.money`); times are Unix seconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from prepaid.core.card import codec
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
    checked_value,
    meter_status,
)
from prepaid.core.errors import CardError, PrepaidError, _
from prepaid.core.money import MAX_CENTI

EVENT_LOG_SIZE = 200
# The cumulative-use register holds what a card's field for it holds; past it, it starts
# again from zero like a meter's register (the office sees the drop in the readings).
CUMULATIVE_REGISTER_CENTI = 2**32
FORMAT_VERSION = 1  # of to_dict()

# Flags the meter derives from its balance and valve; the others are kept until reset.
NO_FLAGS = MeterStatus(0)
DERIVED_FLAGS = MeterStatus.ALARM | MeterStatus.VALVE_CLOSED | MeterStatus.OVERDRAFT
# Flag arithmetic on plain ints: IntFlag operators cost microseconds each, on every swipe.
_ALARM = int(MeterStatus.ALARM)
_VALVE_CLOSED = int(MeterStatus.VALVE_CLOSED)
_OVERDRAFT = int(MeterStatus.OVERDRAFT)
_WRONG_METER = int(MeterStatus.WRONG_METER)
_DERIVED = int(DERIVED_FLAGS)


class MeterState(enum.IntEnum):
    """Life cycle of a meter; the values are those of ``CheckReading.state``."""

    CLEARED = 0
    SET = 1
    BOUND = 2

    @property
    def code(self) -> str:
        return self.name.lower()


class SwipeResult(enum.IntEnum):
    """The meter's display code after a swipe; the value is written back to the card."""

    OK = 0
    E01 = 1  # bad_card
    E02 = 2  # maintenance_code_mismatch
    E03 = 3  # meter_not_set
    E04 = 4  # not_this_meter
    E05 = 5  # card_revoked
    E06 = 6  # over_limit
    E07 = 7  # serial_gap
    E08 = 8  # meter_in_use
    E09 = 9  # transfer_refused
    E10 = 10  # no_slot
    E11 = 11  # not_a_user_card
    E12 = 12  # taken_by_another_meter

    @property
    def code(self) -> str:
        """``"ok"`` or the display code ``"E01"``…``"E12"``."""
        return "ok" if self is SwipeResult.OK else self.name

    @property
    def error_code(self) -> str | None:
        """The stable error code (``"bad_card"``…), ``None`` for ``ok``."""
        return ERROR_CODES.get(self)

    @property
    def message(self) -> str:
        """The English description (marked for translation; the edge translates it)."""
        return MESSAGES[self]

    @classmethod
    def from_code(cls, code: str) -> SwipeResult:
        return cls.OK if code == "ok" else cls[code]


ERROR_CODES: dict[SwipeResult, str] = {
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

MESSAGES: dict[SwipeResult, str] = {
    SwipeResult.OK: _("The card was accepted."),
    SwipeResult.E01: _("The card is damaged, forged or from another site."),
    SwipeResult.E02: _("The card's maintenance code differs from the meter's; nothing applied."),
    SwipeResult.E03: _("The meter is not set; insert a setting card first."),
    SwipeResult.E04: _("The card belongs to another customer's meter."),
    SwipeResult.E05: _("The card has been replaced by a newer card and is revoked."),
    SwipeResult.E06: _("The purchase would exceed the meter's purchase limit."),
    SwipeResult.E07: _("A purchase is missing: the card skips a purchase serial."),
    SwipeResult.E08: _("The meter is in use; insert a clear-all or zero card before setting it."),
    SwipeResult.E09: _("A meter-change transfer is taken only by a new meter that is set."),
    SwipeResult.E10: _("The card has no purchase for this meter."),
    SwipeResult.E11: _("This is not a user card."),
    SwipeResult.E12: _(
        "Another meter has already taken this credit (the card says so); the office moves "
        "credit to a new meter by a meter change."
    ),
}

# Results after which the meter writes its record back to the customer's card.
WRITE_BACK_RESULTS = frozenset({SwipeResult.OK, SwipeResult.E06, SwipeResult.E07})


@dataclass(frozen=True)
class Event:
    """One entry of the meter's event log."""

    time: int
    code: str  # swipe, set, clear_all, zero, check, bind, alarm, valve_closed, tamper
    details: dict[str, int | str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "code": self.code, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        details = data.get("details", {})
        if not isinstance(details, dict):
            raise ValueError("event details must be an object")
        return cls(_int(data, "time"), _str(data, "code"), dict(details))


@dataclass(frozen=True)
class SwipeOutcome:
    """What one swipe did.

    ``meter_area`` is what the meter writes into the card's meter area (``codec.METER_AREA``),
    ``None`` when it writes nothing. ``applied_centi`` is the credit applied by this swipe.
    """

    result: SwipeResult
    card_type: CardType | None
    meter_area: bytes | None = None
    applied_centi: int = 0
    applied_serial: int = 0  # serial of the slot applied, 0 when nothing was applied

    @property
    def ok(self) -> bool:
        return self.result is SwipeResult.OK

    @property
    def error_code(self) -> str | None:
        return self.result.error_code

    @property
    def message(self) -> str:
        return self.result.message

    def error(self) -> PrepaidError | None:
        """The refusal as an error (stable code + translatable message), ``None`` for ok."""
        code = self.result.error_code
        return None if code is None else PrepaidError(code, self.result.message)


@dataclass
class Meter:
    """One meter (one sub-meter number of one household). Mutated only by its methods."""

    meter_id: str
    state: MeterState = MeterState.CLEARED
    parameters: MeterParameters | None = None
    balance_centi: int = 0
    cumulative_centi: int = 0  # use since the meter was last cleared (kept by a zero card)
    user_number: int = 0  # bound customer, 0 = none
    generation: int = 0  # bound card generation, 0 = none
    last_serial: int = 0  # last purchase serial applied
    flags: MeterStatus = NO_FLAGS  # kept flags: TAMPER, WRONG_METER, …
    valve_open: bool = False
    clock: int = 0
    last_result: SwipeResult | None = None
    events: list[Event] = field(default_factory=list)

    # ------------------------------------------------------------------ derived state

    @property
    def alarm(self) -> bool:
        """Balance at or below the alarm level (the latch: see the module docstring)."""
        return self.parameters is not None and self.balance_centi <= self.parameters.alarm_centi

    @property
    def floor_centi(self) -> int:
        """The lowest balance consumption may reach: ``−overdraft``."""
        return 0 if self.parameters is None else -self.parameters.overdraft_centi

    @property
    def status(self) -> MeterStatus:
        """All status flags, as written back to cards."""
        bits = int(self.flags) & ~_DERIVED
        if self.alarm:
            bits |= _ALARM
        if not self.valve_open:
            bits |= _VALVE_CLOSED
        if self.balance_centi < 0:
            bits |= _OVERDRAFT
        return meter_status(bits)

    @property
    def valve_closed_reason(self) -> str | None:
        """Why the valve is closed and what opens it (marked for translation), ``None`` when
        it is open: for the operator who asked for more than flowed."""
        if self.valve_open:
            return None
        if self.parameters is None:
            return MESSAGES[SwipeResult.E03]
        if self.balance_centi <= self.floor_centi:
            return _(
                "The credit is used up (the overdraft too): the valve stays closed until a "
                "purchase is swiped on the meter."
            )
        return _(
            "The balance reached the alarm level and the valve closed: swiping the customer's "
            "card on the meter opens it again."
        )

    def check_invariants(self) -> None:
        """Assert the meter's invariants (called after every change)."""
        assert self.clock >= 0
        assert 0 <= self.cumulative_centi < CUMULATIVE_REGISTER_CENTI
        assert self.last_serial >= 0
        assert not (int(self.flags) & _DERIVED)
        assert (self.parameters is None) == (self.state is MeterState.CLEARED)
        assert (self.state is MeterState.BOUND) == (self.generation > 0)
        if self.state is MeterState.CLEARED:
            assert self.balance_centi == 0 and not self.valve_open
            assert self.user_number == 0 and self.last_serial == 0
        if self.valve_open:
            assert self.balance_centi > self.floor_centi

    # ------------------------------------------------------------------ the device

    def swipe(self, card_image: bytes, site_key: bytes, now: int) -> SwipeOutcome:
        """Insert a card. Returns the display code and what the meter writes on the card."""
        self._tick(now)
        try:
            card = codec.decode(card_image, site_key)
        except CardError:
            outcome = SwipeOutcome(SwipeResult.E01, None)
        else:
            outcome = self._swipe_card(card, site_key, now)
        self.last_result = outcome.result
        self._log(now, "swipe", _swipe_details(outcome))
        self.check_invariants()
        return outcome

    def use(self, quantity_centi: int, now: int) -> int:
        """Consume up to ``quantity_centi``; returns what was actually used.

        Nothing flows while the valve is closed; the flow stops when the valve closes, at the
        alarm level (once, see the module docstring) or at ``−overdraft``.
        """
        assert quantity_centi >= 0
        self._tick(now)
        if not self.valve_open or self.parameters is None:
            return 0
        alarm_centi = self.parameters.alarm_centi
        crossing_alarm = self.balance_centi > alarm_centi
        stop_centi = max(alarm_centi, self.floor_centi) if crossing_alarm else self.floor_centi
        used_centi = min(quantity_centi, self.balance_centi - stop_centi)
        assert used_centi >= 0
        self.balance_centi -= used_centi
        self.cumulative_centi = (self.cumulative_centi + used_centi) % CUMULATIVE_REGISTER_CENTI
        if self.balance_centi <= self.floor_centi:
            self.valve_open = False
            self._log(now, "valve_closed", {"balance_centi": self.balance_centi})
        elif crossing_alarm and self.balance_centi <= alarm_centi:
            self.valve_open = False
            self._log(now, "alarm", {"balance_centi": self.balance_centi})
        assert self.balance_centi >= self.floor_centi
        self.check_invariants()
        return used_centi

    def tamper(self, now: int) -> None:
        """The case was opened or a magnet applied: set TAMPER (only a clear-all card clears it)."""
        self._tick(now)
        self.flags |= MeterStatus.TAMPER
        self._log(now, "tamper", {})
        self.check_invariants()

    # ------------------------------------------------------------------ card dispatch

    def _swipe_card(self, card: Card, site_key: bytes, now: int) -> SwipeOutcome:
        if card.type is CardType.USER:
            return self._swipe_user(card, site_key, now)
        if card.type.is_tool:
            return self._swipe_tool(card, site_key, now)
        return SwipeOutcome(SwipeResult.E11, card.type)

    def _swipe_tool(self, card: Card, site_key: bytes, now: int) -> SwipeOutcome:
        code = _tool_maintenance_code(card)
        if self.parameters is not None and code not in (0, self.parameters.maintenance_code):
            return SwipeOutcome(SwipeResult.E02, card.type)
        if card.type is CardType.SETTING:
            return SwipeOutcome(self._set(card.parameters, now), card.type)
        if card.type is CardType.CLEAR_ALL:
            self._reset(keep_cumulative=False)
            self._log(now, "clear_all", {})
            return SwipeOutcome(SwipeResult.OK, card.type)
        if card.type is CardType.ZERO:
            self._reset(keep_cumulative=True)
            self._log(now, "zero", {})
            return SwipeOutcome(SwipeResult.OK, card.type)
        assert card.type is CardType.CHECK
        reading = self.reading(now)
        area = codec.encode_meter_area(card.serial, card.generation, (), site_key, check=reading)
        self._log(now, "check", {})
        return SwipeOutcome(SwipeResult.OK, card.type, area)

    def _set(self, parameters: MeterParameters | None, now: int) -> SwipeResult:
        if self.state is not MeterState.CLEARED:
            return SwipeResult.E08
        if parameters is None or not _parameters_valid(parameters):
            return SwipeResult.E01
        self.parameters = parameters
        self.state = MeterState.SET
        self.balance_centi = parameters.prestore_centi
        self.valve_open = self.balance_centi > self.floor_centi
        self._log(
            now,
            "set",
            {"sub_meter": parameters.sub_meter, "prestore_centi": parameters.prestore_centi},
        )
        return SwipeResult.OK

    def _reset(self, *, keep_cumulative: bool) -> None:
        """Clear-all (everything but the clock) or zero (also keeps cumulative use, TAMPER)."""
        self.state = MeterState.CLEARED
        self.parameters = None
        self.balance_centi = 0
        self.user_number = 0
        self.generation = 0
        self.last_serial = 0
        self.valve_open = False
        if keep_cumulative:
            self.flags &= MeterStatus.TAMPER
        else:
            self.cumulative_centi = 0
            self.flags = NO_FLAGS

    # ------------------------------------------------------------------ user cards

    def _swipe_user(self, card: Card, site_key: bytes, now: int) -> SwipeOutcome:
        slot = None if self.parameters is None else card.slot(self.parameters.sub_meter)
        refusal = self._check_user_card(card, slot)
        if refusal is not None:
            if refusal is SwipeResult.E04:
                self.flags = MeterStatus(int(self.flags) | _WRONG_METER)
            return SwipeOutcome(refusal, CardType.USER)
        assert slot is not None
        if self.state is MeterState.SET:
            result, applied = self._credit_first(card, slot, now)
        else:
            result, applied = self._credit_bound(card, slot, now)
        applied_centi = slot.quantity_centi if applied else 0
        applied_serial = slot.serial if applied else 0
        if result not in WRITE_BACK_RESULTS or not self._bound_to(card):
            return SwipeOutcome(result, CardType.USER, None, applied_centi, applied_serial)
        self.valve_open = self.balance_centi > self.floor_centi  # a card was inserted
        area = self._write_back(card, result, site_key, now)
        if result is SwipeResult.OK and int(self.flags) & _WRONG_METER:
            self.flags = MeterStatus(int(self.flags) & ~_WRONG_METER)  # reported once: cleared
        return SwipeOutcome(result, CardType.USER, area, applied_centi, applied_serial)

    def _check_user_card(self, card: Card, slot: Slot | None) -> SwipeResult | None:
        """The refusals before any credit, in the order of DESIGN §4."""
        if self.parameters is None:
            return SwipeResult.E03
        if slot is None or slot.meter_type is not self.parameters.meter_type:
            return SwipeResult.E10
        if card.generation < 1 or (slot.quantity_centi < 0 and slot.kind is SlotKind.PURCHASE):
            return SwipeResult.E01
        if slot.kind is SlotKind.TRANSFER and slot.serial == 0:
            return SwipeResult.E01  # the office gives a transfer the next serial, 1 or more
        if slot.maintenance_code != self.parameters.maintenance_code:
            return SwipeResult.E02
        if self.state is MeterState.BOUND:
            if card.user_number != self.user_number:
                return SwipeResult.E04
            if card.generation < self.generation:
                return SwipeResult.E05
        return None

    def _credit_first(self, card: Card, slot: Slot, now: int) -> tuple[SwipeResult, bool]:
        """A set, unbound meter: a transfer, or a new account's first purchase, binds it."""
        assert self.last_serial == 0
        if slot.kind is SlotKind.PURCHASE and slot.serial == 0:
            return SwipeResult.OK, False  # nothing purchased on this slot yet
        if slot.kind is SlotKind.PURCHASE and slot.serial != 1:
            return SwipeResult.E07, False
        taken = card.write_back(slot.sub_meter)
        if slot.taken or (taken is not None and taken.last_serial >= slot.serial):
            # Another meter wrote back that it applied this serial (on this card, or on the
            # card it replaces, as the office marked the slot): the transfer (or the first
            # purchase) is not credited a second time by a further new meter.
            return SwipeResult.E12, False
        if self._over_limit(slot.quantity_centi):
            return SwipeResult.E06, False
        self.state = MeterState.BOUND
        self.user_number = card.user_number
        self.generation = card.generation
        self._log(now, "bind", {"user_number": card.user_number, "generation": card.generation})
        self._apply(slot)
        return SwipeResult.OK, True

    def _credit_bound(self, card: Card, slot: Slot, now: int) -> tuple[SwipeResult, bool]:
        """A bound meter, the customer's card: strict purchase serials."""
        applied = False
        if slot.serial <= self.last_serial:
            result = SwipeResult.OK  # already applied: reissued, copied or replayed card
        elif slot.taken:
            return SwipeResult.E12, False  # another meter applied it: never credited twice
        elif slot.kind is SlotKind.TRANSFER:
            return SwipeResult.E09, False
        elif slot.serial > self.last_serial + 1:
            result = SwipeResult.E07
        elif self._over_limit(slot.quantity_centi):
            result = SwipeResult.E06
        else:
            result, applied = SwipeResult.OK, True
            self._apply(slot)
        if card.generation > self.generation:  # a reissued card revokes the older ones
            self.generation = card.generation
            self._log(now, "bind", {"user_number": card.user_number, "generation": card.generation})
        return result, applied

    def _over_limit(self, quantity_centi: int) -> bool:
        assert self.parameters is not None
        return self.balance_centi + quantity_centi > self.parameters.limit_centi

    def _apply(self, slot: Slot) -> None:
        """Apply a slot's credit (plain arithmetic: an overdraft is repaid first)."""
        assert slot.serial > self.last_serial
        self.last_serial = slot.serial
        self.balance_centi += slot.quantity_centi

    def _bound_to(self, card: Card) -> bool:
        return self.state is MeterState.BOUND and card.user_number == self.user_number

    def _write_back(self, card: Card, result: SwipeResult, site_key: bytes, now: int) -> bytes:
        assert self.parameters is not None
        own = {
            "sub_meter": self.parameters.sub_meter,
            "last_serial": self.last_serial,
            "balance_centi": self.balance_centi,
            "cumulative_centi": self.cumulative_centi,
            "status": self.status,
            "result": int(result),
            "time": now,
        }
        # Checked by meter_write_back_area like any record it writes.
        return codec.meter_write_back_area(card, checked_value(WriteBack, own), site_key)

    # ------------------------------------------------------------------ readings, log

    def reading(self, now: int) -> CheckReading:
        """The meter's full readings, as a check card receives them."""
        params = self.parameters
        return CheckReading(
            sub_meter=0 if params is None else params.sub_meter,
            meter_type=MeterType.WATER if params is None else params.meter_type,
            maintenance_code=0 if params is None else params.maintenance_code,
            state=int(self.state),
            user_number=self.user_number,
            generation=self.generation,
            last_serial=self.last_serial,
            balance_centi=self.balance_centi,
            cumulative_centi=self.cumulative_centi,
            status=self.status,
            time=now,
        )

    def _tick(self, now: int) -> None:
        assert now >= 0
        self.clock = now

    def _log(self, now: int, code: str, details: dict[str, int | str]) -> None:
        self.events.append(checked_value(Event, {"time": now, "code": code, "details": details}))
        if len(self.events) > EVENT_LOG_SIZE:
            del self.events[: len(self.events) - EVENT_LOG_SIZE]

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (ints, strings, lists); :meth:`from_dict` reads it back."""
        return {
            "version": FORMAT_VERSION,
            "meter_id": self.meter_id,
            "state": self.state.code,
            "parameters": None if self.parameters is None else _parameters_to_dict(self.parameters),
            "balance_centi": self.balance_centi,
            "cumulative_centi": self.cumulative_centi,
            "user_number": self.user_number,
            "generation": self.generation,
            "last_serial": self.last_serial,
            "status": self.status.codes,
            "valve_open": self.valve_open,
            "clock": self.clock,
            "last_result": None if self.last_result is None else self.last_result.code,
            "events": [event.to_dict() for event in self.events],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Meter:
        """Read :meth:`to_dict` output; raises ``ValueError`` on malformed data."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown meter format version {data.get('version')!r}")
        params = data.get("parameters")
        last_result = data.get("last_result")
        try:
            meter = cls(
                meter_id=_str(data, "meter_id"),
                state=MeterState[_str(data, "state").upper()],
                parameters=None if params is None else _parameters_from_dict(params),
                balance_centi=_int(data, "balance_centi"),
                cumulative_centi=_int(data, "cumulative_centi"),
                user_number=_int(data, "user_number"),
                generation=_int(data, "generation"),
                last_serial=_int(data, "last_serial"),
                flags=_status_from_codes(data.get("status", [])) & ~DERIVED_FLAGS,
                valve_open=bool(data.get("valve_open")),
                clock=_int(data, "clock"),
                last_result=None if last_result is None else SwipeResult.from_code(last_result),
                events=[Event.from_dict(e) for e in data.get("events", [])],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed meter data: {exc}") from None
        try:
            meter.check_invariants()
        except AssertionError:
            raise ValueError("inconsistent meter data") from None
        return meter


def new_meter(meter_id: str, now: int) -> Meter:
    """A factory-new (cleared) meter."""
    meter = Meter(meter_id=meter_id, clock=now)
    meter.check_invariants()
    return meter


# ---------------------------------------------------------------------- helpers


def _tool_maintenance_code(card: Card) -> int:
    if card.type is CardType.SETTING and card.parameters is not None:
        return card.parameters.maintenance_code
    return card.maintenance_code


def _parameters_valid(p: MeterParameters) -> bool:
    return (
        1 <= p.sub_meter <= 4
        and 0 <= p.prestore_centi <= MAX_CENTI
        and 0 <= p.limit_centi <= MAX_CENTI
        and 0 <= p.alarm_centi <= MAX_CENTI
        and 0 <= p.overdraft_centi <= MAX_CENTI
    )


def _swipe_details(outcome: SwipeOutcome) -> dict[str, int | str]:
    details: dict[str, int | str] = {
        "card": "unreadable" if outcome.card_type is None else outcome.card_type.code,
        "result": outcome.result.code,
    }
    if outcome.applied_serial:
        details["serial"] = outcome.applied_serial
        details["applied_centi"] = outcome.applied_centi
    return details


def _parameters_to_dict(p: MeterParameters) -> dict[str, Any]:
    return {
        "sub_meter": p.sub_meter,
        "meter_type": p.meter_type.code,
        "maintenance_code": p.maintenance_code,
        "limit_centi": p.limit_centi,
        "prestore_centi": p.prestore_centi,
        "alarm_centi": p.alarm_centi,
        "overdraft_centi": p.overdraft_centi,
    }


def _parameters_from_dict(data: dict[str, Any]) -> MeterParameters:
    return MeterParameters(
        sub_meter=_int(data, "sub_meter"),
        meter_type=MeterType[_str(data, "meter_type").upper()],
        maintenance_code=_int(data, "maintenance_code"),
        limit_centi=_int(data, "limit_centi"),
        prestore_centi=_int(data, "prestore_centi"),
        alarm_centi=_int(data, "alarm_centi"),
        overdraft_centi=_int(data, "overdraft_centi"),
    )


def _status_from_codes(codes: Any) -> MeterStatus:
    status = MeterStatus(0)
    for code in codes:
        status |= MeterStatus[str(code).upper()]
    return status


def _int(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key} must be an integer")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value

"""The logical content of a card, independent of its byte layout (see ``codec.py``).

A card has two areas with separate owners and separate MACs:

* the **office area** (header + four purchase slots, or a tool card's parameters), written
  only by the office and authenticated by the office MAC;
* the **meter area** (four write-back records), written only by meters and authenticated by
  the meter MAC. The office never edits it; a meter never edits the office area.

All quantities are integers of centi-units (0.01 m³ / kWh / GJ); see ``prepaid.core.money``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, TypeVar

SLOT_COUNT = 4
SUB_METERS = (1, 2, 3, 4)

_V = TypeVar("_V")


class CardType(enum.IntEnum):
    """Card types. The numeric values are stored on the card: never renumber."""

    BLANK = 0  # factory-blank: no valid header (never encoded with a header)
    NEW = 1  # formatted by the system, ready to become a user card
    USER = 2
    SETTING = 3
    CLEAR_ALL = 4
    ZERO = 5
    CHECK = 6

    @property
    def code(self) -> str:
        """The name used by the CLI and JSON: ``blank``, ``new``, ``user``, ``clear_all``…"""
        return self.name.lower()

    @property
    def is_tool(self) -> bool:
        return self in (CardType.SETTING, CardType.CLEAR_ALL, CardType.ZERO, CardType.CHECK)


class MeterType(enum.IntEnum):
    """Meter types; each fixes the unit. Stored on cards: never renumber."""

    WATER = 1
    ELECTRICITY = 2
    GAS = 3
    HEAT = 4

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def unit(self) -> str:
        return {1: "m³", 2: "kWh", 3: "m³", 4: "GJ"}[self.value]


class SlotKind(enum.IntEnum):
    """What a purchase slot carries. Stored on cards: never renumber."""

    PURCHASE = 1
    TRANSFER = 2  # a meter-change transfer: taken only by a set, not yet bound meter

    @property
    def code(self) -> str:
        return self.name.lower()


class MeterStatus(enum.IntFlag):
    """Status flags a meter writes back to the card (and keeps in its own state)."""

    ALARM = 0x0001  # balance at or below the alarm level
    VALVE_CLOSED = 0x0002
    OVERDRAFT = 0x0004  # balance below zero
    TAMPER = 0x0008  # case opened / magnetic attack detected
    VALVE_FORCED = 0x0010  # valve found open while it should be closed
    WRONG_METER = 0x0020  # a card of another customer or site was inserted since last swipe
    LOW_BATTERY = 0x0040

    @property
    def codes(self) -> list[str]:
        return [flag.name.lower() for flag in MeterStatus if flag in self and flag.name]


_STATUSES: dict[int, MeterStatus] = {}


def meter_status(bits: int) -> MeterStatus:
    """``MeterStatus(bits)``, memoised: building a flag value costs a microsecond, every swipe
    builds one or two, and a status has only 16 bits, so the table stays small."""
    status = _STATUSES.get(bits)
    if status is None:
        status = _STATUSES[bits] = MeterStatus(bits)
    return status


@dataclass(frozen=True)
class Slot:
    """One purchase slot of a user card: the office's side of one sub-meter."""

    sub_meter: int  # 1..4
    meter_type: MeterType
    maintenance_code: int  # 0..99_999_999
    serial: int  # purchase serial, 1.. (0 = nothing purchased yet)
    quantity_centi: int  # may be negative only for a transfer
    kind: SlotKind = SlotKind.PURCHASE
    # Taken (the slot's flag bit 0): the office read a meter's write-back showing this serial
    # applied before it wrote the card (a reissued card carrying it). No meter credits it.
    taken: bool = False


@dataclass(frozen=True)
class WriteBack:
    """What a meter wrote back for one sub-meter after a user-card swipe."""

    sub_meter: int
    last_serial: int  # the last purchase serial the meter applied
    balance_centi: int  # may be negative (overdraft)
    cumulative_centi: int  # cumulative use since the meter was last cleared
    status: MeterStatus
    result: int  # result/display code of that swipe, 0 = ok, 1 = E01, …
    time: int  # meter clock, Unix seconds


@dataclass(frozen=True)
class MeterParameters:
    """Parameters of one account, as a setting card carries them to a meter."""

    sub_meter: int
    meter_type: MeterType
    maintenance_code: int
    limit_centi: int  # purchase limit: most credit the meter may hold
    prestore_centi: int  # pre-stored quantity after setting
    alarm_centi: int  # alarm level
    overdraft_centi: int  # how far below zero the meter may run


@dataclass(frozen=True)
class CheckReading:
    """What a meter writes onto a check card: its full readings."""

    sub_meter: int
    meter_type: MeterType
    maintenance_code: int
    state: int  # 0 cleared, 1 set, 2 bound
    user_number: int
    generation: int
    last_serial: int
    balance_centi: int
    cumulative_centi: int
    status: MeterStatus
    time: int


@dataclass(frozen=True)
class Card:
    """A decoded card.

    ``serial`` is the random 8-byte card serial (16 hex digits) set when the card was formatted.
    For a user card ``slots`` holds up to four purchase slots (one per sub-meter) and
    ``write_backs`` the meters' records. A setting card carries ``parameters``; a clear-all or
    zero card carries only ``maintenance_code`` (0 = any); a check card carries the
    ``check`` reading once a meter has written it.
    """

    type: CardType
    serial: str = ""
    generation: int = 0
    user_number: int = 0
    key_version: int = 1
    slots: tuple[Slot, ...] = ()
    write_backs: tuple[WriteBack, ...] = ()
    parameters: MeterParameters | None = None
    maintenance_code: int = 0
    check: CheckReading | None = None
    # True when the meter area is present but failed its MAC (torn meter write): the office
    # area is still good, only the write-backs are unknown until the next swipe.
    write_back_damaged: bool = field(default=False, compare=False)

    # Plain loops: a meter looks up a slot on every swipe, and a generator costs more than
    # the four comparisons.
    def slot(self, sub_meter: int) -> Slot | None:
        for slot in self.slots:
            if slot.sub_meter == sub_meter:
                return slot
        return None

    def write_back(self, sub_meter: int) -> WriteBack | None:
        for write_back in self.write_backs:
            if write_back.sub_meter == sub_meter:
                return write_back
        return None

    def swiped(self, sub_meter: int) -> bool:
        """Whether the meter has applied this slot's purchase (applied serial ≥ slot serial)."""
        slot = self.slot(sub_meter)
        if slot is None or slot.serial == 0:
            return True
        wb = self.write_back(sub_meter)
        return wb is not None and wb.last_serial >= slot.serial


def checked_value(cls: type[_V], fields: dict[str, Any]) -> _V:
    """An instance of the frozen dataclass ``cls`` holding ``fields`` (every field, by name),
    made without calling its ``__init__``.

    For the codec and the meter, which build a card's values on every swipe from fields they
    have just checked: a frozen dataclass's ``__init__`` sets its fields one by one through
    ``object.__setattr__``, which costs more than decoding them. The value is the same as
    ``cls(**fields)`` (equal, same hash, still frozen); a test holds every caller to that.
    """
    value = object.__new__(cls)
    object.__setattr__(value, "__dict__", fields)
    return value

"""Cards as JSON documents (DESIGN §8 ``card read``) and as lines for people."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from prepaid.core.card.model import Card, CardType, CheckReading, MeterParameters, WriteBack
from prepaid.core.errors import _
from prepaid.core.money import format_centi

CARD_TYPE_NAMES = {
    "blank": _("factory-blank card"),
    "new": _("new card"),
    "user": _("user card"),
    "setting": _("setting card"),
    "clear_all": _("clear-all card"),
    "zero": _("zero card"),
    "check": _("check card"),
}
SLOT_KINDS = {"purchase": _("Purchase"), "transfer": _("Meter-change transfer")}
FIELD_NAMES = {
    "sub_meter": _("sub-meter number"),
    "meter_type": _("meter type"),
    "maintenance_code": _("maintenance code"),
    "limit": _("purchase limit"),
    "prestore": _("pre-stored quantity"),
    "alarm": _("alarm level"),
    "overdraft": _("overdraft"),
    "state": _("meter state"),
    "user_number": _("user number"),
    "generation": _("card generation"),
    "last_serial": _("last purchase applied"),
    "balance": _("balance"),
    "cumulative": _("cumulative use"),
    "status": _("status"),
    "time": _("meter time"),
}

# Quantities of a setting card's parameters and a check card's reading, shown with the unit of
# the meter type (``unit`` in their documents).
QUANTITY_FIELDS = frozenset({"limit", "prestore", "alarm", "overdraft", "balance", "cumulative"})

METER_STATES = {0: "cleared", 1: "set", 2: "bound"}
# The names people read for the codes of meter documents (translated where they are shown).
METER_TYPE_NAMES = {
    "water": _("Water"),
    "electricity": _("Electricity"),
    "gas": _("Gas"),
    "heat": _("Heat"),
}
METER_STATE_NAMES = {"cleared": _("Cleared"), "set": _("Set"), "bound": _("Bound")}
METER_FLAG_NAMES = {
    "alarm": _("Alarm"),
    "valve_closed": _("Valve closed"),
    "overdraft": _("Overdrawn"),  # the meter's state, not the account's limit (透支量)
    "tamper": _("Tamper"),
    "valve_forced": _("Valve forced"),
    "wrong_meter": _("Wrong-meter swipe"),
    "low_battery": _("Low battery"),
}


def user_number_text(number: int) -> str:
    return f"{number:08d}" if number else ""


def _write_back(wb: WriteBack | None) -> dict[str, Any] | None:
    if wb is None:
        return None
    return {
        "last_serial": wb.last_serial,
        "balance": format_centi(wb.balance_centi),
        "cumulative": format_centi(wb.cumulative_centi),
        "status": wb.status.codes if hasattr(wb.status, "codes") else [],
        "result": "ok" if wb.result == 0 else f"E{wb.result:02d}",
        "time": wb.time,
    }


def _parameters(p: MeterParameters) -> dict[str, Any]:
    return {
        "sub_meter": p.sub_meter,
        "meter_type": p.meter_type.code,
        "maintenance_code": p.maintenance_code,
        "limit": format_centi(p.limit_centi),
        "prestore": format_centi(p.prestore_centi),
        "alarm": format_centi(p.alarm_centi),
        "overdraft": format_centi(p.overdraft_centi),
        "unit": p.meter_type.unit,
    }


def _check(c: CheckReading) -> dict[str, Any]:
    # A cleared meter has no parameters: the card's bytes then hold placeholders (sub-meter 0,
    # the first meter type, code 0) that must not read as a water meter with code 0.
    cleared = METER_STATES.get(c.state) == "cleared"
    return {
        "sub_meter": None if cleared else c.sub_meter,
        "meter_type": None if cleared else c.meter_type.code,
        "maintenance_code": None if cleared else c.maintenance_code,
        "state": METER_STATES.get(c.state, str(c.state)),
        "user_number": user_number_text(c.user_number),
        "generation": c.generation,
        "last_serial": c.last_serial,
        "balance": format_centi(c.balance_centi),
        "cumulative": format_centi(c.cumulative_centi),
        "unit": None if cleared else c.meter_type.unit,
        "status": c.status.codes,
        "time": c.time,
    }


def card_document(card: Card) -> dict[str, Any]:
    """The JSON shape of ``prepaid card read``."""
    doc: dict[str, Any] = {"type": card.type.code}
    if card.type == CardType.BLANK:
        return doc
    doc.update(serial=card.serial, generation=card.generation, key_version=card.key_version)
    if card.type == CardType.USER:
        doc["user_number"] = user_number_text(card.user_number)
        doc["slots"] = [
            {
                "sub_meter": s.sub_meter,
                "meter_type": s.meter_type.code,
                "maintenance_code": s.maintenance_code,
                "serial": s.serial,
                "kind": s.kind.code,
                "quantity": format_centi(s.quantity_centi),
                "unit": s.meter_type.unit,
                "swiped": card.swiped(s.sub_meter),
                "taken": s.taken,  # a meter applied it before the card was reissued
                "meter": _write_back(card.write_back(s.sub_meter)),
            }
            for s in card.slots
        ]
        doc["write_back_damaged"] = card.write_back_damaged
    elif card.type == CardType.SETTING and card.parameters is not None:
        doc["parameters"] = _parameters(card.parameters)
    elif card.type in (CardType.CLEAR_ALL, CardType.ZERO):
        doc["maintenance_code"] = card.maintenance_code
    elif card.type == CardType.CHECK:
        doc["reading"] = _check(card.check) if card.check is not None else None
        doc["write_back_damaged"] = card.write_back_damaged
    return doc


def card_lines(doc: dict[str, Any], gettext: Any, pgettext: Any = None) -> list[str]:
    """A short human rendering of a card document (``pgettext`` for the list separator)."""
    pgettext = pgettext or (lambda _context, message: message)
    kind = gettext(CARD_TYPE_NAMES.get(doc["type"], doc["type"]))
    lines = [gettext("Card type: %(type)s") % {"type": kind}]
    if doc["type"] == "blank":
        return lines
    lines.append(gettext("Serial: %(serial)s  generation %(generation)s") % doc)
    if doc.get("user_number"):
        lines.append(gettext("User number: %(user_number)s") % doc)
    for slot in doc.get("slots", []):
        swiped = gettext("swiped") if slot["swiped"] else gettext("not swiped")
        if slot.get("taken"):
            # marked at a reissue: the office read a meter's write-back showing it applied
            swiped = gettext("%(swiped)s, %(taken)s") % {
                "swiped": swiped,
                "taken": gettext("taken by a meter before the reissue: no meter credits it again"),
            }
        kind = gettext(SLOT_KINDS.get(slot["kind"], slot["kind"]))
        # the meter type and unit: a card carrying water, electricity and gas must not show
        # three bare numbers
        meter_type = _shown_value("meter_type", slot.get("meter_type"), gettext, pgettext)
        lines.append(
            gettext(
                "Sub-meter %(sub_meter)s (%(meter_type)s): purchase %(serial)s, %(quantity)s "
                "%(unit)s (%(kind)s), %(swiped)s"
            )
            % {**slot, "meter_type": meter_type, "kind": kind, "swiped": swiped}
        )
        meter = slot.get("meter")
        if meter:
            lines.append(
                "  "
                + gettext(
                    "meter: balance %(balance)s %(unit)s, cumulative %(cumulative)s %(unit)s, "
                    "last purchase applied %(last_serial)s"
                )
                % {**meter, "unit": slot["unit"]}
            )
            lines.extend("  " + line for line in _meter_said(meter, gettext, pgettext))
    for key in ("parameters", "reading"):
        if doc.get(key):
            unit = doc[key].get("unit")
            lines.extend(
                "  "
                + gettext("%(label)s: %(value)s")
                % {
                    "label": gettext(FIELD_NAMES.get(k, k)),
                    "value": _with_unit(k, _shown_value(k, v, gettext, pgettext), unit),
                }
                for k, v in doc[key].items()
                if k != "unit"
            )
    if "maintenance_code" in doc:
        # 0: made without an account, the card works in a meter of any maintenance code
        said = (
            gettext("Maintenance code: %(code)s (any meter)")
            if doc["maintenance_code"] == 0
            else gettext("Maintenance code: %(code)s")
        )
        lines.append(said % {"code": doc["maintenance_code"]})
    if doc.get("write_back_damaged"):
        # torn or edited: what the meter wrote is not trusted (the sub-meters read "not
        # swiped", a check card shows no reading) until a swipe writes it again
        lines.append(
            gettext("The meter's part of the card is damaged; it is rewritten at the next swipe.")
        )
    return lines


def _meter_said(meter: dict[str, Any], gettext: Any, pgettext: Any) -> list[str]:
    """What the meter's record says beyond the numbers: a refusal it showed (E06 …) and its
    status flags (tamper, alarm …), as the reader panel shows them."""
    from prepaid.core.meter import SwipeResult

    lines = []
    result = meter.get("result")
    if result and result != "ok":
        try:
            reason = gettext(SwipeResult.from_code(result).message)
        except KeyError:  # a code this version does not know
            reason = "-"
        lines.append(
            gettext("the meter showed %(result)s: %(reason)s")
            % {"result": result, "reason": reason}
        )
    if meter.get("status"):
        status = _shown_value("status", meter["status"], gettext, pgettext)
        lines.append(gettext("Status: %(status)s") % {"status": status})
    return lines


def _shown_value(field: str, value: Any, gettext: Any, pgettext: Any) -> Any:
    """A field as a person reads it: names for codes, the meter clock as a local time, "-"
    for what the meter does not hold (no parameters when cleared, no customer when unbound)."""
    if value is None or value == "":
        return "-"
    if field == "meter_type" and value in METER_TYPE_NAMES:
        return gettext(METER_TYPE_NAMES[value])
    if field == "state" and value in METER_STATE_NAMES:
        return gettext(METER_STATE_NAMES[value])
    if field == "status":
        separator = pgettext("list separator", ", ")  # 报警、阀门关闭 / Alarm, Valve closed
        return separator.join(gettext(METER_FLAG_NAMES.get(c, c)) for c in value) or "-"
    if field == "time" and isinstance(value, int):
        if not value:
            return "-"
        moment = datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        return f"{moment.astimezone(_office_zone()):%Y-%m-%d %H:%M:%S}"
    return value


def _with_unit(field: str, shown: Any, unit: str | None) -> Any:
    """A quantity with the unit of the meter type (none for a cleared meter's reading)."""
    return f"{shown} {unit}" if field in QUANTITY_FIELDS and unit else shown


def _office_zone() -> zoneinfo.ZoneInfo:
    """The office's time zone, as the settings read it (``prepaid.settings.TIME_ZONE``),
    without starting Django: ``card read`` and ``card list`` read the card store only."""
    from prepaid.home import office_time_zone

    return zoneinfo.ZoneInfo(office_time_zone())

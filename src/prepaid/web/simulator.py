"""The meter simulator as the web drives it, mirroring ``prepaid meter …`` (prepaid.cli.meter).

The device is :mod:`prepaid.core.meter`, stored by :mod:`prepaid.simulator.meter_store`; a swipe
inserts the card in this station's reader into the meter, and the meter writes back only into
the card's meter area. Meters live in the data directory, so the CLI and the web see the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from prepaid.core.card.codec import METER_AREA
from prepaid.core.meter import Meter, SwipeOutcome
from prepaid.core.money import format_centi, parse_quantity
from prepaid.readers.lock import holding
from prepaid.simulator.meter_store import MeterStore
from prepaid.vending.services import Station
from prepaid.web.station import data_home


def store() -> MeterStore:
    return MeterStore(data_home().meters)


def now() -> int:
    return int(time.time())


def add(meter_id: str) -> Meter:
    return store().add(meter_id.strip(), now())


def why_nothing_flows(meter: Meter) -> str | None:
    """Why the meter's valve is closed, and what opens it, for the operator who asked for more
    than flowed; ``None`` when it is open."""
    from django.utils.translation import gettext

    reason = meter.valve_closed_reason
    return None if reason is None else gettext(reason)


@dataclass(frozen=True)
class Swipe:
    meter: Meter
    outcome: SwipeOutcome


def swipe(meter_id: str, station: Station) -> Swipe:
    """Insert the card in the reader into the meter; write the meter's record back."""
    meters = store()
    meters.load(meter_id)  # an unknown meter is refused before the reader is touched
    with holding(station.reader):
        image = station.reader.read()
        with meters.locked():
            meter = meters.load(meter_id)
            outcome = meter.swipe(image, station.site_key, now())
            meters.save(meter)  # the meter has acted, whatever happens to the card now
        if outcome.meter_area is not None:
            station.reader.write(outcome.meter_area, METER_AREA.start)
    return Swipe(meter, outcome)


# What the event log shows for the meter's event codes and the keys of their details.
EVENT_NAMES = {
    "swipe": _("Swipe"),
    "set": _("Meter set"),
    "bind": _("Bound to the card"),
    "alarm": _("Alarm"),
    "valve_closed": _("Valve closed"),
    "tamper": _("Tamper"),
    "clear_all": _("Cleared (clear-all card)"),
    "zero": _("Cleared (zero card)"),
    "check": _("Readings written to the check card"),
}
DETAIL_NAMES = {
    "card": _("Card type"),
    "result": _("Result"),
    "serial": _("Purchase serial"),
    "applied_centi": _("Credit applied"),
    "balance_centi": _("Balance"),
    "sub_meter": _("Sub-meter"),
    "prestore_centi": _("Pre-stored quantity"),
    "user_number": _("User number"),
    "generation": _("Generation"),
}


def _detail(key: str, value: Any, unit: str = "") -> str:
    from django.utils import formats

    from prepaid.web import formatting
    from prepaid.web.presenters import CARD_TYPES

    if key.endswith("_centi"):
        quantity = formatting.quantity_centi(int(value))
        return f"{quantity} {unit}" if unit else quantity
    if key == "card":
        return str(CARD_TYPES.get(str(value), CARD_TYPES["bad"]))
    if key == "result":
        return "OK" if value == "ok" else str(value)
    if key == "user_number" and isinstance(value, int):
        return f"{value:08d}" if value else "—"
    return str(formats.localize(value))


def event_log(shown: dict[str, Any]) -> list[dict[str, str]]:
    """The display's events as the page's table shows them: the time in the operator's locale
    and time zone, the event's name, and the details as ``name: value, …`` (one string per
    event: formatted here once rather than value by value in the template)."""
    import datetime

    from django.utils import formats, timezone
    from django.utils.translation import gettext, pgettext

    # Quantities in the unit of the meter type the meter is set for; events before its last
    # clearing (newest first: from a clear-all or zero card on) were under parameters the
    # meter no longer knows, and show the bare number.
    unit = (shown.get("parameters") or {}).get("unit", "")
    rows = []
    for event in shown["events"]:
        when = ""
        if event["time"]:
            moment = datetime.datetime.fromtimestamp(int(event["time"]), tz=datetime.UTC)
            when = formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
        # 卡类型：检查卡，结果：OK / Card type: Check card, Result: OK
        details = pgettext("clause separator", ", ").join(
            gettext("%(label)s: %(value)s")
            % {"label": DETAIL_NAMES.get(key, key), "value": _detail(key, value, unit)}
            for key, value in event["details"].items()
        )
        name = str(EVENT_NAMES.get(event["code"], event["code"]))
        rows.append({"time": when, "code": event["code"], "name": name, "details": details})
        if event["code"] in ("clear_all", "zero"):
            unit = ""
    return rows


def use(meter_id: str, quantity: str) -> tuple[Meter, int, int]:
    """Draw water/electricity through the meter: (meter, requested, used) in centi-units."""
    meters = store()
    quantity_centi = parse_quantity(quantity)
    with meters.locked():
        meter = meters.load(meter_id)
        used_centi = meter.use(quantity_centi, now())
        meters.save(meter)
    return meter, quantity_centi, used_centi


def display(meter: Meter) -> dict[str, Any]:
    """What the meter's display and state show (the fields of ``prepaid meter show``)."""
    params = meter.parameters
    result = meter.last_result
    return {
        "meter_id": meter.meter_id,
        "state": meter.state.code,
        "balance": format_centi(meter.balance_centi),
        "cumulative": format_centi(meter.cumulative_centi),
        "alarm": meter.alarm,
        "valve_open": meter.valve_open,
        "last_serial": meter.last_serial,
        "result": None if result is None else result.code,
        "result_message": None if result is None else result.message,
        "status": meter.status.codes,
        "user_number": f"{meter.user_number:08d}" if meter.user_number else "",
        "generation": meter.generation or None,
        "parameters": None
        if params is None
        else {
            "sub_meter": params.sub_meter,
            "meter_type": params.meter_type.code,
            "unit": params.meter_type.unit,
            "maintenance_code": params.maintenance_code,
            "limit": format_centi(params.limit_centi),
            "prestore": format_centi(params.prestore_centi),
            "alarm": format_centi(params.alarm_centi),
            "overdraft": format_centi(params.overdraft_centi),
        },
        "clock": meter.clock,
        "events": [
            {"time": e.time, "code": e.code, "details": e.details}
            for e in reversed(meter.events[-20:])
        ],
    }

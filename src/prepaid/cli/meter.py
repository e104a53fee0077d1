"""``prepaid meter add|swipe|use|show|list``: simulated meters (DESIGN §4, §8).

Meters live under the data directory (``meters/ID.json``). ``meter swipe`` inserts the card
in the reader into a meter: the meter reads the whole card and writes back only into the
card's meter area. A refused swipe exits with status 1 and the display code in ``result``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from prepaid.core.errors import _


def _shown(ctx: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The document with its codes as the operator reads them, in the operator's language
    (the JSON document keeps the codes)."""
    from prepaid.cards.documents import CARD_TYPE_NAMES, METER_FLAG_NAMES, METER_STATE_NAMES

    card_type, state = document.get("card_type"), document["state"]
    return {
        **document,
        "state": ctx.gettext(METER_STATE_NAMES.get(state, state)),
        "valve": ctx.pgettext("valve", document["valve"]),
        "status": [ctx.gettext(METER_FLAG_NAMES.get(c, c)) for c in document["status"]],
        "card_type": ctx.gettext(CARD_TYPE_NAMES.get(card_type, card_type)) if card_type else "",
    }


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("meter", parents=[common], help=_("simulated meters (刷表)"))
    parser.set_defaults(needs_django=False)  # the meter simulator needs no database
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    add = sub.add_parser("add", parents=[common], help=_("add a factory-new (cleared) meter"))
    add.add_argument("meter_id", help=_("meter id"))
    add.set_defaults(handler=handle_add)
    swipe = sub.add_parser(
        "swipe", parents=[common], help=_("insert the card in the reader into the meter")
    )
    swipe.add_argument("meter_id", help=_("meter id"))
    swipe.set_defaults(handler=handle_swipe)
    use = sub.add_parser("use", parents=[common], help=_("consume a quantity through the meter"))
    use.add_argument("meter_id", help=_("meter id"))
    use.add_argument("quantity", help=_("quantity to draw, e.g. 2.50"))
    use.set_defaults(handler=handle_use)
    show = sub.add_parser("show", parents=[common], help=_("show a meter's display and state"))
    show.add_argument("meter_id", help=_("meter id"))
    show.set_defaults(handler=handle_show)
    sub.add_parser("list", parents=[common], help=_("list the meters")).set_defaults(
        handler=handle_list
    )


def _store(ctx: Any) -> Any:
    from prepaid.simulator.meter_store import MeterStore

    ctx.home.require()
    return MeterStore(ctx.home.meters)


def _now() -> int:
    return int(time.time())


def meter_document(meter: Any) -> dict[str, Any]:
    """The JSON shape of ``meter show`` / ``meter swipe`` (DESIGN §8); the bound user's
    number written as the office writes it (8 digits)."""
    from prepaid.cards.documents import user_number_text
    from prepaid.core.money import format_centi

    params = meter.parameters
    return {
        "meter_id": meter.meter_id,
        "state": meter.state.code,
        "balance": format_centi(meter.balance_centi),
        "cumulative": format_centi(meter.cumulative_centi),
        "alarm": meter.alarm,
        "valve": "open" if meter.valve_open else "closed",
        "last_serial": meter.last_serial,
        "result": None if meter.last_result is None else meter.last_result.code,
        "status": meter.status.codes,
        "user_number": user_number_text(meter.user_number) or None,
        "generation": meter.generation or None,
        "sub_meter": params.sub_meter if params else None,
        "meter_type": params.meter_type.code if params else None,
        "parameters": None
        if params is None
        else {
            "maintenance_code": params.maintenance_code,
            "limit": format_centi(params.limit_centi),
            "prestore": format_centi(params.prestore_centi),
            "alarm": format_centi(params.alarm_centi),
            "overdraft": format_centi(params.overdraft_centi),
        },
        "clock": meter.clock,
    }


def _say_meter(ctx: Any, document: dict[str, Any]) -> None:
    document = _shown(ctx, document)
    ctx.say(
        ctx.gettext(
            "Meter %(meter_id)s: %(state)s, balance %(balance)s, cumulative "
            "%(cumulative)s, valve %(valve)s, last serial %(last_serial)s"
        )
        % document
    )
    if document["user_number"]:
        ctx.say(
            ctx.gettext("Bound to user %(user_number)s, card generation %(generation)s") % document
        )
    if document["status"]:
        separator = ctx.pgettext("list separator", ", ")
        status = separator.join(document["status"])
        ctx.say(ctx.gettext("Status: %(status)s") % {"status": status})


def handle_add(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    meter = _store(ctx).add(args.meter_id, _now())
    document = meter_document(meter)
    ctx.say(
        ctx.gettext("Meter %(meter_id)s added (cleared: swipe a setting card next).") % document
    )
    return document


def handle_show(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    document = meter_document(_store(ctx).load(args.meter_id))
    _say_meter(ctx, document)
    _say_display(ctx, document["result"])
    return document


def _say_display(ctx: Any, result: str | None) -> None:
    """What the meter's display shows after its last card (E07 and why), as the simulator page
    shows it; nothing for a meter no card has been inserted into yet."""
    from prepaid.core.meter import SwipeResult

    if result is None:
        return
    code = SwipeResult.from_code(result)
    shown = "OK" if code is SwipeResult.OK else f"{code.code} · {ctx.gettext(code.message)}"
    ctx.say(ctx.gettext("Display: %(display)s") % {"display": shown})


def handle_list(ctx: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    store = _store(ctx)
    documents = [meter_document(store.load(meter_id)) for meter_id in store.ids()]
    from prepaid.cli.text import pad

    for d in [_shown(ctx, document) for document in documents]:
        ctx.say(
            f"{pad(d['meter_id'], 32)} {pad(d['state'], 10)} {d['balance']:>12} "
            f"{pad(d['valve'], 6)} {d['result'] or '-'}"
        )
    return documents


def handle_use(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.core.money import format_centi, parse_quantity

    store = _store(ctx)
    quantity_centi = parse_quantity(args.quantity, field="quantity used")
    with store.locked():
        meter = store.load(args.meter_id)
        used_centi = meter.use(quantity_centi, _now())
        store.save(meter)
    document = meter_document(meter)
    document["requested"] = format_centi(quantity_centi)
    document["used"] = format_centi(used_centi)
    ctx.say(ctx.gettext("Used %(used)s of %(requested)s.") % document)
    if used_centi < quantity_centi and meter.valve_closed_reason is not None:
        ctx.say(ctx.gettext(meter.valve_closed_reason))
    _say_meter(ctx, document)
    return document


def handle_swipe(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.core.card.codec import METER_AREA
    from prepaid.core.money import format_centi

    store = _store(ctx)
    store.load(args.meter_id)  # an unknown meter is bad input, before touching the reader
    reader = ctx.reader()
    image = reader.read()
    with store.locked():
        meter = store.load(args.meter_id)
        outcome = meter.swipe(image, ctx.site_key, _now())
        store.save(meter)  # the meter has acted, whatever happens to the card now
    if outcome.meter_area is not None:
        reader.write(outcome.meter_area, METER_AREA.start)
    document = meter_document(meter)
    document.update(
        {
            "card_type": None if outcome.card_type is None else outcome.card_type.code,
            "applied": format_centi(outcome.applied_centi),
            "applied_serial": outcome.applied_serial or None,
            "written_back": outcome.meter_area is not None,
        }
    )
    if not outcome.ok:
        raise _refusal(ctx, outcome, document)
    if document["card_type"] == "user":
        accepted = ctx.gettext(
            "Meter %(meter_id)s accepted the card (%(card_type)s); credit applied %(applied)s."
        )
    else:  # a tool card credits nothing: it sets, clears, zeroes or reads the meter
        accepted = ctx.gettext("Meter %(meter_id)s accepted the card (%(card_type)s).")
    ctx.say(accepted % _shown(ctx, document))
    _say_meter(ctx, document)
    return document


def _refusal(ctx: Any, outcome: Any, document: dict[str, Any]) -> Exception:
    """The refused swipe as an error (exit 1): the display code and the meter's state."""
    from prepaid.core.errors import PrepaidError, _

    error = PrepaidError(
        outcome.error_code,
        _("Meter %(meter_id)s shows %(result)s: %(reason)s"),
        meter_id=document["meter_id"],
        result=outcome.result.code,
        reason=ctx.gettext(outcome.message),
    )
    # run() adds ``extra`` to the JSON error document: the display code and the meter's state
    extra = {key: value for key, value in document.items() if key not in ("error", "message")}
    error.extra = extra  # type: ignore[attr-defined]
    return error

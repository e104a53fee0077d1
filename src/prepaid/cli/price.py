"""``prepaid price add|adjust|modify|delete|list|show``: price types and their versions."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.cli.text import say_listed
from prepaid.core.errors import _

PERIODS = ("month", "year")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("price", parents=[common], help=_("prices (admin changes)"))
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)

    add = sub.add_parser("add", parents=[common], help=_("add a price to an account (admin)"))
    add.add_argument("--account", required=True, help=_("account id"))
    add.add_argument(
        "--name", required=True, help=_("price name, such as residential water (居民用水)")
    )
    _tariff_arguments(add, required=True)
    add.add_argument("--remarks", default="", help=_("remarks (optional)"))
    add.add_argument("--effective", help=_("first day in effect, YYYY-MM-DD (default today)"))
    add.set_defaults(handler=handle_add)

    adjust = sub.add_parser(
        "adjust", parents=[common], help=_("a new unit price or tiers from a date on (admin)")
    )
    adjust.add_argument("id", help=_("price id"))
    _tariff_arguments(adjust, required=False)
    adjust.add_argument("--effective", help=_("first day in effect, YYYY-MM-DD (default today)"))
    adjust.set_defaults(handler=handle_adjust)

    modify = sub.add_parser(
        "modify", parents=[common], help=_("correct a name, remarks or a mistaken tariff (admin)")
    )
    modify.add_argument("id", help=_("price id"))
    modify.add_argument("--name", help=_("new name"))
    modify.add_argument("--remarks", help=_("new remarks"))
    _tariff_arguments(modify, required=False)
    modify.set_defaults(handler=handle_modify)

    delete = sub.add_parser("delete", parents=[common], help=_("delete an unused price (admin)"))
    delete.add_argument("id", help=_("price id"))
    delete.set_defaults(handler=handle_delete)

    lst = sub.add_parser("list", parents=[common], help=_("list prices"))
    lst.add_argument("--account", help=_("only this account's prices"))
    lst.set_defaults(handler=handle_list)

    show = sub.add_parser("show", parents=[common], help=_("show a price and its versions"))
    show.add_argument("id", help=_("price id"))
    show.set_defaults(handler=handle_show)


def _tariff_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--unit-price", help=_("flat price per unit (up to 4 decimals)"))
    group.add_argument("--tiers", help=_('tiered price, e.g. "0-180:5.00,180-260:7.00,260-:9.00"'))
    parser.add_argument(
        "--period", choices=PERIODS, help=_("over which period tiers count (tiered prices)")
    )


def version_document(version: Any, *, used: bool | None = None) -> dict[str, Any]:
    from prepaid.accounts.services import flat_unit_price_hao
    from prepaid.core.money import format_hao
    from prepaid.moments import office_moment

    unit_price_hao = flat_unit_price_hao(version)
    doc: dict[str, Any] = {
        "number": version.number,
        "effective_from": version.effective_from.isoformat(),
        "period": version.period,
        "tiers": version.tiers,
        "unit_price": None if unit_price_hao is None else format_hao(unit_price_hao),
    }
    if used is not None:
        doc["used"] = used
        doc["created_at"] = office_moment(version.created_at)
        doc["created_by"] = version.created_by.username
    return doc


def price_document(price: Any, *, history: bool = False) -> dict[str, Any]:
    from prepaid.accounts.services import (
        current_version_or_none,
        price_in_use,
        upcoming_versions,
        version_in_use,
        versions_of,
    )

    current = current_version_or_none(price)
    upcoming = upcoming_versions(price)
    doc: dict[str, Any] = {
        "id": price.pk,
        "account": price.account_id,
        "account_name": price.account.name,
        "name": price.name,
        "remarks": price.remarks,
        "current_version": None if current is None else version_document(current),
    }
    if upcoming:  # announced for later dates: the next to take effect, and all of them
        doc["next_version"] = version_document(upcoming[0])
        doc["upcoming_versions"] = [version_document(v) for v in upcoming]
    if history:
        doc["in_use"] = price_in_use(price)
        doc["versions"] = [version_document(v, used=version_in_use(v)) for v in versions_of(price)]
    return doc


# The periods of a tiered price by name, translated when shown.
PERIOD_NAMES = {"month": _("Month"), "year": _("Year")}


def _tariff_text(ctx: Any, version: dict[str, Any] | None) -> str:
    if version is None:
        return "-"
    if version["unit_price"] is not None:
        return str(version["unit_price"])
    period = PERIOD_NAMES.get(version["period"])
    return f"{version['tiers']} / {ctx.gettext(period) if period else version['period']}"


def price_line(ctx: Any, doc: dict[str, Any]) -> str:
    line = ctx.gettext("%(id)s. %(name)s (account %(account_name)s): %(tariff)s") % {
        **doc,
        "tariff": _tariff_text(ctx, doc["current_version"]),
    }
    upcoming = doc.get("upcoming_versions") or [v for v in [doc.get("next_version")] if v]
    for version in upcoming:
        announced = ctx.gettext("(from %(date)s: %(tariff)s)") % {
            "date": version["effective_from"],
            "tariff": _tariff_text(ctx, version),
        }
        # A full-width bracket (Chinese) takes no space before it.
        line += announced if announced.startswith("（") else " " + announced
    return line


def handle_add(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import add_price

    price = add_price(
        ctx.operator,
        account_id=args.account,
        name=args.name,
        unit_price=args.unit_price,
        tiers=args.tiers,
        period=args.period,
        remarks=args.remarks,
        effective_from=args.effective,
    )
    doc = price_document(price, history=True)
    ctx.say(ctx.gettext("Price %(name)s added (id %(id)s).") % doc)
    ctx.say(price_line(ctx, doc))
    return doc


def handle_adjust(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import adjust_price

    version = adjust_price(
        ctx.operator,
        args.id,
        unit_price=args.unit_price,
        tiers=args.tiers,
        period=args.period,
        effective_from=args.effective,
    )
    doc = price_document(version.price, history=True)
    ctx.say(
        ctx.gettext("Price %(name)s adjusted: version %(number)s from %(date)s.")
        % {
            "name": doc["name"],
            "number": version.number,
            "date": version.effective_from.isoformat(),
        }
    )
    ctx.say(price_line(ctx, doc))
    return {**doc, "version": version_document(version)}


def handle_modify(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import modify_price

    price = modify_price(
        ctx.operator,
        args.id,
        name=args.name,
        remarks=args.remarks,
        unit_price=args.unit_price,
        tiers=args.tiers,
        period=args.period,
    )
    doc = price_document(price, history=True)
    ctx.say(ctx.gettext("Price %(name)s modified.") % doc)
    ctx.say(price_line(ctx, doc))
    return doc


def handle_delete(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import delete_price

    deleted = delete_price(ctx.operator, args.id)
    ctx.say(ctx.gettext("Price %(name)s deleted.") % deleted)
    return {"id": deleted["id"], "name": deleted["name"], "deleted": True}


def handle_list(ctx: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from prepaid.accounts.services import list_prices

    ctx.operator  # noqa: B018 - authenticates
    docs = [price_document(price) for price in list_prices(args.account)]
    return say_listed(ctx, docs, lambda doc: price_line(ctx, doc), _("No prices yet."))


def handle_show(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import get_price

    ctx.operator  # noqa: B018 - authenticates
    doc = price_document(get_price(args.id), history=True)
    ctx.say(price_line(ctx, doc))
    if doc["remarks"]:
        ctx.say("  " + doc["remarks"])
    for version in doc["versions"]:
        ctx.say(
            "  "
            + ctx.gettext("version %(number)s from %(effective_from)s: %(tariff)s")
            % {**version, "tariff": _tariff_text(ctx, version)}
        )
    return doc

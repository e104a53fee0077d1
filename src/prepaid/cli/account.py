"""``prepaid account create|modify|delete|list|show``: the utility slots of the system (admin
changes)."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.cli.text import say_listed
from prepaid.core.errors import _

METER_TYPES = ("water", "electricity", "gas", "heat")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("account", parents=[common], help=_("accounts (admin)"))
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    create = sub.add_parser("create", parents=[common], help=_("create an account (admin)"))
    create.add_argument("--meter-type", required=True, choices=METER_TYPES, help=_("meter type"))
    create.add_argument("--sub-meter", required=True, help=_("sub-meter number 1-4"))
    _meter_arguments(create, creating=True)
    create.add_argument("--name", help=_("default: the meter type and sub-meter number"))
    create.set_defaults(handler=handle_create)
    modify = sub.add_parser(
        "modify",
        parents=[common],
        help=_("correct the name, or the meter parameters before any card or customer (admin)"),
    )
    modify.add_argument("id", help=_("account id"))
    modify.add_argument("--name", help=_("new name"))
    _meter_arguments(modify, creating=False)
    modify.add_argument("--meter-type", choices=METER_TYPES, help=_("never changes (refused)"))
    modify.add_argument("--sub-meter", help=_("never changes (refused)"))
    modify.set_defaults(handler=handle_modify)
    delete = sub.add_parser(
        "delete", parents=[common], help=_("delete an account never used, with its prices (admin)")
    )
    delete.add_argument("id", help=_("account id"))
    delete.set_defaults(handler=handle_delete)
    sub.add_parser("list", parents=[common], help=_("list the accounts")).set_defaults(
        handler=handle_list
    )
    show = sub.add_parser("show", parents=[common], help=_("show an account and its prices"))
    show.add_argument("id", help=_("account id"))
    show.set_defaults(handler=handle_show)


def _meter_arguments(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    """The meter parameters: required or zero when creating, left as they are when modifying."""
    zero = "0" if creating else None
    parser.add_argument("--limit", required=creating, help=_("purchase limit (限购量)"))
    parser.add_argument("--prestore", default=zero, help=_("pre-stored quantity (预存量)"))
    parser.add_argument("--alarm", default=zero, help=_("alarm level (报警量)"))
    parser.add_argument("--overdraft", default=zero, help=_("overdraft (透支量)"))
    parser.add_argument(
        "--maintenance-code", required=creating, help=_("1 to 8 digits (系统维护码)")
    )


def account_document(account: Any) -> dict[str, Any]:
    from prepaid.accounts.services import account_snapshot, meter_unit
    from prepaid.moments import office_moment

    return {
        "id": account.pk,
        **account_snapshot(account),
        "unit": meter_unit(account),
        "created_at": office_moment(account.created_at),
    }


def account_line(ctx: Any, doc: dict[str, Any]) -> str:
    from prepaid.cards.documents import METER_TYPE_NAMES

    meter_type = doc["meter_type"]
    shown = (
        ctx.gettext(METER_TYPE_NAMES[meter_type]) if meter_type in METER_TYPE_NAMES else meter_type
    )
    return ctx.gettext(
        "%(id)s. [%(sub_meter)s] %(name)s (%(meter_type)s, %(unit)s): limit %(limit)s, "
        "pre-stored %(prestore)s, alarm %(alarm)s, overdraft %(overdraft)s, "
        "maintenance code %(maintenance_code)s"
    ) % {**doc, "meter_type": shown}


def handle_create(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import create_account

    account = create_account(
        ctx.operator,
        meter_type=args.meter_type,
        sub_meter=args.sub_meter,
        limit=args.limit,
        prestore=args.prestore,
        alarm=args.alarm,
        overdraft=args.overdraft,
        maintenance_code=args.maintenance_code,
        name=args.name,
    )
    doc = account_document(account)
    command = (
        f"prepaid price add --account {account.pk} --name NAME "
        '(--unit-price X | --tiers "0-180:5.00,180-:7.00" --period year)'
    )
    ctx.say(ctx.gettext("Account %(name)s created (id %(id)s).") % doc)
    ctx.say(account_line(ctx, doc))
    ctx.say(ctx.gettext("Do you want to add a price for this account?"))
    ctx.say("  " + command)
    return {**doc, "offer_price": True, "add_price_command": command}


def handle_modify(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import modify_account

    account = modify_account(
        ctx.operator,
        args.id,
        name=args.name,
        limit=args.limit,
        prestore=args.prestore,
        alarm=args.alarm,
        overdraft=args.overdraft,
        maintenance_code=args.maintenance_code,
        meter_type=args.meter_type,
        sub_meter=args.sub_meter,
    )
    doc = account_document(account)
    ctx.say(ctx.gettext("Account %(name)s modified.") % doc)
    ctx.say(account_line(ctx, doc))
    return doc


def handle_delete(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import delete_account

    deleted = delete_account(ctx.operator, args.id)
    ctx.say(ctx.gettext("Account %(name)s deleted.") % deleted)
    return {
        "id": deleted["id"],
        "name": deleted["name"],
        "prices": [price["id"] for price in deleted["prices"]],
        "deleted": True,
    }


def handle_list(ctx: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from prepaid.accounts.services import list_accounts

    ctx.operator  # noqa: B018 - authenticates
    docs = [account_document(account) for account in list_accounts()]
    return say_listed(ctx, docs, lambda doc: account_line(ctx, doc), _("No accounts yet."))


def handle_show(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.accounts.services import get_account, list_prices
    from prepaid.cli.price import price_document, price_line

    ctx.operator  # noqa: B018 - authenticates
    account = get_account(args.id)
    doc = account_document(account)
    doc["prices"] = [price_document(price) for price in list_prices(account.pk)]
    ctx.say(account_line(ctx, doc))
    for price in doc["prices"]:
        ctx.say("  " + price_line(ctx, price))
    return doc

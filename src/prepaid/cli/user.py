"""``prepaid user register|modify|show|find``: customers (用户) and their user numbers."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.cli.options import whole_number
from prepaid.cli.text import say_listed
from prepaid.core.errors import InvalidInput, _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("user", parents=[common], help=_("customers"))
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    reg = sub.add_parser("register", parents=[common], help=_("register a customer"))
    reg.add_argument("--name", required=True, help=_("the customer's name (用户名称)"))
    reg.add_argument("--phone", default="", help=_("phone number: 5 to 20 digits"))
    reg.add_argument("--address", default="", help=_("where the customer lives or does business"))
    reg.add_argument("--id-number", default="", help=_("resident ID or other document number"))
    reg.add_argument("--remarks", default="", help=_("a note kept with the customer"))
    reg.add_argument(
        "--open",
        action="store_true",
        help=_(
            "go straight on to opening an account (是否进行发卡（开户）操作) on the "
            "new card in the reader"
        ),
    )
    reg.add_argument("--account", type=whole_number, help=_("with --open: the account"))
    reg.add_argument("--price", type=whole_number, help=_("with --open: the price type"))
    amount = reg.add_mutually_exclusive_group()
    amount.add_argument("--quantity", help=_("with --open: first purchase quantity"))
    amount.add_argument("--amount", help=_("with --open: first purchase amount"))
    reg.add_argument(
        "--pay",
        choices=["cash", "wechat", "alipay", "bank_card", "other"],
        help=_("with --open: payment method (default cash)"),
    )
    reg.add_argument("--key", help=_("with --open: request key of the first purchase"))
    reg.set_defaults(handler=handle_register)
    _register_modify(sub, common)
    show = sub.add_parser("show", parents=[common], help=_("show a customer by user number"))
    show.add_argument("number", help=_("the user number (用户编号); leading zeros may be left out"))
    show.set_defaults(handler=handle_show)
    find = sub.add_parser(
        "find", parents=[common], help=_("find customers by user number, name or phone")
    )
    find.add_argument(
        "text", help=_("the start of a user number, or part of a name or phone number")
    )
    find.set_defaults(handler=handle_find)


def _register_modify(sub: Any, common: argparse.ArgumentParser) -> None:
    modify = sub.add_parser(
        "modify",
        parents=[common],
        help=_("correct a customer's details; the user number never changes"),
    )
    modify.add_argument(
        "number", help=_("the user number (用户编号); leading zeros may be left out")
    )
    modify.add_argument("--name", help=_("the customer's new name"))
    modify.add_argument("--phone", help=_("the new phone number; empty clears it"))
    modify.add_argument("--address", help=_("the new address; empty clears it"))
    modify.add_argument("--id-number", help=_("the new ID number; empty clears it"))
    modify.add_argument("--remarks", help=_("the new remarks; empty clears them"))
    modify.set_defaults(handler=handle_modify)


def customer_document(customer: Any) -> dict[str, Any]:
    from prepaid.customers.services import customer_snapshot
    from prepaid.moments import office_moment

    return {
        "id": customer.pk,
        **customer_snapshot(customer),
        "created_at": office_moment(customer.created_at),
    }


def customer_line(doc: dict[str, Any]) -> str:
    parts = [doc["user_number"], doc["name"], doc["phone"], doc["address"]]
    return "  ".join(part for part in parts if part)


def _time(value: Any) -> str | None:
    from prepaid.moments import office_moment

    return office_moment(value)


def meter_unit(account: Any) -> str:
    from prepaid.accounts.services import meter_unit as unit

    return unit(account)


def _account_document(opened: Any) -> dict[str, Any]:
    return {
        "id": opened.pk,
        "account": opened.account_id,
        "account_name": opened.account.name,
        "sub_meter": opened.account.sub_meter,
        "unit": meter_unit(opened.account),
        "price": opened.price_id,
        "price_name": opened.price.name,
        "last_serial": opened.last_serial,
        "opened_at": _time(opened.opened_at),
    }


def _card_document(card: Any) -> dict[str, Any]:
    return {
        "serial": card.serial,
        "generation": card.generation,
        "status": card.status,
        "issued_at": _time(card.issued_at),
        "revoked_at": _time(card.revoked_at),
    }


def _purchase_document(purchase: Any) -> dict[str, Any]:
    from prepaid.core.money import format_centi, format_fen

    version = purchase.price_version
    return {
        "id": purchase.pk,
        "sub_meter": purchase.customer_account.account.sub_meter,
        "unit": meter_unit(purchase.customer_account.account),
        "serial": purchase.serial,
        "kind": purchase.kind,
        "status": purchase.status,
        "quantity": format_centi(purchase.quantity_centi),
        "amount": format_fen(purchase.amount_fen),
        "price_version": None if version is None else version.number,
        "payment_method": purchase.payment_method,
        "operator": purchase.operator.username,
        "created_at": _time(purchase.created_at),
    }


def _ledger_document(entry: Any) -> dict[str, Any]:
    from prepaid.core.money import format_centi, format_fen

    return {
        "id": entry.pk,
        "kind": entry.kind,
        "time": _time(entry.time),
        "sub_meter": None if entry.account is None else entry.account.sub_meter,
        "serial": entry.serial,
        "quantity": format_centi(entry.quantity_centi),
        "amount": format_fen(entry.amount_fen),
        "payment_method": entry.payment_method,
        "operator": entry.operator.username,
        "remarks": entry.remarks,
    }


def handle_register(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.customers.services import register_customer

    if args.open and (
        args.account is None
        or args.price is None
        or (args.quantity is None and args.amount is None)
    ):
        raise InvalidInput(
            "open_arguments",
            _("To open an account as well, give --account, --price and --quantity or --amount."),
        )
    opening = (args.account, args.price, args.quantity, args.amount, args.pay, args.key)
    if not args.open and any(value is not None for value in opening):
        # Without --open they would be dropped: the operator meant to open, and nothing is sold.
        raise InvalidInput(
            "open_arguments",
            _(
                "--account, --price, --quantity, --amount, --pay and --key are for opening an "
                "account: add --open, or leave them out. No customer was registered."
            ),
        )
    customer = register_customer(
        ctx.operator,
        name=args.name,
        phone=args.phone,
        address=args.address,
        id_number=args.id_number,
        remarks=args.remarks,
    )
    doc = customer_document(customer)
    ctx.say(ctx.gettext("Customer %(name)s registered with user number %(user_number)s.") % doc)
    if args.open:
        doc["opened"] = _open_after_registering(ctx, args, customer)
    return doc


def handle_modify(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.customers.services import modify_customer

    details = {
        key: getattr(args, key) for key in ("name", "phone", "address", "id_number", "remarks")
    }
    if all(value is None for value in details.values()):
        raise InvalidInput(
            "nothing_to_change",
            _("Nothing to change: give a new name, phone number, address, ID number or remarks."),
        )
    modified = modify_customer(ctx.operator, args.number, **details)
    doc = customer_document(modified.customer)
    doc["changed"] = list(modified.changed)
    if modified.changed:
        ctx.say(ctx.gettext("Details of customer %(user_number)s %(name)s corrected.") % doc)
    else:
        ctx.say(
            ctx.gettext(
                "Customer %(user_number)s %(name)s already has these details: nothing changed."
            )
            % doc
        )
    ctx.say(customer_line(doc))
    return doc


def _open_after_registering(ctx: Any, args: argparse.Namespace, customer: Any) -> dict[str, Any]:
    from prepaid.cli.vend import at_a_flat_price, request_key, say_purchase, station
    from prepaid.core.errors import PrepaidError
    from prepaid.vending import lookups
    from prepaid.vending.services import open_account, purchase_document

    try:
        purchase = open_account(
            station(ctx),
            customer,
            lookups.account(args.account),
            lookups.price(args.price),
            quantity=args.quantity,
            amount=args.amount,
            payment=args.pay or "cash",
            key=request_key(args),
        )
    except PrepaidError as exc:
        # The customer stays registered: say so with the refusal, or the operator who reads
        # only the refusal registers the customer again (a duplicate) to try once more.
        exc.extra = {"user_number": customer.user_number}  # type: ignore[attr-defined]
        ctx.say(
            ctx.gettext(
                "No account was opened. Open it with “prepaid open %(user_number)s” once the "
                "card is ready; do not register the customer again."
            )
            % {"user_number": customer.user_number}
        )
        ctx.emit(None)  # the lines said so far, before the refusal (nothing with --json)
        raise
    opened = purchase_document(purchase)
    flat = at_a_flat_price(purchase)
    say_purchase(ctx, opened, ctx.gettext("Card written successfully."), flat=flat)
    return opened


def handle_show(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.customers.services import customer_overview

    ctx.operator  # noqa: B018 - authenticates
    overview = customer_overview(args.number)
    doc = customer_document(overview.customer)
    doc["accounts"] = [_account_document(a) for a in overview.accounts]
    doc["cards"] = [_card_document(c) for c in overview.cards]
    doc["purchases"] = [_purchase_document(p) for p in overview.purchases]
    doc["ledger"] = [_ledger_document(e) for e in overview.ledger]
    _say_overview(ctx, doc)
    return doc


def _say_overview(ctx: Any, doc: dict[str, Any]) -> None:
    if ctx.json_output:  # the document alone is printed: no lines are made for it
        return
    from prepaid.cli.text import office_time
    from prepaid.reports.labels import (
        CARD_STATUS_LABELS,
        PURCHASE_KIND_LABELS,
        PURCHASE_STATUS_LABELS,
        text_of,
    )

    ctx.say(customer_line(doc))
    if doc["id_number"]:
        ctx.say(ctx.gettext("ID number: %(id_number)s") % doc)
    if doc["remarks"]:
        ctx.say(ctx.gettext("Remarks: %(remarks)s") % doc)
    for opened in doc["accounts"]:
        ctx.say(
            ctx.gettext(
                "Account [%(sub_meter)s] %(account_name)s, price %(price_name)s, "
                "last purchase serial %(last_serial)s"
            )
            % opened
        )
    for card in doc["cards"]:
        ctx.say(
            ctx.gettext("Card %(serial)s, generation %(generation)s: %(status)s")
            % {**card, "status": text_of(CARD_STATUS_LABELS, card["status"])}
        )
    for purchase in doc["purchases"]:
        ctx.say(
            ctx.gettext(
                "%(created_at)s [%(sub_meter)s] #%(serial)s %(kind)s %(status)s: "
                "%(quantity)s %(unit)s for %(amount)s"
            )
            % {
                **purchase,
                "created_at": office_time(purchase["created_at"]),
                "kind": text_of(PURCHASE_KIND_LABELS, purchase["kind"]),
                "status": text_of(PURCHASE_STATUS_LABELS, purchase["status"]),
            }
        )
    if not doc["accounts"]:
        ctx.say(ctx.gettext("No account opened yet."))


def handle_find(ctx: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from prepaid.customers.services import find_customers

    ctx.operator  # noqa: B018 - authenticates
    docs = [customer_document(c) for c in find_customers(args.text)]
    return say_listed(ctx, docs, customer_line, _("No customer found."))

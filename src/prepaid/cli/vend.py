"""Vending commands: ``prepaid open|sell|correct|reissue|meter-change`` (the card in the
reader is the customer's card)."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.cli.options import whole_number
from prepaid.core.errors import _

PAYMENTS = ["cash", "wechat", "alipay", "bank_card", "other"]
ACCOUNT_OF_THE_CARD = _("account id (needed when the card carries several accounts)")


def _quantity_or_amount(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--quantity", help=_("quantity to sell (the amount is computed)"))
    group.add_argument("--amount", help=_("amount paid (the largest quantity it buys is sold)"))


def _key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", help=_("request key: a retry with the same key is charged once"))


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("open", parents=[common], help=_("open an account (开户)"))
    p.add_argument("user_number", help=_("user number of the registered customer"))
    p.add_argument("--account", type=whole_number, required=True, help=_("account id"))
    p.add_argument("--price", type=whole_number, required=True, help=_("price id"))
    _quantity_or_amount(p)
    p.add_argument(
        "--pay", choices=PAYMENTS, default="cash", help=_("payment method (default cash)")
    )
    _key(p)
    p.set_defaults(handler=handle_open)

    p = subparsers.add_parser("sell", parents=[common], help=_("sell to the card in the reader"))
    _quantity_or_amount(p)
    p.add_argument("--account", type=whole_number, help=ACCOUNT_OF_THE_CARD)
    p.add_argument(
        "--pay", choices=PAYMENTS, default="cash", help=_("payment method (default cash)")
    )
    _key(p)
    p.set_defaults(handler=handle_sell)

    p = subparsers.add_parser(
        "correct", parents=[common], help=_("correct the last, unswiped purchase (充值修改)")
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--quantity", help=_("the purchase's new quantity (the amount is computed)"))
    group.add_argument(
        "--amount",
        help=_(
            "the purchase's new amount (the largest quantity it buys); only the difference "
            "is given back or collected"
        ),
    )
    p.add_argument("--account", type=whole_number, help=ACCOUNT_OF_THE_CARD)
    p.add_argument(
        "--pay", choices=PAYMENTS, help=_("payment method (default: the corrected purchase's)")
    )
    _key(p)
    p.set_defaults(handler=handle_correct)

    p = subparsers.add_parser(
        "reissue",
        parents=[common],
        help=_("reissue a lost or broken card onto the new card in the reader (补卡)"),
    )
    p.add_argument("user_number", help=_("user number of the lost or broken card"))
    p.add_argument("--fee", help=_("reissue fee (optional)"))
    p.add_argument(
        "--pay", choices=PAYMENTS, default="cash", help=_("payment method (default cash)")
    )
    _key(p)
    p.set_defaults(handler=handle_reissue)

    p = subparsers.add_parser(
        "meter-change",
        parents=[common],
        help=_("move the credit to a new meter (换表卡调整, admin)"),
    )
    p.add_argument(
        "--remaining",
        required=True,
        help=_("quantity left on the old meter (below zero when it is overdrawn: --remaining=-3)"),
    )
    p.add_argument("--account", type=whole_number, help=ACCOUNT_OF_THE_CARD)
    p.add_argument("--reason", default="", help=_("reason for the meter change"))
    p.add_argument(
        "--last-taken",
        choices=["yes", "no"],
        help=_(
            "whether the old meter took the last purchase, as its display shows: asked when "
            "that purchase was written on a card reissued since, or when the meter's part of "
            "the card is damaged"
        ),
    )
    _key(p)
    p.set_defaults(handler=handle_meter_change)


def station(ctx: Any) -> Any:
    from prepaid.cards.site import require_site_key
    from prepaid.vending.services import Station

    ctx.home.require()
    require_site_key(ctx.site_key)
    return Station(
        operator=ctx.operator, reader=ctx.reader(), site_key=ctx.site_key, name=ctx.station
    )


def request_key(args: argparse.Namespace) -> str:
    import uuid

    return args.key or uuid.uuid4().hex


def at_a_flat_price(purchase: Any) -> bool:
    """Whether the purchase was priced at a flat price (one unit price, no tiers)."""
    from prepaid.accounts.services import flat_unit_price_hao

    version = purchase.price_version
    return version is not None and flat_unit_price_hao(version) is not None


def say_purchase(ctx: Any, doc: dict[str, Any], headline: str, *, flat: bool = False) -> None:
    """The purchase as its receipt gives it: the quantity and amount, then the tier lines
    (a flat price's one line without a tier number: it has no tiers)."""
    ctx.say(headline)
    ctx.say(
        ctx.gettext(
            "User %(user_number)s %(customer)s, sub-meter %(sub_meter)s, purchase "
            "%(serial)s: %(quantity)s for %(amount)s"
        )
        % doc
    )
    for line in doc.get("tiers", []):
        if flat:
            ctx.say(f"  {line['quantity']} × {line['unit_price']} = {line['amount']}")
            continue
        ctx.say(
            "  " + ctx.gettext("tier %(tier)s: %(quantity)s × %(unit_price)s = %(amount)s") % line
        )
    difference = doc.get("difference")
    if difference is None and doc.get("change") not in (None, "0.00"):
        # Sold by amount: what to hand back. A correction's customer paid for the purchase it
        # replaces; the money that changes hands is the difference alone.
        ctx.say(ctx.gettext("Paid %(tendered)s, change %(change)s.") % doc)
    if difference is not None:  # a correction: the money that changes hands
        replaced = {"serial": doc["corrects"], "amount": doc["corrects_amount"]}
        if difference.startswith("-"):
            line = ctx.gettext("Replaces purchase %(serial)s (%(amount)s): give back %(money)s.")
            ctx.say(line % {**replaced, "money": difference[1:]})
        elif difference != "0.00":
            line = ctx.gettext("Replaces purchase %(serial)s (%(amount)s): collect %(money)s.")
            ctx.say(line % {**replaced, "money": difference})
        else:  # the same money: nothing changes hands, but the purchase was still replaced
            line = ctx.gettext(
                "Replaces purchase %(serial)s (%(amount)s): the same amount, nothing to give "
                "back or collect."
            )
            ctx.say(line % replaced)


def handle_open(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.vending import lookups
    from prepaid.vending.services import open_account, purchase_document

    here = station(ctx)
    customer = lookups.customer(args.user_number)
    account = lookups.account(args.account)
    price = lookups.price(args.price)
    purchase = open_account(
        here,
        customer,
        account,
        price,
        quantity=args.quantity,
        amount=args.amount,
        payment=args.pay,
        key=request_key(args),
    )
    doc = purchase_document(purchase)
    flat = at_a_flat_price(purchase)
    say_purchase(ctx, doc, ctx.gettext("Card written successfully."), flat=flat)
    return doc


def handle_sell(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.vending.services import sell

    return _write_purchase(ctx, args, sell)


def handle_correct(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.vending.services import correct

    return _write_purchase(ctx, args, correct)


def _write_purchase(ctx: Any, args: argparse.Namespace, service: Any) -> dict[str, Any]:
    """A sale or a correction of the card in the reader: the same arguments, one service."""
    from prepaid.core.errors import PrepaidError
    from prepaid.vending.services import purchase_document

    try:
        purchase = service(
            station(ctx),
            account_id=args.account,
            quantity=args.quantity,
            amount=args.amount,
            payment=args.pay,
            key=request_key(args),
        )
    except PrepaidError as exc:
        if exc.code == "card_not_swiped" and "result" in exc.params:  # the meter refused it
            exc.extra = {"meter_result": exc.params["result"]}  # type: ignore[attr-defined]
        raise
    doc = purchase_document(purchase)
    flat = at_a_flat_price(purchase)
    say_purchase(ctx, doc, ctx.gettext("Card written successfully."), flat=flat)
    return doc


def handle_reissue(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cards.documents import card_document
    from prepaid.vending import lookups
    from prepaid.vending.services import carried_amounts, reissue, reissue_document

    here = station(ctx)  # the data directory and the operator before anything is looked up
    customer = lookups.customer(args.user_number)
    result = reissue(here, customer, fee=args.fee, payment=args.pay, key=request_key(args))
    amounts = carried_amounts(result)
    slots = [
        {**slot, "amount": amounts.get(slot["sub_meter"])}
        for slot in card_document(result.card).get("slots", [])
    ]
    doc = {**reissue_document(result), "slots": slots}
    if len(slots) == 1:  # the purchase the new card carries, as open and sell give it (§8)
        doc.update({key: slots[0][key] for key in ("sub_meter", "serial", "quantity", "amount")})
    say_reissue(ctx, doc)
    return doc


def say_reissue(ctx: Any, doc: dict[str, Any]) -> None:
    """补卡成功 and what its receipt shows: the cards, the fee as booked and how it was paid."""
    from prepaid.cli.text import office_time

    ctx.say(ctx.gettext("Card reissued successfully."))
    when = office_time(doc["time"])
    ctx.say(
        ctx.gettext("Reissue %(reissue_id)s: user %(user_number)s %(customer)s, %(time)s.")
        % {**doc, "time": when}
    )
    ctx.say(ctx.gettext("New card %(card_serial)s, generation %(generation)s.") % doc)
    if doc["revoked_serial"]:
        ctx.say(
            ctx.gettext(
                "The old card %(revoked_serial)s (generation %(revoked_generation)s) is no "
                "longer valid."
            )
            % doc
        )
    if doc["fee_entry"] is not None:
        from prepaid.reports.labels import PAYMENT_LABELS, text_of

        paid = {**doc, "payment": text_of(PAYMENT_LABELS, doc["payment"])}
        ctx.say(ctx.gettext("Reissue fee: %(fee)s, paid by %(payment)s.") % paid)
    else:
        ctx.say(ctx.gettext("No reissue fee was charged."))
    for slot in doc["slots"]:  # the manual: 系统会自动显示用户表的上次购买量
        if slot["kind"] == "purchase":
            line = ctx.gettext(
                "The new card carries purchase %(serial)s on sub-meter %(sub_meter)s: "
                "%(quantity)s %(unit)s for %(amount)s."
            )
        else:
            line = ctx.gettext(
                "The new card carries meter-change transfer %(serial)s on sub-meter "
                "%(sub_meter)s: %(quantity)s %(unit)s."
            )
        ctx.say(line % {**slot, "amount": slot.get("amount") or "-"})
    for transfer in doc["transfers_at_risk"]:
        ctx.say(
            ctx.gettext(
                "Warning: the revoked card still carries meter-change transfer %(serial)s "
                "(%(quantity)s) on sub-meter %(sub_meter)s, which no meter is known to have "
                "taken. A new meter that is set and not yet bound would take it from that card "
                "too: swipe the new card on the new meter now, and recycle the old card if it "
                "is found."
            )
            % transfer
        )
    units = {slot["sub_meter"]: slot["unit"] for slot in doc["slots"]}
    for first in doc["first_purchases_at_risk"]:  # the opening, on the new card unmarked
        ctx.say(
            ctx.gettext(
                "Warning: the new card carries the customer's first purchase %(serial)s "
                "(%(quantity)s %(unit)s) on sub-meter %(sub_meter)s, which no meter is known to "
                "have taken. A spare meter that is set and not yet bound would credit it too: "
                "tell the customer to swipe the new card on their own meter only, and to bring "
                "the old card back if it is found."
            )
            % {**first, "unit": units.get(first["sub_meter"], "")}
        )
    ctx.say(ctx.gettext("The customer must swipe the new card on the meter before the next sale."))


def handle_meter_change(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.core.errors import PrepaidError
    from prepaid.vending.services import meter_change, meter_change_document, purchase_document

    last_taken = None if args.last_taken is None else args.last_taken == "yes"
    try:
        purchase, record = meter_change(
            station(ctx),
            remaining=args.remaining,
            account_id=args.account,
            reason=args.reason,
            last_taken=last_taken,
            key=request_key(args),
        )
    except PrepaidError as exc:
        if exc.code == "last_purchase_unknown":  # the purchase to look for on the display
            extra = {"serial": exc.params["serial"], "quantity": exc.params["quantity"]}
            exc.extra = extra  # type: ignore[attr-defined]
        raise
    doc = {**purchase_document(purchase), **meter_change_document(record)}
    if doc["last_taken"] is not None:
        line = (
            ctx.gettext("The old meter took purchase %(serial)s: it is not carried over.")
            if doc["last_taken"]
            else ctx.gettext("The old meter did not take purchase %(serial)s: it is carried over.")
        )
        ctx.say(line % {"serial": doc["asked_serial"]})
    ctx.say(
        ctx.gettext(
            "Meter change written: %(transfer)s moves to the new meter "
            "(worth %(value)s at the current price)."
        )
        % doc
    )
    say_meter_change(ctx, doc)
    return doc


def say_meter_change(ctx: Any, doc: dict[str, Any]) -> None:
    """What the web's 换表卡调整写卡成功 page shows beside the transfer: whose card and which
    serial, how the transfer was worked out, the old meter's last readings and the reason."""
    ctx.say(
        ctx.gettext(
            "User %(user_number)s %(customer)s, sub-meter %(sub_meter)s, meter-change "
            "transfer %(serial)s"
        )
        % doc
    )
    ctx.say(
        "  "
        + ctx.gettext(
            "remaining on the old meter %(remaining)s − pre-stored %(prestore_deducted)s "
            "+ unswiped purchase carried over %(carried)s = %(transfer)s"
        )
        % doc
    )
    if doc["old_balance"] is not None:
        ctx.say(
            "  "
            + ctx.gettext(
                "the old meter's readings at the card's last swipe: balance %(old_balance)s, "
                "cumulative use %(old_cumulative)s"
            )
            % doc
        )
    if doc["reason"]:
        ctx.say("  " + ctx.gettext("reason: %(reason)s") % doc)
    ctx.say(ctx.gettext("The customer must swipe the card on the new meter before the next sale."))

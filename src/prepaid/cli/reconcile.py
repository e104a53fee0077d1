"""``prepaid reconcile``: settle purchases left pending (a crash or a pulled card between
the ledger and the card). With a card in the reader its purchases are settled now: completed
if the card carries them, voided otherwise, the card restored first if a write was torn."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.cli.options import whole_number
from prepaid.core.errors import _

# How each purchase was settled, a sentence per outcome (the reports' words: 已完成, 已作废), so
# that English says it in lower case after the colon. A pending purchase is settled one of
# these two ways only.
SETTLED_LINES = {
    "completed": _("Purchase %(serial)s of user %(user_number)s: completed"),
    "voided": _("Purchase %(serial)s of user %(user_number)s: voided"),
}


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "reconcile", parents=[common], help=_("settle pending purchases (card in the reader)")
    )
    p.add_argument(
        "--void",
        type=whole_number,
        metavar=_("PURCHASE_ID"),
        help=_("admin: void a pending purchase whose card is lost"),
    )
    p.add_argument(
        "--complete",
        type=whole_number,
        metavar=_("PURCHASE_ID"),
        help=_("admin: complete a pending purchase whose card is lost"),
    )
    p.set_defaults(handler=handle)


def handle(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cli.vend import station
    from prepaid.core.errors import PrepaidError
    from prepaid.vending.services import (
        check_card_against_office,
        pending_purchases,
        purchase_document,
        read_user_card,
        resolve_lost_card,
    )

    here = station(ctx)
    settled: list[dict[str, Any]] = []
    card_error = None
    if args.void or args.complete:
        outcome = "void" if args.void else "complete"
        purchase = resolve_lost_card(here, args.void or args.complete, outcome)
        settled.append(purchase_document(purchase))
    elif here.reader.card_present():
        before = {p.pk for p in pending_purchases()}
        try:
            check_card_against_office(read_user_card(here))
        except PrepaidError as exc:
            card_error = {"error": exc.code, "message": exc.translate(ctx.gettext)}
        after = {p.pk for p in pending_purchases()}
        from prepaid.vending.models import Purchase

        settled = [purchase_document(p) for p in Purchase.objects.filter(pk__in=before - after)]
    still = pending_purchases()
    pending = [purchase_document(p) for p in still]
    if args.void or args.complete:  # those the card's read settled are told as it does
        for doc in settled:
            ctx.say(ctx.gettext(SETTLED_LINES[doc["status"]]) % doc)
    if card_error:
        ctx.say(card_error["message"])
    ctx.say(ctx.gettext("%(count)s purchases still pending.") % {"count": len(pending)})
    _say_which(ctx, still, pending)
    return {"settled": settled, "pending": pending, "card_error": card_error}


def _say_which(ctx: Any, purchases: list[Any], documents: list[dict[str, Any]]) -> None:
    """Which purchases are still pending and how each is settled: a count alone sends the
    operator to the JSON or the reports to learn whose card to ask for."""
    from django.utils import timezone

    from prepaid.cli.user import meter_unit

    for purchase, doc in zip(purchases, documents, strict=True):
        when = timezone.localtime(purchase.created_at).strftime("%Y-%m-%d %H:%M")
        ctx.say(
            ctx.gettext(
                "  No. %(purchase_id)s: user %(user_number)s %(customer)s, purchase "
                "%(serial)s, %(quantity)s %(unit)s for %(amount)s, card %(card_serial)s, at "
                "%(station)s %(time)s"
            )
            % {
                **doc,
                "unit": meter_unit(purchase.customer_account.account),
                "station": purchase.station or "-",
                "time": when,
            }
        )
    if purchases:
        ctx.say(
            ctx.gettext(
                "Put the card of each in the reader and run “prepaid reconcile” again; an "
                "administrator settles the purchase of a card that is lost with “prepaid "
                "reconcile --void ID” (the card did not get it) or “--complete ID” (it did)."
            )
        )

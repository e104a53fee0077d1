"""``prepaid card …``: the virtual card store and reader, reading cards, and the office's
card operations (format, tool cards, recycle)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from prepaid.cards.documents import CARD_TYPE_NAMES
from prepaid.cli.options import whole_number
from prepaid.cli.text import pad, width
from prepaid.core.errors import _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("card", parents=[common], help=_("cards and the card reader"))
    # The card store commands need no database; the office's card operations do.
    parser.set_defaults(needs_django=False)
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    blank = sub.add_parser(
        "blank", parents=[common], help=_("put a factory-blank card in the card store")
    )
    blank.add_argument("name", help=_("name of the card in the card store"))
    blank.set_defaults(handler=handle_blank)
    insert = sub.add_parser("insert", parents=[common], help=_("put a card in the reader"))
    insert.add_argument("name", help=_("name of the card in the card store"))
    insert.set_defaults(handler=handle_insert)
    sub.add_parser(
        "eject", parents=[common], help=_("take the card out of the reader")
    ).set_defaults(handler=handle_eject)
    sub.add_parser("list", parents=[common], help=_("list the card store")).set_defaults(
        handler=handle_list
    )
    read = sub.add_parser("read", parents=[common], help=_("read the card in the reader"))
    read.add_argument(
        "--record",
        action=_RecordReading,
        nargs=0,
        help=_(
            "record the meter reading a check card carries under its customer's account "
            "(记录表计读数; needs the database)"
        ),
    )
    read.set_defaults(handler=handle_read, record=False)
    sub.add_parser(
        "format", parents=[common], help=_("format the card as a new card (admin)")
    ).set_defaults(handler=handle_format, needs_django=True)
    sub.add_parser(
        "recycle", parents=[common], help=_("recycle a card back to a new card")
    ).set_defaults(handler=handle_recycle, needs_django=True)
    make = sub.add_parser("make", parents=[common], help=_("make a tool card (admin)"))
    make.add_argument(
        "tool",
        choices=["setting", "clear-all", "zero", "check"],
        help=_(
            "the tool card: setting (设置卡), clear-all (清空卡), zero (清零卡) or check (检查卡)"
        ),
    )
    make.add_argument("--account", type=whole_number, help=_("account whose parameters it carries"))
    make.set_defaults(handler=handle_make, needs_django=True)
    sub.add_parser("tools", parents=[common], help=_("register of tool cards issued")).set_defaults(
        handler=handle_tools, needs_django=True
    )


class _RecordReading(argparse.Action):
    """``card read --record``: the plain read needs no database, recording one does."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, *args: Any) -> None:
        namespace.record = True
        namespace.needs_django = True


def _store(ctx: Any) -> Any:
    from prepaid.readers.virtual import CardStore

    ctx.home.require()
    return CardStore(ctx.home.cards)


def handle_blank(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.core.card.codec import blank_image

    _store(ctx).create(args.name, blank_image())
    ctx.say(ctx.gettext("Blank card %(name)s added to the card store.") % {"name": args.name})
    return {"name": args.name, "type": "blank"}


def handle_insert(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    store = _store(ctx)
    store.insert(args.name)
    ctx.say(ctx.gettext("Card %(name)s is in the reader.") % {"name": args.name})
    return {"name": args.name, "inserted": True}


def handle_eject(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    name = _store(ctx).eject()
    if name is None:
        ctx.say(ctx.gettext("The reader was empty."))
    else:
        ctx.say(ctx.gettext("Card %(name)s taken out of the reader.") % {"name": name})
    return {"name": name, "inserted": False}


def handle_list(ctx: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from prepaid.core.card.codec import decode
    from prepaid.core.errors import CardError

    store = _store(ctx)
    inserted = store.inserted()
    cards = []
    for name in store.names():
        try:
            kind = decode(store.path(name).read_bytes(), ctx.site_key).type.code
        except CardError:
            kind = "bad"
        cards.append({"name": name, "type": kind, "in_reader": name == inserted})
        shown = ctx.gettext(CARD_TYPE_NAMES.get(kind, _("unreadable card")))
        ctx.say(f"{'*' if name == inserted else ' '} {pad(name, 24)} {shown}")
    return cards


def handle_read(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cards.damage import unknown_damaged_card
    from prepaid.cards.documents import card_document, card_lines
    from prepaid.core.card.codec import decode
    from prepaid.core.errors import CardError

    if args.record:
        return _record_reading(ctx)
    ctx.home.require()
    reader = ctx.reader()
    try:
        card = decode(reader.read(), ctx.site_key)
    except CardError as exc:
        raise unknown_damaged_card(exc) from None
    doc = card_document(card)
    doc["name"] = reader.serial()
    for line in card_lines(doc, ctx.gettext, ctx.pgettext):
        ctx.say(line)
    return doc


def _record_reading(ctx: Any) -> dict[str, Any]:
    from prepaid.cli.vend import station
    from prepaid.reports.writebacks import record_check_reading

    here = station(ctx)
    with _named_card(here) as card_name:
        recorded = record_check_reading(here)
    if recorded.new:
        headline = ctx.gettext("Meter reading recorded for customer %(number)s %(name)s.")
    else:
        headline = ctx.gettext(
            "This meter reading was recorded before for customer %(number)s %(name)s; "
            "nothing was recorded again."
        )
    customer = recorded.customer
    headline %= {"number": customer.user_number, "name": customer.name}
    doc = _office_card(ctx, card_name.name, recorded.card, headline)
    doc["recorded"] = {
        "new": recorded.new,
        "id": recorded.observation.pk,
        "user_number": customer.user_number,
        "account": recorded.customer_account.account_id,
        "sub_meter": recorded.observation.sub_meter,
    }
    return doc


class _NamedCard:
    """The name of the card in the reader (its name in the card store, the chip's serial on a
    real reader), asked before the operation writes anything: asked after, a card taken out
    once written and read back would fail a command that had written and recorded it."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.asked: str | None = None

    @property
    def name(self) -> str:
        # No card at the question: the operation refused in its own words (the operator's
        # role, the input, then “no card”) before writing, or a card was put in meanwhile.
        return self.asked if self.asked is not None else self.reader.serial()


@contextlib.contextmanager
def _named_card(here: Any) -> Iterator[_NamedCard]:
    """Hold the reader for the question and the operation in the block, so that the name is
    that of the card written."""
    from prepaid.core.errors import ReaderError
    from prepaid.readers.lock import holding

    named = _NamedCard(here.reader)
    with holding(here.reader):
        try:
            named.asked = here.reader.serial()
        except ReaderError as exc:
            if exc.code != "no_card":
                raise
        yield named


def _office_card(ctx: Any, name: str, card: Any, headline: str) -> dict[str, Any]:
    """The document of the card the office just wrote, named as ``card read`` names it."""
    from prepaid.cards.documents import card_document, card_lines

    doc = card_document(card)
    doc["name"] = name
    ctx.say(headline)
    for line in card_lines(doc, ctx.gettext, ctx.pgettext):
        ctx.say(line)
    return doc


def handle_format(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cards.services import format_card
    from prepaid.cli.vend import station

    here = station(ctx)
    with _named_card(here) as card_name:
        card = format_card(here)
    return _office_card(ctx, card_name.name, card, ctx.gettext("Card formatted as a new card."))


def handle_recycle(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cards.services import recycle_card
    from prepaid.cli.vend import station

    here = station(ctx)
    with _named_card(here) as card_name:
        card = recycle_card(here)
    return _office_card(ctx, card_name.name, card, ctx.gettext("Card recycled."))


def handle_make(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cards.services import make_tool_card
    from prepaid.cli.vend import station
    from prepaid.vending import lookups

    here = station(ctx)
    account = lookups.account(args.account) if args.account is not None else None
    with _named_card(here) as card_name:
        card = make_tool_card(here, args.tool, account)
    return _office_card(ctx, card_name.name, card, ctx.gettext("Tool card written successfully."))


def handle_tools(ctx: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from django.utils import timezone

    from prepaid.cards.services import tool_card_register
    from prepaid.moments import office_moment

    ctx.operator  # noqa: B018 - authenticates
    operations = list(tool_card_register())
    kinds = [ctx.gettext(CARD_TYPE_NAMES.get(op.tool_type, op.tool_type)) for op in operations]
    # the serials in one column however long the card types' names (clear-all card, 清空卡)
    columns = max((width(kind) for kind in kinds), default=0)
    rows = []
    for op, kind in zip(operations, kinds, strict=True):
        row = {
            "serial": op.card_serial,
            "type": op.tool_type,
            "account": op.account_id,
            "operator": op.operator.username,
            "time": office_moment(op.time),
            "overwritten": op.overwritten,
        }
        rows.append(row)
        state = ctx.gettext("overwritten since") if op.overwritten else ""
        ctx.say(
            f"{timezone.localtime(op.time):%Y-%m-%d %H:%M:%S}  {pad(kind, columns)}  "
            f"{row['serial']}  {row['account'] or '-'}  {row['operator']}  {state}".rstrip()
        )
    return rows

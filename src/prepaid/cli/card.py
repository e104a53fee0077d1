"""``prepaid card …``: the virtual card store and reader, reading cards, and the office's
card operations (format, tool cards, recycle)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("card", parents=[common], help="cards and the card reader")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    blank = sub.add_parser("blank", parents=[common],
                           help="put a factory-blank card in the card store")
    blank.add_argument("name")
    blank.set_defaults(handler=handle_blank)
    insert = sub.add_parser("insert", parents=[common], help="put a card in the reader")
    insert.add_argument("name")
    insert.set_defaults(handler=handle_insert)
    sub.add_parser("eject", parents=[common], help="take the card out of the reader") \
        .set_defaults(handler=handle_eject)
    sub.add_parser("list", parents=[common], help="list the card store") \
        .set_defaults(handler=handle_list)
    sub.add_parser("read", parents=[common], help="read the card in the reader") \
        .set_defaults(handler=handle_read)


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
        ctx.say(f"{'*' if name == inserted else ' '} {name:<24} {kind}")
    return cards


def handle_read(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cards.documents import card_document, card_lines
    from prepaid.core.card.codec import decode

    ctx.home.require()
    reader = ctx.reader()
    doc = card_document(decode(reader.read(), ctx.site_key))
    doc["name"] = reader.serial()
    for line in card_lines(doc, ctx.gettext):
        ctx.say(line)
    return doc

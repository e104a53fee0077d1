"""Display data built from service results (no rules: formatting and grouping only)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from prepaid.accounts import services as accounts
from prepaid.cards.documents import METER_STATE_NAMES
from prepaid.core.money import format_centi, format_hao


def version_view(version: Any) -> dict[str, Any] | None:
    """A price version as rows of tiers: ``[{from, to, unit_price}]``."""
    if version is None:
        return None
    tariff = accounts.tariff_of(version)
    return {
        "number": version.number,
        "effective_from": version.effective_from,
        "period": version.period,
        "tiered": tariff.is_tiered,
        "tiers_text": version.tiers,
        "tiers": [
            {
                "start": format_centi(t.start_centi),
                "end": None if t.end_centi is None else format_centi(t.end_centi),
                "unit_price": format_hao(t.unit_price_hao),
            }
            for t in tariff.tiers
        ],
    }


def price_view(price: Any) -> dict[str, Any]:
    """A price for its pages: the version in effect today and every version announced for a
    later date, in the order they take effect."""
    current = accounts.current_version_or_none(price)
    upcoming = [version_view(v) for v in accounts.upcoming_versions(price)]
    return {
        "price": price,
        "account": price.account,
        "unit": accounts.meter_unit(price.account),
        "current": version_view(current),
        "upcoming": upcoming,
        "in_use": accounts.price_in_use(price),
    }


def tariff_initial(version: Any) -> dict[str, str]:
    """Form values showing a version's tariff (to adjust or correct it)."""
    view = version_view(version)
    assert view is not None
    if view["tiered"]:
        return {"kind": "tiered", "tiers": view["tiers_text"], "period": view["period"]}
    return {"kind": "flat", "unit_price": view["tiers"][0]["unit_price"]}


# -- the card reader ------------------------------------------------------------------------


def _customer_of(serial: str | None) -> Any:
    from prepaid.vending.models import CustomerCard

    if not serial:
        return None
    return CustomerCard.objects.select_related("customer").filter(serial=serial).first()


def card_view(card: Any, record: Any = None) -> dict[str, Any]:
    """A decoded card for the reader panel: ``card_document`` plus the customer it belongs to
    (``record``, the office's record of the card, when the caller has it already)."""
    from prepaid.cards.documents import card_document

    doc = card_document(card)
    if record is None and card.type.code == "user":
        record = _customer_of(doc.get("serial"))
    doc["record"] = record
    doc["customer"] = record.customer if record is not None else None
    return doc


def reader_view(station: Any, store: Any) -> dict[str, Any]:
    """Reader status and the card in it; with the virtual reader, its card store."""
    from prepaid.core.errors import PrepaidError
    from prepaid.vending import cardio
    from prepaid.web.errors import message

    view: dict[str, Any] = {
        "present": False,
        "card": None,
        "error": None,
        "virtual": store is not None,
        "name": None,
        "store": [],
    }
    try:
        view["present"] = station.reader.card_present()
        if view["present"]:
            view["name"] = station.reader.serial()
            read = cardio.read(station.reader, station.site_key)
            if read.card is not None:
                view["card"] = card_view(read.card)
            else:
                damaged = cardio.damaged(read)
                view["error"] = {"code": damaged.code, "message": message(damaged)}
                view["damaged_serial"] = read.serial
    except PrepaidError as exc:
        view["error"] = {"code": exc.code, "message": message(exc)}
    if store is not None:
        view["store"] = store_view(store, station.site_key)
    return view


def store_view(store: Any, site_key: bytes) -> list[dict[str, Any]]:
    from prepaid.core.card.codec import decode
    from prepaid.core.errors import CardError

    inserted = store.inserted()
    cards = []
    for name in store.names():
        try:
            kind = decode(store.path(name).read_bytes(), site_key).type.code
        except (CardError, OSError):
            kind = "bad"
        cards.append({"name": name, "type": kind, "in_reader": name == inserted})
    return cards


CARD_TYPES = {
    "blank": _("Blank card"),
    "new": _("New card"),
    "user": _("User card"),
    "setting": _("Setting card"),
    "clear_all": _("Clear-all card"),
    "zero": _("Zero card"),
    "check": _("Check card"),
    "bad": _("Unreadable card"),
}
METER_STATES = {code: _(name) for code, name in METER_STATE_NAMES.items()}
CARD_STATUSES = {
    "active": _("In use"),
    "revoked": _("Revoked"),
    "recycled": _("Recycled"),
}
PURCHASE_STATUSES = {
    "pending": _("Pending"),
    "completed": _("Completed"),
    "voided": _("Voided"),
    "corrected": _("Corrected"),
}
PURCHASE_KINDS = {"purchase": _("Purchase"), "transfer": _("Meter-change transfer")}
PAYMENTS = {
    "cash": _("Cash"),
    "wechat": _("WeChat Pay"),
    "alipay": _("Alipay"),
    "bank_card": _("Bank card"),
    "other": _("Other"),
}

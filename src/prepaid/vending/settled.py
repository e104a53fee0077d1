"""Purchases a read of their card settled: what the operator at the reading station is told.

A sale whose station stopped between its two phases (killed, a power cut, the database gone)
leaves its purchase pending; the next read of that customer's card, at any station, settles
it (``services._settle_pending``): completed and booked when the card carries it, voided when
it does not. Money is at stake either way — the customer may have paid at the counter that
stopped — so each settlement, a plain value (:class:`Settled`), is told as it happens to
whoever listens for it around the use case (:func:`telling_settled`; the use cases return
their own results): the CLI prints it, the web shows it as a message.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from prepaid.core.errors import _
from prepaid.core.money import format_centi, format_fen
from prepaid.moments import office_moment

if TYPE_CHECKING:
    from prepaid.vending.models import Purchase


@dataclass(frozen=True)
class Settled:
    """A pending purchase settled by a read of its card at another time (and maybe another
    station) than its sale: ``outcome`` is ``completed`` (booked, in ``shift_id``) or
    ``voided`` (nothing booked)."""

    outcome: str
    purchase_id: int
    serial: int
    kind: str
    quantity_centi: int
    amount_fen: int
    unit: str
    user_number: str
    customer: str
    station: str  # where the purchase was begun
    operator: str  # who began it
    began_at: datetime.datetime
    shift_id: int | None = None  # the shift it was booked into (completed)
    shift_operator: str | None = None
    shift_station: str | None = None

    def document(self) -> dict[str, Any]:
        """The JSON shape (CLI ``settled_by_read``)."""
        return {
            "outcome": self.outcome,
            "purchase_id": self.purchase_id,
            "serial": self.serial,
            "kind": self.kind,
            "quantity": format_centi(self.quantity_centi),
            "amount": format_fen(self.amount_fen),
            "unit": self.unit,
            "user_number": self.user_number,
            "customer": self.customer,
            "station": self.station,
            "operator": self.operator,
            "began_at": office_moment(self.began_at),
            "shift": self.shift_id,
            "shift_operator": self.shift_operator,
            "shift_station": self.shift_station,
        }


def settled_of(purchase: Purchase) -> Settled:
    """The settlement of ``purchase`` as it stands now (completed or voided), with its
    customer account at hand."""
    from prepaid.accounts.services import meter_unit
    from prepaid.vending.models import LedgerEntry

    customer_account = purchase.customer_account
    shift_id = shift_operator = shift_station = None
    if purchase.status == "completed":
        entry = (
            LedgerEntry.objects.filter(
                purchase_id=purchase.pk,
                kind__in=[LedgerEntry.Kind.SALE, LedgerEntry.Kind.TRANSFER],
            )
            .select_related("operator")
            .order_by("-id")
            .first()
        )
        if entry is not None:
            shift_id, shift_station = entry.shift_id, entry.station
            shift_operator = entry.operator.username
    return Settled(
        outcome=str(purchase.status),
        purchase_id=purchase.pk,
        serial=purchase.serial,
        kind=str(purchase.kind),
        quantity_centi=purchase.quantity_centi,
        amount_fen=purchase.amount_fen,
        unit=meter_unit(customer_account.account),
        user_number=customer_account.customer.user_number,
        customer=customer_account.customer.name,
        station=purchase.station or "-",
        operator=purchase.operator.username if purchase.operator_id else "-",
        began_at=purchase.created_at,
        shift_id=shift_id,
        shift_operator=shift_operator,
        shift_station=shift_station,
    )


# -- telling the operator ------------------------------------------------------------------

_LISTENER: contextvars.ContextVar[Callable[[Settled], None] | None] = contextvars.ContextVar(
    "settled_listener", default=None
)


@contextlib.contextmanager
def telling_settled(listener: Callable[[Settled], None]) -> Iterator[None]:
    """Within the block, every purchase a card read settles is given to ``listener`` as it is
    settled — also when the use case fails afterwards (the settlement is committed)."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def tell(settled: Settled) -> None:
    listener = _LISTENER.get()
    if listener is not None:
        listener(settled)


VOIDED_NOTICE = _(
    "Purchase No. %(purchase_id)s of user %(user_number)s %(customer)s (serial %(serial)s, "
    "%(quantity)s %(unit)s, ¥%(amount)s, station %(station)s, operator %(operator)s, "
    "%(time)s) was not written to the card: it is voided and nothing was booked. If the "
    "customer paid for it, refund them or sell it again at station %(station)s."
)
COMPLETED_NOTICE = _(
    "Purchase No. %(purchase_id)s of user %(user_number)s %(customer)s (serial %(serial)s, "
    "%(quantity)s %(unit)s, ¥%(amount)s, station %(station)s, operator %(operator)s, "
    "%(time)s) is on the card: it is now booked in shift %(shift)s (%(shift_operator)s, "
    "%(shift_station)s)."
)


def notice(settled: Settled, gettext: Callable[[str], str]) -> str:
    """What the operator reads about ``settled``, in the language of ``gettext``."""
    doc = settled.document()
    doc["time"] = timezone.localtime(settled.began_at).strftime("%Y-%m-%d %H:%M:%S")
    if settled.outcome == "voided":
        return gettext(VOIDED_NOTICE) % doc
    return gettext(COMPLETED_NOTICE) % {
        **doc,
        "shift": doc["shift"] or "-",
        "shift_operator": doc["shift_operator"] or "-",
        "shift_station": doc["shift_station"] or "-",
    }

"""Shifts (班次): every ledger entry belongs to an open shift of an operator at a station.

A purchase records the shift it was sold in (``Purchase.shift``): the money was taken then,
into that operator's drawer. Its ledger entries, booked when the purchase completes, go into
that shift while it is open — also when the purchase is completed later, by another operator
or at another station (``prepaid reconcile --complete``, the card read elsewhere). A closed
shift's settlement was counted and never changes: a purchase completed after its shift closed
is booked in the completing operator's current shift, whose report names it as a sale of an
earlier shift completed there (and the earlier shift's report says where it went)."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from prepaid.audit.services import log_action
from prepaid.operators.models import Operator
from prepaid.rows import scalar, table
from prepaid.vending.models import Shift

SHIFTS = table(Shift)


def current_shift(operator: Operator, station: str) -> Shift:
    """The operator's open shift at this station, opened now if there is none."""
    shift = SHIFTS.first(
        "operator_id = %s AND station = %s AND closed_at IS NULL", [operator.pk, station]
    )
    if shift is not None:
        return shift
    try:
        with transaction.atomic():
            shift = Shift.objects.create(
                operator=operator, station=station, opened_at=timezone.now()
            )
            log_action(operator, "shift.open", shift, after={"station": station}, station=station)
            return shift
    except IntegrityError:  # opened by a concurrent request of the same operator
        return Shift.objects.get(operator=operator, station=station, closed_at__isnull=True)


def still_open(shift_id: int) -> bool:
    """Whether the shift is open, kept so until the transaction ends: on PostgreSQL a share
    lock on its row, which a close (``reports.shifts.close_shift``) waits for; SQLite's write
    transaction holds the whole database."""
    share = " FOR SHARE" if connection.vendor == "postgresql" else ""
    return bool(
        scalar(
            f"SELECT 1 FROM vending_shift WHERE id = %s AND closed_at IS NULL{share}", [shift_id]
        )
    )

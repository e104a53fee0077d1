"""Shifts (班次): every ledger entry belongs to the open shift of its operator at a station."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from prepaid.audit.services import log_action
from prepaid.operators.models import Operator
from prepaid.rows import table
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

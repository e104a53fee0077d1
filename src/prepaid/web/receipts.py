"""Receipt prints, counted in the audit log: every print is ``receipt.print`` of the purchase.

The first print is the original; every later one is marked 重印/REPRINT with its number.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from prepaid.audit.models import AuditEntry
from prepaid.audit.services import log_action

ACTION = "receipt.print"
OBJECT_TYPE = "vending.purchase"


def prints(purchase_id: int) -> int:
    return AuditEntry.objects.filter(
        action=ACTION, object_type=OBJECT_TYPE, object_id=str(purchase_id)
    ).count()


@transaction.atomic
def record_print(operator: Any, purchase: Any, station: str, paper: str) -> int:
    """Log one print and return its number (1 = the original). Logging first holds the audit
    head lock, so two stations printing at once get different numbers."""
    log_action(operator, ACTION, purchase, station=station, after={"paper": paper})
    copy = prints(purchase.pk)
    return copy

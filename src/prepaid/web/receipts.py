"""Receipt prints, counted in the audit log: every print is ``receipt.print`` of the purchase.

The first print is the original; every later one is marked 重印/REPRINT with its number.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from prepaid.audit.services import log_action
from prepaid.rows import execute

ACTION = "receipt.print"


def prints(purchase_id: int) -> int:
    # The action and type written out, not parameters: only then may the database read the
    # partial index audit_receipt_prints (audit migration 0004).
    return int(
        execute(
            "SELECT COUNT(*) FROM audit_auditentry WHERE action = 'receipt.print' "
            "AND object_type = 'vending.purchase' AND object_id = %s",
            [str(purchase_id)],
        ).fetchone()[0]
    )


@transaction.atomic
def record_print(operator: Any, purchase: Any, station: str, paper: str) -> int:
    """Log one print and return its number (1 = the original). Logging first holds the audit
    head lock, so two stations printing at once get different numbers."""
    log_action(operator, ACTION, purchase, station=station, after={"paper": paper})
    copy = prints(purchase.pk)
    return copy

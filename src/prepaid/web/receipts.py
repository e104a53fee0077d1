"""Receipt prints, counted in the audit log: every print is ``receipt.print`` of the object
the receipt is for — a purchase (sale, correction, opening, meter change) or a reissue (the
``CardOperation`` of the 补卡, with its fee).

The first print is the original; every later one is marked 重印/REPRINT with its number.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from prepaid.audit.services import log_action
from prepaid.rows import execute

ACTION = "receipt.print"
PURCHASE = "vending.purchase"
REISSUE = "cards.cardoperation"


def prints(object_id: int, object_type: str = PURCHASE) -> int:
    # The action written out, not a parameter: only then may the database read the partial
    # index audit_receipt_prints (audit migration 0005).
    return int(
        execute(
            "SELECT COUNT(*) FROM audit_auditentry WHERE action = 'receipt.print' "
            "AND object_type = %s AND object_id = %s",
            [object_type, str(object_id)],
        ).fetchone()[0]
    )


@transaction.atomic
def record_print(operator: Any, receipt_of: Any, station: str, paper: str) -> int:
    """Log one print of the receipt of ``receipt_of`` (a purchase or a reissue) and return its
    number (1 = the original). Logging first holds the audit head lock, so two stations
    printing at once get different numbers."""
    log_action(operator, ACTION, receipt_of, station=station, after={"paper": paper})
    return prints(receipt_of.pk, receipt_of._meta.label_lower)

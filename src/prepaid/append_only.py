"""The ledger and the audit log are append-only, and the database itself refuses otherwise.

Triggers made by the migrations ``vending`` 0006 and ``audit`` 0006 refuse every ``UPDATE`` and
``DELETE`` of a ledger entry (``vending_ledgerentry``) and of an audit entry
(``audit_auditentry``), on SQLite and PostgreSQL, and a ``TRUNCATE`` of either on PostgreSQL
(docs/decisions/0014). Prepaid itself never sends such a statement: a mistake in the ledger is
corrected by a reversing entry. Should one reach the database all the same, its refusal starts
with the code of the table's rule, and :func:`append_only_refusal` makes it the refusal an
operator reads (the CLI and the web, where they report database errors).
"""

from __future__ import annotations

from prepaid.core.errors import PrepaidError, _

# The code each trigger's message starts with ("ledger_append_only: UPDATE refused, …"), and
# what the operator is told. The statement was refused and its transaction rolled back.
REFUSALS = {
    "ledger_append_only": _(
        "The ledger is append-only: a ledger entry is never changed or deleted, a mistake is "
        "corrected by a reversing entry. The database refused the change; nothing was changed."
    ),
    "audit_append_only": _(
        "The audit log is append-only: an audit entry is never changed or deleted. The "
        "database refused the change; nothing was changed."
    ),
}


def append_only_refusal(exc: BaseException) -> PrepaidError | None:
    """The refusal of a database error raised by an append-only trigger, else ``None``."""
    from django.db import Error as DatabaseError

    if not isinstance(exc, DatabaseError):
        return None
    text = str(exc).lstrip()
    for code, message in REFUSALS.items():
        if text.startswith(f"{code}:"):
            return PrepaidError(code, message)
    return None

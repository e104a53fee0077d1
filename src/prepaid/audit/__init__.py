"""The audit log (审计日志): :mod:`prepaid.audit.services` writes, verifies and reads it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prepaid.audit.services import log_action
else:

    def log_action(*args: Any, **kwargs: Any) -> Any:
        """:func:`prepaid.audit.services.log_action`, imported when the first entry is
        written. The services a command uses without always changing anything (an
        operator's login, the accounts, customers and reports) take it from here: the audit
        module brings the log's reading side with it (its labels and tables, the card
        model), which a command that writes no entry would pay for at every start."""
        from prepaid.audit import services

        return services.log_action(*args, **kwargs)

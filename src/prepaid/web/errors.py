"""Service refusals shown to the operator: localized, attached to the form field they concern."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import Error as DatabaseError
from django.utils.translation import gettext

from prepaid.core.errors import OS_REASONS, PrepaidError, _, database_reason, os_reason


def message(exc: PrepaidError) -> str:
    """The refusal in the active language (the field it names translated too)."""
    return exc.translate(gettext)


def raise_if_forbidden(exc: PrepaidError) -> None:
    """A permission refusal is a 403 page, not an inline error."""
    if exc.code == "permission_denied":
        raise PermissionDenied(message(exc))


def field_of(exc: PrepaidError, mapping: dict[str, str]) -> str | None:
    """The form field a refusal concerns: by its code first, then by the field it names."""
    return mapping.get(exc.code) or mapping.get(str(exc.params.get("field", "")))


def storage_failure(exc: Exception) -> PrepaidError | None:
    """A database or a file of the data directory that could not be written (a full disk, a
    dropped database connection) as a refusal to show, else ``None``. The transaction was
    rolled back; a sale left pending is settled by the next read of the card."""
    if isinstance(exc, DatabaseError):
        return PrepaidError(
            "database_error",
            _(
                "The database could not complete the operation (%(reason)s). Nothing was "
                "half-written, but a card written just before may carry a purchase not yet booked: "
                "read the card again (or run “prepaid reconcile”) to settle it before taking or "
                "giving back any money."
            ),
            reason=database_reason(str(exc).strip() or type(exc).__name__),
        )
    if isinstance(exc, OSError) and exc.errno in OS_REASONS:
        return PrepaidError(
            "file_error",
            _(
                "A file in the data directory could not be written (%(reason)s). Free the "
                "space or fix the directory, then read the card again or run “prepaid "
                "reconcile”."
            ),
            reason=os_reason(exc),
        )
    return None

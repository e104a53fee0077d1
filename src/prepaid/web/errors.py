"""Service refusals shown to the operator: localized, attached to the form field they concern."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from prepaid.core.errors import PrepaidError


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

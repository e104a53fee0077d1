"""Service refusals shown to the operator: localized, attached to the form field they concern."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, gettext_noop

from prepaid.core.errors import PrepaidError

# The services name the field a refusal is about in English (``%(field)s must be a number``);
# these marks put those names in the catalog so the web shows them in the operator's language.
FIELD_NAMES = (
    gettext_noop("quantity"),
    gettext_noop("amount"),
    gettext_noop("fee"),
    gettext_noop("remaining"),
    gettext_noop("reason"),
    gettext_noop("purchase limit"),
    gettext_noop("pre-stored quantity"),
    gettext_noop("alarm level"),
    gettext_noop("overdraft"),
    gettext_noop("unit price"),
    gettext_noop("name"),
    gettext_noop("remarks"),
    gettext_noop("phone"),
    gettext_noop("address"),
    gettext_noop("ID number"),
    gettext_noop("search text"),
)


def message(exc: PrepaidError) -> str:
    """The refusal in the active language, with the field name translated too."""
    params: dict[str, Any] = dict(exc.params)
    if isinstance(params.get("field"), str):
        params["field"] = gettext(params["field"])
    template = gettext(exc.message_template)
    return template % params if params else template


def raise_if_forbidden(exc: PrepaidError) -> None:
    """A permission refusal is a 403 page, not an inline error."""
    if exc.code == "permission_denied":
        raise PermissionDenied(message(exc))


def field_of(exc: PrepaidError, mapping: dict[str, str]) -> str | None:
    """The form field a refusal concerns: by its code first, then by the field it names."""
    return mapping.get(exc.code) or mapping.get(str(exc.params.get("field", "")))

"""Reading the pages the web tests get back."""

from __future__ import annotations

import re
from typing import Any


def html(response: Any) -> str:
    return response.content.decode()


def codes(response: Any) -> set[str]:
    """The stable error codes a page shows (``data-code`` / ``data-codes`` attributes)."""
    text = html(response)
    found = set(re.findall(r'data-code="([^"]+)"', text))
    for group in re.findall(r'data-codes="([^"]*)"', text):
        found.update(group.split())
    return found


def field_errors(response: Any) -> dict[str, str]:
    """Inline errors by field name (``data-field-error``)."""
    return dict(re.findall(r'data-field-error="([^"]+)">([^<]*)<', html(response)))


def tr(message: str, language: str = "zh-hans", **params: Any) -> str:
    """A message as a page in ``language`` shows it (translated, HTML-escaped)."""
    from django.utils import translation
    from django.utils.html import escape

    with translation.override(language):
        text = translation.gettext(message)
    return str(escape(text % params if params else text))

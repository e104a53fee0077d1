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

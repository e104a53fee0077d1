"""Reading the pages the web tests get back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch


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


def session_now(client: Any) -> dict[str, Any]:
    """What ``client``'s session holds now (for :func:`session_read_as`)."""
    return dict(client.session.items())


@contextmanager
def session_read_as(then: dict[str, Any]) -> Iterator[None]:
    """The request made inside reads its session as ``then``, though requests since changed
    it: a second click that reached the server while the first was still being done. Only
    its first read: a later read sees the session as stored."""
    from django.contrib.sessions.backends.db import SessionStore

    real_load = SessionStore.load
    reads: list[bool] = []

    def load(store: SessionStore) -> dict[str, Any]:
        if reads:
            return real_load(store)
        reads.append(True)
        return dict(then)

    with patch.object(SessionStore, "load", load):
        yield

"""Fixed-width lines for a terminal, where a Chinese character takes two columns."""

from __future__ import annotations

import unicodedata
from typing import Any


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    """``text`` filled with spaces to ``columns`` (on the left when ``right``)."""
    gap = " " * max(0, columns - width(text))
    return gap + text if right else text + gap


def labelled(gettext: Any, label: str, value: object) -> str:
    """“label: value” in the operator's language (a full-width colon in Chinese)."""
    return gettext("%(label)s: %(value)s") % {"label": label, "value": value}


def office_time(iso: str | None) -> str:
    """A moment of a JSON document (ISO 8601) as the operator reads it: the office's time
    zone, to the second; “-” for none."""
    if not iso:
        return "-"
    import datetime

    from django.utils import timezone

    return timezone.localtime(datetime.datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S")

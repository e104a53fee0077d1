"""The days the office's documents may name.

The calendar's own ends (0001-01-01, 9999-12-31) cannot be turned into moments of the office's
time zone, nor have a day after or months before them as reports need; no office has sales
outside these centuries either.
"""

from __future__ import annotations

import datetime

FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)


def in_range(day: datetime.date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def parse_day(text: str | None) -> datetime.date | None:
    """``YYYY-MM-DD`` within the range, or None for anything else (a filter left alone)."""
    try:
        day = datetime.date.fromisoformat(text or "")
    except ValueError:
        return None
    return day if in_range(day) else None

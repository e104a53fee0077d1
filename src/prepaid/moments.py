"""Moments in the office's documents (the CLI's JSON, the reports' JSON): one form for all,
ISO 8601 in the office's time zone with its UTC offset, to the second —
``2026-11-28T15:25:00+08:00`` — whichever table the moment comes from. A person reads the
same moment as the office's clock shows it (``2026-11-28 15:25:00``)."""

from __future__ import annotations

import datetime

from django.utils import timezone


def office_moment(value: datetime.datetime | None) -> str | None:
    """``value`` (an aware moment) in the documents' one form; None for none."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")

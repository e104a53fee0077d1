"""What the whole office records once, for every station of the database: the site key's
fingerprint (:mod:`prepaid.cards.site`), the office's time zone (:mod:`prepaid.reports.time_zone`).

Each is a one-row table; the first station to record its value wins, audited, and a station
that raced it reads the value recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, models, transaction
from django.utils import timezone


def record_once(
    model: type[models.Model],
    field: str,
    value: str,
    action: str,
    recorded: Callable[[], str | None],
) -> str:
    """Record ``value`` in ``model``'s one row (its ``SINGLETON`` pk) as ``field``, audited as
    ``action``; returns the value recorded (another station's, read by ``recorded``, when it
    got there first)."""
    from prepaid.audit.services import log_action
    from prepaid.home import station_name

    station = station_name()
    try:
        with transaction.atomic():
            row = model.objects.create(
                pk=model.SINGLETON,  # type: ignore[attr-defined]
                station=station,
                recorded_at=timezone.now(),
                **{field: value},
            )
            log_action(None, action, row, after={field: value, "station": station}, station=station)
    except IntegrityError:  # another station recorded it first
        found = recorded()
        assert found is not None
        return found
    return value

"""The demo's simulated clock, and how it stands in for “now”.

The vending, card, account and audit services take the time from ``django.utils.timezone.now``
(looked up at every call). To play a year of history through the real services, the demo
replaces that one function with its own clock while it runs — :func:`simulated_now` — so every
row (purchases, ledger entries, shifts, card operations, audit entries) is written with the
simulated time by the code that normally writes it, and nothing is edited afterwards.

This is for the demo command only: it patches a module attribute for the whole process, so it
must never run inside the web server or next to real work.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
SECOND = datetime.timedelta(seconds=1)


class SimulatedClock:
    """A clock that only moves when told to, and never backwards."""

    def __init__(self, start: datetime.datetime) -> None:
        assert timezone.is_aware(start)
        self._now = start

    def now(self) -> datetime.datetime:
        return self._now

    def tick(self, seconds: int = 1) -> datetime.datetime:
        assert seconds >= 0
        self._now += datetime.timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime.datetime) -> datetime.datetime:
        """Move to ``moment``, or stay where the clock is if that is later."""
        if moment > self._now:
            self._now = moment
        return self._now

    def unix(self) -> int:
        """The clock in Unix seconds (for the meters), without float."""
        return (self._now - EPOCH) // SECOND


@contextmanager
def simulated_now(clock: SimulatedClock) -> Iterator[SimulatedClock]:
    """Make ``django.utils.timezone.now`` (and so ``localdate``) read the simulated clock."""
    original = timezone.now
    timezone.now = clock.now
    try:
        yield clock
    finally:
        timezone.now = original

"""One card operation at a time per card reader.

A card reader holds one card: two requests writing it at once (two browser tabs, a double
click that slipped past the page) would interleave their writes, so every page that reads or
writes the card takes its reader's lock first; the second request then finds the first one's
result (a resubmitted idempotency key gets the first purchase).

The lock is the reader's ``flock`` (:mod:`prepaid.readers.lock`): the server's worker
processes, their threads and a CLI command beside the server queue alike, and the use cases
inside the block, which hold the same lock, re-enter it.

(Measured and rejected: also queueing this server's SQLite writers on one lock to spare them
SQLite's busy-wait sleeps — the queue held each writer for the whole sale, card writes
included, and cut throughput by a third.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prepaid.readers.lock import holding


@contextmanager
def card_io(station: Any) -> Iterator[None]:
    """Hold the station's card reader for one card operation."""
    with holding(station.reader):
        yield

"""One card operation at a time per card reader.

A card reader holds one card: two requests writing it at once (two browser tabs, a double
click that slipped past the page) would interleave their writes, so every page that reads or
writes the card takes its reader's lock first; the second request then finds the first one's
result (a resubmitted idempotency key gets the first purchase).

(Measured and rejected: also queueing this server's SQLite writers on one lock to spare them
SQLite's busy-wait sleeps — the queue held each writer for the whole sale, card writes
included, and cut throughput by a third.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_guard = threading.Lock()
_readers: dict[str, threading.Lock] = {}


def _reader_lock(reader: Any) -> threading.Lock:
    store = getattr(reader, "store", None)
    key = str(store.root) if store is not None else type(reader).__name__
    with _guard:
        return _readers.setdefault(key, threading.Lock())


@contextmanager
def card_io(station: Any) -> Iterator[None]:
    """Hold the station's card reader for one card operation."""
    with _reader_lock(station.reader):
        yield

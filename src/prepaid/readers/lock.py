"""One use of a card reader at a time.

A sale reads the card, books, writes and completes; a second request at the same reader in
the middle of it (a double click, the web page's 读卡 pressed during 写卡, a CLI command
beside the running server) would see the card half-way and could void a purchase that is
being written. Every use case that touches the card therefore holds the reader for its whole
length: a ``flock`` on a file that stands for the reader, so threads of one server and
separate processes queue alike. Re-entrant within a thread (a sale reads the card too).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_held = threading.local()


def lock_file(reader: Any) -> Path:
    """The file standing for ``reader``: the virtual reader's card store, or one per PC/SC
    reader name on this machine."""
    store = getattr(reader, "store", None)
    if store is not None and hasattr(store, "root"):
        return Path(store.root) / ".reader.lock"
    name = f"{type(reader).__name__}:{getattr(reader, 'reader_pattern', '')}"
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"prepaid-reader-{os.getuid()}-{digest}.lock"


@contextmanager
def holding(reader: Any) -> Iterator[None]:
    """Hold ``reader`` for the length of the block."""
    path = lock_file(reader)
    counts: dict[Path, int] = _held.__dict__.setdefault("counts", {})
    if counts.get(path):
        counts[path] += 1
        try:
            yield
        finally:
            counts[path] -= 1
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:  # the first use of a new card store
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        counts[path] = 1
        try:
            yield
        finally:
            counts[path] = 0
    finally:
        os.close(fd)  # closing releases the lock


def at_the_reader(use_case: Callable[P, R]) -> Callable[P, R]:
    """Run a use case whose first argument is a station while holding its reader."""

    @functools.wraps(use_case)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        station = args[0] if args else kwargs["station"]
        with holding(station.reader):  # type: ignore[attr-defined]
            return use_case(*args, **kwargs)

    return run

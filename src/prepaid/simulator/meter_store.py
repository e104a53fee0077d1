"""Simulated meters persisted as ``<home>/meters/<METER_ID>.json``.

Each file is replaced atomically (temporary file, fsync, rename), so a crash leaves the old
or the new meter, never half of one. A load-change-save cycle runs under :meth:`MeterStore.
locked`, an exclusive lock on ``meters/.lock``, so two commands on one meter do not lose an
update.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.core.meter import Meter, new_meter
from prepaid.home import atomic_write

METER_ID = re.compile(r"[\w-]{1,32}")  # letters of any script (张三家水表), digits, "_", "-"
SUFFIX = ".json"
LOCK_FILE = ".lock"


def check_meter_id(meter_id: str) -> str:
    if not METER_ID.fullmatch(meter_id):
        raise InvalidInput(
            "bad_meter_id",
            _("Meter id “%(meter_id)s” is not valid: use 1 to 32 letters, digits, “_” or “-”."),
            meter_id=meter_id,
        )
    return meter_id


class MeterStore:
    """The simulated meters of one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, meter_id: str) -> Path:
        return self.root / (check_meter_id(meter_id) + SUFFIX)

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        names = (p.name[: -len(SUFFIX)] for p in self.root.glob("*" + SUFFIX))
        return sorted(name for name in names if METER_ID.fullmatch(name))

    def exists(self, meter_id: str) -> bool:
        return self.path(meter_id).is_file()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (released when the block ends or fails)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def add(self, meter_id: str, now: int) -> Meter:
        """A factory-new (cleared) meter; refuses an id already taken."""
        path = self.path(meter_id)
        with self.locked():
            if path.exists():
                raise PrepaidError(  # the id is well formed, only taken: a refusal (exit 1)
                    "meter_exists",
                    _("A meter “%(meter_id)s” already exists."),
                    meter_id=meter_id,
                )
            meter = new_meter(meter_id, now)
            self.save(meter)
        return meter

    def load(self, meter_id: str) -> Meter:
        path = self.path(meter_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInput(
                "unknown_meter",
                _("There is no meter “%(meter_id)s”: add it with “prepaid meter add”."),
                meter_id=meter_id,
            ) from None
        try:
            meter = Meter.from_dict(json.loads(text))
        except ValueError:  # json.JSONDecodeError is a ValueError
            raise PrepaidError(
                "meter_damaged",
                _("The file of meter “%(meter_id)s” is damaged: %(path)s"),
                meter_id=meter_id,
                path=str(path),
            ) from None
        if meter.meter_id != meter_id:
            raise PrepaidError(
                "meter_damaged",
                _("The file of meter “%(meter_id)s” is damaged: %(path)s"),
                meter_id=meter_id,
                path=str(path),
            )
        return meter

    def save(self, meter: Meter) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data = json.dumps(meter.to_dict(), ensure_ascii=False, indent=1, sort_keys=True)
        atomic_write(self.path(meter.meter_id), (data + "\n").encode("utf-8"))

"""The data directory (``$PREPAID_HOME``, default ``./prepaid-data``).

Layout::

    prepaid.sqlite3      the database (unless DATABASE_URL points elsewhere)
    secrets.json         per-site secrets, mode 0600, created once and never overwritten
    cards/NAME.card      the virtual reader's card store (256-byte images)
    cards/READER         name of the card now in the virtual reader (absent = empty reader)
    meters/ID.json       simulated meters
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prepaid.core.errors import InvalidInput, _

if TYPE_CHECKING:
    from collections.abc import Callable

SECRETS_FILE = "secrets.json"
DATABASE_FILE = "prepaid.sqlite3"


def default_home() -> Path:
    return Path(os.environ.get("PREPAID_HOME") or "prepaid-data").resolve()


@dataclass(frozen=True)
class SiteSecrets:
    """Secrets of one site (utility office). Losing them makes every card unreadable."""

    django_secret_key: str
    card_key: bytes  # 32 bytes: root of the per-card office and meter MAC keys
    key_version: int
    psc: bytes  # 3 bytes: SLE4442 programmable security code
    mifare_key: bytes  # 6 bytes: Mifare Classic sector key (A and B)

    @classmethod
    def generate(cls) -> SiteSecrets:
        return cls(
            django_secret_key=secrets.token_urlsafe(50),
            card_key=secrets.token_bytes(32),
            key_version=1,
            psc=secrets.token_bytes(3),
            mifare_key=secrets.token_bytes(6),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "django_secret_key": self.django_secret_key,
                "card_key": self.card_key.hex(),
                "key_version": self.key_version,
                "psc": self.psc.hex(),
                "mifare_key": self.mifare_key.hex(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> SiteSecrets:
        data = json.loads(text)
        return cls(
            django_secret_key=data["django_secret_key"],
            card_key=bytes.fromhex(data["card_key"]),
            key_version=int(data["key_version"]),
            psc=bytes.fromhex(data["psc"]),
            mifare_key=bytes.fromhex(data["mifare_key"]),
        )


@dataclass(frozen=True)
class DataHome:
    """Paths of one data directory."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / DATABASE_FILE

    @property
    def secrets_file(self) -> Path:
        return self.root / SECRETS_FILE

    @property
    def restoring_secrets(self) -> Path:
        """The site secrets of a backup being restored: written before its database is loaded,
        renamed to ``secrets.json`` once it is. Found after a restore was cut short between
        the two (docs/backup.md, "A restore cut short")."""
        return self.root / (SECRETS_FILE + ".restoring")

    @property
    def cards(self) -> Path:
        return self.root / "cards"

    @property
    def meters(self) -> Path:
        return self.root / "meters"

    @property
    def serving_lock(self) -> Path:
        """Held shared by every ``prepaid serve`` and every command on the database while it
        runs on this directory, exclusively by ``prepaid restore`` (:func:`share_home`)."""
        return self.root / ".serving.lock"

    def exists(self) -> bool:
        return self.secrets_file.is_file()

    def require(self) -> DataHome:
        """Refuse to go on without an initialised data directory."""
        if not self.exists():
            raise InvalidInput(
                "no_data_directory",
                _("No data directory at %(path)s: run “prepaid init” first (or set PREPAID_HOME)."),
                path=str(self.root),
            )
        return self

    def create_dirs(self) -> None:
        """The data directory and its card and meter folders, made the owner's alone (0700):
        they hold the customers' records, the site's secrets and the cards. A folder that
        already exists keeps the permissions it was given."""
        for path in (self.root, self.cards, self.meters):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def ensure_secrets(self) -> bool:
        """Create the secrets file (mode 0600) unless present. True when it was created."""
        self.create_dirs()
        try:
            fd = os.open(self.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(SiteSecrets.generate().to_json())
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def load_secrets(self) -> SiteSecrets:
        self.require()
        return SiteSecrets.from_json(self.secrets_file.read_text(encoding="utf-8"))


def share_home(home: DataHome, waiting: Callable[[], object] | None = None) -> int | None:
    """Take the data directory's lock (``.serving.lock``) shared, as every ``prepaid serve``
    and every command on the database does while it runs: ``prepaid restore`` takes it alone,
    so it is refused while any of them runs, and they wait while a restore runs (``waiting``
    is called first). Returns the lock's descriptor (closing it, in every process that has
    it, releases the lock), or None without a data directory (``prepaid init`` makes it)."""
    import fcntl  # loaded already with Django: subprocess imports it

    while True:
        try:
            fd = os.open(home.serving_lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # no data directory yet, or one this user cannot write
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
                waiting = None  # said once
            fcntl.flock(fd, fcntl.LOCK_SH)
        if lock_still_named(fd, home.serving_lock):
            return fd
        os.close(fd)  # the restore waited for removed the lock file: take the new one


def leave_home(home: DataHome, fd: int) -> None:
    """Release the lock :func:`share_home` took. In a data directory that is still no site
    (no ``secrets.json``: the command was refused there, or ``prepaid init`` failed before
    making it) the lock file goes too, so that a command refused on an empty directory leaves
    it as it was — removed while held alone, as a refused restore removes its own
    (:func:`prepaid.server.let_go_of_home`); while another command still holds it, the last
    one to leave removes it."""
    import fcntl

    try:
        if home.exists() or not lock_still_named(fd, home.serving_lock):
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another command holds it too
        home.serving_lock.unlink(missing_ok=True)
    finally:
        os.close(fd)


def lock_still_named(fd: int, path: Path) -> bool:
    """Whether the lock file open as ``fd`` is still the one named ``path``. A restore
    refused in a data directory that had no lock file removes the one it made while it
    holds it (:func:`prepaid.server.let_go_of_home`): a command that waited on that file
    would hold a lock on a file no one else opens any more."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def atomic_write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Replace ``path`` with ``data``: write a temporary file, fsync, rename, fsync the dir.
    ``private`` (the site secrets, a backup): the file is its owner's alone (0600) from the
    moment it is created, never readable by others in between."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    write_new(tmp, data, private=private)
    try:
        put_in_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # nothing left behind when the rename fails
        raise


def write_new(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` into a file made anew at ``path``, fsync'ed; removed again when the
    write fails. One left there before (a crash) is removed first rather than reused: it
    could have another mode, or be open elsewhere. ``private``: mode 0600 from its creation,
    whatever the umask (which can take bits away from the mode asked for, never add any)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    try:
        try:
            if private:
                os.fchmod(fd, 0o600)  # exactly the owner's, before anything is written
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def put_in_place(written: Path, path: Path) -> None:
    """Rename a file :func:`write_new` wrote onto ``path`` (atomically: a crash leaves the
    old file or the new one), and make the rename durable."""
    os.replace(written, path)
    sync_directory(path.parent)


def sync_directory(folder: Path) -> None:
    """fsync a directory: the names made, renamed or removed in it survive a crash."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def station_name() -> str:
    """This station's name, recorded with every purchase, ledger entry and shift:
    ``PREPAID_STATION``, else the host name. Stations sharing a database need distinct ones."""
    import socket

    return os.environ.get("PREPAID_STATION") or socket.gethostname()


def office_time_zone() -> str:
    """The office's time zone (``$PREPAID_TIME_ZONE``, China by default): Django's
    ``TIME_ZONE``, and the zone of the commands that run without Django."""
    return os.environ.get("PREPAID_TIME_ZONE", "Asia/Shanghai")

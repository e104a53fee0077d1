"""``prepaid`` with a fault injected (tests only): ``PREPAID_FAULT`` names where it strikes.

    before_commit        killed inside phase one, the pending purchase not yet committed
    after_commit         killed after phase one committed, before the card is written
    mid_write:N          the card write stops after N bytes, then killed (a torn card)
    after_write          killed after the card was written, before phase two
    drop_connection      the database connection is terminated (pg_terminate_backend)
                         after the card was written, before phase two
    drop_before_commit   the connection is terminated inside phase one
    disk_full            SQLite finds the disk full inside phase one (SQLITE_FULL)
    audit_during_backup  another station appends an audit row while ``prepaid backup`` runs,
                         after it has started and before the database is copied
    line:N               killed at the N-th line the product's own code runs (N = 0: never;
                         the number of lines it ran is printed to stderr as ``LINES n``)
    secrets_no_room      no room for a new file named secrets.json… (ENOSPC at its creation)
    restore_load_fails   ``prepaid restore`` cannot load the database (refused, untouched)
    after_restore_load   killed after ``prepaid restore`` loaded the database
    secrets_rename_fails the rename onto secrets.json fails (EIO)

Killing is SIGKILL: no cleanup, no finally blocks, like a pulled power cord.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from typing import Any


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def terminate_my_connection() -> None:
    """Another session kills this process's database session (as a network cut would)."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def disk_full() -> None:
    from django.db import OperationalError

    raise OperationalError("database or disk is full")


def another_station_audits() -> None:
    """An audited change committed by another connection, as another station would."""
    from django.db import connections, transaction

    from prepaid.audit.services import log_action
    from prepaid.operators.models import Operator

    with transaction.atomic(using="default"):
        admin = Operator.objects.get(username="admin")
        log_action(admin, "test.concurrent", object_type="site", object_id="other-station")
    connections["default"].close()


def before(target: Any, name: str, action: Any) -> None:
    original = getattr(target, name)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        action()
        return original(*args, **kwargs)

    setattr(target, name, hooked)


def after(target: Any, name: str, action: Any) -> None:
    original = getattr(target, name)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        action()
        return result

    setattr(target, name, hooked)


def torn_write(cut_after: int) -> None:
    from prepaid.home import atomic_write
    from prepaid.readers.virtual import VirtualReader

    def write(self: VirtualReader, data: bytes, offset: int = 0) -> None:
        path = self.store.path(self.serial())
        old = path.read_bytes()
        atomic_write(path, old[:offset] + data[:cut_after] + old[offset + cut_after :])
        die()

    VirtualReader.write = write  # type: ignore[method-assign]


def no_room_for_secrets() -> None:
    real = os.open

    def open_(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & os.O_CREAT and os.path.basename(path).lstrip(".").startswith("secrets.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, flags, mode, **kw)

    os.open = open_  # type: ignore[assignment]


def renaming_onto_secrets_fails() -> None:
    real = os.replace

    def replace(source: Any, target: Any, **kw: Any) -> None:
        if os.path.basename(target) == "secrets.json":
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(target))
        real(source, target, **kw)

    os.replace = replace  # type: ignore[assignment]


def load_refused() -> None:
    from pathlib import Path

    from prepaid import backup

    raise backup.cannot_write(Path(os.environ["PREPAID_HOME"]), "no space left on the device")


def kill_at_line(target: int) -> None:
    """Count the lines run in ``src/prepaid`` from here on; die at the ``target``-th."""
    import atexit

    import prepaid

    package = os.path.dirname(prepaid.__file__) + os.sep
    count = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if not frame.f_code.co_filename.startswith(package):
            return None
        if event == "line":
            count += 1
            if count == target:
                die()
        return trace

    atexit.register(lambda: print(f"LINES {count}", file=sys.stderr))
    sys.settrace(trace)


def install(fault: str) -> None:
    from prepaid import backup
    from prepaid.vending import services as vending

    name, _sep, argument = fault.partition(":")
    faults = {
        "before_commit": lambda: after(vending, "_new_purchase", die),
        "after_commit": lambda: before(vending, "_write_and_complete", die),
        "mid_write": lambda: torn_write(int(argument)),
        "after_write": lambda: before(vending, "complete_purchase", die),
        "drop_connection": lambda: before(vending, "complete_purchase", terminate_my_connection),
        "drop_before_commit": lambda: after(vending, "_new_purchase", terminate_my_connection),
        "disk_full": lambda: after(vending, "_new_purchase", disk_full),
        "line": lambda: kill_at_line(int(argument)),
        "secrets_no_room": no_room_for_secrets,
        "restore_load_fails": lambda: (
            before(backup, "load_sqlite", load_refused),
            before(backup, "load_postgres", load_refused),
        ),
        "after_restore_load": lambda: (
            after(backup, "load_sqlite", die),
            after(backup, "load_postgres", die),
        ),
        "secrets_rename_fails": renaming_onto_secrets_fails,
        "audit_during_backup": lambda: (
            before(backup, "dump_sqlite", another_station_audits),
            before(backup, "dump_postgres", another_station_audits),
        ),
    }
    faults[name]()


def main() -> int:
    from prepaid.cli import main as cli

    setup = cli._setup_django

    def setup_then_inject(language: str) -> None:
        setup(language)
        install(os.environ["PREPAID_FAULT"])

    cli._setup_django = setup_then_inject  # type: ignore[assignment]
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())

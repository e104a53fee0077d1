"""A site with several stations, each a data directory of its own, all on one database.

Every station has its own card store (its reader) and meters but the same site secrets
(``secrets.json`` copied from the site's home) and the same database: ``DATABASE_URL`` on
PostgreSQL; on SQLite each station's ``prepaid.sqlite3`` is a symbolic link to the site's
file (SQLite follows it, so WAL and its locks are shared) and keeps the default settings.
Commands run as real ``prepaid`` processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from prepaid.core.card import codec

ADMIN_PASSWORD = "stations-Admin-7"
PREPAID = Path(sys.executable).with_name("prepaid")
HERE = Path(__file__).resolve().parent


class Site:
    def __init__(self, root: Path, database_url: str | None) -> None:
        self.root = root
        self.database_url = database_url  # None: SQLite in the site's home
        self.home = root / "site"
        self.base_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PREPAID_") and k != "DATABASE_URL"
        }
        self.base_env.update(PREPAID_PASSWORD=ADMIN_PASSWORD, PREPAID_LANG="en")
        if database_url:
            self.base_env["DATABASE_URL"] = database_url

    # -- processes -------------------------------------------------------------------------
    def env(self, station: str = "site", **extra: str) -> dict[str, str]:
        home = self.home if station == "site" else self.root / station
        return {**self.base_env, "PREPAID_HOME": str(home), "PREPAID_STATION": station, **extra}

    def run(
        self,
        *args: str,
        station: str = "site",
        stdin: str = "",
        env: dict[str, str] | None = None,
        timeout: float = 120,
        argv0: list[str] | None = None,
        **popen: Any,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*(argv0 or [str(PREPAID)]), *args],
            env={**self.env(station), **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **popen,
        )

    def popen(
        self,
        *args: str,
        station: str,
        env: dict[str, str] | None = None,
        argv0: list[str] | None = None,
    ) -> subprocess.Popen[str]:
        command = [*(argv0 or [str(PREPAID)]), *args]
        return subprocess.Popen(
            command,
            env={**self.env(station), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def json(self, *args: str, status: int = 0, **kw: Any) -> Any:
        result = self.run(*args, "--json", **kw)
        assert result.returncode == status, (args, result.stdout, result.stderr)
        return json.loads(result.stdout)

    # -- set-up ------------------------------------------------------------------------------
    def init(self) -> None:
        self.json("init", "--admin-password", ADMIN_PASSWORD)

    def water_account(self) -> tuple[int, int]:
        account = self.json(
            "account",
            "create",
            "--meter-type",
            "water",
            "--sub-meter",
            "1",
            "--limit",
            "9999",
            "--prestore",
            "5",
            "--alarm",
            "10",
            "--overdraft",
            "5",
            "--maintenance-code",
            "1234",
        )["id"]
        price = self.json(
            "price", "add", "--account", str(account), "--name", "居民用水", "--unit-price", "3.45"
        )["id"]
        return account, price

    def add_station(self, name: str) -> Path:
        home = self.root / name
        (home / "cards").mkdir(parents=True)
        (home / "meters").mkdir()
        shutil.copy2(self.home / "secrets.json", home / "secrets.json")
        if self.database_url is None:
            (home / "prepaid.sqlite3").symlink_to(self.home / "prepaid.sqlite3")
        return home

    @property
    def site_key(self) -> bytes:
        return bytes.fromhex(json.loads((self.home / "secrets.json").read_text())["card_key"])

    # -- cards ------------------------------------------------------------------------------
    def card_path(self, station: str, name: str) -> Path:
        home = self.home if station == "site" else self.root / station
        return home / "cards" / f"{name}.card"

    def put_card(self, station: str, name: str, image: bytes) -> None:
        """Put a card image in a station's store and in its reader."""
        path = self.card_path(station, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image)
        (path.parent / "READER").write_text(name)

    def card(self, station: str, name: str) -> bytes:
        return self.card_path(station, name).read_bytes()

    def swipe(self, meter: Any, station: str, name: str, now: int) -> Any:
        """Insert a station's card into a meter (in this process); the meter writes back."""
        outcome = meter.swipe(self.card(station, name), self.site_key, now)
        if outcome.meter_area is not None:
            image = bytearray(self.card(station, name))
            image[codec.METER_AREA.start : codec.METER_AREA.start + len(outcome.meter_area)] = (
                outcome.meter_area
            )
            self.card_path(station, name).write_bytes(bytes(image))
        return outcome

    # -- the database, read directly ------------------------------------------------------
    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.database_url is None:
            with sqlite3.connect(self.home / "prepaid.sqlite3", timeout=30) as connection:
                return connection.execute(query.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as connection:
            cursor = connection.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []


# SQLite's own files (its WAL and shared-memory index change as the database is merely read)
# and the lock every command on the database takes: not what a refused command may not touch.
NOT_STATE = {"prepaid.sqlite3", "prepaid.sqlite3-wal", "prepaid.sqlite3-shm",
             "prepaid.sqlite3-journal", ".serving.lock"}  # fmt: skip


def site_state(site: Site) -> dict[str, Any]:
    """What a refused command must leave as it was: a digest of every table's rows (None
    without a database), and every file of the data directory by its digest (None without
    one) — secrets, card store, meters."""
    files = None
    if site.home.exists():
        files = {
            str(path.relative_to(site.home)): (
                hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
            )
            for path in sorted(site.home.rglob("*"))
            if path.name not in NOT_STATE
        }
    return {"database": database_digest(site), "files": files}


def database_digest(site: Site) -> str | None:
    digest = hashlib.sha256()
    if site.database_url is None:
        path = site.home / "prepaid.sqlite3"
        if not path.exists():
            return None
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            for line in connection.iterdump():
                digest.update(line.encode() + b"\n")
        return digest.hexdigest()
    import psycopg

    with psycopg.connect(site.database_url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        ).fetchall()
        if not tables:
            return None
        for (table,) in tables:
            rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
            digest.update(f"{table}:{sorted(map(repr, rows))!r}\n".encode())
    return digest.hexdigest()


def open_customer(site: Site, station: str = "site", card: str = "u1") -> tuple[str, Any]:
    """A customer registered and opened with 10.00 on a new card at ``station`` (left in its
    reader), swiped into a meter simulated here (returned with the user number)."""
    from prepaid.core.meter import new_meter

    number = site.json("user", "register", "--name", "王五", station=station)["user_number"]
    for args in (
        ("card", "blank", f"set-{card}"),
        ("card", "insert", f"set-{card}"),
        ("card", "make", "setting", "--account", str(site.account)),
        ("card", "blank", card),
        ("card", "insert", card),
        ("card", "format"),
    ):
        site.json(*args, station=station)
    meter = new_meter(f"M-{card}", 1_700_000_000)
    assert meter.swipe(site.card(station, f"set-{card}"), site.site_key, 1_700_000_060).ok
    site.json(
        "open",
        number,
        "--account",
        str(site.account),
        "--price",
        str(site.price),
        "--quantity",
        "10",
        station=station,
    )
    assert site.swipe(meter, station, card, 1_700_000_120).ok
    return number, meter


def credited_centi(meter: Any, prestore_centi: int = 500) -> int:
    """All the credit a meter has applied: what is left plus what was used, less pre-store."""
    return int(meter.balance_centi + meter.cumulative_centi - prestore_centi)


def database_url_for(request: Any, name: str) -> str | None:
    """A fresh database for one site: on the run's PostgreSQL server, or None (SQLite)."""
    if os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() != "postgres":
        return None
    server = request.getfixturevalue("postgres_server")
    return server.create_database(name)


def check_ledger_matches_purchases(site: Site) -> None:
    """Money and credit booked equal what completed purchases carry; serials are unique."""
    duplicates = site.sql(
        "SELECT customer_account_id, serial FROM vending_purchase WHERE status = 'completed' "
        "GROUP BY customer_account_id, serial HAVING count(*) > 1"
    )
    assert duplicates == []
    booked = site.sql(
        "SELECT coalesce(sum(quantity_centi), 0), coalesce(sum(amount_fen), 0) "
        "FROM vending_ledgerentry WHERE kind IN ('sale', 'reversal', 'transfer')"
    )[0]
    carried = site.sql(
        "SELECT coalesce(sum(quantity_centi), 0), coalesce(sum(amount_fen), 0) "
        "FROM vending_purchase WHERE status = 'completed'"
    )[0]
    assert tuple(map(int, booked)) == tuple(map(int, carried))
    assert site.sql("SELECT count(*) FROM vending_purchase WHERE status = 'pending'") == [(0,)]

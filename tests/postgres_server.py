"""A throwaway PostgreSQL server for tests and benchmarks.

``initdb`` + ``pg_ctl`` in a temporary directory; the server listens only on a unix socket in
that directory (no TCP port, so runs never collide). As root the server runs as the
``postgres`` system user through ``runuser`` (PostgreSQL refuses to run as root) and the
directory is handed to that user. ``stop()`` shuts it down and removes everything.

    with PostgresServer() as server:
        os.environ["DATABASE_URL"] = server.url("prepaid")

Also runnable: ``python tests/postgres_server.py`` starts one and prints its URL until Ctrl-C.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"
PORT = 5432  # only names the socket file: the server has no TCP listener
# Durability off: a test server that dies is thrown away anyway, and fsync would dominate.
FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing or the server would not start."""


def find_bindir() -> Path:
    """Where initdb, pg_ctl and pg_dump live: $PG_BINDIR, Debian's newest, or PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    raise PostgresUnavailable(
        "PostgreSQL binaries (initdb, pg_ctl) not found: "
        "run scripts/system-deps.sh or apt-get install postgresql"
    )


class PostgresServer:
    """One private server; ``durable=True`` keeps fsync on (benchmarks)."""

    def __init__(self, durable: bool = False, max_connections: int = 100) -> None:
        self.bindir = find_bindir()
        self.durable = durable
        self.max_connections = max_connections
        self.root: Path | None = None
        self.as_root = os.geteuid() == 0

    # -- paths -----------------------------------------------------------------------------
    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root

    def url(self, database: str = "postgres") -> str:
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{SUPERUSER}@{host}:{PORT}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq keyword DSN (for psycopg.connect)."""
        return f"host={self.socket_dir} port={PORT} user={SUPERUSER} dbname={database}"

    # -- running as the postgres user -----------------------------------------------------
    def _command(self, *argv: str) -> list[str]:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_root:
            return ["runuser", "-u", SUPERUSER, "--", *command]
        return command

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._command(*argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{argv[0]} failed: {result.stderr or result.stdout}")
        return result

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> PostgresServer:
        self.root = Path(tempfile.mkdtemp(prefix="prepaid-pg-"))
        if self.as_root:
            shutil.chown(self.root, user=SUPERUSER, group=SUPERUSER)
        try:
            self._initdb()
            self._pg_ctl_start()
        except Exception:
            self._remove()
            raise
        return self

    def _initdb(self) -> None:
        self._run(
            *f"initdb -D {self.data} -U {SUPERUSER} -A trust -E UTF8 --no-sync".split(),
            "--locale=C",
        )

    def _pg_ctl_start(self) -> None:
        options = (
            f"-k {self.socket_dir} -p {PORT} -c listen_addresses='' "
            f"-c max_connections={self.max_connections}"
        )
        if not self.durable:
            options += " " + FAST
        log = self.root / "server.log"
        self._run(*f"pg_ctl -D {self.data} -l {log} -w -t 60 start".split(), "-o", options)

    def log(self) -> str:
        assert self.root is not None
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def create_database(self, name: str) -> str:
        """Create a database; returns its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        connect = f"-h {self.socket_dir} -p {PORT} -U {SUPERUSER} -d {database}"
        argv = ["psql", "-X", "-q", "-A", "-t", *connect.split(), "-v", "ON_ERROR_STOP=1"]
        return self._run(*argv, "-c", sql).stdout

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                self._command(
                    "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop"
                ),
                capture_output=True,
                timeout=60,
                check=False,
                cwd="/",
            )
        self._remove()

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    with PostgresServer() as server:
        print(server.url("postgres"), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

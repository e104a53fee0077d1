"""Backup and restore of a site: the database and the site secrets in one encrypted file.

The site secrets (``secrets.json``: the card key every card's MAC hangs on) are worth as much
as the database, so a backup carries both and is always encrypted with a passphrase.

File format, version 1::

    PREPAID-BACKUP 1\\n
    scrypt n=32768 r=8 p=1 salt=<32 hex digits>\\n
    <Fernet token>          AES-128-CBC + HMAC-SHA256 of the payload, key from scrypt

The payload is a tar archive of ``manifest.json``, ``secrets.json`` and the database:
``database.sqlite3`` (SQLite's online backup API: a consistent copy while stations work) or
``database.sql`` (``pg_dump``, plain format, one snapshot). A wrong passphrase and a
tampered file are both refused by the Fernet MAC before anything is touched.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from prepaid.core.errors import InvalidInput, PrepaidError, _, database_reason, os_reason
from prepaid.home import DataHome, atomic_write

MAGIC = b"PREPAID-BACKUP 1\n"
FORMAT = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSPHRASE = 8
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.sql"


def backup_error(code: str, message: str, **params: Any) -> PrepaidError:
    return PrepaidError(code, message, **params)


# -- encryption ------------------------------------------------------------------------------


def _fernet(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(payload: bytes, passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(
            "weak_passphrase",
            _("The backup passphrase must have at least %(minimum)s characters."),
            minimum=MIN_PASSPHRASE,
        )
    salt = secrets.token_bytes(16)
    params = f"scrypt n={SCRYPT_N} r={SCRYPT_R} p={SCRYPT_P} salt={salt.hex()}\n".encode()
    token = _fernet(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).encrypt(payload)
    return MAGIC + params + token


def not_a_backup() -> PrepaidError:
    return InvalidInput("not_a_backup", _("This file is not a Prepaid backup."))


def decrypt(blob: bytes, passphrase: str) -> bytes:
    if not blob.startswith(MAGIC):
        raise not_a_backup()
    params_line, _sep, token = blob[len(MAGIC) :].partition(b"\n")
    try:
        fields = dict(item.split("=", 1) for item in params_line.decode().split()[1:])
        n, r, p = int(fields["n"]), int(fields["r"]), int(fields["p"])
        salt = bytes.fromhex(fields["salt"])
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise not_a_backup() from exc
    if n > 2**20 or r > 32 or p > 16:  # refuse a header crafted to exhaust memory
        raise not_a_backup()
    try:
        return _fernet(passphrase, salt, n, r, p).decrypt(token)
    except InvalidToken as exc:
        raise PrepaidError(
            "bad_passphrase", _("Wrong passphrase, or the backup file has been altered.")
        ) from exc


# -- the archive -----------------------------------------------------------------------------


def pack(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def unpack(payload: bytes) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as archive:
        for info in archive.getmembers():
            handle = archive.extractfile(info) if info.isfile() else None
            if handle is not None:
                members[info.name] = handle.read()
    return members


@dataclass(frozen=True)
class Backup:
    manifest: dict[str, Any]
    secrets_json: bytes
    database: bytes

    @property
    def engine(self) -> str:
        return str(self.manifest["engine"])


def read_backup(path: Path, passphrase: str) -> Backup:
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            "no_such_file",
            _("Cannot read %(path)s: %(reason)s"),
            path=str(path),
            reason=os_reason(exc),
        ) from exc
    members = unpack(decrypt(blob, passphrase))
    manifest = json.loads(members["manifest.json"])
    if manifest.get("format") != FORMAT:
        raise not_a_backup()
    member = SQLITE_MEMBER if manifest["engine"] == "sqlite" else POSTGRES_MEMBER
    return Backup(manifest, members["secrets.json"], members[member])


# -- database engines ------------------------------------------------------------------------


def engine() -> str:
    from django.db import connection

    if connection.vendor not in ("sqlite", "postgresql"):
        raise backup_error(
            "backup_engine_unsupported", _("Backup supports SQLite and PostgreSQL only.")
        )
    return str(connection.vendor)


def pg_tool(name: str) -> str:
    """A PostgreSQL client program: $PREPAID_PG_BINDIR, Debian's newest, or PATH."""
    candidates = [os.environ.get("PREPAID_PG_BINDIR", "")]
    candidates += sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if directory and (Path(directory) / name).is_file():
            return str(Path(directory) / name)
    found = shutil.which(name)
    if found is None:
        raise backup_error(
            "pg_tool_missing",
            _("%(tool)s is not installed (Debian package postgresql-client)."),
            tool=name,
        )
    return found


def pg_environment() -> dict[str, str]:
    """libpq variables for pg_dump/psql from Django's database settings."""
    from django.db import connection

    config = connection.settings_dict
    env = dict(os.environ)
    pairs = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGDATABASE": config.get("NAME"),
        "PGSSLMODE": (config.get("OPTIONS") or {}).get("sslmode"),
    }
    env.update({key: str(value) for key, value in pairs.items() if value})
    return env


def _run_pg(argv: list[str]) -> bytes:
    result = subprocess.run(
        argv, env=pg_environment(), capture_output=True, check=False, timeout=3600
    )
    if result.returncode != 0:
        raise backup_error(
            "database_tool_failed",
            _("%(tool)s failed: %(reason)s"),
            tool=Path(argv[0]).name,
            reason=result.stderr.decode(errors="replace").strip()[-500:],
        )
    return result.stdout


def dump_sqlite() -> tuple[bytes, dict[str, Any]]:
    """A consistent copy through SQLite's online backup API (stations may keep working), and
    the audit head of that copy."""
    from django.db import connection

    try:
        with tempfile.TemporaryDirectory(prefix="prepaid-backup-") as scratch:
            copy = Path(scratch) / SQLITE_MEMBER
            source = sqlite3.connect(str(connection.settings_dict["NAME"]))
            target = sqlite3.connect(str(copy))
            try:
                source.backup(target)
                head = target.execute(
                    "SELECT count, last_hash FROM audit_audithead WHERE id = 1"
                ).fetchone()
            finally:
                target.close()
                source.close()
            audit = {"entries": head[0], "last_hash": head[1]} if head else _no_audit()
            return copy.read_bytes(), audit
    except OSError as exc:  # no room in the temporary directory ($TMPDIR)
        raise cannot_write(Path(tempfile.gettempdir()), os_reason(exc)) from exc
    except sqlite3.Error as exc:
        if not _write_failed(exc):
            raise
        raise cannot_write(Path(tempfile.gettempdir()), database_reason(str(exc))) from exc


def _write_failed(exc: sqlite3.Error) -> bool:
    """SQLite could not write a file: SQLITE_IOERR or SQLITE_FULL (primary result codes)."""
    primary = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL)


def dump_postgres() -> tuple[bytes, dict[str, Any]]:
    """``pg_dump`` of one snapshot, and the audit head read in that same snapshot (exported
    by a repeatable-read transaction that stays open while the dump runs)."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        audit = audit_state()
        dump = _run_pg(
            [
                pg_tool("pg_dump"),
                "--format=plain",
                "--no-owner",
                "--no-privileges",
                "--encoding=UTF8",
                f"--snapshot={snapshot}",
            ]
        )
    return dump, audit


# Empties the current schema (views, tables, sequences, functions such as trigger functions)
# inside the restore's transaction; needs no ownership of the schema itself.
DROP_TABLES = """
SET client_min_messages = warning;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT viewname FROM pg_views WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP VIEW IF EXISTS %I CASCADE', r.viewname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', r.sequencename);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS routine FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p') LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.routine);
  END LOOP;
END $$;
RESET client_min_messages;
"""


def load_postgres(dump: bytes) -> None:
    """Replace every table with the dump's, in one transaction (all or nothing)."""
    from django.db import connections

    connections.close_all()
    with tempfile.TemporaryDirectory(prefix="prepaid-restore-") as scratch:
        prelude, script = Path(scratch) / "prelude.sql", Path(scratch) / "dump.sql"
        prelude.write_text(DROP_TABLES)
        script.write_bytes(dump)
        _run_pg(
            [
                pg_tool("psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
                str(prelude),
                "-f",
                str(script),
            ]
        )


def load_sqlite(data: bytes) -> None:
    """Copy the backup into the live database through the backup API (one transaction)."""
    from django.db import connection, connections

    connections.close_all()
    live = Path(str(connection.settings_dict["NAME"]))
    try:
        live.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="prepaid-restore-", dir=live.parent) as scratch:
            copy = Path(scratch) / SQLITE_MEMBER
            copy.write_bytes(data)
            source = sqlite3.connect(str(copy))
            target = sqlite3.connect(str(live), timeout=30)
            try:
                if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise not_a_backup()
                source.backup(target)  # one transaction: the live database whole, or untouched
            finally:
                target.close()
                source.close()
    except OSError as exc:  # no room for the copy (a full disk), no permission
        raise cannot_write(live.parent, os_reason(exc)) from exc
    except sqlite3.Error as exc:  # SQLite could not write the live database
        if not _write_failed(exc):
            raise
        raise cannot_write(live, database_reason(str(exc))) from exc


def cannot_write(path: Path, reason: str) -> PrepaidError:
    return InvalidInput(
        "cannot_write", _("Cannot write %(path)s: %(reason)s"), path=str(path), reason=reason
    )


def other_sessions() -> list[str]:
    """The other sessions on this PostgreSQL database — a station's command at work, a web
    server's open connection, a ``psql`` left open — by their application name (``prepaid
    STATION``). A role that is no superuser sees no backend type of another role's session:
    such a row is a session when it has a user (the server's own workers have none)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(nullif(application_name, ''), host(client_addr), 'local') "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND (backend_type = 'client backend' "
            "OR (backend_type IS NULL AND usesysid IS NOT NULL))"
        )
        return sorted(str(row[0]) for row in cursor.fetchall())


def refuse_while_stations_connected() -> None:
    """``--force`` is the operator's word that every station is stopped; a station still
    connected proves otherwise, and would find its sale's purchase gone under it."""
    sessions = other_sessions()
    if sessions:
        raise PrepaidError(
            "stations_connected",
            _(
                "%(count)s other sessions are connected to this database (%(sessions)s): a "
                "station is still working on it. Stop prepaid on every station of this "
                "database (the web server and any command), then restore again."
            ),
            count=len(sessions),
            sessions=", ".join(sessions),
        )


def database_in_use() -> bool:
    from django.db import connection

    if connection.vendor == "sqlite" and not Path(connection.settings_dict["NAME"]).exists():
        return False
    return bool(connection.introspection.table_names())


# -- the use cases -----------------------------------------------------------------------------


def audit_state() -> dict[str, Any]:
    from prepaid.audit.models import AuditHead

    head = AuditHead.objects.filter(pk=1).first()
    return {"entries": head.count, "last_hash": head.last_hash} if head else _no_audit()


def _no_audit() -> dict[str, Any]:
    return {"entries": 0, "last_hash": ""}


def make_backup(home: DataHome, passphrase: str) -> tuple[bytes, dict[str, Any]]:
    """The encrypted backup file's bytes and its manifest."""
    from django.utils import timezone

    from prepaid import __version__

    kind = engine()
    created_at = timezone.now().isoformat()
    # the audit head of the copy itself: stations may append to the chain meanwhile
    database, audit = dump_sqlite() if kind == "sqlite" else dump_postgres()
    manifest = {
        "format": FORMAT,
        "engine": kind,
        "created_at": created_at,
        "prepaid_version": __version__,
        "audit": audit,
    }
    member = SQLITE_MEMBER if kind == "sqlite" else POSTGRES_MEMBER
    payload = pack(
        {
            "manifest.json": json.dumps(manifest, indent=2).encode(),
            "secrets.json": home.load_secrets().to_json().encode(),
            member: database,
        }
    )
    return encrypt(payload, passphrase), manifest


def write_backup_file(path: Path, blob: bytes, force: bool) -> None:
    if path.exists() and not force:
        raise backup_error(
            "file_exists",
            _("%(path)s already exists: choose another name or use --force."),
            path=str(path),
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, blob)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise InvalidInput(
            "cannot_write",
            _("Cannot write %(path)s: %(reason)s"),
            path=str(path),
            reason=os_reason(exc),
        ) from exc


def restore_backup(home: DataHome, backup: Backup) -> dict[str, Any]:
    """Put the backup's secrets and database in place, migrate, and verify the audit log."""
    from django.core.management import call_command

    from prepaid.audit.services import verify_chain
    from prepaid.home import SiteSecrets

    if backup.engine != engine():
        raise backup_error(
            "engine_mismatch",
            _("This backup is of a %(backup)s database; this site uses %(site)s."),
            backup=backup.engine,
            site=engine(),
        )
    SiteSecrets.from_json(backup.secrets_json.decode())  # refuse a damaged secrets file
    home.create_dirs()
    if backup.engine == "sqlite":
        load_sqlite(backup.database)
    else:
        refuse_while_stations_connected()
        load_postgres(backup.database)
    try:
        atomic_write(home.secrets_file, backup.secrets_json)
        os.chmod(home.secrets_file, 0o600)
    except OSError as exc:
        raise cannot_write(home.secrets_file, os_reason(exc)) from exc
    call_command("migrate", interactive=False, verbosity=0)
    report = verify_chain()
    return {
        "audit_ok": report.ok,
        "audit_entries": report.entries,
        "audit_reason": report.reason,
        "audit_matches_backup": audit_state() == backup.manifest["audit"],
    }

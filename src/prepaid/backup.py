"""Backup and restore of a site: the database and the site secrets in one encrypted file.

The site secrets (``secrets.json``: the card key every card's MAC hangs on) are worth as much
as the database, so a backup carries both and is always encrypted with a passphrase.

File format, version 1::

    PREPAID-BACKUP 1\\n
    scrypt n=32768 r=8 p=1 salt=<32 hex digits> sha256=<64 hex digits>\\n
    <Fernet token>          AES-128-CBC + HMAC-SHA256 of the payload, key from scrypt

The payload is a tar archive of ``manifest.json``, ``secrets.json`` and the database:
``database.sqlite3`` (SQLite's online backup API: a consistent copy while stations work) or
``database.sql`` (``pg_dump``, plain format, one snapshot). ``sha256`` is the digest of the
whole file without that field (`` sha256=…`` taken out of the second line): a file cut short
or damaged is told from a wrong passphrase before the passphrase is tried. Files written
before it was added have no such field; both kinds read alike otherwise. A wrong passphrase
and a tampered file are both refused by the Fernet MAC before anything is touched, and
what the file holds is checked (engine, format, database, schema) before anything is
written (:func:`check_restorable`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from prepaid.core.errors import InvalidInput, Label, PrepaidError, _, database_reason, os_reason
from prepaid.home import DataHome, atomic_write, put_in_place, sync_directory, write_new

MAGIC_PREFIX = b"PREPAID-BACKUP "
MAGIC = b"PREPAID-BACKUP 1\n"
FORMAT = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SALT_BYTES = 16
DIGEST_FIELD = b" sha256="
MIN_PASSPHRASE = 8
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.sql"
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}  # the names people know them by


def backup_error(code: str, message: str, **params: Any) -> PrepaidError:
    return PrepaidError(code, message, **params)


# -- encryption ------------------------------------------------------------------------------


def _fernet(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def check_passphrase(passphrase: str) -> None:
    if not passphrase.strip():  # spaces only (a full-width one too): no secret at all
        raise InvalidInput(
            "weak_passphrase",
            _(
                "The backup passphrase is only spaces: choose one of at least %(minimum)s "
                "characters that are not all spaces."
            ),
            minimum=MIN_PASSPHRASE,
        )
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(
            "weak_passphrase",
            _("The backup passphrase must have at least %(minimum)s characters."),
            minimum=MIN_PASSPHRASE,
        )


def encrypt(payload: bytes, passphrase: str) -> bytes:
    check_passphrase(passphrase)
    salt = secrets.token_bytes(SALT_BYTES)
    params = f"scrypt n={SCRYPT_N} r={SCRYPT_R} p={SCRYPT_P} salt={salt.hex()}".encode()
    token = _fernet(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).encrypt(payload)
    digest = _file_digest(params, token)
    return MAGIC + params + DIGEST_FIELD + digest.encode() + b"\n" + token


def _file_digest(params: bytes, token: bytes) -> str:
    """SHA-256 of the file as it would be without its ``sha256`` field."""
    return hashlib.sha256(MAGIC + params + b"\n" + token).hexdigest()


def not_a_backup() -> PrepaidError:
    return InvalidInput("not_a_backup", _("This file is not a Prepaid backup."))


# what a backup compressed for mailing or storing begins with, by the name people know
COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"7z\xbc\xaf\x27\x1c": "7z",
    b"Rar!\x1a\x07": "RAR",
    b"\xfd7zXZ\x00": "xz",
    b"BZh": "bzip2",
    b"\x28\xb5\x2f\xfd": "zstd",
}


def compressed(blob: bytes) -> PrepaidError | None:
    """The refusal of a compressed file (a backup someone compressed): decompress it first."""
    for magic, kind in COMPRESSED.items():
        if blob.startswith(magic):
            return InvalidInput(
                "not_a_backup",
                _(
                    "This file is compressed (%(kind)s), not a Prepaid backup itself: "
                    "decompress it first, then restore the backup file it holds."
                ),
                kind=kind,
            )
    return None


def backup_damaged() -> PrepaidError:
    return InvalidInput(
        "backup_damaged",
        _(
            "This backup file is damaged or incomplete (cut short, or changed since it was "
            "written): nothing was restored. Restore another copy of the backup."
        ),
    )


def backup_too_new(version: int) -> PrepaidError:
    return PrepaidError(
        "backup_too_new",
        _(
            "This backup is in file format %(version)s, newer than this version of Prepaid "
            "reads (format %(supported)s): nothing was restored. Restore it with a newer "
            "Prepaid."
        ),
        version=version,
        supported=FORMAT,
    )


@dataclass(frozen=True)
class Header:
    """The clear part of a backup file: how its key is derived, and its digest if it has one."""

    params: bytes
    n: int
    r: int
    p: int
    salt: bytes
    digest: str | None
    token: bytes


def read_header(blob: bytes) -> Header:
    """The header of a backup file, or the refusal that says what the file is instead: not a
    backup at all, one of a newer format, or one damaged or cut short in its header."""
    if not blob:
        raise InvalidInput("not_a_backup", _("This file is empty: it is not a Prepaid backup."))
    if not blob.startswith(MAGIC_PREFIX):
        if MAGIC.startswith(blob):
            raise backup_damaged()
        raise compressed(blob) or not_a_backup()
    magic, found, rest = blob.partition(b"\n")
    version = magic[len(MAGIC_PREFIX) :]
    if not found or not re.fullmatch(rb"[1-9][0-9]{0,8}", version):
        raise backup_damaged()
    if int(version) != FORMAT:
        if _damaged_magic(rest):
            raise backup_damaged()
        raise backup_too_new(int(version))
    return _read_key_line(rest)


def _damaged_magic(rest: bytes) -> bool:
    """Whether a file whose magic names another format is this format's with that digit
    damaged: the rest is whole by its own digest, taken with this format's magic."""
    try:
        header = _read_key_line(rest)
    except PrepaidError:
        return False
    digest = _file_digest(header.params, header.token)
    return header.digest is not None and hmac.compare_digest(header.digest, digest)


def _read_key_line(rest: bytes) -> Header:
    """The key-derivation line and what follows it (the token)."""
    line, found, token = rest.partition(b"\n")
    if not found:
        raise backup_damaged()
    params, has_digest, digest = line.partition(DIGEST_FIELD)
    if has_digest and not re.fullmatch(rb"[0-9a-f]{64}", digest):
        raise backup_damaged()
    words = params.split(b" ")
    fields = dict(word.partition(b"=")[::2] for word in words[1:])
    if words[0] != b"scrypt" or set(fields) != {b"n", b"r", b"p", b"salt"}:
        raise backup_damaged()
    try:
        n, r, p = (int(fields[name]) for name in (b"n", b"r", b"p"))
        salt = bytes.fromhex(fields[b"salt"].decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise backup_damaged() from exc
    # scrypt's own limits, and no header crafted to exhaust memory
    if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise backup_damaged()
    if len(salt) != SALT_BYTES:
        raise backup_damaged()
    return Header(params, n, r, p, salt, digest.decode() if has_digest else None, token)


def _token_complete(token: bytes) -> bool:
    """Whether a Fernet token is whole in form (version byte, timestamp, IV, whole AES blocks,
    HMAC): a file cut short almost never is, whatever the passphrase."""
    try:
        raw = base64.b64decode(token, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 1 + 8 + 16 + 16 + 32 and raw[0] == 0x80 and (len(raw) - 57) % 16 == 0


def decrypt(blob: bytes, passphrase: str) -> bytes:
    header = read_header(blob)
    token = header.token.rstrip(b"\r\n")
    if header.digest is not None:
        if not hmac.compare_digest(header.digest, _file_digest(header.params, header.token)):
            raise backup_damaged()
    elif not _token_complete(token):
        raise backup_damaged()
    try:
        return _fernet(passphrase, header.salt, header.n, header.r, header.p).decrypt(token)
    except InvalidToken as exc:
        if header.digest is not None:  # the file is whole: only the passphrase is left
            raise PrepaidError("bad_passphrase", _("Wrong passphrase for this backup.")) from exc
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


def read_backup_file(path: Path) -> bytes:
    """The bytes of a backup file; a path that is no readable file is refused plainly."""
    try:
        if not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():
            # a device or a pipe, which could be read for ever
            raise cannot_read(path, Label(_("it is not a regular file")))
        return path.read_bytes()
    except OSError as exc:
        raise cannot_read(path, os_reason(exc), missing=isinstance(exc, FileNotFoundError)) from exc


def cannot_read(path: Path, reason: str, *, missing: bool = False) -> PrepaidError:
    return InvalidInput(
        "no_such_file" if missing else "cannot_read",
        _("Cannot read %(path)s: %(reason)s"),
        path=str(path),
        reason=reason,
    )


def read_backup(path: Path, passphrase: str) -> Backup:
    members = _members(decrypt(read_backup_file(path), passphrase))
    try:
        manifest = json.loads(members["manifest.json"])
        version = manifest["format"]
    except (KeyError, ValueError, TypeError) as exc:
        raise not_a_backup() from exc
    if isinstance(version, int) and version > FORMAT:
        raise backup_too_new(version)
    kind = manifest.get("engine")
    member = SQLITE_MEMBER if kind == "sqlite" else POSTGRES_MEMBER
    if version != FORMAT or kind not in ENGINES or not isinstance(manifest.get("audit"), dict):
        raise not_a_backup()
    if not _is_moment(manifest.get("created_at")):
        raise not_a_backup()
    if "secrets.json" not in members or member not in members:
        raise not_a_backup()
    return Backup(manifest, members["secrets.json"], members[member])


def _members(payload: bytes) -> dict[str, bytes]:
    """The archive's members; what the passphrase opened but is no archive of ours is refused
    (another program's file in this format)."""
    try:
        return unpack(payload)
    except (tarfile.TarError, EOFError, ValueError) as exc:
        raise not_a_backup() from exc


def _is_moment(value: Any) -> bool:
    import datetime

    try:
        return datetime.datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


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
    """Copy the backup into the live database through the backup API (one transaction); the
    copy was checked whole before (:func:`check_restorable`)."""
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


def check_backup_target(home: DataHome, path: Path, force: bool) -> None:
    """Refuse, before the database is dumped, a backup file that cannot or must not be
    written: one of the site's own files (``--force`` would destroy it), a directory, a file
    that exists without ``--force``, or one in a folder that does not exist (created, it would
    send the backup of an unplugged disk's folder onto the station's own disk)."""
    try:
        if _is_site_file(home, path):
            raise InvalidInput(
                "backup_onto_site_file",
                _(
                    "%(path)s is one of this site's own files (its database, secrets or card "
                    "store): a backup written onto it would destroy it. Write the backup to "
                    "another file, best on another disk."
                ),
                path=str(path),
            )
        if path.is_dir():
            raise cannot_write(path, Label(_("it is a directory")))
        if path.exists() and not force:
            raise file_exists(path)
        if path.parent.exists() and not path.parent.is_dir():
            raise cannot_write(path, Label(_("a part of the path is not a directory")))
        if not path.parent.exists():
            raise InvalidInput(
                "cannot_write",
                _(
                    "Cannot write %(path)s: the folder %(folder)s does not exist. Create it "
                    "first, or connect the disk it is on."
                ),
                path=str(path),
                folder=str(path.parent),
            )
    except OSError as exc:  # a name too long, a folder that cannot be looked into
        raise cannot_write(path, os_reason(exc)) from exc


def _is_site_file(home: DataHome, path: Path) -> bool:
    """Whether ``path`` is the site's database (or one of SQLite's files beside it), its
    secrets, its lock, or in its card store or meters."""
    from django.db import connection

    databases = {home.database}
    if connection.vendor == "sqlite":
        databases.add(Path(str(connection.settings_dict["NAME"])))
    own = {home.secrets_file, home.restoring_secrets, home.serving_lock}
    for database in {p.resolve() for p in databases}:
        own.update(database.with_name(database.name + suffix) for suffix in SQLITE_FILES)
    target = path.resolve()
    if target in {p.resolve() for p in own}:
        return True
    return any(target.is_relative_to(folder.resolve()) for folder in (home.cards, home.meters))


SQLITE_FILES = ("", "-wal", "-shm", "-journal")


def file_exists(path: Path) -> PrepaidError:
    return backup_error(
        "file_exists",
        _("%(path)s already exists: choose another name or use --force."),
        path=str(path),
    )


def write_backup_file(path: Path, blob: bytes, force: bool) -> None:
    if path.exists() and not force:
        raise file_exists(path)
    try:
        atomic_write(path, blob, private=True)  # it holds the card key
    except OSError as exc:
        raise cannot_write(path, os_reason(exc)) from exc


# -- what a backup holds, checked before anything is written ---------------------------------


def engine_mismatch(backup: str, site: str) -> PrepaidError:
    return backup_error(
        "engine_mismatch",
        _(
            "This backup is of a %(backup)s database and this site uses %(site)s: a backup "
            "is restored only onto the kind of database it was made from. Nothing was "
            "restored."
        ),
        backup=ENGINES.get(backup, backup),
        site=ENGINES.get(site, site),
    )


def database_damaged(reason: str) -> PrepaidError:
    return InvalidInput(
        "backup_damaged",
        _(
            "The database in this backup is damaged (%(reason)s): nothing was restored. "
            "Restore another backup."
        ),
        reason=reason.strip().splitlines()[0][:200] if reason.strip() else "?",
    )


def check_restorable(backup: Backup) -> None:
    """Refuse, before anything is written, a backup this site cannot take: of another kind
    of database, with secrets or a database that are not whole, or made by a newer Prepaid
    (its database has migrations this version does not know, which it would run on as if
    they were not there)."""
    from prepaid import __version__

    site = engine()
    if backup.engine != site:
        raise engine_mismatch(backup.engine, site)
    backup_secrets(backup)
    if backup.engine == "sqlite":
        applied = _sqlite_migrations(backup.database)
    else:
        applied = _dump_migrations(backup.database)
    newer = newer_migrations(applied)
    if newer:
        raise backup_error(
            "backup_too_new",
            _(
                "This backup was made by a newer Prepaid (%(version)s; this is %(program)s): "
                "its database has changes this version does not know (%(migrations)s). "
                "Nothing was restored; restore it with Prepaid %(version)s or newer."
            ),
            version=str(backup.manifest.get("prepaid_version", "?")),
            program=__version__,
            migrations=", ".join(newer),
        )


def backup_secrets(backup: Backup) -> Any:
    """The backup's site secrets (a :class:`prepaid.home.SiteSecrets`)."""
    from prepaid.home import SiteSecrets

    try:
        return SiteSecrets.from_json(backup.secrets_json.decode())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise not_a_backup() from exc


def _sqlite_migrations(data: bytes) -> list[tuple[str, str]]:
    """The migrations applied to a SQLite database copy, read in memory after checking it
    whole (nothing is written: no room is needed to be refused)."""
    image = bytearray(data)
    if not image.startswith(b"SQLite format 3\x00") or len(image) < 100:
        raise database_damaged("file is not a database")
    image[18] = image[19] = 1  # a database in memory has no WAL: read it as a rollback one
    database = sqlite3.connect(":memory:")
    try:
        database.deserialize(bytes(image))
        check = database.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise database_damaged(str(check))
        rows = database.execute("SELECT app, name FROM django_migrations").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            raise not_a_backup() from exc
        raise database_damaged(str(exc)) from exc
    except sqlite3.DatabaseError as exc:  # not a database, malformed
        raise database_damaged(str(exc)) from exc
    finally:
        database.close()
    return [(str(app), str(name)) for app, name in rows]


# pg_dump's plain format: the rows of django_migrations as one COPY block, ended by "\."
_COPY_MIGRATIONS = re.compile(rb"^COPY (?:\S+\.)?django_migrations \(([^)]*)\) FROM stdin;$", re.M)


def _dump_migrations(dump: bytes) -> list[tuple[str, str]]:
    """The migrations applied to the database of a ``pg_dump`` (its django_migrations rows)."""
    match = _COPY_MIGRATIONS.search(dump)
    end = dump.find(b"\n\\.\n", match.end()) if match else -1
    if match is None or end < 0:
        raise not_a_backup()
    columns = [column.strip().strip(b'"') for column in match.group(1).split(b",")]
    if b"app" not in columns or b"name" not in columns:
        raise not_a_backup()
    app, name = columns.index(b"app"), columns.index(b"name")
    rows = [line.split(b"\t") for line in dump[match.end() + 1 : end].split(b"\n") if line]
    try:
        return [(row[app].decode(), row[name].decode()) for row in rows]
    except (IndexError, UnicodeDecodeError) as exc:
        raise not_a_backup() from exc


def newer_migrations(applied: list[tuple[str, str]]) -> list[str]:
    """The applied migrations (``app.name``) this program does not know and that come after
    its own last of their app: a newer Prepaid's. An unknown one numbered lower is an old
    migration since squashed away, which Django passes over."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    latest: dict[str, int] = {}
    for app, name in known:
        latest[app] = max(latest.get(app, 0), _migration_number(name))
    return sorted(
        f"{app}.{name}"
        for app, name in applied
        if (app, name) not in known and app in latest and _migration_number(name) > latest[app]
    )


def _migration_number(name: str) -> int:
    digits = re.match(r"\d+", name)
    return int(digits.group()) if digits else 0


def site_fingerprint(home: DataHome) -> str | None:
    """The fingerprint of this site's card key: the one its database recorded, else its
    ``secrets.json``'s; None for a site with neither."""
    from django.db import connection

    from prepaid.cards.site import recorded_fingerprint
    from prepaid.core.card.mac import site_key_fingerprint

    if database_in_use() and "cards_sitekey" in connection.introspection.table_names():
        recorded = recorded_fingerprint()
        if recorded:
            return recorded
    if home.exists():
        try:
            return site_key_fingerprint(home.load_secrets().card_key)
        except (OSError, ValueError, KeyError):
            return None
    return None


def is_other_site(home: DataHome, backup: Backup) -> bool:
    """Whether the backup is of another site than this one: its card key is not this site's."""
    from prepaid.core.card.mac import site_key_fingerprint

    ours = site_fingerprint(home)
    return ours is not None and ours != site_key_fingerprint(backup_secrets(backup).card_key)


def restore_backup(home: DataHome, backup: Backup) -> dict[str, Any]:
    """Put the backup's secrets and database in place, migrate, and verify the audit log.

    The database and ``secrets.json`` change together as far as the file system allows: the
    secrets are written beside ``secrets.json`` first (``secrets.json.restoring``, fsync'ed),
    the database is loaded (one transaction), and only then are they renamed into place. A
    failure before the database is loaded leaves both as they were; a crash between the
    load and the rename leaves a database whose recorded card key is not ``secrets.json``'s
    (each station refuses with ``wrong_site_secrets`` rather than misread a card) and the
    right secrets beside it (docs/backup.md, "A restore cut short")."""
    from django.core.management import call_command

    from prepaid.audit.services import verify_chain

    check_restorable(backup)
    if backup.engine == "postgresql":
        refuse_while_stations_connected()
    _write_restoring_secrets(home, backup)
    try:
        if backup.engine == "sqlite":
            load_sqlite(backup.database)
        else:
            load_postgres(backup.database)
    except Exception:  # the load refused: the old secrets stay with the old database
        # (interrupted, it may have committed: the secrets stay beside, as after a crash)
        home.restoring_secrets.unlink(missing_ok=True)
        raise
    try:
        put_in_place(home.restoring_secrets, home.secrets_file)
    except OSError as exc:
        raise secrets_not_in_place(home, os_reason(exc)) from exc
    home.create_dirs()
    call_command("migrate", interactive=False, verbosity=0)
    report = verify_chain()
    return {
        "audit_ok": report.ok,
        "audit_entries": report.entries,
        "audit_reason": report.reason,
        "audit_matches_backup": audit_state() == backup.manifest["audit"],
    }


def _write_restoring_secrets(home: DataHome, backup: Backup) -> None:
    """The backup's secrets beside ``secrets.json``, durably (a crash after the database
    load finds them), the owner's alone from the start."""
    path = home.restoring_secrets
    try:
        home.root.mkdir(parents=True, exist_ok=True)
        write_new(path, backup.secrets_json, private=True)
        sync_directory(home.root)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise cannot_write(path, os_reason(exc)) from exc


def secrets_not_in_place(home: DataHome, reason: str) -> PrepaidError:
    return PrepaidError(
        "secrets_not_in_place",
        _(
            "The database is restored, but its site secrets could not be put in place as "
            "%(secrets)s (%(reason)s): this station is refused (wrong_site_secrets) until "
            "they are. They are in %(restoring)s: run the restore again, or rename that file "
            "to secrets.json and run “prepaid init” (which brings the database up to date)."
        ),
        secrets=str(home.secrets_file),
        reason=reason,
        restoring=str(home.restoring_secrets),
    )

"""Damaged and foreign backup files, and backup files that cannot be written.

Whatever file ``prepaid restore`` is given — empty, text, another format, a directory, a file
that cannot be read, a backup cut short or with a byte changed anywhere, another site's, one
of the other database engine, one of a newer format or made by a newer Prepaid — it is
refused with a clear message in the operator's language (Chinese by default, English with
``--lang en``), exit status 1 or 2 (DESIGN §8), no traceback, and nothing changes: every
table's rows and every file of the data directory (secrets.json, card store, meters) stay as
they were, and no audit entry is written. So with ``prepaid backup`` onto a path that cannot
or must not take the file.

Each file is restored over the site in use (with and without ``--force``) and into an empty
data directory (on PostgreSQL with an empty database). The refusals of one data directory run
in one process (cli_batch.py); a few run as ``prepaid`` processes of their own too.
"""

from __future__ import annotations

import ctypes
import gzip
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from station_kit import HERE, NOT_STATE, Site, database_url_for, open_customer, site_state

PASSPHRASE = "correct horse battery"
WITH_PASSPHRASE = {"PREPAID_BACKUP_PASSPHRASE": PASSPHRASE}
ON_POSTGRES = os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() == "postgres"
ENGINE = "postgresql" if ON_POSTGRES else "sqlite"
OTHER_ENGINE = "sqlite" if ON_POSTGRES else "postgresql"
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Origin:
    """A site in use (an account, a customer with a card and a meter), a backup of it, and a
    backup of another site (a card key of its own)."""

    site: Site
    other: Site
    root: Path
    backup: Path
    other_backup: Path
    members: dict[str, bytes] = field(default_factory=dict)  # the backup's archive

    @property
    def files(self) -> Path:
        return self.root / "files"


def new_site(request: pytest.FixtureRequest, root: Path) -> Site:
    root.mkdir(parents=True, exist_ok=True)
    return Site(root, database_url_for(request, f"damaged_{uuid.uuid4().hex[:12]}"))


@pytest.fixture(scope="module")
def origin(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Origin:
    from prepaid.backup import decrypt, unpack

    root = tmp_path_factory.mktemp("damaged")
    site = new_site(request, root / "origin")
    site.init()
    site.account, site.price = site.water_account()
    open_customer(site)
    other = new_site(request, root / "other")
    other.init()
    made = Origin(site, other, root, root / "good.backup", root / "other.backup")
    site.json("backup", str(made.backup), env=WITH_PASSPHRASE)
    other.json("backup", str(made.other_backup), env=WITH_PASSPHRASE)
    made.files.mkdir()
    made.members = unpack(decrypt(made.backup.read_bytes(), PASSPHRASE))
    return made


# -- the messages ----------------------------------------------------------------------------

DAMAGED = (
    "This backup file is damaged or incomplete (cut short, or changed since it was written): "
    "nothing was restored. Restore another copy of the backup.",
    "该备份文件已损坏或不完整（被截断，或写入后被改动过）：未恢复任何数据。"
    "请用该备份的另一份副本恢复。",
)
NOT_A_BACKUP = ("This file is not a Prepaid backup.", "该文件不是预付费系统的备份。")
EMPTY = ("This file is empty: it is not a Prepaid backup.", "该文件为空，不是预付费系统的备份。")
WRONG_PASSPHRASE = ("Wrong passphrase for this backup.", "该备份的口令错误。")
WRONG_OR_ALTERED = (
    "Wrong passphrase, or the backup file has been altered.",
    "口令错误，或备份文件已被篡改。",
)


def compressed(kind: str) -> tuple[str, str]:
    return (
        f"This file is compressed ({kind}), not a Prepaid backup itself: decompress it first, "
        "then restore the backup file it holds.",
        f"该文件是压缩文件（{kind}），本身不是预付费系统的备份：请先解压缩，再恢复其中的备份文件。",
    )


def too_new(version: int) -> tuple[str, str]:
    return (
        f"This backup is in file format {version}, newer than this version of Prepaid reads "
        "(format 1): nothing was restored. Restore it with a newer Prepaid.",
        f"该备份的文件格式为 {version}，比本版预付费系统能读取的格式（1）新："
        "未恢复任何数据。请用更新版本的预付费系统恢复。",
    )


def engine_mismatch(backup: str, site: str) -> tuple[str, str]:
    backup, site = ENGINE_NAMES[backup], ENGINE_NAMES[site]
    return (
        f"This backup is of a {backup} database and this site uses {site}: a backup is "
        "restored only onto the kind of database it was made from. Nothing was restored.",
        f"该备份来自 {backup} 数据库，而本站点使用 {site}：备份只能恢复到与制作它时"
        "同类的数据库。未恢复任何数据。",
    )


def newer_prepaid(migration: str) -> tuple[str, str]:
    from prepaid import __version__ as version

    return (
        f"This backup was made by a newer Prepaid (9.0.0; this is {version}): its database "
        f"has changes this version does not know ({migration}). Nothing was restored; "
        "restore it with Prepaid 9.0.0 or newer.",
        f"该备份由更新版本的预付费系统（9.0.0，本系统为 {version}）制作：其数据库含有本版本"
        f"不认识的变更（{migration}）。未恢复任何数据；请用 9.0.0 或更新版本的预付费系统恢复。",
    )


def cannot(verb: str, path: str, reason: tuple[str, str]) -> tuple[str, str]:
    zh_verb = {"read": "读取", "write": "写入"}[verb]
    return f"Cannot {verb} {path}: {reason[0]}", f"无法{zh_verb} {path}：{reason[1]}"


IS_A_DIRECTORY = ("it is a directory", "这是一个目录")

# -- the files ---------------------------------------------------------------------------------


def header_end(data: bytes) -> int:
    """Where the token starts: after the magic line and the key-derivation line."""
    return data.index(b"\n", data.index(b"\n") + 1) + 1


STEPPABLE = b"ABCDEFGHIJKLMNOPQRSTUVWXYabcdefghijklmnopqrstuvwxy012345678"


def changed(data: bytes, offset: int) -> bytes:
    """``data`` with the byte at ``offset`` changed: a letter or digit to the next one (still
    valid base64, so only a digest or the MAC can tell), anything else flipped."""
    out = bytearray(data)
    byte = out[offset]
    out[offset] = byte + 1 if byte in STEPPABLE else byte ^ 0x01
    return bytes(out)


def steppable_from(data: bytes, offset: int) -> int:
    """The first offset from ``offset`` on whose byte :func:`changed` keeps valid base64."""
    while data[offset] not in STEPPABLE:
        offset += 1
    return offset


def cut_mid_quantum(data: bytes) -> bytes:
    """``data`` cut about two thirds in, inside a 4-character group of the token's base64 (a
    cut on a group's end could leave a token whole in form, 1 time in 64)."""
    body = header_end(data)
    length = body + ((len(data) - body) * 2 // 3) // 4 * 4 + 1
    return data[:length]


def without_digest(data: bytes) -> bytes:
    """The backup as files written before the header carried a digest."""
    return re.sub(rb" sha256=[0-9a-f]{64}", b"", data, count=1)


def forged(origin: Origin, manifest: dict[str, Any] | None = None, **members: bytes) -> bytes:
    """A backup made with the passphrase from the good one's archive, changed: what only
    someone holding the passphrase could write (or a newer Prepaid)."""
    from prepaid.backup import encrypt, pack

    archive = dict(origin.members)
    if manifest is not None:
        archive["manifest.json"] = json.dumps(
            {**json.loads(archive["manifest.json"]), **manifest}
        ).encode()
    archive.update(members)
    return encrypt(pack(archive), PASSPHRASE)


def with_newer_migration(origin: Origin) -> bytes:
    """The good backup, its database carrying a migration of a newer Prepaid."""
    if not ON_POSTGRES:
        copy = origin.files / "newer.sqlite3"
        copy.write_bytes(origin.members["database.sqlite3"])
        with sqlite3.connect(copy) as database:
            database.execute(
                "INSERT INTO django_migrations (app, name, applied) "
                "VALUES ('vending', '9999_future', '2030-01-01 00:00:00')"
            )
        database.close()
        return forged(
            origin, {"prepaid_version": "9.0.0"}, **{"database.sqlite3": copy.read_bytes()}
        )
    dump = origin.members["database.sql"]
    copy_line = re.search(rb"^COPY \S*django_migrations \(.*\) FROM stdin;\n", dump, re.M)
    assert copy_line is not None
    row = b"99999\tvending\t9999_future\t2030-01-01 00:00:00+00\n"
    newer = dump[: copy_line.end()] + row + dump[copy_line.end() :]
    return forged(origin, {"prepaid_version": "9.0.0"}, **{"database.sql": newer})


def of_other_engine(origin: Origin) -> bytes:
    """The good backup as if made on the other database engine."""
    if OTHER_ENGINE == "postgresql":
        dump = b"COPY public.django_migrations (id, app, name, applied) FROM stdin;\n\\.\n"
        return forged(origin, {"engine": "postgresql"}, **{"database.sql": dump})
    return forged(origin, {"engine": "sqlite"}, **{"database.sqlite3": b"SQLite format 3\x00"})


def with_damaged_database(origin: Origin) -> bytes:
    """A whole file whose SQLite database is not one (the disk failed under the copy)."""
    database = bytearray(origin.members["database.sqlite3"])
    database[:16] = b"\x00" * 16
    return forged(origin, **{"database.sqlite3": bytes(database)})


def zipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good.backup", data)
    return buffer.getvalue()


# -- the cases ---------------------------------------------------------------------------------

SITE_FORCE, SITE, EMPTY_SITE = (
    "over the site in use, --force",
    "over the site in use",
    "into an empty site",
)
ALL_TARGETS = (SITE_FORCE, SITE, EMPTY_SITE)
Messages = tuple[str, str]  # (English, Chinese)


@dataclass(frozen=True)
class Case:
    """One bad file (or path) for ``prepaid restore``, and its refusal."""

    name: str
    file: Callable[[Origin], bytes | str]  # the file's bytes, or a path to give as it is
    code: str
    status: int
    message: Callable[[str], Messages] | Messages  # of the path given
    passphrase: str = PASSPHRASE
    targets: tuple[str, ...] = ALL_TARGETS

    def messages(self, path: str) -> Messages:
        return self.message(path) if callable(self.message) else self.message


def _good(origin: Origin) -> bytes:
    return origin.backup.read_bytes()


def _cut(name: str, length: Callable[[int, int], int]) -> Case:
    def file(origin: Origin) -> bytes:
        data = _good(origin)
        return data[: length(len(data), header_end(data))]

    return Case(f"cut short: {name}", file, "backup_damaged", 2, DAMAGED)


# About 30 lengths (of the file's size and the header's end) to cut a backup to: in the magic,
# in the key line, around the header's end, spread over the body, in the last block.
CUTS = [
    ("1 byte", lambda size, body: 1),
    ("8 bytes", lambda size, body: 8),
    ("magic without newline", lambda size, body: 16),
    ("magic", lambda size, body: 17),
    ("key line, 30 bytes", lambda size, body: 30),
    ("key line, before the digest", lambda size, body: body - 72),
    ("digest, half", lambda size, body: body - 33),
    ("header without newline", lambda size, body: body - 1),
    ("header", lambda size, body: body),
    ("1 byte of the token", lambda size, body: body + 1),
    ("2 bytes of the token", lambda size, body: body + 2),
    *(
        (f"body {k}/16", lambda size, body, k=k: body + (size - body) * k // 16)
        for k in range(1, 16)
    ),
    ("100 bytes short", lambda size, body: size - 100),
    ("44 bytes short (the MAC's)", lambda size, body: size - 44),
    ("2 bytes short", lambda size, body: size - 2),
    ("1 byte short", lambda size, body: size - 1),
]

# Single bytes to change: in the header (the format's digit, which then names format 2: the
# digest tells the damage; the key derivation's cost and salt, the digest, the header's end),
# in the body, and in the last block.
CHANGES = {
    "format digit": lambda data: data.index(b"1\n"),
    "scrypt n": lambda data: data.index(b"n=") + 2,
    "scrypt p": lambda data: data.index(b" p=") + 3,
    "salt": lambda data: data.index(b"salt=") + 9,
    "digest": lambda data: data.index(b"sha256=") + 20,
    "header end": lambda data: header_end(data) - 1,
    "token start": lambda data: header_end(data),
    "body middle": lambda data: len(data) // 2,
    "body three quarters": lambda data: len(data) * 3 // 4,
    "last block, 60 from the end": lambda data: len(data) - 60,
    "last block, 20 from the end": lambda data: len(data) - 20,
    "last byte": lambda data: len(data) - 1,
}


def _changed(where: str) -> Case:
    def file(origin: Origin) -> bytes:
        data = _good(origin)
        return changed(data, CHANGES[where](data))

    return Case(f"byte changed: {where}", file, "backup_damaged", 2, DAMAGED)


def sqlite_file(origin: Origin) -> bytes:
    """A SQLite database that is no backup (such as a station's prepaid.sqlite3)."""
    path = origin.files / "some.sqlite3"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as database:
        database.execute("CREATE TABLE readings (meter TEXT, quantity INTEGER)")
    database.close()
    return path.read_bytes()


def _other_site(path: str) -> Messages:
    if ON_POSTGRES:
        overwrite = (
            "This site's database already has data; restoring replaces all of it, for every "
            "station that uses it. Stop prepaid (the web server and any command) on every "
            "station of this database first: this station cannot see whether the others are "
            "running. Then use --force to overwrite it.",
            "本站点的数据库已有数据，恢复将替换全部数据，使用该数据库的所有工作站都受影响。"
            "请先在该数据库的每个工作站上停止预付费系统（网页服务和所有命令）：本工作站无法"
            "看到其他工作站是否在运行。然后使用 --force 覆盖。",
        )
    else:
        overwrite = (
            "This site already has data; restoring replaces all of it. Use --force to "
            "overwrite it.",
            "本站点已有数据，恢复将替换全部数据。如需覆盖，请使用 --force。",
        )
    return (
        "This backup is of another site: its card key is not this site's, so the cards this "
        "site issued could no longer be read once it is restored (unless this site is a new "
        "set-up waiting for its backup). " + overwrite[0],
        "该备份属于另一个站点：其卡密钥不是本站点的，恢复后本站点发出的卡将无法再读取"
        "（除非本站点是等待恢复备份的新安装）。" + overwrite[1],
    )


CASES = [
    Case("empty file", lambda o: b"", "not_a_backup", 2, EMPTY),
    Case("text file", lambda o: "收费日报\nwater 3.45\n".encode(), "not_a_backup", 2, NOT_A_BACKUP),
    Case("zip of a backup", lambda o: zipped(_good(o)), "not_a_backup", 2, compressed("zip")),
    Case(
        "gzip of a backup",
        lambda o: gzip.compress(_good(o)),
        "not_a_backup",
        2,
        compressed("gzip"),
    ),
    Case("sqlite database", sqlite_file, "not_a_backup", 2, NOT_A_BACKUP),
    Case(
        "directory",
        lambda o: str(o.files),
        "cannot_read",
        2,
        lambda path: cannot("read", path, IS_A_DIRECTORY),
    ),
    Case(
        "missing file",
        lambda o: str(o.files / "nowhere.backup"),
        "no_such_file",
        2,
        lambda path: cannot("read", path, ("no such file or directory", "文件或目录不存在")),
    ),
    Case(
        "unreadable: input/output error",
        lambda o: "/proc/self/mem",  # no process reads its address 0, not even root's
        "cannot_read",
        2,
        lambda path: cannot(
            "read",
            path,
            (
                "input/output error (the disk or the file may be damaged)",
                "输入/输出错误（磁盘或文件可能已损坏）",
            ),
        ),
    ),
    Case(
        "a device",
        lambda o: "/dev/zero",
        "cannot_read",
        2,
        lambda path: cannot("read", path, ("it is not a regular file", "它不是普通文件")),
    ),
    *(_cut(name, length) for name, length in CUTS),
    *(_changed(where) for where in CHANGES),
    Case(
        "wrong passphrase",
        _good,
        "bad_passphrase",
        1,
        WRONG_PASSPHRASE,
        passphrase="not the passphrase",
    ),
    Case(
        "without digest, cut short",
        lambda o: cut_mid_quantum(without_digest(_good(o))),
        "backup_damaged",
        2,
        DAMAGED,
    ),
    Case(
        "without digest, a byte changed",
        lambda o: changed(
            without_digest(_good(o)), steppable_from(without_digest(_good(o)), len(_good(o)) // 2)
        ),
        "bad_passphrase",
        1,
        WRONG_OR_ALTERED,
    ),
    Case(
        "newer file format (header)",
        lambda o: (
            b"PREPAID-BACKUP 2\nargon2id t=3 m=65536 p=4 salt=00ff\n"
            + _good(o)[header_end(_good(o)) :]
        ),
        "backup_too_new",
        1,
        too_new(2),
    ),
    Case(
        "newer file format (manifest)",
        lambda o: forged(o, {"format": 2}),
        "backup_too_new",
        1,
        too_new(2),
    ),
    Case(
        "made by a newer Prepaid",
        with_newer_migration,
        "backup_too_new",
        1,
        newer_prepaid("vending.9999_future"),
    ),
    Case(
        "of the other database engine",
        of_other_engine,
        "engine_mismatch",
        1,
        engine_mismatch(OTHER_ENGINE, ENGINE),
    ),
    Case(
        "of another site",
        lambda o: o.other_backup.read_bytes(),
        "restore_other_site",
        1,
        _other_site,
        targets=(SITE,),
    ),
    *(
        []
        if ON_POSTGRES
        else [
            Case(
                "damaged database inside",
                with_damaged_database,
                "backup_damaged",
                2,
                (
                    "The database in this backup is damaged (file is not a database): nothing was "
                    "restored. Restore another backup.",
                    "该备份中的数据库已损坏（file is not a database）：未恢复任何数据。"
                    "请用另一个备份恢复。",
                ),
            ),
        ]
    ),
]


@dataclass(frozen=True)
class BackupCase:
    """A path ``prepaid backup`` must not or cannot write, and its refusal."""

    name: str
    target: Callable[[Origin], Path]
    code: str
    status: int
    message: Callable[[str], list[Messages]]  # of the path: any of these
    force: bool = False
    passphrase: str | None = PASSPHRASE  # None: none in the environment, standard input's
    stdin: str = ""


def onto_site_file(path: str) -> list[Messages]:
    return [
        (
            f"{path} is one of this site's own files (its database, secrets or card store): a "
            "backup written onto it would destroy it. Write the backup to another file, best on "
            "another disk.",
            f"{path} 是本站点自己的文件（数据库、密钥或卡片库）：把备份写到它上面会毁掉它。"
            "请把备份写到另一个文件，最好在另一块磁盘上。",
        )
    ]


NO_PASSPHRASE = [
    (
        "No backup passphrase: set PREPAID_BACKUP_PASSPHRASE or give it on standard input.",
        "没有备份口令：请设置 PREPAID_BACKUP_PASSPHRASE，或从标准输入提供。",
    )
]

BACKUP_CASES = [
    BackupCase(
        "into a folder that does not exist",
        lambda o: o.files / "unplugged" / "site.backup",
        "cannot_write",
        2,
        lambda path: [
            (
                f"Cannot write {path}: the folder {Path(path).parent} does not exist. Create it "
                "first, or connect the disk it is on.",
                f"无法写入 {path}：文件夹 {Path(path).parent} 不存在。"
                "请先创建它，或接上它所在的磁盘。",
            )
        ],
    ),
    BackupCase(
        "onto an existing file",
        lambda o: o.backup,
        "file_exists",
        1,
        lambda path: [
            (
                f"{path} already exists: choose another name or use --force.",
                f"{path} 已存在：请换一个文件名，或使用 --force。",
            )
        ],
    ),
    BackupCase(
        "onto a directory",
        lambda o: o.files,
        "cannot_write",
        2,
        lambda path: [cannot("write", path, IS_A_DIRECTORY)],
        force=True,
    ),
    BackupCase(
        "onto a read-only location",
        # sysfs takes no new file from anyone: EACCES even for root (EROFS where /sys is
        # mounted read-only)
        lambda o: Path("/sys/prepaid.backup"),
        "cannot_write",
        2,
        lambda path: [
            cannot("write", path, ("permission denied", "没有权限")),
            cannot("write", path, ("the file system is read-only", "文件系统为只读")),
        ],
    ),
    BackupCase(
        "secrets.json",
        lambda o: o.site.home / "secrets.json",
        "backup_onto_site_file",
        2,
        onto_site_file,
        force=True,
    ),
    BackupCase(
        "a card of the card store",
        lambda o: o.site.home / "cards" / "u1.card",
        "backup_onto_site_file",
        2,
        onto_site_file,
        force=True,
    ),
    *(
        []
        if ON_POSTGRES
        else [
            BackupCase(
                "the database",
                lambda o: o.site.home / "prepaid.sqlite3",
                "backup_onto_site_file",
                2,
                onto_site_file,
                force=True,
            ),
            BackupCase(
                "the database's WAL",
                lambda o: o.site.home / "prepaid.sqlite3-wal",
                "backup_onto_site_file",
                2,
                onto_site_file,
                force=True,
            ),
        ]
    ),
    BackupCase(
        "empty passphrase on standard input",
        lambda o: o.files / "new.backup",
        "no_passphrase",
        2,
        lambda path: NO_PASSPHRASE,
        passphrase=None,
        stdin="\n",
    ),
    BackupCase(
        "nothing on standard input",
        lambda o: o.files / "new.backup",
        "no_passphrase",
        2,
        lambda path: NO_PASSPHRASE,
        passphrase=None,
    ),
    BackupCase(
        "a passphrase too short",
        lambda o: o.files / "new.backup",
        "weak_passphrase",
        2,
        lambda path: [
            (
                "The backup passphrase must have at least 8 characters.",
                "备份口令至少需要 8 个字符。",
            )
        ],
        passphrase=None,
        stdin="short\n",
    ),
    BackupCase(
        "a passphrase of only spaces",
        lambda o: o.files / "new.backup",
        "weak_passphrase",
        2,
        lambda path: [
            (
                "The backup passphrase is only spaces: choose one of at least 8 characters "
                "that are not all spaces.",
                "备份口令只有空格：请选择至少 8 个字符、且不全是空格的口令。",
            )
        ],
        passphrase=None,
        stdin=" " * 8 + "\n",
    ),
]


# -- running them ------------------------------------------------------------------------------


@dataclass
class Run:
    """One command line of the sweep and what came of it."""

    argv: list[str]
    language: str  # "zh" (the default, no --lang) or "en"
    stdin: str = ""
    env: dict[str, str | None] = field(default_factory=dict)
    status: int = 0
    stdout: str = ""
    stderr: str = ""
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sweep:
    restores: dict[tuple[str, str], list[Run]]  # by (case, target)
    backups: dict[str, list[Run]]  # by case
    paths: dict[str, str]  # the path each case gave
    before: dict[str, dict[str, Any]]  # the state of the site and the empty one before
    backup_targets: dict[str, dict[str, Any]]  # each backup case's path: (exists, bytes)


def _in_batch(site: Site, runs: list[Run], scratch: Path) -> None:
    """Run in one process (cli_batch.py), in Chinese by default (no PREPAID_LANG)."""
    output = scratch / f"batch-{uuid.uuid4().hex[:8]}.json"
    request = {
        "site": {"root": str(site.root), "database_url": site.database_url},
        "cases": [{"argv": r.argv, "stdin": r.stdin, "env": r.env} for r in runs],
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "cli_batch.py"), str(output)],
        input=json.dumps(request),
        env=site.env(PREPAID_LANG=""),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for run, result in zip(runs, json.loads(output.read_text()), strict=True):
        run.status, run.stdout, run.stderr = result["status"], result["stdout"], result["stderr"]
        run.state = result["state"]


def _languages(argv: list[str], **kw: Any) -> list[Run]:
    return [Run(argv, "zh", **kw), Run([*argv, "--lang", "en"], "en", **kw)]


@pytest.fixture(scope="module")
def sweep(origin: Origin, request: pytest.FixtureRequest) -> Sweep:
    empty = new_site(request, origin.root / "empty")
    paths: dict[str, str] = {}
    for number, case in enumerate(CASES):
        made = case.file(origin)
        if isinstance(made, str):
            paths[case.name] = made
        else:
            path = origin.files / f"case-{number}.backup"
            path.write_bytes(made)
            paths[case.name] = str(path)
    restores: dict[tuple[str, str], list[Run]] = {}
    for case in CASES:
        env: dict[str, str | None] = {"PREPAID_BACKUP_PASSPHRASE": case.passphrase}
        argv = ["restore", paths[case.name], "--json"]
        for target in case.targets:
            if target == SITE_FORCE:
                restores[case.name, target] = _languages([*argv, "--force"], env=env)
            else:
                restores[case.name, target] = [Run(argv, "zh", env=env)]
    backups: dict[str, list[Run]] = {}
    backup_targets = {}
    for backup in BACKUP_CASES:
        target = backup.target(origin)
        paths[backup.name] = str(target)
        backup_targets[backup.name] = _file(target)
        argv = ["backup", str(target), "--json", *(["--force"] if backup.force else [])]
        env = {"PREPAID_BACKUP_PASSPHRASE": backup.passphrase}
        backups[backup.name] = _languages(argv, env=env, stdin=backup.stdin)
    before = {"site": site_state(origin.site), "empty": site_state(empty)}
    on_site = [
        run for (_case, target), runs in restores.items() if target != EMPTY_SITE for run in runs
    ]
    on_site += [run for runs in backups.values() for run in runs]
    _in_batch(origin.site, on_site, origin.root)
    _in_batch(
        empty,
        [run for (_c, t), runs in restores.items() if t == EMPTY_SITE for run in runs],
        origin.root,
    )
    return Sweep(restores, backups, paths, before, backup_targets)


def _file(path: Path) -> dict[str, Any]:
    try:
        return {"exists": path.exists(), "bytes": path.read_bytes() if path.is_file() else None}
    except OSError:
        return {"exists": path.exists(), "bytes": None}


def _refused(run: Run, code: str, status: int, messages: list[Messages]) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert run.status == status, (run.argv, run.status, run.stdout, run.stderr)
    refusal = json.loads(run.stdout)
    assert refusal["error"] == code, (run.argv, refusal)
    said = [en if run.language == "en" else zh for en, zh in messages]
    assert refusal["message"] in said, (run.argv, refusal["message"], said)


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_bad_backup_file_is_refused_and_changes_nothing(sweep: Sweep, case: Case) -> None:
    path = sweep.paths[case.name]
    if path == "/proc/self/mem":
        path = str(Path(path).resolve())  # the process's own: its number is not known here
    for target in case.targets:
        for run in sweep.restores[case.name, target]:
            shown = path
            if path.startswith("/proc/"):
                found = re.search(r"/proc/\d+/mem", run.stdout)
                shown = found.group() if found else path
            _refused(run, case.code, case.status, [case.messages(shown)])
            before = sweep.before["empty" if target == EMPTY_SITE else "site"]
            assert run.state == before, (target, run.argv)


@pytest.mark.parametrize("case", BACKUP_CASES, ids=lambda case: case.name)
def test_a_backup_onto_a_path_that_cannot_take_it_is_refused(
    sweep: Sweep, origin: Origin, case: BackupCase
) -> None:
    path = sweep.paths[case.name]
    for run in sweep.backups[case.name]:
        _refused(run, case.code, case.status, case.message(path))
        assert run.state == sweep.before["site"], run.argv  # no audit entry either
    if Path(path).name not in NOT_STATE:  # SQLite's own files: as the database's state says
        assert _file(Path(path)) == sweep.backup_targets[case.name]  # as it was, or absent
    assert not (origin.files / "unplugged").exists()


def test_a_refusal_reads_as_one_line_without_a_traceback(origin: Origin) -> None:
    """What used to escape as a traceback (a header whose scrypt cost is no power of two),
    as a person sees it: one line in Chinese by default, in English with --lang en."""
    data = _good(origin)
    path = origin.files / "changed-cost.backup"
    path.write_bytes(changed(data, CHANGES["scrypt n"](data)))
    said = origin.site.run(
        "restore", str(path), "--force", env={**WITH_PASSPHRASE, "PREPAID_LANG": ""}
    )
    assert (said.returncode, said.stdout) == (2, "")
    assert said.stderr == f"prepaid: {DAMAGED[1]}\n"
    said = origin.site.run("restore", str(path), "--force", "--lang", "en", env=WITH_PASSPHRASE)
    assert (said.returncode, said.stdout, said.stderr) == (2, "", f"prepaid: {DAMAGED[0]}\n")


def _without_file_permission_override() -> None:
    """Run as root would read any file: drop the capabilities that let it (from the bounding
    set, so that the program run keeps none of them); anyone else is held by the mode."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_backup_file_without_read_permission_is_refused(origin: Origin, tmp_path: Path):
    """Into an empty SQLite data directory (nothing of the database is needed to be refused;
    a station without file-permission override could not reach the test's PostgreSQL)."""
    locked = tmp_path / "locked.backup"
    locked.write_bytes(_good(origin))
    locked.chmod(0)
    empty = Site(tmp_path / "empty", None)
    said = empty.run(
        "restore",
        str(locked),
        "--json",
        env={**WITH_PASSPHRASE, "PREPAID_LANG": ""},
        preexec_fn=_without_file_permission_override,
    )
    assert "Traceback" not in said.stderr, said.stderr
    assert said.returncode == 2, said.stdout + said.stderr
    assert json.loads(said.stdout) == {
        "error": "cannot_read",
        "message": f"无法读取 {locked}：没有权限",
    }
    assert not empty.home.exists()


def test_a_backup_from_before_the_digest_still_restores(origin: Origin, request, tmp_path):
    """Files written before the header carried its digest restore as they did."""
    old = tmp_path / "old.backup"
    old.write_bytes(without_digest(_good(origin)))
    restored = new_site(request, tmp_path / "restored")
    done = restored.json("restore", str(old), env=WITH_PASSPHRASE)
    assert done["audit_ok"] and done["audit_matches_backup"] and not done["other_site"]


def test_another_sites_backup_with_force_replaces_the_site_and_says_so(origin: Origin):
    """With --force the administrator means it: the site becomes the backup's, its card key
    with it, and the restore says so."""
    other = origin.other
    said = other.run(
        "restore", str(origin.backup), "--force", env={**WITH_PASSPHRASE, "PREPAID_LANG": ""}
    )
    assert said.returncode == 0, said.stdout + said.stderr
    assert "该备份属于另一个站点：本站点现在使用该站点的卡密钥（secrets.json）" in said.stdout
    assert other.site_key == origin.site.site_key
    assert other.json("audit", "verify")["ok"]
    again = other.json("restore", str(origin.backup), "--force", env=WITH_PASSPHRASE)
    assert again["other_site"] is False  # the same site now


def test_a_backup_onto_an_existing_file_with_force_replaces_it(origin: Origin, tmp_path: Path):
    target = tmp_path / "evening.backup"
    target.write_bytes(b"yesterday's")
    done = origin.site.json("backup", str(target), "--force", env=WITH_PASSPHRASE)
    assert done["file"] == str(target) and target.read_bytes().startswith(b"PREPAID-BACKUP 1\n")
    assert target.stat().st_mode & 0o077 == 0


def test_a_backup_of_the_other_engine_made_by_a_real_site_is_refused(
    origin: Origin, request, tmp_path: Path
):
    """A PostgreSQL backup into a SQLite site and the reverse: each refused, naming both."""
    if not ON_POSTGRES:
        pytest.skip("needs a PostgreSQL site beside a SQLite one (the forged case runs here)")
    sqlite_site = Site(tmp_path / "sqlite", None)
    sqlite_site.init()
    sqlite_backup = tmp_path / "sqlite.backup"
    sqlite_site.json("backup", str(sqlite_backup), env=WITH_PASSPHRASE)
    before = site_state(origin.site)
    refused = origin.site.json(
        "restore", str(sqlite_backup), "--force", env=WITH_PASSPHRASE, status=1
    )
    assert refused == {
        "error": "engine_mismatch",
        "message": engine_mismatch("sqlite", "postgresql")[0],
    }
    assert site_state(origin.site) == before
    empty = Site(tmp_path / "empty", None)
    refused = empty.json(
        "--lang", "zh-hans", "restore", str(origin.backup), env=WITH_PASSPHRASE, status=1
    )
    assert refused == {
        "error": "engine_mismatch",
        "message": engine_mismatch("postgresql", "sqlite")[1],
    }
    assert not empty.home.exists()

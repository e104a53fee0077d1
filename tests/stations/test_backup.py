"""``prepaid backup`` / ``prepaid restore``: round trip, passphrase, overwrite guard, audit.

The restored site is a new data directory (and, on PostgreSQL, a new empty database): the
customer's card still sells there (the site key came back), the audit chain verifies, and a
row edited afterwards is detected.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
from station_kit import HERE, PREPAID, Site, database_url_for, open_customer

from prepaid.backup import MAGIC

PASSPHRASE = "correct horse battery"
WITH_PASSPHRASE = {"PREPAID_BACKUP_PASSPHRASE": PASSPHRASE}


@pytest.fixture(scope="module")
def backed_up(request, tmp_path_factory):
    """A site with a customer, a sale, and a backup of it; returns (site, file). Shared by
    the module's tests, in order: the last one restores over the site."""
    tmp_path = tmp_path_factory.mktemp("backup")
    site = fresh_site(request, tmp_path / "origin")
    site.init()
    site.account, site.price = site.water_account()
    open_customer(site)
    site.json("sell", "--quantity", "2")
    file = tmp_path / "site.backup"
    doc = site.json("backup", str(file), env=WITH_PASSPHRASE)
    assert doc["engine"] in ("sqlite", "postgresql") and doc["audit"]["entries"] > 0
    return site, file


def fresh_site(request, root) -> Site:
    root.mkdir(parents=True, exist_ok=True)
    return Site(root, database_url_for(request, f"restored_{uuid.uuid4().hex[:12]}"))


def test_backup_is_encrypted_and_carries_no_clear_secret(backed_up):
    site, file = backed_up
    data = file.read_bytes()
    assert data.startswith(MAGIC)
    assert site.site_key.hex().encode() not in data and b"card_key" not in data
    assert file.stat().st_mode & 0o077 == 0
    assert site.json("backup", str(file), env=WITH_PASSPHRASE, status=1)["error"] == ("file_exists")


def test_round_trip_into_a_new_site_sells_and_verifies(backed_up, request, tmp_path):
    site, file = backed_up
    restored = fresh_site(request, tmp_path / "elsewhere")
    doc = restored.json("restore", str(file), stdin=PASSPHRASE + "\n")
    assert doc["audit_ok"] and doc["audit_matches_backup"]
    assert restored.json("audit", "verify")["ok"]
    restored.put_card("site", "u1", site.card("site", "u1"))
    fixed = restored.json("correct", "--quantity", "1")
    assert fixed["serial"] == 2  # sale 2 came back, and the card's MAC checks out
    # 审计日志 names what a backup and a restore recorded as people read it, not by its codes
    backup = site.json("--lang", "zh-hans", "audit", "list", "--action", "site.backup")["rows"][0]
    assert backup["changes_label"].splitlines() == [
        f"文件：{file}",
        f"数据库：{backup['after']['engine']}",
        f"审计记录数：{backup['after']['audit_entries']}",
    ]
    restore = restored.json("--lang", "en", "audit", "list", "--action", "site.restore")
    shown = restore["rows"][0]["changes_label"].splitlines()
    assert shown[0] == f"File: {file}" and shown[1].startswith("Backup made at: ")


def test_a_backup_taken_while_another_station_audits_restores_as_matching(request, tmp_path):
    """The manifest's audit head is the one of the database the file carries: an audited
    change another station commits while the backup runs does not make an untouched backup
    restore as one whose chain does not end where the backup's did."""
    site = fresh_site(request, tmp_path / "busy")
    site.init()
    file = tmp_path / "busy.backup"
    doc = site.json(
        "backup", str(file), argv0=[sys.executable, str(HERE / "faulty_prepaid.py")],
        env={**WITH_PASSPHRASE, "PREPAID_FAULT": "audit_during_backup"},
    )  # fmt: skip
    restored = fresh_site(request, tmp_path / "copy")
    back = restored.json("restore", str(file), stdin=PASSPHRASE + "\n")
    assert back["audit_ok"], back
    assert back["audit_matches_backup"], (doc["audit"], back["audit_entries"])
    assert back["audit_entries"] == doc["audit"]["entries"]


def test_restore_says_in_chinese_that_the_chain_is_intact(backed_up, request, tmp_path):
    _site, file = backed_up
    restored = fresh_site(request, tmp_path / "elsewhere")
    said = restored.run("restore", str(file), stdin=PASSPHRASE + "\n", env={"PREPAID_LANG": ""})
    assert said.returncode == 0, said.stderr
    assert "审计链完整：是" in said.stdout and "True" not in said.stdout
    assert "营业厅的数据已回到备份时" in said.stdout  # the office is back at the backup's time


def test_wrong_passphrase_and_tampered_file_are_refused(backed_up, request, tmp_path):
    _site, original = backed_up
    file = tmp_path / "copy.backup"
    file.write_bytes(original.read_bytes())
    restored = fresh_site(request, tmp_path / "elsewhere")
    wrong = restored.json(
        "restore", str(file), env={"PREPAID_BACKUP_PASSPHRASE": "x" * 12}, status=1
    )
    assert wrong == {"error": "bad_passphrase", "message": "Wrong passphrase for this backup."}
    data = bytearray(file.read_bytes())
    data[-40] ^= 0x01
    file.write_bytes(bytes(data))
    # the file's digest tells a damaged file from a wrong passphrase (test_backup_damaged.py)
    tampered = restored.json("restore", str(file), env=WITH_PASSPHRASE, status=2)
    assert tampered["error"] == "backup_damaged"
    assert not (restored.home / "secrets.json").exists()


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_restore_onto_a_full_disk_is_refused_clearly(backed_up, request, tmp_path):
    """No room for the database: a plain refusal naming the data directory, not a traceback,
    and no site key left behind (so the restore can simply be run again)."""
    if os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() == "postgres":
        pytest.skip("SQLite's own file")
    _site, file = backed_up
    restored = fresh_site(request, tmp_path / "cramped")
    result = restored.run(
        "restore", str(file), "--json", env=WITH_PASSPHRASE,
        preexec_fn=_file_size_limit(16 * 1024),
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    refused = json.loads(result.stdout)
    assert refused["error"] == "cannot_write" and str(restored.home) in refused["message"]
    assert not (restored.home / "secrets.json").exists()
    again = restored.json("restore", str(file), env=WITH_PASSPHRASE)
    assert again["audit_ok"] and again["audit_matches_backup"]


def test_a_backup_with_no_room_for_its_copy_is_refused_clearly(backed_up, tmp_path):
    """The database copy cannot be written (a full temporary directory): a plain refusal
    naming the directory, not a traceback, and no backup file."""
    if os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() == "postgres":
        pytest.skip("SQLite's own copy")
    site, _file = backed_up
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    target = tmp_path / "cramped.backup"
    site.sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = (site.home / "prepaid.sqlite3").stat().st_size  # the copy's size: it cannot fit
    result = site.run(
        "backup", str(target), "--json", env={**WITH_PASSPHRASE, "TMPDIR": str(scratch)},
        preexec_fn=_file_size_limit(size - 4096),
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    refused = json.loads(result.stdout)
    assert refused["error"] == "cannot_write" and str(scratch) in refused["message"]
    assert not target.exists() and list(scratch.iterdir()) == []


def _serving(site: Site) -> subprocess.Popen[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = site.popen("serve", "--port", str(port), station="site")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            assert server.poll() is None, server.communicate()
            time.sleep(0.2)
    server.kill()
    raise AssertionError("prepaid serve did not start")


def test_restore_while_the_web_server_serves_this_directory_is_refused(request, tmp_path):
    """Restoring under a running ``prepaid serve`` would swap the database under its
    sales and sessions: refused until it is stopped, the site untouched."""
    site = fresh_site(request, tmp_path / "served")
    site.init()
    file = tmp_path / "served.backup"
    site.json("backup", str(file), env=WITH_PASSPHRASE)
    later = site.json("user", "register", "--name", "赵六")["user_number"]
    server = _serving(site)
    try:
        refused = site.json("restore", str(file), "--force", env=WITH_PASSPHRASE, status=1)
        assert refused["error"] == "server_running", refused
        assert "prepaid serve" in refused["message"]
        assert site.json("user", "show", later)["name"] == "赵六"
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    back = site.json("restore", str(file), "--force", env=WITH_PASSPHRASE)
    assert back["audit_ok"] and back["audit_matches_backup"]


def _locked(lock_file) -> bool:
    """Whether some process holds the data directory's lock."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_restore_while_a_command_runs_on_this_directory_is_refused(request, tmp_path):
    """A command on the database (here a backup waiting for its passphrase) holds the data
    directory's lock as the web server does: the restore is refused while it runs, the site
    untouched, and the command goes on undisturbed."""
    site = fresh_site(request, tmp_path / "busy")
    site.init()
    file = tmp_path / "busy.backup"
    site.json("backup", str(file), env=WITH_PASSPHRASE)
    later = site.json("user", "register", "--name", "赵六")["user_number"]
    command = subprocess.Popen(
        [str(PREPAID), "backup", str(tmp_path / "second.backup"), "--json"],
        env=site.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _locked(site.home / ".serving.lock"):
            assert command.poll() is None and time.monotonic() < deadline, command.communicate()
            time.sleep(0.1)
        refused = site.json("restore", str(file), "--force", env=WITH_PASSPHRASE, status=1)
        assert refused["error"] == "server_running", refused
        assert str(site.home) in refused["message"] and "command" in refused["message"]
        assert site.json("user", "show", later)["name"] == "赵六"
    finally:
        out, err = command.communicate(PASSPHRASE + "\n", timeout=120)
    assert command.returncode == 0, out + err
    back = site.json("restore", str(file), "--force", env=WITH_PASSPHRASE)
    assert back["audit_ok"] and back["audit_matches_backup"]


def test_a_card_sold_to_after_the_backup_is_named_and_brought_back(request, tmp_path):
    """A restore takes the office back to the backup's time, and says so. A card sold to since
    is refused with a message naming the purchase the office does not know, and the way
    docs/backup.md gives (reissue; zero and setting card at the meter; meter change onto it)
    brings the meter and the office together again: no credit lost, none twice."""
    site = fresh_site(request, tmp_path / "stepped-back")
    site.init()
    site.account, site.price = site.water_account()
    number, meter = open_customer(site)
    file = tmp_path / "before.backup"
    site.json("backup", str(file), env=WITH_PASSPHRASE)
    assert site.json("sell", "--quantity", "2")["serial"] == 2
    assert site.swipe(meter, "site", "u1", 1_700_000_200).ok
    balance_centi = meter.balance_centi  # 5.00 pre-stored + 10.00 + 2.00
    restored = site.run("restore", str(file), "--force", env=WITH_PASSPHRASE)
    assert restored.returncode == 0, restored.stderr
    assert "The office is back at" in restored.stdout and "docs/backup.md" in restored.stdout
    refused = site.json("sell", "--quantity", "1", status=1)
    assert refused["error"] == "card_mismatch"
    assert "purchase 2" in refused["message"] and "backup" in refused["message"]
    assert "administrator" in refused["message"]
    checked = site.json("reconcile")  # the card in the reader is checked against the office
    assert checked["card_error"]["error"] == "card_mismatch", checked
    for args in (
        ("card", "blank", "u2"), ("card", "insert", "u2"), ("card", "format"),
        ("reissue", number, "--fee", "0"),
        ("card", "blank", "zero"), ("card", "insert", "zero"),
        ("card", "make", "zero", "--account", str(site.account)),
    ):  # fmt: skip
        site.json(*args)
    assert site.swipe(meter, "site", "zero", 1_700_000_300).ok
    assert site.swipe(meter, "site", "set-u1", 1_700_000_360).ok
    site.json("card", "insert", "u2")
    site.json("meter-change", "--remaining", "17.00", "--reason", "restore")
    assert site.swipe(meter, "site", "u2", 1_700_000_420).ok
    assert meter.balance_centi == balance_centi
    assert site.json("sell", "--quantity", "1")["serial"] > 2
    assert site.swipe(meter, "site", "u2", 1_700_000_480).ok
    assert meter.balance_centi == balance_centi + 100


def test_tampered_audit_row_after_restore_is_detected(backed_up, request, tmp_path):
    _site, file = backed_up
    restored = fresh_site(request, tmp_path / "elsewhere")
    restored.json("restore", str(file), env=WITH_PASSPHRASE)
    forge = (
        "UPDATE audit_auditentry SET station = 'forged' "
        "WHERE id = (SELECT min(id) + 3 FROM audit_auditentry)"
    )
    # the restored database refuses the edit (its append-only triggers came back with it) …
    with pytest.raises(Exception, match="audit_append_only: UPDATE refused"):
        restored.sql(forge)
    # … and the chain finds it once someone has dropped them (docs/decisions/0014)
    if restored.database_url is None:
        restored.sql("DROP TRIGGER audit_entries_append_only_update")
    else:
        restored.sql("DROP TRIGGER audit_entries_append_only ON audit_auditentry")
    restored.sql(forge)
    broken = restored.json("audit", "verify", status=1)
    assert broken["error"] == "audit_broken" and broken["first_bad_id"] is not None


def test_a_backup_made_before_the_append_only_guard_is_restored_with_it(request, tmp_path):
    """A backup of a database without the ledger's and the audit log's append-only triggers
    (an older Prepaid's: ``vending`` and ``audit`` migrations 0006 not applied) is restored, and
    the restore's migrations put them in place (docs/decisions/0014)."""
    old = fresh_site(request, tmp_path / "old")
    old.init()
    old.account, old.price = old.water_account()
    open_customer(old)
    for app, migration in (
        ("vending", "0005_purchase_cover_by_time_and_period"),
        ("audit", "0005_receipt_prints_of_any_object"),
    ):
        back = old.run(
            "migrate",
            app,
            migration,
            argv0=[sys.executable, "-m", "django"],
            env={"DJANGO_SETTINGS_MODULE": "prepaid.settings"},
        )
        assert back.returncode == 0, back.stderr
    old.sql("UPDATE vending_ledgerentry SET remarks = remarks")  # not refused there yet
    file = tmp_path / "old.backup"
    old.json("backup", str(file), env=WITH_PASSPHRASE)

    restored = fresh_site(request, tmp_path / "restored")
    assert restored.json("restore", str(file), env=WITH_PASSPHRASE)["audit_ok"]
    for statement in (
        "UPDATE vending_ledgerentry SET remarks = 'x'",
        "DELETE FROM audit_auditentry",
    ):
        with pytest.raises(Exception, match=r"(ledger|audit)_append_only: (UPDATE|DELETE) refused"):
            restored.sql(statement)
    assert restored.json("audit", "verify")["ok"]


def test_restore_over_a_site_a_station_is_still_connected_to_is_refused(backed_up):
    site, file = backed_up
    if not site.database_url:
        pytest.skip("PostgreSQL: the other stations are other computers")
    import psycopg

    later = site.json("user", "register", "--name", "钱七")["user_number"]
    # another station mid-command: its connection is open on the database
    with psycopg.connect(site.database_url, application_name="prepaid counter-9"):
        refused = site.json("restore", str(file), "--force", env=WITH_PASSPHRASE, status=1)
    assert refused["error"] == "stations_connected", refused
    assert "prepaid counter-9" in refused["message"]
    assert site.json("user", "show", later)["user_number"] == later  # nothing restored


def test_a_session_of_another_role_is_seen_by_a_station_role_that_is_no_superuser(
    request, tmp_path
):
    """As docs/stations.md sets a site up: the stations connect as a role of their own, which
    PostgreSQL shows only part of the other roles' sessions (no backend type). A ``psql`` left
    open as ``postgres`` is still a session on the database."""
    if os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() != "postgres":
        pytest.skip("PostgreSQL: the other stations are other computers")
    import psycopg

    server = request.getfixturevalue("postgres_server")
    suffix = uuid.uuid4().hex[:12]
    role, database = f"station_{suffix}", f"site_{suffix}"
    server.psql(f'CREATE ROLE "{role}" LOGIN')
    server.psql(f'CREATE DATABASE "{database}" OWNER "{role}"')
    superuser_url = server.url(database)
    site = Site(tmp_path / "site", superuser_url.replace("postgres@", f"{role}@", 1))
    site.init()
    file = tmp_path / "site.backup"
    site.json("backup", str(file), env=WITH_PASSPHRASE)
    with psycopg.connect(superuser_url, application_name="psql"):
        refused = site.json("restore", str(file), "--force", env=WITH_PASSPHRASE, status=1)
    assert refused["error"] == "stations_connected", refused
    assert "psql" in refused["message"]


def test_restore_over_a_site_in_use_needs_force(backed_up):
    site, file = backed_up
    later = site.json("user", "register", "--name", "赵六")["user_number"]
    refused = site.json("restore", str(file), env=WITH_PASSPHRASE, status=1)
    assert refused["error"] == "restore_would_overwrite"
    if site.database_url:  # the other stations are other computers: the refusal says so
        assert "every station" in refused["message"], refused
    assert site.json("user", "show", later)["user_number"] == later
    site.json("restore", str(file), "--force", env=WITH_PASSPHRASE)
    assert site.json("user", "show", later, status=2)["error"] == "unknown_customer"
    assert site.json("audit", "verify")["ok"]


# -- the database and secrets.json change together --------------------------------------------

RESTORING = "secrets.json.restoring"


@pytest.fixture
def two_sites(request, tmp_path):
    """A site in use and a backup of another site (a card key of its own) to restore over it."""
    site = fresh_site(request, tmp_path / "ours")
    site.init()
    other = fresh_site(request, tmp_path / "theirs")
    other.init()
    file = tmp_path / "theirs.backup"
    other.json("backup", str(file), env=WITH_PASSPHRASE)
    ours, theirs = _fingerprints(site), _fingerprints(other)
    assert ours[0] == ours[1] and theirs[0] == theirs[1] and ours != theirs
    return site, theirs[0], file


def _fingerprints(site: Site, secrets: str = "secrets.json") -> tuple[str | None, str]:
    """The card key fingerprint the site's database recorded (``wrong_site_secrets`` compares
    with it), and that of the card key in its data directory's ``secrets``."""
    from prepaid.core.card.mac import site_key_fingerprint

    rows = site.sql("SELECT fingerprint FROM cards_sitekey")
    key = json.loads((site.home / secrets).read_text())["card_key"]
    return (rows[0][0] if rows else None), site_key_fingerprint(bytes.fromhex(key))


def _restore_with(fault: str, site: Site, file) -> subprocess.CompletedProcess[str]:
    return site.run(
        "restore", str(file), "--force", "--json",
        argv0=[sys.executable, str(HERE / "faulty_prepaid.py")],
        env={**WITH_PASSPHRASE, "PREPAID_FAULT": fault},
    )  # fmt: skip


@pytest.mark.parametrize("fault", ["secrets_no_room", "restore_load_fails"])
def test_a_restore_that_fails_changes_neither_the_database_nor_the_secrets(two_sites, fault):
    """No room for the backup's secrets.json, or a database load that fails: the database
    keeps its card key and secrets.json keeps the same, so the station still works."""
    site, _theirs, file = two_sites
    before = _fingerprints(site)
    result = _restore_with(fault, site, file)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    assert json.loads(result.stdout)["error"] == "cannot_write"
    assert _fingerprints(site) == before
    assert not (site.home / RESTORING).exists()
    assert site.json("reconcile")  # the card key is the site's: no wrong_site_secrets


def test_a_restore_cut_short_after_its_database_load_is_told_and_run_again(two_sites):
    """Killed between the database load and the rename of the secrets: the station refuses
    (wrong_site_secrets) rather than misread a card, the restored site's secrets are beside
    secrets.json, and the restore run again puts the pair right."""
    site, theirs, file = two_sites
    result = _restore_with("after_restore_load", site, file)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    assert _fingerprints(site)[0] == theirs != _fingerprints(site)[1]
    assert _fingerprints(site, RESTORING) == (theirs, theirs)
    assert (site.home / RESTORING).stat().st_mode & 0o777 == 0o600
    assert site.json("reconcile", status=1)["error"] == "wrong_site_secrets"
    again = site.json("restore", str(file), "--force", env=WITH_PASSPHRASE)
    assert again["audit_ok"] and not again["other_site"]
    assert _fingerprints(site) == (theirs, theirs)
    assert not (site.home / RESTORING).exists()
    assert (site.home / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_a_restore_whose_secrets_cannot_be_renamed_into_place_says_where_they_are(two_sites):
    site, theirs, file = two_sites
    result = _restore_with("secrets_rename_fails", site, file)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    refused = json.loads(result.stdout)
    assert refused["error"] == "secrets_not_in_place"
    assert str(site.home / RESTORING) in refused["message"]
    assert _fingerprints(site, RESTORING) == (theirs, theirs)
    (site.home / RESTORING).rename(site.home / "secrets.json")  # as the message says
    site.init()
    assert _fingerprints(site) == (theirs, theirs)
    assert site.json("reconcile") and site.json("audit", "verify")["ok"]


def test_a_refused_restore_leaves_an_empty_data_directory_empty(backed_up, tmp_path):
    """A data directory made ready (empty) for a site to be restored into: a wrong passphrase
    or a compressed file is refused, and the directory is as it was, without even the lock
    file the restore held while it ran."""
    import gzip

    _site, file = backed_up
    empty = Site(tmp_path / "new", None)
    empty.home.mkdir(parents=True)
    compressed = tmp_path / "site.backup.gz"
    compressed.write_bytes(gzip.compress(file.read_bytes()))
    wrong = empty.json("restore", str(file), env={"PREPAID_BACKUP_PASSPHRASE": "x" * 12}, status=1)
    assert wrong["error"] == "bad_passphrase"
    assert list(empty.home.iterdir()) == []
    refused = empty.json("restore", str(compressed), env=WITH_PASSPHRASE, status=2)
    assert refused["error"] == "not_a_backup" and "compressed (gzip)" in refused["message"]
    assert list(empty.home.iterdir()) == []

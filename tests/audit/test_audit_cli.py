"""``prepaid audit verify`` as an operator reads it: the whole refusal in Chinese by default."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "Audit-cli-pw-1"


def _prepaid(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREPAID_")}
    env.pop("DATABASE_URL", None)
    env.update(PREPAID_HOME=str(home), PREPAID_PASSWORD=PASSWORD)
    return subprocess.run(
        [sys.executable, "-m", "prepaid", "--json", *args],
        env=env,
        input="Clerk-pw-12345\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "data"
    assert _prepaid(home, "init", "--admin-password", PASSWORD).returncode == 0
    for name in ("a1", "a2", "a3"):
        assert _prepaid(home, "operator", "add", name, "--role", "operator").returncode == 0
    return home


def _sql(home: Path, statement: str) -> None:
    with sqlite3.connect(home / "prepaid.sqlite3") as connection:
        connection.execute(statement)


def _tamper(home: Path, statement: str) -> None:
    """An edit of the log by someone who first drops the database's append-only triggers,
    which refuse it otherwise (docs/decisions/0014): the chain still finds it."""
    with pytest.raises(sqlite3.IntegrityError, match="audit_append_only"):
        _sql(home, statement)
    _sql(home, "DROP TRIGGER audit_entries_append_only_update")
    _sql(home, "DROP TRIGGER audit_entries_append_only_delete")
    _sql(home, statement)


def test_an_edited_entry_is_reported_in_chinese(home):
    _tamper(home, "UPDATE audit_auditentry SET operator_name = 'x' WHERE id = 2")
    result = _prepaid(home, "audit", "verify")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["error"] == "audit_broken"
    assert document["message"] == "审计日志在第 2 条记录处被篡改：记录内容与其哈希不符。"


def test_entries_missing_at_the_end_are_reported_without_an_entry_number(home):
    _tamper(home, "DELETE FROM audit_auditentry WHERE id = (SELECT max(id) FROM audit_auditentry)")
    result = _prepaid(home, "audit", "verify")
    assert result.returncode == 1
    assert json.loads(result.stdout)["message"] == "审计日志已被篡改：日志末尾的记录缺失。"
    english = _prepaid(home, "--lang", "en", "audit", "verify")
    assert json.loads(english.stdout)["message"] == (
        "The audit log has been tampered with: rows are missing at the end of the log."
    )


def test_no_data_directory_is_said_plainly(tmp_path):
    result = _prepaid(tmp_path / "nowhere", "audit", "verify")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"] == "no_data_directory"
    assert not (tmp_path / "nowhere").exists()

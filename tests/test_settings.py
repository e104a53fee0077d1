"""The database settings: an SQLite file named by ``DATABASE_URL`` is as durable as the
default one (WAL, synchronous=FULL, IMMEDIATE transactions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = (
    "import json, django\n"
    "django.setup()\n"
    "from django.db import connection\n"
    "with connection.cursor() as c:\n"
    "    c.execute('PRAGMA journal_mode'); mode = c.fetchone()[0]\n"
    "    c.execute('PRAGMA synchronous'); sync = c.fetchone()[0]\n"
    "print(json.dumps({'name': str(connection.settings_dict['NAME']), 'mode': mode,\n"
    "    'sync': sync, 'begin': connection.settings_dict['OPTIONS'].get('transaction_mode')}))\n"
)


def test_sqlite_named_by_url_keeps_its_pragmas(tmp_path):
    path = tmp_path / "office.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREPAID_")}
    env.update(
        DATABASE_URL=f"sqlite:///{path}",
        PREPAID_HOME=str(tmp_path / "home"),
        DJANGO_SETTINGS_MODULE="prepaid.settings",
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found == {"name": str(path), "mode": "wal", "sync": 2, "begin": "IMMEDIATE"}


def test_the_log_level_is_read_in_any_case_and_defaults_to_warnings(monkeypatch):
    import pytest

    from prepaid.logs import BadLogLevel, log_level

    for value, level in (("info", "INFO"), (" Debug ", "DEBUG"), ("", "WARNING")):
        monkeypatch.setenv("PREPAID_LOG_LEVEL", value)
        assert log_level() == level
    monkeypatch.delenv("PREPAID_LOG_LEVEL")
    assert log_level() == "WARNING"
    for value in ("LOUD", "10", "warning!"):
        monkeypatch.setenv("PREPAID_LOG_LEVEL", value)
        with pytest.raises(BadLogLevel) as refused:
            log_level()
        assert refused.value.value == value

"""A station whose database cannot be reached says so, and what to check, in its language."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from prepaid.home import DataHome


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def _sell(home, *extra: str) -> subprocess.CompletedProcess[str]:
    url = f"postgresql://prepaid:pw@127.0.0.1:{_closed_port()}/prepaid"
    env = {
        **os.environ,
        "PREPAID_HOME": str(home),
        "DATABASE_URL": url,
        "PREPAID_PASSWORD": "whatever-1",
    }
    env.pop("PREPAID_LANG", None)
    return subprocess.run(
        [sys.executable, "-m", "prepaid", "sell", "--quantity", "1", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_database_that_cannot_be_reached_is_named_as_such(tmp_path):
    home = tmp_path / "data"
    DataHome(home).ensure_secrets()

    refused = _sell(home, "--json")
    assert refused.returncode == 1, refused.stderr
    doc = json.loads(refused.stdout)
    assert doc["error"] == "database_unavailable"
    assert "DATABASE_URL" in doc["message"] and "无法连接数据库" in doc["message"]
    assert "reconcile" not in doc["message"]  # nothing was done: nothing to settle

    english = _sell(home, "--lang", "en")
    assert english.returncode == 1
    assert "Cannot connect to the database" in english.stderr, english.stderr
    assert "DATABASE_URL" in english.stderr


def test_sqlite_files_failing_as_the_connection_is_made_are_a_storage_error(tmp_path, monkeypatch):
    """A full disk can fail SQLite while the connection is still being set up (its
    shared-memory index is written then): that is the storage, not a database server that
    cannot be reached, and the operator is told to settle with the card."""
    import argparse

    from django.db import OperationalError

    from prepaid.cli import main
    from prepaid.cli.context import Context

    def handler(ctx, args):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(main, "_connected", False)  # failed before the connection was made
    ctx = Context(home=DataHome(tmp_path / "data"), json_output=True, language="en")
    args = argparse.Namespace(handler=handler, needs_django=True, home_alone=True)
    out = []
    monkeypatch.setattr(sys.stdout, "write", out.append)
    assert main.run(ctx, args) == 1
    doc = json.loads("".join(out))
    assert doc["error"] == "database_error", doc
    assert "reconcile" in doc["message"] and "DATABASE_URL" not in doc["message"]
    # a card written just before the failure may carry a purchase not yet booked: the
    # operator settles it by reading the card before any money changes hands
    assert "收款或退款之前，请先重新读卡" in doc["message"], doc


def test_a_station_without_the_postgresql_driver_is_told_to_install_it(tmp_path):
    """``make install`` installs without the ``postgres`` extra: a station pointed at
    PostgreSQL then names the missing driver and how to install it, instead of a traceback."""
    home = tmp_path / "data"
    DataHome(home).ensure_secrets()
    without_driver = (
        "import sys; sys.modules['psycopg'] = sys.modules['psycopg2'] = None; "
        "from prepaid.cli.main import main; raise SystemExit(main())"
    )
    env = {
        **os.environ,
        "PREPAID_HOME": str(home),
        "DATABASE_URL": "postgresql://prepaid:pw@127.0.0.1:5432/prepaid",
        "PREPAID_PASSWORD": "whatever-1",
    }
    env.pop("PREPAID_LANG", None)
    for lang, expected in (("zh-hans", "未安装"), ("en", "is not installed")):
        refused = subprocess.run(
            [sys.executable, "-c", without_driver, "--json", "--lang", lang, "account", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode == 1, refused.stderr
        assert "Traceback" not in refused.stderr, refused.stderr
        doc = json.loads(refused.stdout)
        assert doc["error"] == "postgres_driver_missing"
        assert expected in doc["message"] and "prepaid[postgres]" in doc["message"], doc


def test_an_office_time_zone_that_is_none_is_bad_input(tmp_path):
    home = tmp_path / "data"
    DataHome(home).ensure_secrets()
    env = {**os.environ, "PREPAID_HOME": str(home), "PREPAID_TIME_ZONE": "Mars/Olympus"}
    env.pop("PREPAID_LANG", None)
    refused = subprocess.run(
        [sys.executable, "-m", "prepaid", "--json", "account", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    doc = json.loads(refused.stdout)
    assert doc["error"] == "bad_time_zone" and "Mars/Olympus" in doc["message"], doc
    assert "时区" in doc["message"], doc


def test_a_log_level_that_is_none_is_bad_input_and_the_server_does_not_start(tmp_path):
    """Not Django's “Unable to configure root logger” traceback: the value refused in the
    operator's language, exit 2, before anything runs — the server included."""
    home = tmp_path / "data"
    DataHome(home).ensure_secrets()
    env = {**os.environ, "PREPAID_HOME": str(home), "PREPAID_LOG_LEVEL": "LOUD"}
    env.pop("PREPAID_LANG", None)
    levels = "DEBUG, INFO, WARNING, ERROR, CRITICAL"
    expected = f"PREPAID_LOG_LEVEL 不是日志级别：LOUD。请填写以下之一：{levels}。"
    refused = subprocess.run(
        [sys.executable, "-m", "prepaid", "--json", "account", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    assert json.loads(refused.stdout) == {"error": "bad_log_level", "message": expected}
    server = subprocess.run(
        [sys.executable, "-m", "prepaid", "serve", "--port", str(_closed_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert server.returncode == 2, server.stderr
    assert "Traceback" not in server.stderr, server.stderr
    assert expected in server.stderr

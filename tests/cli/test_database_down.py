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

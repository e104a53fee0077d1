"""``prepaid serve`` (and so ``make run``) on a port another program holds says so at once, in
the operator's language, and how to choose another port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from prepaid.home import DataHome


def _serve(home, port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREPAID_HOME": str(home)}
    env.pop("PREPAID_LANG", None)
    return subprocess.run(
        [sys.executable, "-m", "prepaid", "serve", "--port", str(port), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_port_in_use_is_refused_clearly(tmp_path):
    home = tmp_path / "data"
    DataHome(home).ensure_secrets()
    DataHome(home).create_dirs()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = _serve(home, port, "--json")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        doc = json.loads(refused.stdout)
        assert doc["error"] == "port_in_use"
        assert str(port) in doc["message"] and "PORT=" in doc["message"]
        assert "端口" in doc["message"]
        assert "Traceback" not in refused.stderr and "Connection in use" not in refused.stderr
        english = _serve(home, port, "--lang", "en")
        assert english.returncode == 1
        assert f"Port {port} on 127.0.0.1 is already in use" in english.stderr, english.stderr


def _first_line_served(home, *extra: str) -> str:
    """Start ``prepaid serve`` on a free port and return the line it says once it serves."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PREPAID_HOME": str(home), "PREPAID_WEB_WORKERS": "2"}
    env.pop("PREPAID_LANG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "prepaid", "serve", "--port", str(port), *extra],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        for line in server.stderr:  # the first line is the server's own, once it listens
            assert f"127.0.0.1:{port}" in line, line
            return line
        raise AssertionError("prepaid serve stopped without a word")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_server_says_where_it_serves_in_the_stations_language(tmp_path):
    """``make run`` ends with this line: the operator reads it in their language."""
    home = tmp_path / "data"
    env = {**os.environ, "PREPAID_HOME": str(home)}
    made = subprocess.run(
        [sys.executable, "-m", "prepaid", "init", "--admin-password", "Serve-admin-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    chinese = _first_line_served(home)
    assert "预付费系统" in chinese and "Ctrl+C" in chinese and "serving" not in chinese, chinese
    english = _first_line_served(home, "--lang", "en")
    assert english.startswith("Prepaid serving on http://127.0.0.1:"), english

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

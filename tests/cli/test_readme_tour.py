"""The README's demo office, typed as it stands by a new user after ``make install``: every
command succeeds (the demo sized down to keep the test short)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## A tour without hardware", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the tour has a shell block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_the_readme_demo_commands_work_as_typed(tmp_path):
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "prepaid").symlink_to(Path(sys.executable).with_name("prepaid"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREPAID_")}
    commands = tour_commands()
    assert any("prepaid demo" in c for c in commands)
    for command in commands:
        if command.startswith("make "):
            continue  # serves the result
        command = command.replace("--customers 200 --months 12", "--customers 3 --months 1")
        done = subprocess.run(
            ["bash", "-c", command + " --quiet" if "prepaid demo" in command else command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)

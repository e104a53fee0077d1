"""What an operator reads names the meter type in the operator's language, not by its code."""

from __future__ import annotations

import os
import subprocess
import sys

PASSWORD = "Names-admin-7"


def _run(home, *args: str, lang: str = "zh-hans") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREPAID_")}
    env.pop("DATABASE_URL", None)
    env.update(PREPAID_HOME=str(home), PREPAID_PASSWORD=PASSWORD, PREPAID_LANG=lang)
    result = subprocess.run(
        [sys.executable, "-m", "prepaid", *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_account_and_setting_card_show_the_meter_type_by_name(tmp_path):
    home = tmp_path / "data"
    _run(home, "init", "--admin-password", PASSWORD)
    created = _run(
        home,
        *"account create --meter-type water --sub-meter 1 --limit 999 --prestore 5".split(),
        *"--alarm 10 --overdraft 5 --maintenance-code 1234".split(),
    )
    assert "（水表，m³）" in created and "water" not in created, created
    listed = _run(home, "account", "list", lang="en")
    assert "(Water, m³)" in listed, listed
    _run(home, "card", "blank", "setting")
    _run(home, "card", "insert", "setting")
    made = _run(home, "card", "make", "setting", "--account", "1")
    assert "仪表类型：水表" in made and "water" not in made, made

"""Fixtures shared by the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from prepaid.home import DataHome

BOSS_PASSWORD = "Boss-admin-pw1"


@pytest.fixture
def home(db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataHome:
    """A data directory of its own (with its secrets) in which commands run in this process
    sign in as the administrator ``boss``; no reader is named, so the virtual one is used."""
    from prepaid.operators.models import Operator, Role

    home = DataHome(tmp_path / "home")
    home.ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home.root))
    monkeypatch.setenv("PREPAID_OPERATOR", "boss")
    monkeypatch.setenv("PREPAID_PASSWORD", BOSS_PASSWORD)
    monkeypatch.delenv("PREPAID_READER", raising=False)
    boss = Operator(username="boss", role=Role.ADMIN, is_staff=True)
    boss.set_password(BOSS_PASSWORD)
    boss.save()
    return home

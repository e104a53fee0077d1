"""The commands that run without Django (``card read``, ``card list``) log as the others do:
``$PREPAID_LOG_LEVEL`` sets the level (a PC/SC reader's APDU trace at DEBUG, through the
same pcscd stack as ``tests/readers``), and a level that is none is refused with
``bad_log_level``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prepaid.home import DataHome
from prepaid.readers.testing_stack import READER_NAME, EmulatedCards, PcscStack

LEVELS = "DEBUG, INFO, WARNING, ERROR, CRITICAL"


def _home(tmp_path: Path) -> DataHome:
    home = DataHome(tmp_path / "home")
    home.ensure_secrets()
    return home


def _prepaid(home: DataHome, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREPAID_", "DJANGO_"))}
    environment.update(PREPAID_HOME=str(home.root), **env)
    return subprocess.run(
        [sys.executable, "-m", "prepaid", *argv],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def blank_card(pcsc_stack: PcscStack, tmp_path: Path) -> Iterator[DataHome]:
    """A data directory, and a blank SLE4442 card with its PSC in the stack's reader."""
    home = _home(tmp_path)
    cards = EmulatedCards(pcsc_stack, "sle4442", psc=home.load_secrets().psc)
    cards.create("c1", b"\xff" * 256)
    cards.insert("c1")
    yield home
    cards.eject()


PCSC = {"PREPAID_READER": "pcsc", "PREPAID_PCSC_READER": READER_NAME}


@pytest.mark.pcsc
def test_card_read_on_a_pcsc_reader_traces_its_apdus_at_debug_level(blank_card: DataHome) -> None:
    traced = _prepaid(blank_card, "--json", "card", "read", PREPAID_LOG_LEVEL="debug", **PCSC)
    assert traced.returncode == 0, traced.stderr
    assert json.loads(traced.stdout)["type"] == "blank"
    assert "APDU > FF B0 00" in traced.stderr, traced.stderr  # the read, as the manuals write it

    quiet = _prepaid(blank_card, "--json", "card", "read", **PCSC)
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["type"] == "blank"
    assert quiet.stderr == ""


@pytest.mark.parametrize("argv", [("card", "read"), ("card", "list")])
def test_a_command_without_django_refuses_a_log_level_that_is_none(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    refused = _prepaid(_home(tmp_path), "--json", *argv, PREPAID_LOG_LEVEL="LOUD")
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    assert json.loads(refused.stdout) == {
        "error": "bad_log_level",
        "message": f"PREPAID_LOG_LEVEL 不是日志级别：LOUD。请填写以下之一：{LEVELS}。",
    }
    english = _prepaid(_home(tmp_path / "en"), *argv, "--lang", "en", PREPAID_LOG_LEVEL="LOUD")
    assert english.returncode == 2
    assert english.stderr == (
        f"prepaid: PREPAID_LOG_LEVEL is no log level: LOUD. Give one of {LEVELS}.\n"
    )

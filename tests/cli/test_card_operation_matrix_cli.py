"""A sample of the card operation matrix (tests/vending/test_card_operation_matrix.py) through
the command line: the refusal's JSON code, the exit status (1 refused, 2 bad input), the
message in Chinese by default and in English with ``--lang en``, and nothing changed.

The commands on the database run in this process (the test database); ``card read``, which
needs no database, and a usage error run as programs too (Django never set up), ``card read``
in this process as well (Django set up by an earlier command: it speaks its own language).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prepaid.home import DataHome
from vending.card_deck import CARDS, Deck, Snapshot, build_deck
from vending.conftest import office_records

pytestmark = pytest.mark.django_db

PASSWORD = "Matrix-admin-pw1"


@dataclass(frozen=True)
class Cell:
    card: str
    command: tuple[str, ...]  # {newcomer}, {customer}, {account}, {price}, {account2}, {price2}
    code: str
    zh: str  # in the Chinese message
    en: str  # in the English one
    status: int = 1


CELLS = [
    Cell("revoked", ("sell", "--quantity", "1"), "card_revoked", "已被补办的新卡取代", "reissued"),
    Cell(
        "blank",
        ("open", "{newcomer}", "--account", "{account}", "--price", "{price}", "--quantity", "10"),
        "not_a_new_card",
        "需要一张新卡（请先制作成新卡）；读卡器上的卡片是空白卡。",
        "the card in the reader is a factory-blank card.",
    ),
    Cell(
        "neighbour's",
        ("open", "{customer}", "--account", "{account2}", "--price", "{price2}", "--amount", "5"),
        "customer_has_card",
        "该用户已有卡片",
        "This customer already has card",
    ),
    Cell(
        "check",
        ("correct", "--quantity", "2"),
        "not_a_user_card",
        "读卡器上的卡片不是用户卡（而是检查卡）。",
        "(it is a check card)",
    ),
    Cell(
        "own",
        ("reissue", "{customer}", "--fee", "5"),
        "not_a_new_card",
        "读卡器中是该用户正在使用的卡",
        "this customer's card in use",
    ),
    Cell(
        "garbage",
        ("meter-change", "--remaining", "3"),
        "bad_card",
        "卡片内容不是本系统的格式",
        "not in this system's format",
    ),
    Cell("no card", ("sell", "--amount", "10"), "no_card", "读卡器上没有卡片。", "no card in the"),
    Cell(
        "damaged",
        ("card", "format"),
        "bad_card",
        "这是用户 00000001 张三 的卡：请在销售界面读卡",
        "It is the card of customer 00000001 张三",
    ),
    Cell(
        "own unswiped",
        ("card", "recycle"),
        "card_not_swiped",
        "该卡没有刷表，请刷表后再进行操作。这是用户 00000001 张三 正在使用的卡",
        "has not been swiped on the meter",
    ),
    Cell(
        "unwritten first card",
        ("card", "make", "zero", "--account", "{account}"),
        "card_not_written",
        "这张新卡是用户 00000002 李四 正在使用的卡",
        "the card in use of customer 00000002 李四",
    ),
    Cell(
        "zero",
        ("card", "read", "--record"),
        "not_a_check_card",
        "读卡器上的卡片不是检查卡（而是清零卡）。",
        "(it is a zero card)",
    ),
    Cell(
        "check with reading",
        ("card", "recycle"),
        "check_reading_unrecorded",
        "该检查卡上的表计读数尚未记录（用户 00000001 张三，子表号 1）",
        "Record the reading first (“Record meter reading” on the reader panel, or “prepaid "
        "card read --record”)",
    ),
    # bad input is refused as such (exit 2), whatever card is in the reader
    Cell(
        "own",
        ("sell", "--quantity", "abc"),
        "not_a_number",
        "充值量必须是数字",
        "Quantity must be a number",
        status=2,
    ),
    Cell(
        "blank",
        ("meter-change", "--remaining", "1.234"),
        "too_many_decimals",
        "用户剩余量最多",
        "Remaining quantity allows at most 2 decimal places",
        status=2,
    ),
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataHome:
    home = DataHome(tmp_path / "home")
    home.create_dirs()
    home.ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home.root))
    monkeypatch.setenv("PREPAID_OPERATOR", "admin")
    monkeypatch.setenv("PREPAID_PASSWORD", PASSWORD)
    monkeypatch.setenv("PREPAID_STATION", "counter-1")
    monkeypatch.delenv("PREPAID_READER", raising=False)
    monkeypatch.delenv("PREPAID_LANG", raising=False)
    return home


@pytest.fixture
def deck(home: DataHome) -> Deck:
    """The deck on this data directory's card store and key, the CLI's admin acting."""
    from prepaid.operators.models import Operator, Role
    from prepaid.readers.virtual import CardStore, VirtualReader
    from prepaid.reports.time_zone import require_office_time_zone
    from prepaid.vending.services import Station

    admin = Operator(username="admin", role=Role.ADMIN, is_staff=True)
    admin.set_password(PASSWORD)
    admin.save()
    account, price, _tiered, customer = office_records(admin)
    store = CardStore(home.cards)
    station = Station(admin, VirtualReader(store), home.load_secrets().card_key, "counter-1")
    deck = build_deck(station, store, account, price, customer)
    require_office_time_zone()  # the first command's, recorded once: not the cell's doing
    return deck


def _argv(cell: Cell, deck: Deck) -> list[str]:
    values = {
        "newcomer": deck.newcomer.user_number,
        "customer": deck.customer.user_number,
        "account": str(deck.account.pk),
        "price": str(deck.price.pk),
        "account2": str(deck.account2.pk),
        "price2": str(deck.price2.pk),
    }
    return [part.format(**values) for part in cell.command]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    from django.utils import translation

    from prepaid.cli.main import main

    capsys.readouterr()
    try:
        status = main([*argv, "--json"])
    finally:
        translation.deactivate()
    out = capsys.readouterr().out
    return status, json.loads(out)


@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: f"{cell.card}: {' '.join(cell.command)}")
def test_a_refusal_through_the_command_line(deck, cell, capsys):
    CARDS[cell.card](deck)
    argv = _argv(cell, deck)
    before = Snapshot(deck)
    status, document = _run(argv, capsys)  # the default language: Chinese
    assert (status, document["error"]) == (cell.status, cell.code), document
    assert cell.zh in document["message"], document["message"]
    status, document = _run([*argv, "--lang", "en"], capsys)
    assert (status, document["error"]) == (cell.status, cell.code), document
    assert cell.en in document["message"], document["message"]
    assert before.changes() == []


def _program(home: DataHome, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prepaid", *args],
        env={**os.environ, "PREPAID_HOME": str(home.root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("card", ["garbage", "wrong size", "another site", "no card"])
def test_card_read_of_a_card_it_cannot_read_as_a_program(home, deck, card):
    """``prepaid card read`` reads any card without the database: one it cannot read is a
    refusal (exit 1) in the operator's language, never a traceback."""
    CARDS[card](deck)
    code = "no_card" if card == "no card" else "bad_card"
    expected = {"zh": "读卡器上没有卡片。", "en": "There is no card in the reader."}
    if code == "bad_card":
        expected = {"zh": "请在销售界面读卡", "en": "Read it at the sale screen"}
    for language, words in expected.items():
        result = _program(home, "card", "read", "--json", "--lang", language)
        assert result.returncode == 1, result
        document = json.loads(result.stdout)
        assert document["error"] == code, document
        assert words in document["message"], document["message"]
        assert result.stderr == ""


UNREADABLE = {
    "garbage": ("bad_card", "请在销售界面读卡", "Read it at the sale screen"),
    "no card": ("no_card", "读卡器上没有卡片。", "There is no card in the reader."),
}


@pytest.mark.parametrize("card", list(UNREADABLE))
def test_card_read_in_this_process_speaks_the_language_of_its_command_line(
    home, deck, card, capsys
):
    """``card read`` starts without Django, but ``main()`` called where Django is set up
    already (this process; a program calling ``prepaid.cli.main``) answers in the language of
    the command line all the same — English with ``--lang en``, then Chinese by default —
    not in the one Django has active."""
    CARDS[card](deck)
    code, zh, en = UNREADABLE[card]
    status, document = _run(["card", "read", "--lang", "en"], capsys)
    assert (status, document["error"]) == (1, code), document
    assert en in document["message"], document["message"]
    status, document = _run(["card", "read"], capsys)
    assert (status, document["error"]) == (1, code), document
    assert zh in document["message"], document["message"]


def test_commands_one_after_another_in_one_process_each_speak_their_own_language(
    home, deck, capsys
):
    """``main()`` called again and again in one process, nothing reset in between: a command
    without Django after one on the database in English is in Chinese by default (and in
    English when asked after one in Chinese), not in the previous command's language."""
    from prepaid.cli.main import main

    CARDS["no card"](deck)
    code, zh, en = UNREADABLE["no card"]
    for argv, words in (
        (["account", "list", "--lang", "en"], None),
        (["card", "read"], zh),
        (["account", "list"], None),
        (["card", "read", "--lang", "en"], en),
    ):
        capsys.readouterr()
        status = main([*argv, "--json"])
        document = json.loads(capsys.readouterr().out)
        if words is None:
            assert status == 0, document
            continue
        assert (status, document["error"]) == (1, code), document
        assert words in document["message"], (argv, document["message"])


def test_a_wrong_tool_card_name_is_bad_usage_as_a_program(home):
    result = _program(home, "card", "make", "bogus", "--json")
    assert result.returncode == 2, result
    document = json.loads(result.stdout)
    assert document["error"] == "usage" and "bogus" in document["message"], document

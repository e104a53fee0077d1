"""补卡 at the command line, as the operator reads it: the manual's 系统会自动显示用户表的上次
购买量 — the purchase the new card carries is shown with 补卡成功."""

from __future__ import annotations

import pytest
from test_walk_cli import Cli, _open, cli  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_reissue_shows_the_last_purchase_the_new_card_carries(cli: Cli) -> None:  # noqa: F811
    number = _open(cli, quantity="10")
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    text = cli("reissue", number, json_output=False)
    assert "补卡成功" in text
    assert "新卡带有子表 1 的第 1 次购买：10.00 m³，金额 34.50。" in text
    assert "补卡之后，用户必须到表上重新刷卡" in text

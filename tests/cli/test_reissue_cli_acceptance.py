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


FIRST_AT_RISK = (
    "注意：新卡上带有子表 1 的首次购买（序号 1，10.00 m³），系统未见任何表已充入。"
    "已设置、尚未绑定用户的备用表也会充入这笔购买：请告知用户只在自家的表上刷新卡；"
    "旧卡如被找回，请交回。"
)


def test_reissue_warns_of_a_first_purchase_no_meter_is_known_to_have_taken(
    cli: Cli,  # noqa: F811
) -> None:
    """The opening written unmarked on the new card: a spare meter, set and not yet bound,
    would credit it too. The text says so, as 补卡成功 does on the web page."""
    number = _open(cli, quantity="10")
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    text = cli("reissue", number, json_output=False)
    assert FIRST_AT_RISK + "\n" in text, text
    assert text.index(FIRST_AT_RISK) < text.index("补卡之后，用户必须到表上重新刷卡")
    cli("card", "blank", "u3")
    cli("card", "insert", "u3")
    cli("card", "format")
    english = cli("reissue", number, json_output=False, lang="en")
    assert (
        "Warning: the new card carries the customer's first purchase 1 (10.00 m³) on "
        "sub-meter 1, which no meter is known to have taken."
    ) in english, english


def test_reissue_gives_no_first_purchase_warning_once_a_meter_took_it(
    cli: Cli,  # noqa: F811
) -> None:
    cli("card", "blank", "set1")
    cli("card", "insert", "set1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    number = _open(cli, quantity="10")
    cli("meter", "swipe", "M1")  # the meter takes the opening and writes back
    cli("sell", "--quantity", "1")  # the office reads the write-back: purchase 2 on the card
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    text = cli("reissue", number, json_output=False)
    assert "补卡成功" in text and "首次购买" not in text, text

"""``prepaid meter …`` through the CLI: JSON shapes (DESIGN §8), exit statuses, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prepaid.core.card import codec
from prepaid.core.card.model import Card, CardType, MeterParameters, MeterType, Slot, SlotKind
from prepaid.home import DataHome
from prepaid.readers.virtual import CardStore

CODE = 1234
PARAMS = MeterParameters(1, MeterType.WATER, CODE, 100_00, 15_00, 3_00, 5_00)
SHOW_KEYS = {
    "meter_id",
    "state",
    "balance",
    "cumulative",
    "alarm",
    "valve",
    "last_serial",
    "result",
}


class Cli:
    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.home = DataHome(home)
        self.home.ensure_secrets()
        self.key = self.home.load_secrets().card_key
        self.cards = CardStore(self.home.cards)
        self.capsys = capsys

    def __call__(self, *argv: str, json_output: bool = True, lang: str = "en") -> tuple[int, Any]:
        from django.utils import translation

        from prepaid.cli.main import main

        self.capsys.readouterr()
        args = [*argv, "--lang", lang] + (["--json"] if json_output else [])
        try:
            status = main(args)
        finally:
            translation.deactivate()
        out = self.capsys.readouterr()
        return status, (json.loads(out.out) if json_output else out.out + out.err)

    def insert(self, name: str, image: bytes) -> None:
        self.cards.create(name, image)
        self.cards.insert(name)

    def card(self, name: str) -> bytes:
        return self.cards.path(name).read_bytes()

    def setting_card(self) -> bytes:
        return codec.encode(
            Card(CardType.SETTING, codec.new_serial(), 1, parameters=PARAMS), self.key
        )

    def user_card(self, serial: int, quantity_centi: int, user: int = 42) -> bytes:
        slot = Slot(1, MeterType.WATER, CODE, serial, quantity_centi)
        card = Card(CardType.USER, codec.new_serial(), 1, user_number=user, slots=(slot,))
        return codec.encode(card, self.key)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    home = tmp_path / "home"
    monkeypatch.setenv("PREPAID_HOME", str(home))
    monkeypatch.delenv("PREPAID_READER", raising=False)
    return Cli(home, capsys)


def bound_meter(cli: Cli) -> None:
    assert cli("meter", "add", "M1")[0] == 0
    cli.insert("setting", cli.setting_card())
    assert cli("meter", "swipe", "M1")[0] == 0
    cli.insert("user", cli.user_card(1, 20_00))
    assert cli("meter", "swipe", "M1")[0] == 0


def test_add_and_show(cli: Cli) -> None:
    status, document = cli("meter", "add", "M1")
    assert status == 0
    assert SHOW_KEYS <= set(document)
    assert {k: document[k] for k in SHOW_KEYS} == {
        "meter_id": "M1",
        "state": "cleared",
        "balance": "0.00",
        "cumulative": "0.00",
        "alarm": False,
        "valve": "closed",
        "last_serial": 0,
        "result": None,
    }
    assert cli("meter", "show", "M1") == (0, document)
    stored = json.loads((cli.home.meters / "M1.json").read_text())
    assert stored["meter_id"] == "M1" and stored["state"] == "cleared"
    status, error = cli("meter", "add", "M1")
    assert status == 1 and error["error"] == "meter_exists"  # a refusal, not bad usage


def test_swipe_setting_and_user_cards_then_use(cli: Cli) -> None:
    cli("meter", "add", "M1")
    setting = cli.setting_card()
    cli.insert("setting", setting)
    status, document = cli("meter", "swipe", "M1")
    assert status == 0
    assert document["state"] == "set" and document["balance"] == "15.00"
    assert document["result"] == "ok" and document["card_type"] == "setting"
    assert document["valve"] == "open" and not document["written_back"]
    assert cli.card("setting") == setting  # a tool card is not written

    user = cli.user_card(1, 20_00)
    cli.insert("user", user)
    status, document = cli("meter", "swipe", "M1")
    assert status == 0
    assert {k: document[k] for k in SHOW_KEYS} == {
        "meter_id": "M1",
        "state": "bound",
        "balance": "35.00",
        "cumulative": "0.00",
        "alarm": False,
        "valve": "open",
        "last_serial": 1,
        "result": "ok",
    }
    assert document["applied"] == "20.00" and document["written_back"]
    written = cli.card("user")
    assert written[codec.OFFICE_AREA] == user[codec.OFFICE_AREA]
    assert codec.decode(written, cli.key).swiped(1)

    status, document = cli("meter", "use", "M1", "2.50")
    assert status == 0
    assert (document["used"], document["requested"]) == ("2.50", "2.50")
    assert (document["balance"], document["cumulative"]) == ("32.50", "2.50")

    status, document = cli("meter", "use", "M1", "100")  # stops at the alarm level
    assert document["used"] == "29.50" and document["valve"] == "closed" and document["alarm"]


def test_refused_swipe_exits_1_with_the_display_code(cli: Cli) -> None:
    bound_meter(cli)
    cli.insert("other", cli.user_card(1, 5_00, user=7))
    status, document = cli("meter", "swipe", "M1")
    assert status == 1
    assert document["error"] == "not_this_meter" and document["result"] == "E04"
    assert "E04" in document["message"]
    assert document["meter_id"] == "M1" and "wrong_meter" in document["status"]
    assert document["balance"] == "35.00" and not document["written_back"]

    forged = bytearray(cli.user_card(2, 50_00))
    forged[0x50] ^= 0x10  # an edited purchase slot
    cli.insert("forged", bytes(forged))
    status, document = cli("meter", "swipe", "M1")
    assert (status, document["error"], document["result"]) == (1, "bad_card", "E01")

    cli.insert("new", codec.encode(Card(CardType.NEW, codec.new_serial(), 1), cli.key))
    status, document = cli("meter", "swipe", "M1")
    assert (status, document["error"], document["result"]) == (1, "not_a_user_card", "E11")
    assert cli("meter", "show", "M1")[1]["result"] == "E11"


def test_a_transfer_without_a_serial_exits_1_as_a_bad_card(cli: Cli) -> None:
    cli("meter", "add", "M1")
    cli.insert("setting", cli.setting_card())
    assert cli("meter", "swipe", "M1")[0] == 0
    slot = Slot(1, MeterType.WATER, CODE, 0, 3_00, SlotKind.TRANSFER)
    card = Card(CardType.USER, codec.new_serial(), 1, user_number=42, slots=(slot,))
    cli.insert("strange", codec.encode(card, cli.key))
    status, document = cli("meter", "swipe", "M1")
    assert (status, document["error"], document["result"]) == (1, "bad_card", "E01")
    assert document["state"] == "set" and document["balance"] == "15.00"
    assert cli("meter", "show", "M1")[1]["result"] == "E01"


def test_refused_over_limit_still_writes_back(cli: Cli) -> None:
    bound_meter(cli)
    card = cli.user_card(2, 70_00)
    cli.insert("big", card)
    status, document = cli("meter", "swipe", "M1")
    assert (status, document["error"], document["result"]) == (1, "over_limit", "E06")
    assert document["written_back"]
    record = codec.decode(cli.card("big"), cli.key).write_back(1)
    assert record is not None and record.result == 6 and record.last_serial == 1


def test_user_card_on_cleared_meter_is_meter_not_set(cli: Cli) -> None:
    cli("meter", "add", "M1")
    cli.insert("user", cli.user_card(1, 1_00))
    status, document = cli("meter", "swipe", "M1")
    assert (status, document["error"], document["result"]) == (1, "meter_not_set", "E03")


def test_swipe_without_card_in_the_reader(cli: Cli) -> None:
    cli("meter", "add", "M1")
    status, document = cli("meter", "swipe", "M1")
    assert status == 1 and document["error"] == "no_card"


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        ("-1", "negative"),
        ("-0.5", "negative"),
        ("0", "zero"),
        ("0.00", "zero"),
        ("abc", "not_a_number"),
        ("NaN", "not_a_number"),
        ("1.234", "too_many_decimals"),
        ("1e30", "not_a_number"),
        ("1" + "0" * 30, "too_large"),
        ("99999999999", "too_large"),
    ],
)
def test_bad_quantity_exits_2(cli: Cli, quantity: str, code: str) -> None:
    cli("meter", "add", "M1")
    status, document = cli("meter", "use", "M1", quantity)
    assert status == 2
    assert document["error"] == code and document["message"]


def test_bad_use_names_the_quantity_used_not_a_purchase(cli: Cli) -> None:
    cli("meter", "add", "M1")
    status, document = cli("meter", "use", "M1", "-1", lang="zh-hans")
    assert status == 2 and document["message"] == "用量不能为负数。"


@pytest.mark.parametrize("action", [("show",), ("swipe",), ("use", "1.00")])
def test_unknown_meter_exits_2(cli: Cli, action: tuple[str, ...]) -> None:
    cli("meter", "add", "M1")
    status, document = cli("meter", action[0], "M2", *action[1:])
    assert status == 2 and document["error"] == "unknown_meter"
    assert "M2" in document["message"]


@pytest.mark.parametrize("meter_id", ["", "a/b", "x" * 33, "..", "M 1", "水 表"])
def test_bad_meter_id_exits_2(cli: Cli, meter_id: str) -> None:
    status, document = cli("meter", "add", meter_id)
    assert status == 2 and document["error"] == "bad_meter_id"


def test_a_meter_named_in_chinese(cli: Cli) -> None:
    assert cli("meter", "add", "张三家水表")[0] == 0
    status, documents = cli("meter", "list")
    assert status == 0 and [d["meter_id"] for d in documents] == ["张三家水表"]


def test_list_and_human_output(cli: Cli) -> None:
    bound_meter(cli)
    cli("meter", "add", "M0")
    status, documents = cli("meter", "list")
    assert status == 0
    assert [(d["meter_id"], d["state"]) for d in documents] == [("M0", "cleared"), ("M1", "bound")]
    status, text = cli("meter", "show", "M1", json_output=False)
    assert status == 0 and "M1" in text and "35.00" in text
    cli.insert("other", cli.user_card(1, 5_00, user=7))
    status, text = cli("meter", "swipe", "M1", json_output=False)
    assert status == 1 and "E04" in text
    status, text = cli("meter", "use", "M1", "x", json_output=False)
    assert status == 2 and "“x”" in text


def test_show_says_what_the_display_shows(cli: Cli) -> None:
    """The display code after the last card, and what it means, in the operator's language."""
    cli("meter", "add", "M0")
    status, text = cli("meter", "show", "M0", json_output=False, lang="zh-hans")
    assert status == 0 and "显示" not in text  # no card inserted yet
    bound_meter(cli)
    status, text = cli("meter", "show", "M1", json_output=False, lang="zh-hans")
    assert "显示：OK" in text
    cli.insert("gap", cli.user_card(3, 1_00))
    assert cli("meter", "swipe", "M1")[0] == 1
    status, text = cli("meter", "show", "M1", json_output=False, lang="zh-hans")
    assert status == 0
    assert "显示：E07 · 缺少一次购买：卡上的购买序号不连续。" in text


def test_the_overdrawn_flag_is_not_the_accounts_overdraft_limit() -> None:
    from django.utils import translation

    from prepaid.cards.documents import METER_FLAG_NAMES

    with translation.override("zh-hans"):
        assert translation.gettext(METER_FLAG_NAMES["overdraft"]) == "透支"
        assert translation.gettext("Overdraft") == "透支量"  # the account's limit
        # the reports name the meter's flags with the same words
        from prepaid.reports.labels import METER_FLAG_LABELS, text_of

        assert text_of(METER_FLAG_LABELS, "overdraft") == "透支"


def test_the_bound_user_number_is_written_as_the_office_writes_it(cli: Cli) -> None:
    """8 digits, as everywhere else in the office (``00000042``), in the JSON and the lines."""
    status, document = cli("meter", "add", "M1")
    assert document["user_number"] is None and document["generation"] is None
    cli.insert("setting", cli.setting_card())
    cli("meter", "swipe", "M1")
    cli.insert("user", cli.user_card(1, 20_00, user=42))
    status, document = cli("meter", "swipe", "M1")
    assert status == 0
    assert (document["user_number"], document["generation"]) == ("00000042", 1)
    status, document = cli("meter", "show", "M1")
    assert document["user_number"] == "00000042"
    status, text = cli("meter", "show", "M1", json_output=False, lang="zh-hans")
    assert "绑定用户 00000042，卡代次 1" in text


def test_human_lines_in_chinese_name_states_valves_flags_and_cards(cli: Cli) -> None:
    """The JSON keeps its codes; the lines an operator reads do not show them."""
    assert cli("meter", "add", "M1")[0] == 0
    cli.insert("setting", cli.setting_card())
    status, text = cli("meter", "swipe", "M1", json_output=False, lang="zh-hans")
    assert status == 0
    assert "已接受该卡（设置卡）" in text and "仪表 M1：已设置，" in text and "阀门 开启" in text
    status, text = cli("card", "list", json_output=False, lang="zh-hans")
    assert status == 0 and "* setting                  设置卡" in text
    cli.insert("user", cli.user_card(1, 20_00))
    cli("meter", "swipe", "M1")
    cli("meter", "use", "M1", "100")  # down to the alarm level: the valve closes
    status, text = cli("meter", "show", "M1", json_output=False, lang="zh-hans")
    assert "已绑定用户" in text and "阀门 关闭" in text and "状态：报警、阀门关闭" in text
    for code in ("bound", "closed", "alarm", "valve_closed"):
        assert code not in text
    status, document = cli("meter", "show", "M1")
    assert (document["state"], document["valve"], document["status"]) == (
        "bound",
        "closed",
        ["alarm", "valve_closed"],
    )


def test_the_installed_command_runs(cli: Cli) -> None:
    import subprocess
    import sys

    prepaid = Path(sys.executable).with_name("prepaid")
    if not prepaid.exists():
        pytest.skip("the prepaid command is not installed next to this Python")
    run = subprocess.run(
        [str(prepaid), "meter", "add", "M9", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={"PREPAID_HOME": str(cli.home.root), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["meter_id"] == "M9"


def test_use_says_why_nothing_more_flows(cli: Cli) -> None:
    """As the simulator page does: when less flows than asked, the valve closed, and the
    operator reads why and what opens it again."""
    cli("meter", "add", "M0")
    status, text = cli("meter", "use", "M0", "1", json_output=False, lang="zh-hans")
    assert status == 0 and "表尚未设置，请先刷设置卡。" in text, text
    bound_meter(cli)
    status, text = cli("meter", "use", "M1", "100", json_output=False, lang="zh-hans")
    assert status == 0 and "请求用量 100.00，实际用量 32.00。" in text, text
    assert "余量已降至报警量，阀门关闭：用户在表上刷卡即可重新打开。" in text, text
    assert cli("meter", "swipe", "M1")[0] == 0  # the card reopens the valve
    status, text = cli("meter", "use", "M1", "100", json_output=False, lang="zh-hans")
    assert "余量已用完（透支量也已用完）：阀门关闭，购买后在表上刷卡才能打开。" in text, text
    status, text = cli("meter", "use", "M1", "0", json_output=False, lang="zh-hans")
    assert "阀门关闭：" not in text, text  # nothing asked, all of it flowed: no reason

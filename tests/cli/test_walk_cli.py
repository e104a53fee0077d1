"""The manual walked through the command line in one process: what the operator reads and the
JSON documents of DESIGN §8, for what the end-to-end walk in test_manual_cli.py leaves out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.account = ""  # the ids of the fixture's account and price
        self.price = ""

    def __call__(
        self, *argv: str, status: int = 0, json_output: bool = True, lang: str = "zh-hans"
    ) -> Any:
        from django.utils import translation

        from prepaid.cli.main import main

        self.capsys.readouterr()
        args = [*argv, "--lang", lang] + (["--json"] if json_output else [])
        try:
            result = main(args)
        finally:
            translation.deactivate()
        out = self.capsys.readouterr()
        assert result == status, out
        return json.loads(out.out) if json_output else out.out + out.err


@pytest.fixture
def cli(home: DataHome, capsys: pytest.CaptureFixture[str]) -> Cli:
    from prepaid.accounts.services import add_price, create_account
    from prepaid.operators.models import Operator

    admin = Operator.objects.get(username="boss")
    account = create_account(
        admin,
        meter_type="water",
        sub_meter=1,
        limit="999",
        prestore="5",
        alarm="10",
        overdraft="5",
        maintenance_code="1234",
    )
    price = add_price(admin, account_id=account.pk, name="居民用水", unit_price="3.45")
    cli = Cli(capsys)
    cli.account, cli.price = str(account.pk), str(price.pk)
    return cli


def _customers() -> int:
    from prepaid.customers.models import Customer

    return Customer.objects.count()


@pytest.mark.parametrize(
    "extra",
    [
        ("--quantity", "5"),
        ("--amount", "20"),
        ("--account", "1"),
        ("--price", "1"),
        ("--pay", "wechat"),
        ("--key", "k-1"),
    ],
)
def test_register_refuses_opening_options_without_open(cli: Cli, extra: tuple[str, str]) -> None:
    """The operator who gives a first purchase but forgets --open meant to open an account:
    the options are not dropped in silence with a customer registered and nothing sold."""
    refused = cli("user", "register", "--name", "王五", *extra, status=2)
    assert refused["error"] == "open_arguments"
    assert "--open" in refused["message"] and "未注册用户" in refused["message"]
    english = cli("user", "register", "--name", "王五", *extra, status=2, lang="en")
    assert "No customer was registered" in english["message"]
    assert _customers() == 0


def test_register_with_open_still_opens_with_the_payment_given(cli: Cli) -> None:
    cli("card", "blank", "u1")
    cli("card", "insert", "u1")
    cli("card", "format")
    document = cli(
        "user",
        "register",
        "--name",
        "王五",
        "--open",
        "--account",
        cli.account,
        "--price",
        cli.price,
        "--amount",
        "19.99",
        "--pay",
        "wechat",
    )
    opened = document["opened"]
    assert (opened["quantity"], opened["amount"], opened["payment"]) == ("5.79", "19.98", "wechat")
    plain = cli("user", "register", "--name", "赵六")  # no opening options: only registered
    assert "opened" not in plain and _customers() == 2


def test_register_with_open_refused_at_the_card_says_the_customer_is_registered(
    cli: Cli,
) -> None:
    """An opening refused at the card (a blank card, not yet a new one) leaves the customer
    registered. The operator reads it beside the refusal, with the user number to open on,
    instead of registering the customer a second time to try again."""
    cli("card", "blank", "u1")
    cli("card", "insert", "u1")
    opening = ("--open", "--account", cli.account, "--price", cli.price, "--quantity", "5")
    said = cli("user", "register", "--name", "王五", *opening, status=1, json_output=False)
    assert "王五" in said and "00000001" in said and "已注册" in said, said
    assert "prepaid open 00000001" in said and "不要重复注册" in said, said
    refused = cli("user", "register", "--name", "赵六", *opening, status=1)
    assert refused["error"] == "not_a_new_card" and refused["user_number"] == "00000002"
    english = cli("user", "register", "--name", "钱七", *opening, status=1, json_output=False,
                  lang="en")  # fmt: skip
    assert "No account was opened" in english and "prepaid open 00000003" in english, english
    assert _customers() == 3


def test_labelled_lines_take_a_full_width_colon_in_chinese(cli: Cli) -> None:
    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    made = cli("card", "make", "setting", "--account", cli.account, json_output=False)
    assert "  限购量：999.00" in made and "  预存量：5.00" in made and ": " not in made, made
    cli("card", "blank", "s2")
    cli("card", "insert", "s2")
    english = cli("card", "make", "setting", "--account", cli.account, json_output=False, lang="en")
    assert "  purchase limit: 999.00" in english, english
    summary = cli("report", "summary", json_output=False)
    assert "  期间：按月" in summary and "  分组：无" in summary, summary


def _open(cli: Cli, card: str = "u1", quantity: str = "10") -> str:
    """Register a customer and open the account on a new card ``card``; the user number."""
    cli("card", "blank", card)
    cli("card", "insert", card)
    cli("card", "format")
    document = cli(
        "user",
        "register",
        "--name",
        "王五",
        "--open",
        "--account",
        cli.account,
        "--price",
        cli.price,
        "--quantity",
        quantity,
    )
    return str(document["user_number"])


def test_times_read_in_the_office_clock_to_the_second(cli: Cli, settings: Any) -> None:
    """The customer's purchases and the shift settlement show when, as a person reads a
    clock in the office, not as an ISO timestamp in UTC with microseconds."""
    import datetime

    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Shanghai"
    number = _open(cli)
    document = cli("user", "show", number)
    bought = datetime.datetime.fromisoformat(document["purchases"][0]["created_at"])
    shown = cli("user", "show", number, json_output=False)
    assert f"{timezone.localtime(bought):%Y-%m-%d %H:%M:%S} [1] #1 购买 已完成" in shown, shown
    assert "+00:00" not in shown and "T" not in shown.split("[1]")[0]
    settled = cli("shift", "close", "--counted-cash", "34.50")
    opened = timezone.localtime(datetime.datetime.fromisoformat(settled["opened_at"]))
    closed = timezone.localtime(datetime.datetime.fromisoformat(settled["closed_at"]))
    text = cli("report", "shift", "--id", str(settled["shift_id"]), json_output=False)
    assert f"开班 {opened:%Y-%m-%d %H:%M:%S}，交班 {closed:%Y-%m-%d %H:%M:%S}" in text, text


def test_reissue_gives_the_carried_purchase_as_sell_does_with_its_amount(cli: Cli) -> None:
    """DESIGN §8: reissue answers user_number, sub_meter, serial, quantity and amount — the
    last purchase the new card carries (here a corrected one), apart from the fee."""
    number = _open(cli)
    cli("correct", "--amount", "19.99")
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    reissued = cli("reissue", number, "--fee", "10")
    carried = (reissued["sub_meter"], reissued["serial"], reissued["quantity"], reissued["amount"])
    assert carried == (1, 1, "5.79", "19.98")
    assert (reissued["fee"], reissued["slots"][0]["amount"]) == ("10.00", "19.98")


@pytest.mark.parametrize(
    "command",
    [
        ("sell", "--quantity", "1"),
        ("correct", "--quantity", "1"),
        ("meter-change", "--remaining", "1"),
    ],
)
def test_an_account_that_does_not_exist_is_bad_input_not_an_unopened_account(
    cli: Cli, command: tuple[str, ...]
) -> None:
    from prepaid.accounts.models import Account

    _open(cli)
    missing = str(Account.objects.order_by("-pk").values_list("pk", flat=True)[0] + 100)
    refused = cli(*command, "--account", missing, status=2)
    assert refused == {"error": "unknown_account", "message": f"账户 {missing} 不存在。"}


def test_a_tool_card_swiped_says_accepted_without_a_credit(cli: Cli) -> None:
    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    told = cli("meter", "swipe", "M1", json_output=False)
    assert "仪表 M1 已接受该卡（设置卡）。" in told and "充入" not in told, told
    _open(cli)
    told = cli("meter", "swipe", "M1", json_output=False)
    assert "仪表 M1 已接受该卡（用户卡），充入 10.00。" in told, told


def test_a_sale_by_amount_says_what_to_hand_back(cli: Cli) -> None:
    cli("card", "blank", "u1")
    cli("card", "insert", "u1")
    cli("card", "format")
    told = cli("user", "register", "--name", "王五", "--open", "--account", cli.account,
               "--price", cli.price, "--amount", "19.99", json_output=False)  # fmt: skip
    assert "5.79，金额 19.98" in told and "实收 19.99，找零 0.01。" in told, told
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    number = cli("user", "register", "--name", "赵六")["user_number"]
    english = cli("open", number, "--account", cli.account, "--price", cli.price,
                  "--amount", "20", json_output=False, lang="en")  # fmt: skip
    assert "Paid 20.00, change 0.02." in english, english


def test_a_correction_by_amount_gives_back_the_difference_alone(cli: Cli) -> None:
    """Opened with 10 m³ at ¥3.45 (¥34.50 paid); corrected to ¥19.99, which buys 5.79 m³ for
    ¥19.98: the customer gets ¥14.52 back, nothing is paid and no change is due (the 0.01 not
    spent is in the 14.52)."""
    _open(cli)
    told = cli("correct", "--amount", "19.99", json_output=False)
    assert "5.79，金额 19.98" in told and "退还用户 14.52。" in told, told
    assert "实收" not in told and "找零" not in told, told
    english = cli("correct", "--amount", "40", json_output=False, lang="en")
    assert "11.59 for 39.99" in english and "collect 20.01." in english, english
    assert "Paid" not in english and "change" not in english, english


def test_a_price_adjustment_before_a_sale_made_at_the_price_is_refused(cli: Cli) -> None:
    """A sale made today keeps the price it used: the new price cannot take effect yesterday,
    which would say it applied to that sale. Bad input (exit 2), nothing written."""
    import datetime

    from django.utils import timezone

    from prepaid.accounts.models import PriceVersion
    from prepaid.accounts.services import add_price
    from prepaid.operators.models import Operator

    today = timezone.localdate()
    price = add_price(Operator.objects.get(username="boss"), account_id=int(cli.account),
                      name="老价格", unit_price="3.00",
                      effective_from=today - datetime.timedelta(days=30))  # fmt: skip
    cli.price = str(price.pk)
    _open(cli)
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    refused = cli("price", "adjust", cli.price, "--unit-price", "4", "--effective", yesterday,
                  status=1)  # fmt: skip
    assert refused["error"] == "effective_date_before_sales"
    assert refused["message"] == (
        f"新价格不能从 {yesterday} 起生效：价格 老价格 在 {today.isoformat()} 已有销售，"
        f"该销售保持原价格。请选择 {today.isoformat()} 或之后的日期。"
    )
    assert PriceVersion.objects.filter(price=price).count() == 1
    adjusted = cli("price", "adjust", cli.price, "--unit-price", "4")
    assert adjusted["version"]["effective_from"] == today.isoformat()


def test_a_correction_by_amount_in_json_gives_the_difference_not_a_payment_and_change(
    cli: Cli,
) -> None:
    """The ¥19.99 typed for a correction is the purchase's new amount, not money tendered:
    the JSON has no tendered and change to misread (0.01 change on 19.99), only the
    difference that changes hands; a sale by amount keeps its tendered and change."""
    _open(cli)
    fixed = cli("correct", "--amount", "19.99")
    assert (fixed["quantity"], fixed["amount"]) == ("5.79", "19.98")
    assert (fixed["corrects_amount"], fixed["difference"]) == ("34.50", "-14.52")
    assert (fixed["tendered"], fixed["change"]) == (None, None)
    again = cli("correct", "--amount", "40")
    assert (again["amount"], again["difference"]) == ("39.99", "20.01")
    assert (again["tendered"], again["change"]) == (None, None)
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    number = cli("user", "register", "--name", "赵六")["user_number"]
    sold = cli("open", number, "--account", cli.account, "--price", cli.price, "--amount", "20")
    assert (sold["amount"], sold["tendered"], sold["change"]) == ("19.98", "20.00", "0.02")
    assert sold["difference"] is None


@pytest.mark.parametrize("option", ["--page", "--page-size"])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5"])
def test_a_page_or_page_size_below_one_is_refused(cli: Cli, option: str, value: str) -> None:
    refused = cli("report", "sales", option, value, status=2)
    assert refused["error"] == "usage"
    assert refused["message"] == f"参数 {option}：不是大于或等于 1 的整数：'{value}'"
    english = cli("report", "sales", f"{option}={value}", status=2, lang="en")
    assert f"not a whole number of 1 or more: '{value}'" in english["message"]
    assert cli("report", "sales", option, "2")["page"] == 1  # past the last page: the last


@pytest.mark.parametrize(
    "argv",
    [
        ("sell", "--account", "x", "--quantity", "1"),
        ("report", "sales", "--price", "1.5"),
        ("reconcile", "--void", "-3"),
        ("card", "make", "setting", "--account", "one"),
    ],
)
def test_an_id_that_is_not_a_whole_number_is_named_as_such(cli: Cli, argv) -> None:
    """Not argparse's “invalid int value” (Chinese: 应为 int 类型), which names a type of the
    programming language."""
    refused = cli(*argv, status=2)
    option, value = argv[-2:] if argv[-1] != "1" else argv[-4:-2]
    assert refused["error"] == "usage"
    assert refused["message"] == f"参数 {option}：不是整数：'{value}'"
    assert "int" not in cli(*argv, status=2, lang="en")["message"]


def test_a_command_finds_a_customer_by_the_short_number_and_asks_for_a_missing_one(
    cli: Cli,
) -> None:
    number = _open(cli)  # 00000001
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    short = number.lstrip("0")  # 1 finds 00000001, as `user show 1` does
    refused = cli("open", short, "--account", cli.account, "--price", cli.price,
                  "--quantity", "1", status=1)  # fmt: skip
    assert refused["error"] == "customer_has_card", refused  # found: the customer's own refusal
    missing = cli("open", " ", "--account", cli.account, "--price", cli.price,
                  "--quantity", "1", status=2)  # fmt: skip
    assert (missing["error"], missing["message"]) == ("user_number_required", "请输入用户编号。")


def test_a_correction_says_the_money_to_give_back_or_collect(cli: Cli) -> None:
    """Opened with 10 m³ at ¥3.45 (¥34.50); corrected to 2 m³ (¥6.90): ¥27.60 back; that
    correction corrected again to 12 m³ (¥41.40): ¥34.50 to collect."""
    _open(cli)
    down = cli("correct", "--quantity", "2", json_output=False)
    assert "替换第 1 次购买（34.50）：退还用户 27.60。" in down, down
    up = cli("correct", "--quantity", "12")
    assert (up["corrects"], up["corrects_amount"], up["difference"]) == (1, "6.90", "34.50")
    english = cli("correct", "--quantity", "12", json_output=False, lang="en")
    # the same again: no money to give back or collect, and the operator is told so
    assert "give back 0" not in english and "collect 0" not in english, english
    assert "(41.40): the same amount, nothing to give back or collect." in english, english


def test_reconcile_refuses_a_purchase_that_does_not_exist_or_is_not_pending(cli: Cli) -> None:
    """An administrator settling a lost card's purchase by its number: an unknown number is
    bad input (not a traceback), and a purchase already completed, voided or corrected is
    refused as it stands, with nothing voided or completed."""
    from prepaid.audit.models import AuditEntry
    from prepaid.vending.models import Purchase

    _open(cli)
    corrected = Purchase.objects.get()
    cli("correct", "--quantity", "4")
    completed = Purchase.objects.get(status=Purchase.Status.COMPLETED)
    missing = str(Purchase.objects.order_by("-pk").values_list("pk", flat=True)[0] + 100)
    audited = AuditEntry.objects.count()

    refused = cli("reconcile", "--void", missing, status=2)
    assert refused == {
        "error": "no_such_purchase",
        "message": f"没有第 {missing} 号购买：请核对编号"
        "（“prepaid reconcile --json”列出未完成的购买及其编号）。",
    }
    refused = cli("reconcile", "--void", str(completed.pk), status=1)
    assert refused["error"] == "not_pending"
    assert refused["message"] == f"第 {completed.pk} 号购买不是待完成状态（已完成），无需处理。"
    english = cli("reconcile", "--complete", str(corrected.pk), status=1, lang="en")
    assert english["message"] == (
        f"Purchase No. {corrected.pk} is not pending (Corrected): there is nothing to settle."
    )
    assert Purchase.objects.get(pk=completed.pk).status == Purchase.Status.COMPLETED
    assert Purchase.objects.get(pk=corrected.pk).status == Purchase.Status.CORRECTED
    assert AuditEntry.objects.count() == audited


def test_a_meter_change_over_the_limit_says_the_most_remaining_that_can_be_entered(
    cli: Cli,
) -> None:
    """Limit 999.00, pre-stored 5.00: the new meter holds what was left on the old one plus an
    unswiped last purchase (the pre-stored quantity is deducted from the transfer), so with
    10.00 not yet swiped at most 989.00 can be entered, and 999.00 with nothing carried."""
    from prepaid.vending.models import Purchase

    _open(cli)  # 10.00, not swiped
    refused = cli("meter-change", "--remaining", "990", status=1)
    assert refused["error"] == "over_limit"
    assert refused["message"] == (
        "新表余量将为用户剩余量 990.00 加未刷表的购买 10.00，超过限购量 999.00："
        "用户剩余量最多为 989.00。"
    )
    english = cli("meter-change", "--remaining", "990", status=1, lang="en")
    assert english["message"].endswith("the remaining quantity can be at most 989.00.")
    assert Purchase.objects.count() == 1
    assert cli("meter-change", "--remaining", "989")["transfer"] == "994.00"  # 989 − 5 + 10

    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "NEW")
    cli("meter", "swipe", "NEW")
    cli("card", "insert", "u1")
    assert cli("meter", "swipe", "NEW")["balance"] == "999.00"
    refused = cli("meter-change", "--remaining", "999.01", status=1)
    assert refused["message"] == "新表余量将为 999.01，超过限购量 999.00：用户剩余量最多为 999.00。"


def test_refusals_by_what_the_office_holds_exit_1_and_bad_input_exits_2(cli: Cli) -> None:
    """DESIGN §8: 1 refused by a business rule, 2 bad usage or input. A meter id, a card name
    or a sub-meter number already taken, a price in use, an unswiped card, a second card
    for a customer: well formed, refused by the office's state."""
    _open(cli)
    cli("meter", "add", "M1")
    refusals = [
        (("meter", "add", "M1"), "meter_exists"),
        (("card", "blank", "u1"), "card_exists"),
        (("price", "delete", cli.price), "price_in_use"),
        (("sell", "--quantity", "1"), "card_not_swiped"),
        (("account", "create", "--meter-type", "water", "--sub-meter", "1", "--limit", "9",
          "--maintenance-code", "1234"), "sub_meter_taken"),
    ]  # fmt: skip
    for argv, code in refusals:
        assert cli(*argv, status=1)["error"] == code, argv
    usage = [
        (("meter", "add", "M 1"), "bad_meter_id"),
        (("card", "blank", "a/b"), "bad_card_name"),
        (("sell", "--quantity", "1.234"), "too_many_decimals"),
        (("user", "show", "99999999"), "unknown_customer"),
    ]
    for argv, code in usage:
        assert cli(*argv, status=2)["error"] == code, argv


def test_a_meter_change_with_too_many_decimals_names_the_remaining_quantity(cli: Cli) -> None:
    """The field is named as the operator reads it, in English as in Chinese (用户剩余量)."""
    _open(cli)
    refused = cli("meter-change", "--remaining", "1.234", status=2)
    assert refused["error"] == "too_many_decimals"
    assert refused["message"] == "用户剩余量最多允许 2 位小数。"
    english = cli("meter-change", "--remaining", "1.234", status=2, lang="en")
    assert english["message"] == "Remaining quantity allows at most 2 decimal places."
    english = cli("meter-change", "--remaining", "abc", status=2, lang="en")
    assert english["message"] == "Remaining quantity must be a number, not “abc”."


# ISO 8601 to the second with the office's UTC offset: 2026-11-28T15:25:00+08:00
OFFICE_MOMENT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00"
DATE_LIKE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"


def _moments(document: Any, where: str = "") -> list[tuple[str, Any]]:
    """Every moment in a JSON document: fields named as times, and any string that looks
    like a date with a time of day."""
    import re

    found: list[tuple[str, Any]] = []
    if isinstance(document, dict):
        for name, value in document.items():
            path = f"{where}.{name}"
            timed = name in ("time", "timestamp") or name.endswith(("_at", "_time", "_until"))
            # the meter's own clock as a card carries it (seconds) is a device's reading
            device_clock = name in ("time", "clock") and isinstance(value, int)
            if (
                timed
                and value is not None
                and not isinstance(value, (dict, list))
                and not device_clock
            ):
                found.append((path, value))
            elif isinstance(value, str) and re.match(DATE_LIKE, value):
                found.append((path, value))
            else:
                found.extend(_moments(value, path))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_moments(value, f"{where}[{index}]"))
    return found


def test_every_time_in_the_json_is_iso_8601_with_the_office_offset(cli: Cli, settings: Any) -> None:
    """One form for every moment the commands give in JSON, whichever table it comes from:
    the office's local time with its UTC offset, never UTC and local time mixed."""
    import re

    settings.TIME_ZONE = "Asia/Shanghai"
    number = _open(cli)
    documents = {"open": cli("user", "show", number)}
    cli("meter", "add", "M1")
    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "swipe", "M1")
    cli("card", "insert", "u1")
    documents["swipe"] = cli("meter", "swipe", "M1")
    documents["sell"] = cli("sell", "--quantity", "2")
    documents["correct"] = cli("correct", "--quantity", "3")
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    documents["reissue"] = cli("reissue", number, "--fee", "5")
    documents["card read"] = cli("card", "read")
    documents["card list"] = cli("card", "list")
    documents["card tools"] = cli("card", "tools")
    documents["user show"] = cli("user", "show", number)
    documents["user find"] = cli("user", "find", "王")
    documents["account list"] = cli("account", "list")
    documents["account show"] = cli("account", "show", cli.account)
    documents["price list"] = cli("price", "list")
    documents["price show"] = cli("price", "show", cli.price)
    documents["price adjust"] = cli("price", "adjust", cli.price, "--unit-price", "3.50")
    documents["operator list"] = cli("operator", "list")
    documents["meter show"] = cli("meter", "show", "M1")
    documents["meter list"] = cli("meter", "list")
    for report in ("sales", "summary", "cards", "pending", "shifts", "suspicious"):
        documents[f"report {report}"] = cli("report", report)
    documents["report customer"] = cli("report", "customer", number)
    documents["shift close"] = cli("shift", "close", "--counted-cash", "0")
    documents["report shift"] = cli(
        "report", "shift", "--id", str(documents["shift close"]["shift_id"])
    )
    documents["audit verify"] = cli("audit", "verify")
    moments = [(command, *moment) for command, doc in documents.items() for moment in _moments(doc)]
    wrong = [
        m for m in moments if not (isinstance(m[2], str) and re.fullmatch(OFFICE_MOMENT, m[2]))
    ]
    assert not wrong, "\n".join(map(str, wrong))
    assert len(moments) > 20


def test_a_backups_time_is_given_in_the_same_form(settings: Any) -> None:
    from prepaid.cli.backup import manifest_document

    settings.TIME_ZONE = "Asia/Shanghai"
    written = {"created_at": "2026-11-28T07:25:00.123456+00:00", "engine": "sqlite"}
    assert manifest_document(written) == {
        "created_at": "2026-11-28T15:25:00+08:00",
        "engine": "sqlite",
    }


def test_a_meter_change_after_a_reissue_asks_what_the_old_meter_shows(cli: Cli) -> None:
    """Purchase 2 was taken by the old meter, then the card lost before the office read it:
    without --last-taken the office cannot tell and refuses, naming the purchase; with
    ``--last-taken yes`` the 7.00 in the old meter's 22.00 are not carried a second time."""
    from prepaid.vending.models import Purchase

    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "OLD")
    cli("meter", "swipe", "OLD")
    number = _open(cli)  # 10.00 on u1, in the reader
    cli("meter", "swipe", "OLD")
    cli("sell", "--quantity", "7")  # purchase 2
    assert cli("meter", "swipe", "OLD")["balance"] == "22.00"  # 5 + 10 + 7
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    cli("reissue", number)
    purchases = Purchase.objects.count()

    refused = cli("meter-change", "--remaining", "22", status=1)
    assert (refused["error"], refused["serial"], refused["quantity"]) == (
        "last_purchase_unknown",
        2,
        "7.00",
    )
    assert refused["message"] == (
        "第 2 次购买（7.00 m³）写在用户补卡前的旧卡上，营业厅此后未读到该卡，无法判断旧表是否"
        "已充入。请查看旧表显示的最后购买次数，并说明旧表是否已充入第 2 次购买。"
    )
    assert Purchase.objects.count() == purchases
    usage = cli("meter-change", "--remaining", "22", "--last-taken", "1", status=2)
    assert usage["error"] == "usage" and "yes" in usage["message"]
    assert Purchase.objects.count() == purchases

    changed = cli("meter-change", "--remaining", "22", "--last-taken", "yes")
    assert (changed["carried"], changed["transfer"]) == ("0.00", "17.00")  # 22 − 5
    assert (changed["last_taken"], changed["asked_serial"]) == (True, 2)


def test_a_meter_change_says_whose_card_how_the_transfer_is_made_and_why(cli: Cli) -> None:
    """换表卡调整 in the terminal says what its page says: the customer and the transfer's
    serial, the remaining quantity less the new meter's pre-stored plus the unswiped purchase
    carried over, the old meter's last readings, the reason, and the manual's word that the
    customer swipes the new meter before the next sale."""
    number = _open(cli)  # 10.00, swiped below on the old meter
    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "OLD")
    cli("meter", "swipe", "OLD")  # set: 5.00 pre-stored
    cli("card", "insert", "u1")
    cli("meter", "swipe", "OLD")  # 15.00 written back on the card
    cli("sell", "--quantity", "3")  # serial 2, not swiped: carried over
    cli("meter", "use", "OLD", "2.5")
    told = cli("meter-change", "--remaining", "12.5", "--reason", "表坏", json_output=False)
    assert f"用户 {number} 王五，子表 1，购买序号 3（换表转移）\n" in told, told
    assert "  用户剩余量 12.50 − 预存量 5.00 + 未刷表购买 3.00 = 转入 10.50\n" in told, told
    assert "  旧表上次刷表时的读数：余量 15.00，累计用量 0.00\n" in told, told
    assert "  原因：表坏\n" in told, told
    assert "用户必须到新表上刷卡，将旧表的余量输到新表中，才可进行下次销售。" in told, told


def test_a_meter_change_in_english_says_how_the_transfer_is_made(cli: Cli) -> None:
    _open(cli)  # 10.00, never swiped: no readings on the card, no reason given
    told = cli("meter-change", "--remaining", "7", json_output=False, lang="en")
    assert ", sub-meter 1, meter-change transfer 2\n" in told, told
    assert (
        "  remaining on the old meter 7.00 − pre-stored 5.00 + unswiped purchase carried over "
        "10.00 = 12.00\n"
    ) in told, told
    assert "readings" not in told and "reason" not in told, told
    assert "The customer must swipe the card on the new meter before the next sale." in told


def test_a_meter_change_in_json_has_no_payment_tendered_or_change(cli: Cli) -> None:
    """A transfer moves credit, not money: like a correction's, its tendered and change are
    null, not ¥0.00 paid with ¥0.00 change; its value is what the credit is worth."""
    _open(cli)
    moved = cli("meter-change", "--remaining", "7")
    assert (moved["kind"], moved["transfer"], moved["value"]) == ("transfer", "12.00", "41.40")
    assert (moved["tendered"], moved["change"], moved["difference"]) == (None, None, None)


def test_a_sale_at_a_flat_price_is_not_told_as_a_tier(cli: Cli) -> None:
    """A flat price has no tiers: its line is the quantity at the unit price, as the receipt
    prints it, not “第 1 阶梯”; a tiered price's lines keep their tier numbers."""
    from prepaid.accounts.services import add_price
    from prepaid.operators.models import Operator

    cli("card", "blank", "u1")
    cli("card", "insert", "u1")
    cli("card", "format")
    told = cli("user", "register", "--name", "王五", "--open", "--account", cli.account,
               "--price", cli.price, "--quantity", "10", json_output=False)  # fmt: skip
    assert "\n  10.00 × 3.45 = 34.50\n" in told and "阶梯" not in told, told
    tiered = add_price(Operator.objects.get(username="boss"), account_id=int(cli.account),
                       name="阶梯水价", tiers="0-10:3.00,10-:4.50", period="year")  # fmt: skip
    cli("card", "blank", "u2")
    cli("card", "insert", "u2")
    cli("card", "format")
    number = cli("user", "register", "--name", "赵六")["user_number"]
    told = cli("open", number, "--account", cli.account, "--price", str(tiered.pk),
               "--quantity", "12", json_output=False, lang="en")  # fmt: skip
    assert "  tier 1: 10.00 × 3.00 = 30.00\n  tier 2: 2.00 × 4.50 = 9.00\n" in told, told
    cli("card", "insert", "u1")
    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    cli("card", "insert", "u1")
    cli("meter", "swipe", "M1")
    told = cli("sell", "--amount", "10", json_output=False, lang="en")
    assert "\n  2.89 × 3.45 = 9.97\n" in told and "tier" not in told, told


def test_the_sales_detail_names_the_price_version_each_sale_kept(cli: Cli) -> None:
    """调整价格: a sale made before the adjustment keeps its version, and the sales detail
    says which (the amounts alone do not: 10 m³ for 34.50 at version 1, 2 m³ for 8.00 at
    version 2); a fee has none."""
    _open(cli)  # 10.00 at 3.45
    cli("card", "blank", "s1")
    cli("card", "insert", "s1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    cli("card", "insert", "u1")
    cli("meter", "swipe", "M1")
    cli("price", "adjust", cli.price, "--unit-price", "4")
    cli("sell", "--quantity", "2")
    rows = cli("report", "sales", "--kind", "sale")["rows"]
    assert [(r["serial"], r["price_version"], r["amount"]) for r in rows] == [
        (2, 2, "8.00"),
        (1, 1, "34.50"),
    ]
    table = cli("report", "sales", json_output=False)
    assert "价格版本" in table.splitlines()[2], table


def test_a_correction_on_a_card_of_two_accounts_takes_the_one_not_yet_swiped(cli: Cli) -> None:
    """充值修改 corrects a purchase the meter has not taken: on a card carrying water and
    electricity, with the electricity purchase swiped, the water purchase is the only one to
    correct, and no account need be named; with both unswiped the operator chooses."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.operators.models import Operator

    boss = Operator.objects.get(username="boss")
    power = create_account(boss, meter_type="electricity", sub_meter=2, limit="500",
                           prestore="10", alarm="20", overdraft="10",
                           maintenance_code="1234")  # fmt: skip
    tariff = add_price(boss, account_id=power.pk, name="居民用电", unit_price="0.56")
    number = _open(cli)  # water: 10.00 at 3.45, not swiped
    cli("open", number, "--account", str(power.pk), "--price", str(tariff.pk), "--quantity", "100")
    refused = cli("correct", "--quantity", "4", status=2)
    assert refused["error"] == "account_required", refused
    cli("card", "blank", "s2")
    cli("card", "insert", "s2")
    cli("card", "make", "setting", "--account", str(power.pk))
    cli("meter", "add", "E1")
    cli("meter", "swipe", "E1")
    cli("card", "insert", "u1")
    cli("meter", "swipe", "E1")  # the electricity purchase is taken; the water one is not
    fixed = cli("correct", "--quantity", "4")
    assert (fixed["account"], fixed["serial"], fixed["quantity"]) == (int(cli.account), 1, "4.00")
    assert (fixed["amount"], fixed["difference"]) == ("13.80", "-20.70")


def test_a_sales_detail_of_two_accounts_keeps_its_columns_narrow_under_the_quantity_total(
    cli: Cli,
) -> None:
    """The quantity total of water and electricity is text (水表 1 10.00 m³ · 电 100.00 kWh,
    never one sum): in the terminal it takes the empty cells on its left in the totals row
    instead of widening the quantity column of every row."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.cli.text import width
    from prepaid.operators.models import Operator

    boss = Operator.objects.get(username="boss")
    power = create_account(boss, meter_type="electricity", sub_meter=2, limit="500",
                           prestore="10", alarm="20", overdraft="10", maintenance_code="1234",
                           name="电")  # fmt: skip
    tariff = add_price(boss, account_id=power.pk, name="居民用电", unit_price="0.56")
    number = _open(cli)  # water: 10.00 at 3.45
    cli("open", number, "--account", str(power.pk), "--price", str(tariff.pk), "--quantity", "100")
    lines = cli("report", "sales", json_output=False).splitlines()
    header, rule, *body = lines[2:]
    assert "购买序号  充值量  单位" in header, header
    total = next(line for line in body if "合计" in line)
    assert total.endswith("  水表 1 10.00 m³ · 电 100.00 kWh        90.50"), total
    assert width(total) <= width(rule), (total, rule)


def test_a_correction_to_the_same_amount_still_says_which_purchase_it_replaced(cli: Cli) -> None:
    """A correction that costs what the purchase cost (10 m³ again) moves no money, but it
    did replace the purchase (a reversal and a new entry in the ledger): the operator reads
    so, as the correction's page shows the purchase replaced."""
    _open(cli)  # 10.00 for 34.50
    told = cli("correct", "--quantity", "10", json_output=False)
    assert "替换第 1 次购买（34.50）：金额不变，无需退还或补收。" in told, told
    english = cli("correct", "--amount", "34.50", json_output=False, lang="en")
    assert "Replaces purchase 1 (34.50): the same amount, nothing to give back or collect." in (
        english
    ), english

"""``prepaid sell`` refused as card_not_swiped says what the meter showed when it refused
the card: in the message, and as ``meter_result`` in the JSON document."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db


def _run(capsys: pytest.CaptureFixture[str], *argv: str, lang: str = "en") -> tuple[int, Any]:
    from django.utils import translation

    from prepaid.cli.main import main

    capsys.readouterr()
    try:
        status = main([*argv, "--lang", lang])
    finally:
        translation.deactivate()
    return status, capsys.readouterr()


def test_sell_after_the_meter_refused_the_card(home: DataHome, capsys) -> None:
    from prepaid.accounts.services import add_price, create_account
    from prepaid.customers.services import register_customer
    from prepaid.operators.models import Operator
    from prepaid.simulator.meter_store import MeterStore

    boss = Operator.objects.get(username="boss")
    account = create_account(
        boss, meter_type="water", sub_meter=1, limit="999", prestore="5", alarm="10",
        overdraft="5", maintenance_code="1234",
    )  # fmt: skip
    price = add_price(boss, account_id=account.pk, name="居民用水", unit_price="3.45")
    customer = register_customer(boss, name="张三")

    def ok(*argv: str) -> None:
        status, out = _run(capsys, *argv, "--json")
        assert status == 0, out

    for argv in (
        ("card", "blank", "set1"),
        ("card", "insert", "set1"),
        ("card", "make", "setting", "--account", str(account.pk)),
        ("meter", "add", "M1"),
        ("meter", "swipe", "M1"),
        ("card", "blank", "u1"),
        ("card", "insert", "u1"),
        ("card", "format"),
        ("open", customer.user_number, "--account", str(account.pk), "--price", str(price.pk),
         "--quantity", "10"),
        ("meter", "swipe", "M1"),
        ("sell", "--quantity", "100"),
    ):  # fmt: skip
        ok(*argv)
    # A meter holding a purchase limit of 50 (set by other means): it refuses the 100 (E06).
    meters = MeterStore(home.meters)
    meter = meters.load("M1")
    meter.parameters = replace(meter.parameters, limit_centi=50_00)
    meters.save(meter)
    status, out = _run(capsys, "meter", "swipe", "M1", "--json")
    assert (status, json.loads(out.out)["result"]) == (1, "E06")

    status, out = _run(capsys, "sell", "--quantity", "1", "--json")
    document = json.loads(out.out)
    assert status == 1
    assert (document["error"], document["meter_result"]) == ("card_not_swiped", "E06")
    assert document["message"].startswith(
        "This card has not been swiped on the meter; swipe it on the meter and try again. "
        "The meter refused the card when it was last swiped ("
    )
    assert (
        "showed E06: The purchase would exceed the meter's purchase limit." in (document["message"])
    )
    status, out = _run(capsys, "sell", "--quantity", "1", lang="zh-hans")
    assert status == 1
    assert out.err.startswith("prepaid: 该卡没有刷表，请刷表后再进行操作。上次刷表时（")
    assert "显示 E06：本次购买将超过表的限购量。请进行充值修改" in out.err

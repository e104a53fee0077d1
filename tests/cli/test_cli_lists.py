"""``prepaid account list``, ``price list`` and ``user find``: a line for each one listed, or a
sentence saying there is none (in the operator's language), and the documents with --json."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def text(self, *argv: str, lang: str) -> str:
        return str(self._run(*argv, "--lang", lang))

    def json(self, *argv: str) -> Any:
        return json.loads(self._run(*argv, "--json"))

    def _run(self, *argv: str) -> str:
        from django.utils import translation

        from prepaid.cli.main import main

        self.capsys.readouterr()
        try:
            status = main(list(argv))
        finally:
            translation.deactivate()
        out = self.capsys.readouterr().out
        assert status == 0, out
        return out


@pytest.fixture
def admin(home: DataHome) -> Any:
    """The administrator ``boss`` the commands sign in as (not the suite's ``admin``)."""
    from prepaid.operators.models import Operator

    return Operator.objects.get(username="boss")


@pytest.fixture
def cli(admin: Any, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


@pytest.mark.parametrize(
    ("command", "english", "chinese"),
    [
        (("account", "list"), "No accounts yet.", "尚未创建账户。"),
        (("price", "list"), "No prices yet.", "尚未添加价格。"),
        (("user", "find", "nobody"), "No customer found.", "未找到用户。"),
    ],
)
def test_an_empty_list_says_so(cli: Cli, command: tuple[str, ...], english: str, chinese: str):
    assert cli.text(*command, lang="en") == english + "\n"
    assert cli.text(*command, lang="zh-hans") == chinese + "\n"
    assert cli.json(*command) == []


def test_each_one_listed_has_its_line(cli: Cli, admin: Any):
    from prepaid.accounts.services import add_price, create_account
    from prepaid.customers.services import register_customer

    account = create_account(
        admin,
        meter_type="water",
        sub_meter="1",
        limit="500",
        prestore="0",
        alarm="0",
        overdraft="0",
        maintenance_code="1234",
        name="水",
    )
    price = add_price(admin, account_id=account.pk, name="居民用水", unit_price="3.5")
    customer = register_customer(admin, name="张三", phone="13800000000", address="人民路1号")

    listed = cli.text("account", "list", lang="en")
    assert listed.startswith(f"{account.pk}. [1] 水 (")
    assert listed.count("\n") == 1 and "No accounts yet." not in listed
    assert [doc["id"] for doc in cli.json("account", "list")] == [account.pk]

    listed = cli.text("price", "list", lang="en")
    assert listed == f"{price.pk}. 居民用水 (account 水): 3.50\n"
    assert [doc["id"] for doc in cli.json("price", "list")] == [price.pk]

    listed = cli.text("user", "find", "张", lang="en")
    assert listed == f"{customer.user_number}  张三  13800000000  人民路1号\n"
    assert [doc["id"] for doc in cli.json("user", "find", "张")] == [customer.pk]

"""``prepaid user modify``: correcting a customer's details (修改用户信息) from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prepaid.audit.models import AuditEntry
from prepaid.customers.models import Customer
from prepaid.home import DataHome

PASSWORD = "User-clerk-pw1"

pytestmark = pytest.mark.django_db


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def run(self, *argv: str, lang: str = "en", json_output: bool = True) -> tuple[int, str]:
        from django.utils import translation

        from prepaid.cli.main import main

        self.capsys.readouterr()
        args = [*argv, "--lang", lang] + (["--json"] if json_output else [])
        try:
            status = main(args)
        finally:
            translation.deactivate()
        return status, self.capsys.readouterr().out

    def __call__(self, *argv: str, lang: str = "en") -> Any:
        status, out = self.run(*argv, lang=lang)
        assert status == 0, out
        return json.loads(out)

    def refused(self, *argv: str, code: str, lang: str = "en") -> str:
        status, out = self.run(*argv, lang=lang)
        assert status == 2, out
        document = json.loads(out)
        assert document["error"] == code, document
        return str(document["message"])


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    from prepaid.operators.models import Operator, Role

    home = tmp_path / "home"
    DataHome(home).ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home))
    monkeypatch.setenv("PREPAID_OPERATOR", "clerk")  # an operator, not an administrator
    monkeypatch.setenv("PREPAID_PASSWORD", PASSWORD)
    clerk = Operator(username="clerk", role=Role.OPERATOR)
    clerk.set_password(PASSWORD)
    clerk.save()
    return Cli(capsys)


@pytest.fixture
def customer(cli: Cli) -> dict[str, Any]:
    return cli(  # type: ignore[no-any-return]
        "user", "register", "--name", "张三", "--phone", "13800000000", "--address", "人民路1号"
    )


def test_modify_prints_the_customer_as_show_does(cli: Cli, customer: dict[str, Any]) -> None:
    number = customer["user_number"]
    doc = cli("user", "modify", number, "--phone", "139 0000 1111", "--address", "幸福路2号")
    assert doc["changed"] == ["phone", "address"]
    shown = cli("user", "show", number)
    assert (
        {key: doc[key] for key in customer}
        == {key: shown[key] for key in customer}
        == {
            **customer,
            "phone": "139 0000 1111",
            "address": "幸福路2号",
        }
    )
    entry = AuditEntry.objects.get(action="customer.modify")
    assert entry.operator_name == "clerk"
    assert entry.before == {"phone": "13800000000", "address": "人民路1号"}
    assert entry.after == {"phone": "139 0000 1111", "address": "幸福路2号"}


def test_modify_says_what_it_did_in_chinese(cli: Cli, customer: dict[str, Any]) -> None:
    number = customer["user_number"]
    status, out = cli.run(
        "user",
        "modify",
        number,
        "--name",
        "张叁",
        "--remarks",
        "",
        lang="zh-hans",
        json_output=False,
    )
    assert status == 0
    assert f"用户 {number} 张叁 的信息已修改。" in out
    status, out = cli.run(
        "user", "modify", number, "--name", "张叁", lang="zh-hans", json_output=False
    )
    assert status == 0
    assert f"用户 {number} 张叁 的信息与填写的相同，没有修改。" in out
    assert AuditEntry.objects.filter(action="customer.modify").count() == 1


def test_the_same_details_change_nothing(cli: Cli, customer: dict[str, Any]) -> None:
    doc = cli("user", "modify", customer["user_number"], "--phone", "13800000000")
    assert doc["changed"] == []
    assert not AuditEntry.objects.filter(action="customer.modify").exists()


def test_bad_input_exits_2_in_the_operators_language(cli: Cli, customer: dict[str, Any]) -> None:
    number = customer["user_number"]
    message = cli.refused(
        "user", "modify", number, "--phone", "abc", code="bad_phone", lang="zh-hans"
    )
    assert message == "电话号码只能包含数字、“+”、“-”和空格，不能是“abc”。"
    cli.refused("user", "modify", number, "--name", "", code="required")
    cli.refused("user", "modify", number, "--id-number", "AB-12", code="bad_id_number")
    message = cli.refused("user", "modify", number, code="nothing_to_change")
    assert message == (
        "Nothing to change: give a new name, phone number, address, ID number or remarks."
    )
    cli.refused("user", "modify", "99999", "--name", "李四", code="unknown_customer")
    stored = Customer.objects.get(user_number=number)
    assert (stored.name, stored.phone) == ("张三", "13800000000")
    assert not AuditEntry.objects.filter(action="customer.modify").exists()


def test_every_option_of_user_has_help_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from prepaid.cli.main import build_parser

    user = build_parser(["user"])._subparsers._group_actions[0].choices["user"]  # type: ignore[union-attr]
    commands = user._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "modify" in commands
    for name, parser in commands.items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.dest in ("json", "lang", "home"):
                continue
            assert action.help, f"user {name} {action.option_strings or action.dest}"

"""``prepaid operator add|passwd|list|disable|enable`` (DESIGN §8): a password set for someone
else is changed by them first; a disabled operator is enabled again."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from prepaid.home import DataHome

PASSWORD = "Boss-admin-pw1"

pytestmark = pytest.mark.django_db


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(
        self,
        *argv: str,
        status: int = 0,
        stdin: str = "",
        json_output: bool = True,
        lang: str = "zh-hans",
        operator: str = "boss",
        password: str = PASSWORD,
    ) -> Any:
        from django.utils import translation

        from prepaid.cli.main import main

        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.monkeypatch.setenv("PREPAID_OPERATOR", operator)
        self.monkeypatch.setenv("PREPAID_PASSWORD", password)
        self.capsys.readouterr()
        args = [*argv, "--lang", lang] + (["--json"] if json_output else [])
        try:
            result = main(args)
        finally:
            translation.deactivate()
        out = self.capsys.readouterr()
        assert result == status, out
        return json.loads(out.out) if json_output else out.out


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    from prepaid.operators.models import Operator, Role

    home = tmp_path / "home"
    DataHome(home).ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home))
    admin = Operator(username="boss", role=Role.ADMIN, is_staff=True)
    admin.set_password(PASSWORD)
    admin.save()
    return Cli(capsys, monkeypatch)


def _audits(action: str) -> int:
    from prepaid.audit.models import AuditEntry

    return AuditEntry.objects.filter(action=action).count()


GIVEN = {"operator": "clerk", "password": "Given-pw-1"}  # the administrator's password
CLERK = {"operator": "clerk", "password": "Clerk-own-1"}  # the clerk's own


def _clerk(cli: Cli) -> None:
    """The administrator adds ``clerk``, who changes the given password to their own."""
    cli("operator", "add", "clerk", stdin="Given-pw-1\n")
    cli("operator", "passwd", "clerk", stdin="Clerk-own-1\n", **GIVEN)


def test_a_new_operator_changes_the_administrators_password_first(cli: Cli) -> None:
    added = cli("operator", "add", "clerk", stdin="Given-pw-1\n")
    assert (added["name"], added["must_change_password"]) == ("clerk", True)
    said = cli("operator", "add", "clerk2", stdin="Given-pw-2\n", json_output=False)
    assert said == "操作员 clerk2 已添加，首次使用时须修改密码。\n"
    refused = cli("account", "list", status=1, **GIVEN)
    assert refused["error"] == "password_change_required"
    same = cli("operator", "passwd", "clerk", status=2, stdin="Given-pw-1\n", **GIVEN)
    assert (same["error"], same["message"]) == ("weak_password", "新密码不能与当前密码相同。")
    changed = cli("operator", "passwd", "clerk", stdin="Clerk-own-1\n", **GIVEN)
    assert changed["must_change_password"] is False
    assert cli("account", "list", **CLERK) == []


def test_a_password_the_administrator_resets_is_changed_again(cli: Cli) -> None:
    _clerk(cli)
    said = cli("operator", "passwd", "clerk", stdin="Reset-pw-1\n", json_output=False)
    assert said == "操作员 clerk 的密码已设置，首次使用时须修改密码。\n"
    refused = cli("account", "list", status=1, operator="clerk", password="Reset-pw-1")
    assert refused["error"] == "password_change_required"
    own = cli("operator", "passwd", "boss", stdin="Boss-own-pw2\n", json_output=False)
    assert own == "操作员 boss 的密码已修改。\n"
    listed = cli("operator", "list", password="Boss-own-pw2")
    assert {o["name"]: o["must_change_password"] for o in listed} == {
        "boss": False,
        "clerk": True,
    }


def test_passwd_of_oneself_with_a_wrong_current_password_counts_towards_the_lock(
    cli: Cli,
) -> None:
    """The current password ($PREPAID_PASSWORD) is checked as a login is: each wrong one
    counts, the fifth locks the operator and says until when, and nothing is changed."""
    from django.utils import timezone

    from prepaid.operators.models import Operator

    _clerk(cli)
    wrong = {"operator": "clerk", "password": "Not-mine-1"}
    for _ in range(4):
        refused = cli("operator", "passwd", "clerk", status=1, stdin="New-pw-42\n", **wrong)
        assert refused["error"] == "auth_failed"
    locked = cli("operator", "passwd", "clerk", status=1, stdin="New-pw-42\n", **wrong)
    clerk = Operator.objects.get(username="clerk")
    assert clerk.locked_until is not None and clerk.check_password("Clerk-own-1")
    until = timezone.localtime(clerk.locked_until).strftime("%Y-%m-%d %H:%M")
    assert locked["error"] == "account_locked"
    assert f"操作员 clerk 已被锁定至 {until}" in locked["message"]
    # locked: the right password does not change it either, nor does anything else work
    again = cli("operator", "passwd", "clerk", status=1, stdin="New-pw-42\n", **CLERK)
    assert again["error"] == "account_locked"
    assert cli("account", "list", status=1, **CLERK)["error"] == "account_locked"
    assert _audits("operator.lock") == 1
    assert Operator.objects.get(username="clerk").check_password("Clerk-own-1")


def test_the_list_says_who_must_still_change_the_password(cli: Cli) -> None:
    cli("operator", "add", "clerk", stdin="Given-pw-1\n")
    cli("operator", "add", "cashier", stdin="Given-pw-2\n")
    cli("operator", "disable", "cashier")
    lines = cli("operator", "list", json_output=False).splitlines()
    rows = {line.split()[0]: line.split()[-1] for line in lines}
    assert rows == {"boss": "正常", "cashier": "已停用，须修改密码", "clerk": "正常，须修改密码"}
    english = cli("operator", "list", json_output=False, lang="en")
    assert "active, must change password" in english


def test_disable_then_enable_again_each_audited_once(cli: Cli) -> None:
    _clerk(cli)
    disabled = cli("operator", "disable", "clerk")
    assert (disabled["active"], disabled["changed"]) == (False, True)
    again = cli("operator", "disable", "clerk", json_output=False)
    assert again == "操作员 clerk 已是停用状态，未作更改。\n"
    assert _audits("operator.disable") == 1
    refused = cli("account", "list", status=1, **CLERK)
    assert refused == {
        "error": "operator_disabled",
        "message": "操作员 clerk 已被停用，请联系管理员重新启用。",
    }

    said = cli("operator", "enable", "clerk", json_output=False)
    assert said == "操作员 clerk 已启用。\n"
    enabled = cli("operator", "enable", "clerk")
    assert (enabled["name"], enabled["active"], enabled["changed"]) == ("clerk", True, False)
    assert _audits("operator.enable") == 1
    assert cli("account", "list", **CLERK) == []
    english = cli("operator", "enable", "clerk", json_output=False, lang="en")
    assert english == "Operator clerk is already enabled: nothing changed.\n"


def test_enable_refusals(cli: Cli) -> None:
    _clerk(cli)
    cli("operator", "add", "cashier", stdin="Given-pw-2\n")
    cli("operator", "disable", "cashier")
    denied = cli("operator", "enable", "cashier", status=1, **CLERK)
    assert denied["error"] == "permission_denied"
    unknown = cli("operator", "enable", "nobody", status=2)
    assert unknown == {"error": "unknown_operator", "message": "没有名为 nobody 的操作员。"}
    assert cli("operator", "enable", status=2)["error"] == "usage"
    assert _audits("operator.enable") == 0


def test_a_disabled_operator_is_told_so_only_with_the_right_password(cli: Cli) -> None:
    """PREPAID_OPERATOR of a disabled operator: ``operator_disabled`` (exit 1) with the right
    password, in the operator's language; a wrong one is refused as for a name nobody has."""
    _clerk(cli)
    cli("operator", "disable", "clerk")
    english = cli("account", "list", status=1, lang="en", **CLERK)
    assert english == {
        "error": "operator_disabled",
        "message": "Operator clerk has been disabled. Ask an administrator to enable it again.",
    }
    own = cli("operator", "passwd", "clerk", status=1, stdin="Clerk-new-2\n", **CLERK)
    assert own["error"] == "operator_disabled"  # not even their own password
    wrong = cli("account", "list", status=1, operator="clerk", password="wrong-pw")
    nobody = cli("account", "list", status=1, operator="nobody", password="wrong-pw")
    assert wrong == nobody and wrong["error"] == "auth_failed"

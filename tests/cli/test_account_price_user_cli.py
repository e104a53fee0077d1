"""``prepaid account|price|user`` end to end: real processes on a throwaway data directory.

One data directory serves the whole module (each command is a process of about a second), so
the tests run in order and build on each other: accounts, then prices, then customers.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ADMIN_PASSWORD = "cli-Admin-pw-7"
CLERK_PASSWORD = "cli-Clerk-pw-7"
CLERK_FIRST_PASSWORD = "cli-Clerk-first-7"  # the administrator's, changed by the clerk
PREPAID = Path(sys.executable).with_name("prepaid")


class Cli:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREPAID_",))}
        self.env.pop("DATABASE_URL", None)  # the SQLite database of this data directory
        self.env.update(PREPAID_HOME=str(home), PREPAID_PASSWORD=ADMIN_PASSWORD)

    def run(
        self,
        *args: str,
        operator: str = "admin",
        stdin: str = "",
        lang: str = "en",
        password: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, PREPAID_OPERATOR=operator, PREPAID_LANG=lang)
        if operator == "clerk":
            env["PREPAID_PASSWORD"] = CLERK_PASSWORD
        if password is not None:
            env["PREPAID_PASSWORD"] = password
        return subprocess.run(
            [str(PREPAID), *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def json(self, command: str, *, status: int = 0, **kw: Any) -> Any:
        """Run ``command`` (split like a shell would) with --json; its JSON document."""
        result = self.run(*shlex.split(command), "--json", **kw)
        assert result.returncode == status, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    def refused(self, command: str, *, code: str, status: int = 1, **kw: Any) -> str:
        """Run a command that must be refused with ``code``; the message."""
        document = self.json(command, status=status, **kw)
        assert document["error"] == code, document
        return document["message"]

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.home / "prepaid.sqlite3") as connection:
            return connection.execute(query, params).fetchall()

    def audits(self, action: str) -> int:
        rows = self.sql("SELECT count(*) FROM audit_auditentry WHERE action = ?", action)
        return int(rows[0][0])


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Cli:
    runner = Cli(tmp_path_factory.mktemp("prepaid-home"))
    result = runner.run("init", "--admin-password", ADMIN_PASSWORD)
    assert result.returncode == 0, result.stderr
    result = runner.run(
        "operator", "add", "clerk", "--role", "operator", stdin=CLERK_FIRST_PASSWORD
    )
    assert result.returncode == 0, result.stderr
    result = runner.run(  # the clerk changes the password the administrator gave
        "operator",
        "passwd",
        "clerk",
        operator="clerk",
        password=CLERK_FIRST_PASSWORD,
        stdin=CLERK_PASSWORD,
    )
    assert result.returncode == 0, result.stderr
    return runner


WATER = (
    "--meter-type water --limit 999 --prestore 5 --alarm 10 --overdraft 5 --maintenance-code 1234"
)
TIERS = "0-180:5.00,180-260:7.00,260-:9.00"


def test_account_create_offers_to_add_a_price(cli):
    result = cli.run(*shlex.split(f"account create --sub-meter 1 {WATER}"))
    assert result.returncode == 0, result.stderr
    assert "Do you want to add a price for this account?" in result.stdout
    assert "prepaid price add --account 1 " in result.stdout
    doc = cli.json(
        "account create --meter-type electricity --sub-meter 2 --limit 500.5 "
        "--maintenance-code 00001234 --name 居民用电"
    )
    assert doc["id"] == 2
    assert doc["offer_price"] is True
    assert doc["add_price_command"].startswith("prepaid price add --account 2 ")
    assert {k: doc[k] for k in ("name", "meter_type", "sub_meter", "unit", "maintenance_code")} == {
        "name": "居民用电",
        "meter_type": "electricity",
        "sub_meter": 2,
        "unit": "kWh",
        "maintenance_code": 1234,
    }
    amounts = (doc["limit"], doc["prestore"], doc["alarm"], doc["overdraft"])
    assert amounts == ("500.50", "0.00", "0.00", "0.00")


def test_account_refusals(cli):
    message = cli.refused(f"account create --sub-meter 2 {WATER}", code="sub_meter_taken")
    assert message == "Sub-meter number 2 is already used by another account."
    message = cli.refused(
        f"account create --sub-meter 3 {WATER} --limit 1.234", code="too_many_decimals", status=2
    )
    assert message == "Purchase limit allows at most 2 decimal places."  # the field, capitalised
    cli.refused("account create --sub-meter 3", code="usage", status=2)
    cli.refused(f"account create --sub-meter 3 {WATER}", code="permission_denied", operator="clerk")
    assert cli.sql("SELECT sub_meter FROM accounts_account ORDER BY sub_meter") == [(1,), (2,)]
    assert cli.audits("account.create") == 2


def test_fifth_account_refused_and_list(cli):
    cli.json("account create --sub-meter 3 --meter-type gas --limit 100 --maintenance-code 1")
    cli.json("account create --sub-meter 4 --meter-type heat --limit 100 --maintenance-code 1")
    cli.refused(f"account create --sub-meter 1 {WATER}", code="too_many_accounts")
    accounts = cli.json("account list", operator="clerk")
    assert [(a["sub_meter"], a["meter_type"], a["unit"]) for a in accounts] == [
        (1, "water", "m³"),
        (2, "electricity", "kWh"),
        (3, "gas", "m³"),
        (4, "heat", "GJ"),
    ]
    assert cli.audits("account.create") == 4


def test_price_add_adjust_modify_show(cli):
    tiered = cli.json(
        f"price add --account 1 --name 居民用水 --tiers {TIERS} --period year --remarks 阶梯"
    )
    assert tiered["id"] == 1
    assert (tiered["account"], tiered["name"], tiered["remarks"]) == (1, "居民用水", "阶梯")
    current = tiered["current_version"]
    assert (current["number"], current["period"], current["tiers"]) == (1, "year", TIERS)
    assert current["unit_price"] is None
    flat = cli.json("price add --account 1 --name 商业用水 --unit-price 3.4500")
    assert flat["current_version"]["unit_price"] == "3.45"
    assert flat["current_version"]["tiers"] == "0-:3.45"

    adjusted = cli.json(f"price adjust {flat['id']} --unit-price 3.8 --effective 2030-01-01")
    assert adjusted["version"]["number"] == 2
    assert adjusted["current_version"]["unit_price"] == "3.45"
    assert adjusted["next_version"] == adjusted["version"]
    cli.refused(
        f"price adjust {flat['id']} --unit-price 3.9 --effective 2029-12-31",
        code="effective_date_too_early",
    )
    # corrects version 2, which no sale used yet
    modified = cli.json(f"price modify {flat['id']} --name 商业用水（一） --unit-price 3.85")
    assert modified["name"] == "商业用水（一）"
    shown = cli.json(f"price show {flat['id']}", operator="clerk")
    versions = [(v["number"], v["effective_from"], v["unit_price"], v["used"]) for v in
                shown["versions"]]  # fmt: skip
    assert versions[1:] == [(2, "2030-01-01", "3.85", False)]
    assert shown["in_use"] is False
    listed = cli.json("price list --account 1")
    assert [p["name"] for p in listed] == ["居民用水", "商业用水（一）"]
    assert cli.audits("price.create") == 2
    assert cli.audits("price.adjust") == 1
    assert cli.audits("price.modify") == 1


def test_account_and_price_lists_read_in_chinese(cli):
    accounts = cli.run("account", "list", lang="zh-hans").stdout
    assert "（水表，m³）" in accounts and "（电表，kWh）" in accounts and "water" not in accounts
    prices = cli.run("price", "list", "--account", "1", lang="zh-hans").stdout
    assert f"{TIERS} / 按年" in prices and "year" not in prices
    assert f"{TIERS} / Year" in cli.run("price", "list", "--account", "1").stdout


def test_an_announced_price_follows_without_a_space_in_chinese():
    from types import SimpleNamespace

    from django.utils import translation

    from prepaid.cli.price import price_line

    version = {"unit_price": "3.45", "period": "", "tiers": None}
    doc = {
        "id": 1,
        "name": "居民用水",
        "account_name": "自来水",
        "current_version": version,
        "next_version": {**version, "unit_price": "3.80", "effective_from": "2027-01-01"},
    }
    ctx = SimpleNamespace(gettext=translation.gettext)
    with translation.override("zh-hans"):
        assert price_line(ctx, doc).endswith("：3.45（自 2027-01-01 起：3.80）")
    with translation.override("en"):
        assert price_line(ctx, doc).endswith(": 3.45 (from 2027-01-01: 3.80)")


def test_price_refusals(cli):
    add = "price add --account 1 --name x"
    cli.refused(f"{add} --unit-price 1", code="permission_denied", operator="clerk")
    cli.refused(f"{add} --unit-price 1 --tiers {TIERS}", code="usage", status=2)
    message = cli.refused(f"{add} --tiers 0-100:5,90-:6 --period year", code="bad_tiers", status=2)
    assert "overlap" in message
    cli.refused("price add --account 77 --name x --unit-price 1", code="unknown_account", status=2)
    cli.refused("price show 999", code="unknown_price", status=2)
    assert cli.sql("SELECT count(*) FROM accounts_price") == [(2,)]
    assert cli.audits("price.create") == 2


def test_user_register_show_find(cli):
    doc = cli.json(
        "user register --name ' 张三 ' --phone '138 0000 1111' --address '幸福路 1 号' "
        "--id-number 11010519491231002x",
        operator="clerk",
    )
    assert (doc["id"], doc["user_number"], doc["name"]) == (1, "00000001", "张三")
    assert doc["id_number"] == "11010519491231002X"
    result = cli.run("user", "register", "--name", "Zoë Smith")
    assert result.returncode == 0
    assert "00000002" in result.stdout
    cli.refused(f"user register --name {'x' * 65}", code="too_long", status=2)
    cli.refused(
        "user register --name x --id-number 110105194912310021", code="bad_id_number", status=2
    )
    message = cli.refused("user register --name x --phone=-1", code="bad_phone", status=2)
    assert message == (
        "A phone number may have “+” only at its start and “-” or spaces only between digits, "
        "not “-1”."
    )
    message = cli.refused("user register --name x --phone 1", code="bad_phone", status=2)
    assert message == "A phone number has 5 to 20 digits, not 1: “1”."
    message = cli.refused(
        "user register --name x --phone abc", code="bad_phone", status=2, lang="zh-hans"
    )
    assert message == "电话号码只能包含数字、“+”、“-”和空格，不能是“abc”。"
    assert cli.sql("SELECT count(*) FROM customers_customer") == [(2,)]
    assert cli.audits("customer.register") == 2

    shown = cli.json("user show 1")
    assert shown["user_number"] == "00000001"
    assert [shown[k] for k in ("accounts", "cards", "purchases", "ledger")] == [[], [], [], []]
    assert [c["user_number"] for c in cli.json("user find smith")] == ["00000002"]
    cli.refused("user show 42", code="unknown_customer", status=2)


def test_price_in_use_cannot_be_deleted(cli):
    # Open customer 00000001 on price 1 as the vending code would.
    cli.sql(
        "INSERT INTO vending_customeraccount (customer_id, account_id, price_id, last_serial, "
        "opened_at) VALUES (1, 1, 1, 0, '2026-01-01 00:00:00')"
    )
    message = cli.refused("price delete 1", code="price_in_use")
    assert message == "This price is used by customers and cannot be deleted."
    shown = cli.json("user show 00000001")
    assert [(a["sub_meter"], a["price_name"]) for a in shown["accounts"]] == [(1, "居民用水")]
    deleted = cli.json("price delete 2")
    assert deleted == {"id": 2, "name": "商业用水（一）", "deleted": True}
    assert cli.sql("SELECT id FROM accounts_price") == [(1,)]
    assert cli.audits("price.delete") == 1


def test_account_modify_and_delete(cli):
    """Account 1 has a customer opened on it (above); account 4 was never used."""
    message = cli.refused("account modify 1 --limit 500", code="account_in_field")
    assert "the meters carry its present values" in message
    assert "仪表" not in message
    message = cli.refused("account modify 1 --alarm 5", code="account_in_field", lang="zh-hans")
    assert message.startswith("账户") and "只能修改账户名称" in message
    result = cli.run("account", "modify", "1", "--name", "生活用水")
    assert result.returncode == 0, result.stderr
    assert "Account 生活用水 modified." in result.stdout
    assert "limit 999.00" in result.stdout

    modified = cli.json("account modify 4 --limit 200 --alarm 20.5 --maintenance-code 0077")
    assert (modified["id"], modified["limit"], modified["alarm"]) == (4, "200.00", "20.50")
    assert (modified["maintenance_code"], modified["meter_type"]) == (77, "heat")
    cli.refused("account modify 4", code="nothing_to_change", status=2)
    cli.refused("account modify 4 --limit 200.00", code="nothing_to_change", status=2)
    cli.refused("account modify 4 --alarm 300", code="alarm_not_below_limit", status=2)
    message = cli.refused("account modify 4 --sub-meter 1", code="account_fixed")
    assert message.startswith("The meter type and sub-meter number of an account cannot")
    cli.refused("account modify 4 --meter-type water", code="account_fixed")
    cli.refused("account modify 4 --name x", code="permission_denied", operator="clerk")
    cli.refused("account modify 99 --name x", code="unknown_account", status=2)
    assert cli.audits("account.modify") == 2

    message = cli.refused("account delete 1", code="account_in_use")
    assert message == (
        "This account has been used (customers, cards or sales) and cannot be deleted."
    )
    cli.refused("account delete 4", code="permission_denied", operator="clerk")
    cli.json("price add --account 4 --name 供暖 --unit-price 30")
    deleted = cli.json("account delete 4")
    # named by default in the office's language, whatever the language of the command
    assert (deleted["id"], deleted["name"], deleted["deleted"]) == (4, "热量表 4", True)
    assert len(deleted["prices"]) == 1
    assert cli.sql("SELECT id FROM accounts_account ORDER BY id") == [(1,), (2,), (3,)]
    assert cli.sql("SELECT count(*) FROM accounts_price WHERE account_id = 4") == [(0,)]
    assert cli.audits("account.delete") == 1
    result = cli.run("account", "delete", "3", lang="zh-hans")
    assert result.returncode == 0, result.stderr
    assert "已删除" in result.stdout

"""The operator manual end to end through the command line (DESIGN §8), as an acceptance test:
every number compared, every refusal with its code and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ADMIN_PASSWORD = "Counter-9-admin"


class Cli:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "PREPAID_HOME": str(home),
            "PREPAID_STATION": "counter-1",
            "PREPAID_OPERATOR": "admin",
            "PREPAID_PASSWORD": ADMIN_PASSWORD,
        }

    def run(self, *args: str, status: int = 0, stdin: str = "", **env: str):
        result = subprocess.run(
            [sys.executable, "-m", "prepaid", "--json", *args],
            env={**self.env, **env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == status, (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if result.stdout.strip() else None

    def text(self, *args: str) -> str:
        """What an operator reads (no ``--json``), in the default language."""
        result = subprocess.run(
            [sys.executable, "-m", "prepaid", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Cli:
    cli = Cli(tmp_path_factory.mktemp("office") / "data")
    first = cli.run("init")
    assert first["admin_created"] and first["secrets_created"]
    assert (cli.home / "secrets.json").stat().st_mode & 0o777 == 0o600
    again = cli.run("init")  # idempotent
    assert not again["admin_created"] and not again["secrets_created"]
    refused = cli.run("account", "list", status=1, PREPAID_PASSWORD="1111")
    assert refused["error"] == "password_change_required"
    cli.run("operator", "passwd", "admin", stdin=ADMIN_PASSWORD + "\n", PREPAID_PASSWORD="1111")
    return cli


def test_manual_from_first_account_to_meter_change(cli):
    account = cli.run(
        "account",
        "create",
        "--meter-type",
        "water",
        "--sub-meter",
        "1",
        "--limit",
        "999",
        "--prestore",
        "5",
        "--alarm",
        "10",
        "--overdraft",
        "5",
        "--maintenance-code",
        "1234",
        "--name",
        "自来水",
    )
    assert account["offer_price"] is True
    price = cli.run(
        "price",
        "add",
        "--account",
        str(account["id"]),
        "--name",
        "居民用水",
        "--unit-price",
        "3.45",
    )
    for name in ("setting", "zero", "user1", "user2", "blank"):
        cli.run("card", "blank", name)

    # Tool cards (admin): zero then setting, as the manual says for a new meter.
    cli.run("card", "insert", "zero")
    assert cli.run("card", "make", "zero", "--account", str(account["id"]))["type"] == "zero"
    cli.run("card", "insert", "setting")
    setting = cli.run("card", "make", "setting", "--account", str(account["id"]))
    assert setting["parameters"]["limit"] == "999.00"
    cli.run("meter", "add", "M1")
    cli.run("card", "insert", "zero")
    cli.run("meter", "swipe", "M1")
    cli.run("card", "insert", "setting")
    meter = cli.run("meter", "swipe", "M1")
    assert (meter["state"], meter["balance"]) == ("set", "5.00")

    # Register and open on a new card in one go.
    cli.run("card", "insert", "user1")
    cli.run("card", "format")
    user = cli.run(
        "user",
        "register",
        "--name",
        "王五",
        "--phone",
        "13912345678",
        "--open",
        "--account",
        str(account["id"]),
        "--price",
        str(price["id"]),
        "--quantity",
        "10",
    )
    number = user["user_number"]
    opened = user["opened"]
    assert (opened["serial"], opened["quantity"], opened["amount"]) == (1, "10.00", "34.50")

    # Not swiped: the next sale is refused with the manual's message.
    refused = cli.run("sell", "--quantity", "5", status=1)
    assert refused["error"] == "card_not_swiped"
    assert refused["message"] == "该卡没有刷表，请刷表后再进行操作"
    english = cli.run("sell", "--quantity", "5", "--lang", "en", status=1)
    assert "swiped" in english["message"]

    meter = cli.run("meter", "swipe", "M1")
    assert (meter["state"], meter["balance"], meter["last_serial"]) == ("bound", "15.00", 1)
    card = cli.run("card", "read")
    assert card["slots"][0]["swiped"] is True
    assert card["slots"][0]["meter"]["balance"] == "15.00"

    sale = cli.run("sell", "--amount", "19.99", "--pay", "wechat")
    assert (sale["serial"], sale["quantity"], sale["amount"]) == (2, "5.79", "19.98")
    fixed = cli.run("correct", "--quantity", "2")
    assert (fixed["serial"], fixed["quantity"], fixed["amount"]) == (2, "2.00", "6.90")
    meter = cli.run("meter", "swipe", "M1")
    assert meter["balance"] == "17.00"
    assert cli.run("correct", "--quantity", "1", status=1)["error"] == "already_swiped"
    used = cli.run("meter", "use", "M1", "4.5")
    assert used["balance"] == "12.50"

    # Reissue onto a new card: the old one is revoked at once in the office.
    cli.run("card", "insert", "user2")
    cli.run("card", "format")
    reissued = cli.run("reissue", number, "--fee", "10", "--key", "reissue-1")
    assert (reissued["generation"], reissued["serial"], reissued["fee"]) == (2, 2, "10.00")
    told = cli.text("reissue", number, "--fee", "10", "--key", "reissue-1")  # the same, again
    assert "补卡成功" in told and f"新卡 {reissued['card_serial']}，代次 2。" in told
    assert f"旧卡 {reissued['revoked_serial']}（代次 1）已作废。" in told
    assert "补卡费：10.00，支付方式：现金。" in told  # as its receipt shows it
    assert f"补卡单号 {reissued['reissue_id']}：用户 {number} " in told
    assert (reissued["payment"], reissued["revoked_generation"]) == ("cash", 1)
    assert "用户必须到表上重新刷卡" in told
    cli.run("card", "insert", "user1")
    assert cli.run("sell", "--quantity", "1", status=1)["error"] == "card_revoked"
    cli.run("card", "insert", "user2")
    assert cli.run("sell", "--quantity", "1", status=1)["error"] == "card_not_swiped"
    meter = cli.run("meter", "swipe", "M1")
    assert (meter["balance"], meter["last_serial"]) == ("12.50", 2)  # not credited twice
    cli.run("card", "insert", "user1")
    old = cli.run("meter", "swipe", "M1", status=1)
    assert (old["error"], old["result"]) == ("card_revoked", "E05")
    cli.run("card", "insert", "user2")

    # Meter change: the new meter is zeroed and set, then takes the transfer.
    sale = cli.run("sell", "--quantity", "3")  # unswiped, carried over
    assert sale["serial"] == 3
    cli.run("meter", "add", "M2")
    for tool in ("zero", "setting"):
        cli.run("card", "insert", tool)
        cli.run("meter", "swipe", "M2")
    cli.run("card", "insert", "user2")
    change = cli.run("meter-change", "--remaining", "12.5", "--reason", "表坏")
    assert (change["serial"], change["kind"], change["transfer"]) == (4, "transfer", "10.50")
    assert (change["carried"], change["prestore_deducted"], change["value"]) == (
        "3.00",
        "5.00",
        "36.23",
    )
    assert cli.run("meter", "swipe", "M1", status=1)["result"] == "E09"
    meter = cli.run("meter", "swipe", "M2")
    assert (meter["state"], meter["balance"], meter["last_serial"]) == ("bound", "15.50", 4)

    history = cli.run("user", "show", number)
    assert history["user_number"] == number
    shown = cli.text("user", "show", number)  # statuses by name, in Chinese
    assert f"{reissued['revoked_serial']}，代次 1：已作废" in shown
    assert f"{reissued['card_serial']}，代次 2：有效" in shown
    assert "#4 换表转移 已完成：10.50 m³，" in shown and "#2 购买 已修改" in shown
    assert {a["unit"] for a in history["accounts"]} == {"m³"}  # quantities with their unit
    assert {p["unit"] for p in history["purchases"]} == {"m³"}
    audit = cli.run("audit", "verify")
    assert audit["ok"] is True and audit["entries"] > 20


def test_operator_permissions_and_bad_input(cli):
    cli.run("operator", "add", "clerk", "--role", "operator", stdin="Clerk-first-77\n")
    first = {"PREPAID_OPERATOR": "clerk", "PREPAID_PASSWORD": "Clerk-first-77"}
    # the password the administrator gave must be changed by the clerk first
    assert cli.run("account", "list", status=1, **first)["error"] == "password_change_required"
    cli.run("operator", "passwd", "clerk", stdin="Clerk-pass-77\n", **first)
    clerk = {"PREPAID_OPERATOR": "clerk", "PREPAID_PASSWORD": "Clerk-pass-77"}
    cli.run("card", "blank", "tool-x")
    cli.run("card", "insert", "tool-x")
    for args in (
        ("card", "make", "check"),
        ("card", "format"),
        (
            "account",
            "create",
            "--meter-type",
            "gas",
            "--sub-meter",
            "3",
            "--limit",
            "9",
            "--prestore",
            "0",
            "--alarm",
            "1",
            "--overdraft",
            "0",
            "--maintenance-code",
            "1",
        ),
        ("price", "add", "--account", "1", "--name", "x", "--unit-price", "1"),
        ("meter-change", "--remaining", "1"),
    ):
        assert cli.run(*args, status=1, **clerk)["error"] == "permission_denied", args
    assert cli.run("sell", "--quantity", "1", status=1, PREPAID_PASSWORD="wrong")["error"] == (
        "auth_failed"
    )
    for bad in ("-1", "0", "abc", "1.234", "1e5", "99999999999"):
        result = cli.run("sell", "--quantity", bad, status=2, **clerk)
        assert result["error"] in {
            "negative",
            "zero",
            "not_a_number",
            "too_many_decimals",
            "too_large",
        }, result
    assert cli.run("sell", status=2)["error"] == "usage"
    assert cli.run("card", "insert", "no-such-card", status=2)["error"] == "unknown_card"
    assert cli.run("meter", "show", "NOPE", status=2)["error"] == "unknown_meter"
    cli.run("card", "insert", "tool-x")
    (cli.home / "cards" / "tool-x.card").write_bytes(b"PP" + bytes(10))
    before = (cli.home / "cards" / "tool-x.card").read_bytes()
    assert cli.run("card", "read", status=1)["error"] == "bad_card"
    assert (cli.home / "cards" / "tool-x.card").read_bytes() == before


def test_missing_data_directory_is_a_clear_usage_error(tmp_path):
    cli = Cli(tmp_path / "nowhere")
    result = cli.run("card", "list", status=2)
    assert result["error"] == "no_data_directory"


@pytest.mark.parametrize(
    "args",
    [
        ("account", "list"),
        ("operator", "list"),
        ("user", "register", "--name", "王五"),
        ("price", "add", "--account", "1", "--name", "x", "--unit-price", "1"),
        ("reissue", "00000001"),
    ],
)
def test_every_command_without_a_data_directory_says_run_init(tmp_path, args):
    cli = Cli(tmp_path / "nowhere")
    result = cli.run(*args, status=2)
    assert result["error"] == "no_data_directory", result
    assert "prepaid init" in result["message"]
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("account", "list"),
        ("serve",),
        ("card", "format"),
        ("report", "sales"),
        ("office", "time-zone"),
        ("backup", "site.backup"),
    ],
)
def test_a_command_refused_in_an_empty_data_directory_leaves_it_empty(tmp_path, args):
    """A data directory made ready (existing, empty) before ``prepaid init`` or a restore: a
    command refused there leaves nothing behind, not even the lock it held meanwhile
    (``.serving.lock``)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    cli = Cli(empty)
    result = cli.run(*args, status=2, PREPAID_BACKUP_PASSPHRASE="a long passphrase here")
    assert result["error"] == "no_data_directory", result
    assert sorted(path.name for path in empty.iterdir()) == []


def test_init_where_a_file_stands_is_refused_plainly(tmp_path):
    (tmp_path / "taken").write_text("not a directory")
    cli = Cli(tmp_path / "taken")
    result = cli.run("init", status=2)
    assert result == {
        "error": "cannot_create_home",
        "message": f"无法创建数据目录 {tmp_path / 'taken'}：已有同名文件",
    }


def test_init_says_the_first_password_and_that_it_must_be_changed(tmp_path):
    told = Cli(tmp_path / "data").text("init")
    assert "初始密码为 1111，首次登录时须修改" in told, told
    unattended = Cli(tmp_path / "other").text("init", "--admin-password", "Given-pw-123")
    assert "1111" not in unattended and "已创建操作员“admin”。" in unattended


def test_init_with_a_password_refused_leaves_the_data_directory_as_it_was(tmp_path):
    """A password ``--admin-password`` gives is checked before anything is made: an empty
    data directory stays empty, a missing one is not created."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = Cli(empty).run("init", "--admin-password", "123", status=2)
    assert result["error"] == "weak_password", result
    assert sorted(path.name for path in empty.iterdir()) == []
    result = Cli(tmp_path / "none").run("init", "--admin-password", "1111", status=2)
    assert result["error"] == "weak_password", result
    assert not (tmp_path / "none").exists()

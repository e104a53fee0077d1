"""Every administrator-only command (DESIGN §3: accounts, prices, tool cards, card formatting,
meter change, operators, backup and restore, and the services that check for an administrator:
settling a lost card's purchase, saving the suspicious-customer rules, reading the audit log,
the demo, changing the office's time zone) refuses an operator (收费员) with
``permission_denied`` (exit 1) and changes nothing."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db

CLERK_PASSWORD = "Clerk-own-pw1"


@pytest.fixture
def office(admin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from prepaid.operators.models import Operator, Role
    from prepaid.reports.time_zone import require_office_time_zone
    from vending.conftest import office_records

    home = DataHome(tmp_path / "home")
    home.create_dirs()
    home.ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home.root))
    monkeypatch.setenv("PREPAID_READER", "virtual")
    clerk = Operator(username="clerk", role=Role.OPERATOR)
    clerk.set_password(CLERK_PASSWORD)
    clerk.save()
    account, price, _tiered, customer = office_records(admin)
    require_office_time_zone()  # recorded by prepaid init
    return {
        "account": account.pk,
        "price": price.pk,
        "user": customer.user_number,
        "backup": str(tmp_path / "office.backup"),
    }


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    *,
    stdin: str = "",
) -> tuple[int, Any]:
    from django.utils import translation

    from prepaid.cli.main import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    monkeypatch.setenv("PREPAID_OPERATOR", "clerk")
    monkeypatch.setenv("PREPAID_PASSWORD", CLERK_PASSWORD)
    capsys.readouterr()
    try:
        status = main([*argv, "--json", "--lang", "en"])
    finally:
        translation.deactivate()
    return status, json.loads(capsys.readouterr().out)


ADMIN_ONLY = [
    "account create --meter-type electricity --sub-meter 2 --limit 999 --prestore 5 "
    "--alarm 10 --overdraft 5 --maintenance-code 1234",
    "account modify {account} --name x",
    "account delete {account}",
    "price add --account {account} --name x --unit-price 1",
    "price adjust {price} --unit-price 9",
    "price modify {price} --name x",
    "price delete {price}",
    "card format",
    "card recycle",
    "card make setting --account {account}",
    "card make clear-all",
    "card make zero",
    "card make check",
    "meter-change --remaining 1 --account {account}",
    "reconcile --void 1",
    "report suspicious --set min_purchases=2 --save",
    "audit list",
    "operator add mallory --role admin",
    "operator passwd admin",
    "operator disable admin",
    "operator enable admin",
    "operator list",
    "backup {backup}",
    "restore {backup}",
    "restore {backup} --force",
    "demo --customers 1 --months 1",
    "office time-zone Europe/Paris",
]


@pytest.mark.parametrize("command", ADMIN_ONLY)
def test_an_operator_is_refused_every_administrator_command(office, monkeypatch, capsys, command):
    from prepaid.accounts.models import Account, Price
    from prepaid.audit.models import AuditEntry
    from prepaid.operators.models import Operator
    from prepaid.reports.models import OfficeTimeZone

    def state() -> tuple[Any, ...]:
        return (
            # the station's first use of the site key is recorded whoever reads a card
            AuditEntry.objects.exclude(action="site_key.record").count(),
            list(Account.objects.values_list("id", "name")),
            list(Price.objects.values_list("id", "name")),
            list(Operator.objects.values_list("username", "is_active", "password")),
            list(OfficeTimeZone.objects.values_list("time_zone", flat=True)),
        )

    before = state()
    argv = command.format(**office).split()
    # nothing on standard input: the refusal comes before any password or passphrase is asked
    status, document = run(monkeypatch, capsys, argv)
    assert (status, document["error"]) == (1, "permission_denied"), document
    assert document["message"] == "Only an administrator may do this."
    assert state() == before
    assert not Path(office["backup"]).exists()

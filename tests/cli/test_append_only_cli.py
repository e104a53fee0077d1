"""The database refusing to change a ledger or an audit entry (docs/decisions/0014) reaches the
operator of a command as a refusal in their language — ``ledger_append_only``,
``audit_append_only``, exit status 1 — not as a database failure to settle with the card."""

from __future__ import annotations

import argparse
import json
import sys
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from prepaid.cli import main
from prepaid.cli.context import Context

pytestmark = pytest.mark.django_db


def _one_of_each() -> None:
    """A ledger entry and an audit entry to be changed."""
    from prepaid.audit.services import log_action
    from prepaid.customers.models import Customer
    from prepaid.operators.models import Operator
    from prepaid.vending.models import LedgerEntry, Shift

    boss = Operator.objects.get(username="boss")
    customer = Customer.objects.create(
        user_number=uuid.uuid4().hex[:8], name="赵六", created_at=timezone.now()
    )
    shift = Shift.objects.create(operator=boss, station="s1", opened_at=timezone.now())
    LedgerEntry.objects.create(
        kind=LedgerEntry.Kind.FEE,
        time=timezone.now(),
        customer=customer,
        amount_fen=500,
        operator=boss,
        shift=shift,
        station="s1",
        idempotency_key=uuid.uuid4().hex,
    )
    with transaction.atomic():
        log_action(boss, "test.change", object_type="thing", object_id="1", after={"v": 1})


def _run(home, monkeypatch, statement: str, language: str) -> tuple[int, dict]:
    def handler(ctx, args):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)

    ctx = Context(home=home, json_output=True, language=language)
    args = argparse.Namespace(
        handler=handler, needs_django=True, home_alone=True, time_zone_check="none"
    )
    out: list[str] = []
    monkeypatch.setattr(sys.stdout, "write", out.append)
    with translation.override(language):
        status = main.run(ctx, args)
    return status, json.loads("".join(out))


@pytest.mark.parametrize(
    "statement, code, chinese, english",
    [
        (
            "UPDATE vending_ledgerentry SET amount_fen = 1",
            "ledger_append_only",
            "流水只能追加：已记入的流水不能修改或删除",
            "The ledger is append-only: a ledger entry is never changed or deleted",
        ),
        (
            "DELETE FROM audit_auditentry",
            "audit_append_only",
            "审计日志只能追加：审计记录不能修改或删除",
            "The audit log is append-only: an audit entry is never changed or deleted",
        ),
    ],
)
def test_a_refused_change_is_a_refusal_in_the_operators_language(
    home, monkeypatch, statement, code, chinese, english
):
    _one_of_each()
    status, refused = _run(home, monkeypatch, statement, "zh-hans")
    assert status == 1 and refused["error"] == code, refused
    assert refused["message"].startswith(chinese) and "未作任何改动" in refused["message"]
    status, refused = _run(home, monkeypatch, statement, "en")
    assert status == 1 and refused["error"] == code, refused
    assert refused["message"].startswith(english)
    assert "reconcile" not in refused["message"]  # nothing to settle with a card

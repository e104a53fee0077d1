"""The audit log is a hash chain: every change, in order; any edit or deletion is found."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection, transaction

from append_only_guard import guard_lifted
from prepaid.audit.models import AuditEntry
from prepaid.audit.services import log_action, verify_chain

pytestmark = pytest.mark.django_db


def _log(admin, n):
    for i in range(n):
        with transaction.atomic():
            log_action(
                admin,
                "test.change",
                object_type="thing",
                object_id=str(i),
                before={"v": i},
                after={"v": i + 1},
            )


def test_chain_verifies_and_links_each_row_to_the_previous(admin):
    _log(admin, 5)
    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.previous_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    report = verify_chain()
    assert report.ok and report.entries == 5


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET after = '{\"v\": 99}' WHERE object_id = '2'",
        "UPDATE audit_auditentry SET operator_name = 'someone' WHERE object_id = '1'",
        "DELETE FROM audit_auditentry WHERE object_id = '2'",
        "DELETE FROM audit_auditentry WHERE object_id = '4'",
    ],
)
def test_tampering_is_detected(admin, sql):
    """By someone who drops the database's append-only triggers first (docs/decisions/0014)."""
    _log(admin, 5)
    with guard_lifted(connection), connection.cursor() as cursor:
        cursor.execute(sql)
    report = verify_chain()
    assert not report.ok


@pytest.mark.django_db(transaction=True)
def test_audit_must_run_inside_the_changes_transaction(admin):
    with pytest.raises(AssertionError):
        log_action(admin, "test.change", object_type="thing", object_id="1")


class _Code(str):
    """A str of another type (as Django's choices are): JSON writes it as its text."""


@pytest.mark.parametrize(
    "value",
    [
        {"amount": "5.18", "serial": 3, "ok": True, "none": None, "names": ["张三", {"n": 1}]},
        {"amount": Decimal("5.18"), "day": datetime.date(2026, 11, 29)},
        {"pair": (1, 2), "nested": {"set": [Decimal("1.5")]}},
        {"code": _Code("sale"), "ratio": 0.5, 7: "int key"},
    ],
)
def test_an_entrys_values_are_kept_as_they_read_back_from_json(admin, value):
    with transaction.atomic():
        entry = log_action(admin, "test.change", object_type="thing", object_id="1", after=value)
    expected = json.loads(json.dumps(value, default=str))
    assert entry.after == expected
    assert AuditEntry.objects.get(pk=entry.pk).after == expected
    assert verify_chain().ok


def test_an_entry_keeps_its_values_when_the_callers_dict_changes_after(admin):
    after = {"records": [{"serial": 1}]}
    with transaction.atomic():
        entry = log_action(admin, "test.change", object_type="thing", object_id="1", after=after)
    after["records"][0]["serial"] = 2
    assert entry.after == {"records": [{"serial": 1}]}
    assert verify_chain().ok

"""The audit log is append-only in the database itself (docs/decisions/0014): an UPDATE or a
DELETE of an audit entry — through the ORM or in plain SQL — and, on PostgreSQL, a TRUNCATE are
refused by the database; the entries stay as they were and the chain verifies. The chain's head
(``AuditHead``), which every append moves, is not guarded."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from append_only_guard import guard_triggers
from prepaid.append_only import append_only_refusal
from prepaid.audit.models import AuditEntry, AuditHead
from prepaid.audit.services import log_action, verify_chain

pytestmark = pytest.mark.django_db


def _logged(admin, n: int = 3) -> None:
    for i in range(n):
        with transaction.atomic():
            log_action(admin, "test.change", object_type="thing", object_id=str(i), after={"v": i})


def _log() -> list[tuple]:
    return list(AuditEntry.objects.order_by("id").values_list())


def _save_changed(entry: AuditEntry) -> None:
    entry.operator_name = "someone"
    entry.save()


def _sql(statement: str):
    def run(entry: AuditEntry) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk] if "%s" in statement else None)

    return run


CHANGES = {
    "update()": lambda entry: AuditEntry.objects.filter(pk=entry.pk).update(station="forged"),
    "save()": _save_changed,
    "queryset delete()": lambda entry: AuditEntry.objects.filter(pk=entry.pk).delete(),
    "delete()": lambda entry: entry.delete(),
    "SQL UPDATE": _sql("UPDATE audit_auditentry SET station = 'forged' WHERE id = %s"),
    "SQL UPDATE of every entry": _sql("UPDATE audit_auditentry SET station = 'forged'"),
    "SQL DELETE": _sql("DELETE FROM audit_auditentry WHERE id = %s"),
    "SQL DELETE of every entry": _sql("DELETE FROM audit_auditentry"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_the_database_refuses_to_change_or_delete_an_audit_entry(admin, change):
    _logged(admin)
    before = _log()
    for entry in AuditEntry.objects.order_by("id"):
        with pytest.raises(IntegrityError) as refused:
            with transaction.atomic():
                CHANGES[change](entry)
        assert str(refused.value).startswith("audit_append_only: ")
        assert append_only_refusal(refused.value).code == "audit_append_only"
    assert _log() == before
    report = verify_chain()
    assert report.ok and report.entries == 3


@pytest.mark.django_db(transaction=True)  # committed rows: no other trigger pending
def test_postgresql_refuses_to_truncate_the_audit_log(admin):
    """TRUNCATE skips row triggers: a statement trigger refuses it."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE of every row is refused above)")
    _logged(admin)
    before = _log()
    with pytest.raises(IntegrityError, match="audit_append_only: TRUNCATE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE audit_auditentry")
    assert _log() == before


def test_the_chain_still_appends_and_moves_its_head(admin):
    _logged(admin, 2)
    _logged(admin, 2)
    head = AuditHead.objects.get()
    assert head.count == 4 and head.last_hash == AuditEntry.objects.order_by("id").last().hash
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_the_guard_goes_and_comes_back_with_its_migration():
    names = {name for name, _table, _sql in guard_triggers(connection)}
    if connection.vendor == "sqlite":
        expected = {"audit_entries_append_only_update", "audit_entries_append_only_delete"}
    else:
        expected = {"audit_entries_append_only", "audit_entries_append_only_truncate"}
    assert expected <= names

    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0005_receipt_prints_of_any_object")])
    assert not expected & {name for name, _table, _sql in guard_triggers(connection)}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert expected <= {name for name, _table, _sql in guard_triggers(connection)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", ["first", "second"])
def test_transactional_tests_run_guarded_and_are_emptied_after(admin, run):
    """Django empties the tables after a transactional test; the suite's flush lifts the guard
    for that alone (tests/append_only_guard.py): the next test finds them empty and guarded."""
    assert not AuditEntry.objects.exists()
    _logged(admin, 2)
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            AuditEntry.objects.update(station="forged")
    assert verify_chain().ok

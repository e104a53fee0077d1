"""The audit log's indexes: only the one it is read by, and the migrations that dropped the rest
go back and forth without losing an entry."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from prepaid.audit.models import AuditEntry
from prepaid.audit.services import log_action, verify_chain

TABLE = "audit_auditentry"
RECEIPT_PRINTS = {(("object_type", "object_id"), False)}  # a receipt's prints, partial


def _indexed_columns() -> set[tuple[tuple[str, ...], bool]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {
        (tuple(info["columns"]), bool(info["unique"]))
        for info in constraints.values()
        if info["index"] or info["unique"]
        if not info["primary_key"]
    }


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _migrate_to_the_latest() -> None:
    """Every migration applied again: going back undid every later migration too, not only
    the one under test, and the tests after this one run on the whole schema."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_audit_log_keeps_only_the_index_it_is_read_by(admin):
    assert _indexed_columns() == RECEIPT_PRINTS

    with transaction.atomic():
        log_action(admin, "test.before", admin, after={"n": 1})
    _migrate(("audit", "0002_initial"))
    try:
        columns = {columns for columns, _unique in _indexed_columns()}
        assert {("time",), ("action",), ("operator_id",), ("hash",)} <= columns
        assert (("hash",), True) in _indexed_columns()
    finally:
        _migrate_to_the_latest()
    assert _indexed_columns() == RECEIPT_PRINTS

    with transaction.atomic():
        log_action(admin, "test.after", admin, after={"n": 2})
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions[-2:] == ["test.before", "test.after"]
    assert verify_chain().ok


@pytest.mark.django_db
@pytest.mark.parametrize("object_type", ["vending.purchase", "cards.cardoperation"])
def test_a_sale_writes_no_audit_index_and_receipt_prints_are_read_by_theirs(admin, object_type):
    """Receipts of purchases and of reissues (their card operation) alike."""
    from prepaid.web.receipts import prints, record_print

    with transaction.atomic():
        log_action(admin, "ledger.sale", admin, after={"n": 1})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM audit_auditentry WHERE action = 'receipt.print' "
            "AND object_type = %s AND object_id = %s",
            [object_type, "7"],
        )
        assert cursor.fetchone()[0] == 0
        if connection.vendor == "sqlite":
            cursor.execute(
                "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM audit_auditentry "
                "WHERE action = 'receipt.print' AND object_type = %s AND object_id = '7'",
                [object_type],
            )
            assert "audit_receipt_prints" in " ".join(str(row) for row in cursor.fetchall())

    class Receipted:  # what the log needs of a purchase or a reissue
        pk = 7

        class _meta:  # as Django's models have it
            label_lower = object_type

    assert [record_print(admin, Receipted, "s1", "58") for _ in range(3)] == [1, 2, 3]
    assert prints(7, object_type) == 3 and prints(8, object_type) == 0
    other = "cards.cardoperation" if object_type == "vending.purchase" else "vending.purchase"
    assert prints(7, other) == 0  # a reissue and a purchase of the same id apart

"""The audit log's indexes: only the one it is read by, and the migration that dropped the rest
goes back and forth without losing an entry."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from prepaid.audit.models import AuditEntry
from prepaid.audit.services import log_action, verify_chain

TABLE = "audit_auditentry"


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


@pytest.mark.django_db(transaction=True)
def test_the_audit_log_keeps_only_the_index_it_is_read_by(admin):
    assert _indexed_columns() == {(("object_type", "object_id"), False)}

    with transaction.atomic():
        log_action(admin, "test.before", admin, after={"n": 1})
    _migrate(("audit", "0002_initial"))
    try:
        columns = {columns for columns, _unique in _indexed_columns()}
        assert {("time",), ("action",), ("operator_id",), ("hash",)} <= columns
        assert (("hash",), True) in _indexed_columns()
    finally:
        _migrate(("audit", "0003_fewer_indexes_to_write"))
    assert _indexed_columns() == {(("object_type", "object_id"), False)}

    with transaction.atomic():
        log_action(admin, "test.after", admin, after={"n": 2})
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions[-2:] == ["test.before", "test.after"]
    assert verify_chain().ok

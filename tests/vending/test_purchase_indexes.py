"""The purchase indexes a sale writes are the ones something reads; the migration that dropped
three unread ones goes back and forth."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

TABLE = "vending_purchase"
UNREAD = {("created_at",), ("operator_id",), ("supersedes_id",)}


def _single_columns() -> set[tuple[str, ...]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {
        tuple(info["columns"])
        for info in constraints.values()
        if info["index"] and not info["primary_key"] and len(info["columns"]) == 1
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
def test_unread_purchase_indexes_are_gone_and_come_back_when_migrated_back():
    kept = _single_columns()
    assert not UNREAD & kept
    assert {("customer_account_id",), ("shift_id",), ("price_version_id",)} <= kept
    _migrate(("vending", "0002_fewer_indexes_to_write"))
    try:
        assert UNREAD <= _single_columns()
    finally:
        _migrate_to_the_latest()
    assert _single_columns() == kept

"""The append-only triggers of the ledger and the audit log, as tests take them off and put them
back (``vending`` and ``audit`` migrations 0006; docs/decisions/0014). Prepaid never does.

Two kinds of test do:

* Django empties every table after a transactional test (``transaction=True``, a live server):
  with ``DELETE`` on SQLite and ``TRUNCATE`` on PostgreSQL, both refused by the triggers. The
  suite's flush (tests/conftest.py) drops the triggers, empties the tables and creates the same
  triggers again, in the flush's one transaction: every test body runs with them.
* The tests of the hash chain play someone who drops them to edit the log: the chain must still
  find the edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

GUARD = "append_only"  # in the name of every trigger of the rule, and of no other


def guard_triggers(connection: Any) -> list[tuple[str, str, str]]:
    """The append-only triggers present: (name, table, the statement creating it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND instr(name, %s) > 0 ORDER BY name",
                [GUARD],
            )
        else:
            cursor.execute(
                "SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT t.tgisinternal AND n.nspname = current_schema() "
                "AND position(%s IN t.tgname) > 0 ORDER BY t.tgname",
                [GUARD],
            )
        return [tuple(row) for row in cursor.fetchall()]


def lifting(connection: Any) -> tuple[list[str], list[str]]:
    """Statements dropping the append-only triggers present, and statements creating them
    again as they were."""
    quote = connection.ops.quote_name
    triggers = guard_triggers(connection)
    if connection.vendor == "sqlite":
        drop = [f"DROP TRIGGER {quote(name)}" for name, _table, _sql in triggers]
    else:
        drop = [f"DROP TRIGGER {quote(name)} ON {quote(table)}" for name, table, _sql in triggers]
    return drop, [sql for _name, _table, sql in triggers]


def flush_with_guard_lifted(original: Any) -> Any:
    """Django's ``execute_sql_flush`` emptying the tables with the guard lifted around it."""

    def execute_sql_flush(self: Any, sql_list: list[str]) -> None:
        drop, create = lifting(self.connection)
        original(self, [*drop, *sql_list, *create])

    return execute_sql_flush


@contextmanager
def guard_lifted(connection: Any) -> Iterator[None]:
    """The append-only triggers dropped inside the block, created again after it."""
    drop, create = lifting(connection)
    with connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in create:
                cursor.execute(statement)

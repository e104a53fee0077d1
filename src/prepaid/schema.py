"""Index changes made by migrations without rebuilding a table.

On SQLite, Django alters a field by copying its table into a new one, which would drop the
triggers and the hand-made indexes on it (``reports`` migrations). Dropping a field's own index
needs no such rebuild: these helpers find it by introspection — its name differs between
databases, and PostgreSQL has a second ``…_like`` index for text columns — and drop it, or put a
plain one back when the migration is reversed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _single_column_indexes(schema_editor: Any, table: str, column: str) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return sorted(
        name
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and info["columns"] == [column]
    )


def drop_field_indexes(columns: Sequence[tuple[str, str]]) -> Callable[[Any, Any], None]:
    """A ``RunPython`` function dropping the plain one-column index of each (table, column)."""

    def drop(apps: Any, schema_editor: Any) -> None:
        for table, column in columns:
            for name in _single_column_indexes(schema_editor, table, column):
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    return drop


def create_field_indexes(columns: Sequence[tuple[str, str]]) -> Callable[[Any, Any], None]:
    """The reverse of :func:`drop_field_indexes`: a plain index on each (table, column)."""

    def create(apps: Any, schema_editor: Any) -> None:
        quote = schema_editor.quote_name
        for table, column in columns:
            if not _single_column_indexes(schema_editor, table, column):
                schema_editor.execute(
                    f"CREATE INDEX {quote(f'{table}_{column}_idx')} ON {quote(table)} "
                    f"({quote(column)})"
                )

    return create

"""Model rows by plain SQL, for the statements of the counter's hot path.

A sale runs some twenty statements. Through the ORM each one costs far more to build than to
run (a query is compiled anew every time), so the sale's own statements — read the card's
record, lock the account, insert the purchase, book it, append the audit row — go through a
model's :class:`Table` (``table(Purchase)``) instead: its column list, value preparation,
result converters and statement texts are worked out once, and each statement is a short SQL
text with parameters, run on Django's connection (SQLite or PostgreSQL alike) inside Django's
transactions. Rows come back as ordinary model instances. Everything else uses the ORM.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKey,
    IntegerField,
    Model,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
)
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


def _db() -> BaseDatabaseWrapper:
    return connections[DEFAULT_DB_ALIAS]


class _Names(NamedTuple):
    """A table's names as its statements write them (quoted)."""

    table: str
    pk: str
    insert: str  # INSERT INTO table (columns but the key)
    row: str  # (%s, …) for one row of those columns


class Table(Generic[M]):
    """The rows of one model's table (one instance per model: :func:`table`)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.by_attname = {f.attname: f for f in self.fields}
        self.name = model._meta.db_table
        self.pk = model._meta.pk
        self._statements: dict[Any, tuple[str, list[tuple[str, Table[Any]]]]] = {}
        self._updates: dict[tuple[str, ...], str] = {}

    @functools.cached_property
    def _names(self) -> _Names:
        quote = connection.ops.quote_name
        inserted = [f for f in self.fields if f is not self.pk]
        return _Names(
            table=quote(self.name),
            pk=quote(self.pk.column),
            insert=f"INSERT INTO {quote(self.name)} "
            f"({', '.join(quote(f.column) for f in inserted)})",
            row=f"({', '.join(['%s'] * len(inserted))})",
        )

    @functools.cached_property
    def _converters(self) -> list[tuple[int, Any, list[Converter]]]:
        found = []
        for index, field in enumerate(self.fields):
            col = field.cached_col
            converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
            converters = [_quicker(convert, connection) for convert in converters]
            if converters:
                found.append((index, col, converters))
        return found

    @functools.cached_property
    def _plain(self) -> bool:
        """Whether an instance may be made from its values alone, as ``Model.__init__``
        would make it: no ``__init__`` or ``from_db`` of the model's own, no init signals."""
        model = self.model
        return (
            model.__init__ is Model.__init__
            and model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
            and not pre_init.has_listeners(model)
            and not post_init.has_listeners(model)
        )

    def _instance(self, row: Sequence[Any], db: BaseDatabaseWrapper) -> M:
        values = list(row)
        for index, col, converters in self._converters:
            value = values[index]
            for convert in converters:
                value = convert(value, col, db)
            values[index] = value
        if not self._plain:
            return self.model.from_db(db.alias, self.attnames, values)
        obj = self.model.__new__(self.model)
        state = ModelState()
        state.adding = False
        state.db = db.alias
        obj._state = state
        obj.__dict__.update(zip(self.attnames, values, strict=True))
        return obj

    def new(self, **values: Any) -> M:
        """A new (unsaved) instance, as ``Model(**values)`` makes it: by field name (a related
        instance, kept at hand as the ORM keeps it) or by attribute name (``price_version_id``);
        fields not given take their default. Cheaper than the model's ``__init__``, which
        checks for what these few callers never pass."""
        if not self._plain:
            return self.model(**values)
        obj = self.model.__new__(self.model)
        state = obj._state = ModelState()
        attributes = obj.__dict__
        for name, attname, related, default in self._builders:
            if name in values:
                value = values.pop(name)
                if related is not None:
                    model, target = related
                    if value is not None and not isinstance(value, model):
                        raise TypeError(f"{name} must be a {model.__name__} instance")
                    state.fields_cache[name] = value
                    value = None if value is None else getattr(value, target)
                attributes[attname] = value
            elif attname in values:
                attributes[attname] = values.pop(attname)
            else:
                attributes[attname] = default()
        if values:
            raise TypeError(f"{self.model.__name__} has no field {sorted(values)[0]}")
        return obj

    @functools.cached_property
    def _builders(self) -> list[tuple[str, str, tuple[Any, str] | None, Callable[[], Any]]]:
        """Each field's name, attribute name, related model and the attribute of it the key
        holds (a foreign key), and default."""
        return [
            (
                f.name,
                f.attname,
                (f.related_model, f.target_field.attname) if f.is_relation else None,
                f._get_default,  # type: ignore[attr-defined]
            )
            for f in self.fields
        ]

    def select(
        self,
        where: str,
        params: Sequence[Any] = (),
        *,
        related: Sequence[str] = (),
        annotate: Sequence[tuple[str, str]] = (),
        order: str = "",
        limit: int | None = None,
        for_update: bool = False,
    ) -> list[M]:
        """Rows ``WHERE where`` (``%s`` parameters; the model's table is ``t``, so
        ``t.customer_id = %s`` — plain column names do when nothing is joined).

        ``related``: foreign keys whose rows come by the same statement, set on each
        instance. ``annotate``: (attribute, SQL expression without parameters) pairs, each
        expression's value set on each instance, as the ORM's ``annotate`` does.
        ``for_update`` locks the rows of ``t`` until the transaction ends (PostgreSQL;
        SQLite's ``BEGIN IMMEDIATE`` already holds the database)."""
        db = _db()
        shape = (db.vendor, where, tuple(related), tuple(annotate), order, limit, for_update)
        plan = self._statements.get(shape)
        if plan is None:
            plan = self._statements[shape] = self._select_sql(db, *shape[1:])
        sql, tables = plan
        found = []
        width = len(self.fields)
        for row in _execute(db, sql, params).fetchall():
            obj = self._instance(row[:width], db)
            start = width
            for name, table in tables:
                end = start + len(table.fields)
                setattr(obj, name, table._instance(row[start:end], db))
                start = end
            for (name, _expression), value in zip(annotate, row[start:], strict=True):
                setattr(obj, name, value)
            found.append(obj)
        return found

    def _select_sql(
        self,
        db: BaseDatabaseWrapper,
        where: str,
        related: tuple[str, ...],
        annotate: tuple[tuple[str, str], ...],
        order: str,
        limit: int | None,
        for_update: bool,
    ) -> tuple[str, list[tuple[str, Table[Any]]]]:
        quote = db.ops.quote_name
        selected = [", ".join(f"t.{quote(f.column)}" for f in self.fields)]
        joins = []
        tables: list[tuple[str, Table[Any]]] = []
        for n, name in enumerate(related):
            field = self.model._meta.get_field(name)
            joined = table(field.related_model)
            alias = f"r{n}"
            selected.append(", ".join(f"{alias}.{quote(f.column)}" for f in joined.fields))
            joins.append(
                f"JOIN {joined._names.table} {alias} "
                f"ON {alias}.{joined._names.pk} = t.{quote(field.column)}"
            )
            tables.append((name, joined))
        selected.extend(f"({expression})" for _name, expression in annotate)
        sql = f"SELECT {', '.join(selected)} FROM {self._names.table} t {' '.join(joins)}"
        sql += f" WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if for_update and db.features.has_select_for_update:
            sql += " FOR UPDATE OF t" if joins else " FOR UPDATE"
        return sql, tables

    def get(self, pk: Any, *, for_update: bool = False) -> M:
        """The row with this primary key (``DoesNotExist`` when there is none)."""
        found = self.select(f"{self._names.pk} = %s", [pk], for_update=for_update)
        if not found:
            raise self.model.DoesNotExist(f"{self.model.__name__} {pk} does not exist")
        return found[0]

    def first(self, where: str, params: Sequence[Any] = (), *, order: str = "") -> M | None:
        found = self.select(where, params, order=order, limit=1)
        return found[0] if found else None

    def insert(self, obj: M, *, unless_present: bool = False) -> bool:
        """Insert ``obj`` (a new instance) and set its primary key. ``unless_present``: a row
        equal under one of the table's unique constraints is left as it is and nothing is
        inserted (``False``), without an error that would end the transaction."""
        db, names = _db(), self._names
        conflict = " ON CONFLICT DO NOTHING" if unless_present else ""
        sql = f"{names.insert} VALUES {names.row}{conflict} RETURNING {names.pk}"
        row = _execute(db, sql, self._values(obj, db)).fetchone()
        if row is None:
            return False
        self._inserted(obj, row[0], db)
        return True

    def insert_all(self, objs: Sequence[M]) -> None:
        """Insert new instances by one statement and set their primary keys (the rows come
        back in the order given, as Django's ``bulk_create`` relies on too)."""
        if not objs:
            return
        db, names = _db(), self._names
        rows = ", ".join([names.row] * len(objs))
        sql = f"{names.insert} VALUES {rows} RETURNING {names.pk}"
        keys = _execute(db, sql, [v for obj in objs for v in self._values(obj, db)]).fetchall()
        for obj, (key,) in zip(objs, keys, strict=True):
            self._inserted(obj, key, db)

    def _values(self, obj: M, db: BaseDatabaseWrapper) -> list[Any]:
        return [prepare(field.pre_save(obj, True), db) for field, prepare in self._preparers]

    def _inserted(self, obj: M, key: Any, db: BaseDatabaseWrapper) -> None:
        setattr(obj, self.pk.attname, key)
        obj._state.adding = False
        obj._state.db = db.alias

    def update(self, obj: M, *attnames: str) -> int:
        """Write ``obj``'s ``attnames`` to its row; the number of rows changed."""
        db = _db()
        sql = self._updates.get(attnames)
        if sql is None:
            quote, names = db.ops.quote_name, self._names
            sets = ", ".join(f"{quote(self.by_attname[a].column)} = %s" for a in attnames)
            sql = self._updates[attnames] = f"UPDATE {names.table} SET {sets} WHERE {names.pk} = %s"
        fields = [self.by_attname[a] for a in attnames]
        values = [f.get_db_prep_save(getattr(obj, f.attname), db) for f in fields]
        return int(_execute(db, sql, [*values, obj.pk]).rowcount)

    @functools.cached_property
    def _preparers(self) -> list[tuple[Any, Callable[[Any, BaseDatabaseWrapper], Any]]]:
        """Each inserted field with what makes its value a database value."""
        return [(f, _preparer(f, connection)) for f in self.fields if f is not self.pk]


# Fields whose database value is the Python value itself when it already has the field's type:
# their preparation (``int(value)``, ``str(value)``…) is skipped for such values.
_SAME_WHEN = {
    AutoField: int,
    BigAutoField: int,
    BigIntegerField: int,
    IntegerField: int,
    PositiveIntegerField: int,
    PositiveSmallIntegerField: int,
    SmallIntegerField: int,
    BooleanField: bool,
    CharField: str,
    TextField: str,
}


def _preparer(field: Any, db: BaseDatabaseWrapper) -> Callable[[Any, BaseDatabaseWrapper], Any]:
    target = field.target_field if isinstance(field, ForeignKey) else field
    same = _SAME_WHEN.get(type(target))
    prepare = field.get_db_prep_save
    if type(target) is DateTimeField and _utc_text(db):
        return _utc_text_of(prepare)
    if same is None:
        return prepare  # type: ignore[no-any-return]

    def plain(value: Any, db: BaseDatabaseWrapper) -> Any:
        if value is None or type(value) is same:
            return value
        return prepare(value, db)

    return plain


# SQLite keeps a time as text, in UTC when the database has no time zone of its own (Django's
# default): a time is written and read there as Django writes and reads it, by shorter means
# for the usual case (an aware time in UTC written, a naive one read), by Django's otherwise.
_UTC = datetime.UTC


def _utc_text(db: BaseDatabaseWrapper) -> bool:
    return db.vendor == "sqlite" and bool(settings.USE_TZ) and db.timezone is _UTC


def _utc_text_of(
    prepare: Callable[[Any, BaseDatabaseWrapper], Any],
) -> Callable[[Any, BaseDatabaseWrapper], Any]:
    def as_text(value: Any, db: BaseDatabaseWrapper) -> Any:
        if type(value) is datetime.datetime and value.tzinfo is _UTC:
            return str(value.replace(tzinfo=None))
        return prepare(value, db)

    return as_text


def _quicker(convert: Converter, db: BaseDatabaseWrapper) -> Converter:
    """``convert``, or one giving the same values quicker (a time read from SQLite, which
    Python's driver has already parsed: naive, in UTC)."""
    if not _utc_text(db) or convert != db.ops.convert_datetimefield_value:
        return convert

    def in_utc(value: Any, expression: Any, db: Any) -> Any:
        if type(value) is datetime.datetime:
            return value if value.utcoffset() is not None else value.replace(tzinfo=_UTC)
        return convert(value, expression, db)

    return in_utc


def scalar(sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row of a query (``None`` without rows)."""
    row = _execute(_db(), sql, params).fetchone()
    return row[0] if row else None


def execute(sql: str, params: Sequence[Any] = ()) -> Any:
    """Run one statement (``%s`` parameters); the DB-API cursor, to fetch from."""
    return _execute(_db(), sql, params)


def _execute(db: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> Any:
    """Run a statement on the DB-API connection under Django's error translation: the
    ORM's cursor wrapper costs more than the statements here take to run."""
    if db.connection is None:
        db.ensure_connection()
    if db.vendor == "sqlite":
        cursor = db.connection.cursor()
        with db.wrap_database_errors:
            cursor.execute(_qmark(sql), params)
        return cursor
    cursor = _server_bound_cursor(db.connection)
    with db.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)
    return cursor


def _server_bound_cursor(connection: Any) -> Any:
    """On PostgreSQL, a cursor sending the parameters apart from the statement (the ORM's
    cursors write them into its text): the same text every time, so the connection prepares
    it once and the server plans it once — planning cost more than running these statements.
    Needs ``prepare_threshold`` set on the connection (``prepaid.settings``)."""
    import psycopg

    return psycopg.Cursor(connection)


@functools.lru_cache(maxsize=512)
def _qmark(sql: str) -> str:
    """SQLite's placeholders for ``%s`` (the statements here hold no literal ``%``)."""
    return sql.replace("%s", "?")


_tables: dict[type[Model], Table[Any]] = {}


def table(model: type[M]) -> Table[M]:
    """The :class:`Table` of a model, one per model (its statements are built once)."""
    if model not in _tables:
        _tables[model] = Table(model)
    return _tables[model]

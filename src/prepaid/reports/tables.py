"""The shape every report returns: columns, rows, totals, a page — rendered at the edges.

Rows hold raw values: money as ``int`` fen, quantities as ``int`` centi-units (totals over
several accounts as :class:`Quantities`, one part per account), times as aware datetimes.
Each edge converts once: the screen and CSV show two-decimal strings (times on the screen as
the active locale writes them, in CSV as ``2026-11-28 17:41:21``), JSON carries two-decimal
strings, Excel gets ``Decimal`` numbers formatted ``0.00``. No float anywhere.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import formats, timezone

from prepaid.core.money import centi_to_decimal, fen_to_decimal, format_centi, format_fen
from prepaid.moments import office_moment
from prepaid.reports.labels import Label

TEXT = "text"
INT = "int"
MONEY = "money"  # int fen
QUANTITY = "quantity"  # int centi-units
DATETIME = "datetime"  # aware datetime
DATE = "date"

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
QUANTITIES_SEPARATOR = " · "


@dataclass(frozen=True)
class Quantities:
    """A quantity total kept apart per account: m³ of water, kWh of electricity and m³ of
    gas are never added together. A total of one account is a plain quantity; of several,
    it reads ``自来水 12.50 m³ · 电 30.00 kWh`` (text in every file, ``null`` in JSON, where
    the parts are listed on their own)."""

    parts: tuple[tuple[str, str, int], ...] = ()  # (account name, unit, centi-units)

    @property
    def single(self) -> int | None:
        """The total when it is of one account (0 for none), else ``None``."""
        if len(self.parts) > 1:
            return None
        return self.parts[0][2] if self.parts else 0

    @property
    def unit(self) -> str | None:
        return self.parts[0][1] if len(self.parts) == 1 else None

    def text(self) -> str:
        single = self.single
        if single is not None:
            return format_centi(single)
        return QUANTITIES_SEPARATOR.join(
            f"{name} {format_centi(centi)} {unit}" for name, unit, centi in self.parts
        )

    def to_json(self) -> list[dict[str, str]]:
        return [
            {"account": name, "unit": unit, "quantity": format_centi(centi)}
            for name, unit, centi in self.parts
        ]


@dataclass(frozen=True)
class Column:
    key: str
    label: Label
    kind: str = TEXT
    sort: str | None = None  # the ORM ordering of this column; sortable when set

    @property
    def numeric(self) -> bool:
        return self.kind in (INT, MONEY, QUANTITY)


@dataclass
class Table:
    """One report: a page of rows (or all of them, for exports) and the totals of all."""

    title: Label
    columns: list[Column]
    rows: Iterable[dict[str, Any]]
    totals: dict[str, Any] | None = None
    count: int | None = None  # rows matching the filters (all pages)
    page: int = 1
    page_size: int | None = None  # None: every row
    sort: str = ""
    filters: list[tuple[Label, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # rows the files carry after the totals, not added into them (a shift's cash)
    footer: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        if not self.page_size or not self.count:
            return 1
        return (self.count + self.page_size - 1) // self.page_size

    def sortable(self) -> list[str]:
        return [c.key for c in self.columns if c.sort]


def local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def cell_text(column: Column, value: Any) -> str:
    """What a person reads: the screen, the terminal table, the CSV file."""
    if value is None:
        return ""
    if isinstance(value, Quantities):
        return value.text()
    if column.kind == MONEY:
        return format_fen(value)
    if column.kind == QUANTITY:
        return format_centi(value)
    if column.kind == DATETIME:
        return local(value).strftime("%Y-%m-%d %H:%M:%S")
    if column.kind == DATE and isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Label):
        return value.text()
    return str(value)


def cell_screen(column: Column, value: Any) -> str:
    """What the report page shows: :func:`cell_text`, but times and dates written as the
    active locale writes them on every other page (``2026年11月28日 17:41``); the files and
    the terminal keep the machine-readable form."""
    if value is not None and column.kind == DATETIME:
        return formats.date_format(local(value), "SHORT_DATETIME_FORMAT")
    if column.kind == DATE and isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return cell_text(column, value)


def cell_json(column: Column, value: Any) -> Any:
    """JSON: money and quantities as two-decimal strings, times in ISO 8601 with the
    office's UTC offset (:func:`prepaid.moments.office_moment`)."""
    if value is None:
        return None
    if isinstance(value, Quantities):
        single = value.single
        return None if single is None else format_centi(single)
    if column.kind == MONEY:
        return format_fen(value)
    if column.kind == QUANTITY:
        return format_centi(value)
    if column.kind == DATETIME:
        return office_moment(value) if timezone.is_aware(value) else value.isoformat("T", "seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if column.kind == INT:
        return int(value)
    if isinstance(value, Label):
        return value.text()
    return value


def cell_excel(column: Column, value: Any) -> tuple[Any, str | None]:
    """Excel: Decimal numbers with two decimals, naive local datetimes; the number format."""
    if value is None:
        return None, None
    if isinstance(value, Quantities):
        single = value.single
        return (value.text(), None) if single is None else (centi_to_decimal(single), "0.00")
    if column.kind == MONEY:
        return fen_to_decimal(value), "0.00"
    if column.kind == QUANTITY:
        return centi_to_decimal(value), "0.00"
    if column.kind == DATETIME:
        return local(value).replace(tzinfo=None), "yyyy-mm-dd hh:mm:ss"
    if column.kind == DATE and isinstance(value, datetime.date):
        return value, "yyyy-mm-dd"
    if column.kind == INT:
        return int(value), "0"
    if isinstance(value, Label):
        return value.text(), None
    if isinstance(value, Decimal):
        return value, "0.00"
    return str(value), None


def json_rows(table: Table) -> Iterator[dict[str, Any]]:
    for row in table.rows:
        yield {c.key: cell_json(c, row.get(c.key)) for c in table.columns}


def json_document(table: Table) -> dict[str, Any]:
    """The whole table as one JSON document (``--format json``)."""
    document: dict[str, Any] = {
        "title": table.title.text(),
        "columns": [{"key": c.key, "label": c.label.text(), "kind": c.kind} for c in table.columns],
        "rows": list(json_rows(table)),
        "count": table.count,
        "page": table.page,
        "pages": table.pages,
        "sort": table.sort,
        "filters": {label.text(): value for label, value in table.filters},
    }
    if table.totals is not None:
        totals = document["totals"] = {
            c.key: cell_json(c, table.totals.get(c.key))
            for c in table.columns
            if c.key in table.totals
        }
        for key, value in table.totals.items():
            if isinstance(value, Quantities):
                single = value.single
                totals.setdefault(key, None if single is None else format_centi(single))
                totals[f"{key}_by_account"] = value.to_json()
    return document


def ordering(columns: list[Column], sort: str | None, default: str) -> tuple[str, list[str]]:
    """The validated sort key (``amount`` or ``-amount``) and its ORM ordering.

    An unknown key falls back to ``default``; ``id`` breaks ties so pages are stable."""
    sortable = {c.key: c.sort for c in columns if c.sort}
    key = (sort or "").strip()
    descending = key.startswith("-")
    name = key.lstrip("-")
    if name not in sortable:
        key = default
        descending = key.startswith("-")
        name = key.lstrip("-")
    expression = sortable[name]
    assert expression is not None
    prefix = "-" if descending else ""
    return key, [prefix + expression, prefix + "id"]


def page_bounds(page: int, page_size: int | None) -> tuple[int, int | None]:
    """Clamp a page number and size; returns (page, size)."""
    if page_size is None:
        return 1, None
    size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    return max(1, int(page)), size

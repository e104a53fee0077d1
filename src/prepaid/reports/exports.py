"""CSV and Excel files of a report, headers in the operator's language (Chinese by default).

CSV: UTF-8 with a byte-order mark (Excel then opens Chinese text correctly), one header row,
the rows, then a totals row whose first cell is “合计”/“Total” (and the rows after the totals
a report may have, such as a shift's cash). Money and quantities are plain two-decimal numbers.

Excel: the rows on the first sheet (header row frozen), totals in bold at the end, money and
quantities as numbers with two decimals (``Decimal`` written with the format ``0.00``);
the second sheet describes the report: title, filters, time of export. Written in openpyxl's
write-only mode, so large exports stream instead of building the workbook in memory.

Text is never a formula (CSV/Excel injection): a customer named ``=HYPERLINK(…)`` or a phone
number ``+86…`` is what it says. In CSV a text cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading apostrophe (a spreadsheet then shows the text and
hides the apostrophe); numbers such as ``-19.97`` stay numbers. In Excel text cells are
written as strings, exactly as they are.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from prepaid.reports.labels import L
from prepaid.reports.tables import Table, cell_excel, cell_text

if TYPE_CHECKING:  # openpyxl takes a fifth of a second to import: only Excel exports load it
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

TOTAL = L(gettext_noop("Total"), "合计")
TITLE = L(gettext_noop("Report"), "报表")
FILTERS = L(gettext_noop("Filters"), "筛选条件")
EXPORTED_AT = L(gettext_noop("Exported at"), "导出时间")
ROWS = L(gettext_noop("Rows"), "行数")
DESCRIPTION_SHEET = L(gettext_noop("About"), "说明")

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _totals_row(table: Table) -> list[Any] | None:
    if table.totals is None:
        return None
    row: list[Any] = []
    for index, column in enumerate(table.columns):
        if column.key in table.totals:
            row.append(table.totals[column.key])
        else:
            row.append(TOTAL.text() if index == 0 else None)
    return row


def defused(text: str) -> str:
    """A CSV cell a spreadsheet would take for a formula, made plain text by a leading
    apostrophe; numbers (``-19.97``) are left as they are."""
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_records(table: Table) -> Iterator[list[str]]:
    """The CSV lines as lists of cells: header, rows, totals (text never a formula)."""
    for record in _csv_cells(table):
        yield [defused(cell) for cell in record]


def _csv_cells(table: Table) -> Iterator[list[str]]:
    yield [c.label.text() for c in table.columns]
    for row in table.rows:
        yield [cell_text(c, row.get(c.key)) for c in table.columns]
    totals = _totals_row(table)
    if totals is not None:
        yield [
            value
            if isinstance(value, str) and c.key not in (table.totals or {})
            else cell_text(c, value)
            for c, value in zip(table.columns, totals, strict=True)
        ]
    for row in table.footer:
        yield [cell_text(c, row.get(c.key)) for c in table.columns]


def write_csv(table: Table, stream: IO[str], *, bom: bool = True) -> int:
    """Write the table as CSV; returns the number of data rows."""
    if bom:
        stream.write(BOM)
    writer = csv.writer(stream)
    count = -1  # the header is not a data row
    for record in csv_records(table):
        writer.writerow(record)
        count += 1
    return count - (1 if table.totals is not None else 0) - len(table.footer)


def _width(column_label: str, kind: str) -> int:
    return max(10, min(40, 2 * len(column_label) + 4 if kind == "text" else 14))


def write_xlsx(table: Table, target: str | IO[bytes]) -> int:
    """Write the table as an Excel workbook; returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(table.title.text()))
    for index, column in enumerate(table.columns, start=1):
        width = 20 if column.kind == "datetime" else _width(column.label.text(), column.kind)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = _written(sheet, column.label.text())
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in table.rows:
        sheet.append([_cell(sheet, c, row.get(c.key)) for c in table.columns])
        count += 1
    totals = _totals_row(table)
    if totals is not None:
        cells = []
        for column, value in zip(table.columns, totals, strict=True):
            if column.key in (table.totals or {}):
                cell = _cell(sheet, column, value)
            else:
                cell = _written(sheet, value)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)
    for row in table.footer:
        sheet.append([_cell(sheet, c, row.get(c.key)) for c in table.columns])
    _describe(workbook, table, count)
    workbook.save(target)
    return count


def _cell(sheet: Any, column: Any, value: Any) -> WriteOnlyCell:
    converted, number_format = cell_excel(column, value)
    cell = _written(sheet, converted)
    if number_format:
        cell.number_format = number_format
    return cell


def _written(sheet: Any, value: Any) -> WriteOnlyCell:
    """A cell holding ``value``; text as a string, never a formula (openpyxl takes a text
    starting with ``=`` for one)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _describe(workbook: Workbook, table: Table, count: int) -> None:
    sheet = workbook.create_sheet(title=_sheet_title(DESCRIPTION_SHEET.text()))
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 60
    lines: list[tuple[str, Any]] = [
        (TITLE.text(), table.title.text()),
        (EXPORTED_AT.text(), timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")),
        (ROWS.text(), count),
    ]
    lines += [(f"{FILTERS.text()}: {label.text()}", value) for label, value in table.filters]
    for name, value in lines:  # a typed customer filter ("=…") is text too
        sheet.append([_written(sheet, name), _written(sheet, value)])


def _sheet_title(text: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in text)
    return cleaned[:31] or "Sheet"

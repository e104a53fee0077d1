"""Exports opened again (csv module, openpyxl) and compared with the report they came from."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from prepaid.core.money import centi_to_decimal, fen_to_decimal
from prepaid.reports import services
from prepaid.reports.exports import write_csv, write_xlsx
from prepaid.reports.services import Filters
from prepaid.reports.suspicious import analyse, worklist

pytestmark = pytest.mark.django_db


def _expected_cells(table):
    """The rows as Decimal / text, the way a person reads them back."""
    rows = []
    for row in table.rows:
        cells = []
        for column in table.columns:
            value = row.get(column.key)
            if value is None:
                cells.append(None)
            elif column.kind == "money":
                cells.append(fen_to_decimal(value))
            elif column.kind == "quantity":
                cells.append(centi_to_decimal(value))
            elif column.kind == "datetime":
                cells.append(timezone.localtime(value).replace(tzinfo=None, microsecond=0))
            elif column.kind == "int":
                cells.append(int(value))
            else:
                cells.append(str(value))
        rows.append(cells)
    return rows


def _sales(demo):
    start = demo.result.end - datetime.timedelta(days=20)
    return lambda: services.sales_detail(Filters(date_from=start), page_size=None)


def test_sales_csv_round_trip_with_chinese_headers(demo):
    with translation.override("zh-hans"):
        table = _sales(demo)()
        expected = _expected_cells(_sales(demo)())
        buffer = io.StringIO()
        count = write_csv(table, buffer)
    text = buffer.getvalue()
    assert text.startswith("\ufeff")
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, rows, total = records[0], records[1:-1], records[-1]
    assert header[:4] == ["流水号", "时间", "类型", "用户编号"]
    assert "金额" in header and "支付方式" in header
    assert count == len(rows) == len(expected) > 0
    columns = table.columns
    for record, cells in zip(rows, expected, strict=True):
        for column, text_value, value in zip(columns, record, cells, strict=True):
            if column.kind in ("money", "quantity"):
                assert Decimal(text_value) == value
                assert text_value.count(".") == 1 and len(text_value.split(".")[1]) == 2
            elif column.kind == "datetime":
                assert datetime.datetime.fromisoformat(text_value) == value
            elif column.kind == "int":
                assert (int(text_value) if text_value else None) == value
            else:
                assert text_value == (value or "")
    amount = header.index("金额")
    assert total[0] == "合计"
    assert Decimal(total[amount]) == sum(Decimal(r[amount]) for r in rows)


def test_sales_xlsx_round_trip(demo):
    with translation.override("zh-hans"):
        table = _sales(demo)()
        expected = _expected_cells(_sales(demo)())
        buffer = io.BytesIO()
        count = write_xlsx(table, buffer)
    buffer.seek(0)
    workbook = load_workbook(buffer)
    sheet = workbook.worksheets[0]
    values = list(sheet.iter_rows())
    header = [c.value for c in values[0]]
    assert header[:4] == ["流水号", "时间", "类型", "用户编号"]
    rows, total = values[1:-1], values[-1]
    assert count == len(rows) == len(expected)
    money = [i for i, c in enumerate(table.columns) if c.kind in ("money", "quantity")]
    for cells, wanted in zip(rows, expected, strict=True):
        for index, (cell, value) in enumerate(zip(cells, wanted, strict=True)):
            if index in money:
                assert cell.data_type == "n" and cell.number_format == "0.00"
                assert Decimal(str(cell.value)).quantize(Decimal("0.01")) == value
            elif table.columns[index].kind == "datetime":
                assert cell.value == value
            else:
                assert cell.value == (value if value != "" else None)
    amount = header.index("金额")
    assert total[0].value == "合计" and total[0].font.b
    assert Decimal(str(total[amount].value)).quantize(Decimal("0.01")) == fen_to_decimal(
        table.totals["amount"]
    )
    about = workbook.worksheets[1]
    assert about.cell(1, 2).value == "销售明细"


def test_summary_exports_in_english_too(demo):
    with translation.override("en"):
        table = services.sales_summary(Filters(), period="month", group="payment")
        buffer = io.BytesIO()
        write_xlsx(table, buffer)
        text = io.StringIO()
        write_csv(table, text)
    buffer.seek(0)
    sheet = load_workbook(buffer).worksheets[0]
    header = [c.value for c in next(sheet.iter_rows())]
    assert header == [
        "Period",
        "Group",
        "Sales",
        "Reversals",
        "自来水 quantity (m³)",
        "电 quantity (kWh)",
        "天然气 quantity (m³)",
        "Net sales amount",
        "Fees",
        "Amount",
    ]
    data = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(data) == len(table.rows) + 1
    total = data[-1]
    assert total[0] == "Total"
    assert Decimal(str(total[9])).quantize(Decimal("0.01")) == fen_to_decimal(demo.record.money_fen)
    records = list(csv.reader(io.StringIO(text.getvalue().lstrip("\ufeff"))))
    assert sum(Decimal(r[9]) for r in records[1:-1]) == fen_to_decimal(demo.record.money_fen)


def test_suspicious_worklist_export(demo):
    with translation.override("zh-hans"):
        analysis = analyse(demo.result.as_of)
        table = worklist(analysis, page_size=None)
        buffer = io.BytesIO()
        write_xlsx(table, buffer)
    buffer.seek(0)
    rows = list(load_workbook(buffer).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("序号", "可疑分值", "用户编号")
    assert [r[2] for r in rows[1:]] == [s.user_number for s in analysis.suspects]
    assert [r[1] for r in rows[1:]] == [s.score for s in analysis.suspects]
    assert all(r[7] for r in rows[1:])  # every customer with its reasons


def test_pending_and_card_operation_exports(demo):
    for table in (
        services.pending_and_voided(Filters(), page_size=None),
        services.card_operations(Filters(), page_size=None),
    ):
        buffer = io.StringIO()
        count = write_csv(table, buffer, bom=False)
        records = list(csv.reader(io.StringIO(buffer.getvalue())))
        extra = 1 if table.totals is not None else 0
        assert len(records) == 1 + count + extra
        assert count == table.count


FORMULA_NAME = '=HYPERLINK("http://example.invalid","点此")'


def test_a_name_that_reads_as_a_formula_stays_text_in_csv_and_excel(small_office):
    from prepaid.customers.services import modify_customer

    office = small_office
    modify_customer(office.clerk, office.customer.user_number, name=FORMULA_NAME)
    office.open(amount="90.00")
    number = office.customer.user_number

    def table():
        return services.sales_detail(Filters(customer=number), page_size=None)

    with translation.override("zh-hans"):
        text = io.StringIO()
        write_csv(table(), text)
        buffer = io.BytesIO()
        write_xlsx(table(), buffer)
    records = list(csv.reader(io.StringIO(text.getvalue().lstrip("\ufeff"))))
    header, row = records[0], records[1]
    # a spreadsheet shows the text (and hides the apostrophe); numbers stay numbers
    assert row[header.index("用户")] == "'" + FORMULA_NAME
    assert row[header.index("金额")] == "90.00"
    buffer.seek(0)
    sheet = load_workbook(buffer).worksheets[0]
    cells = list(sheet.iter_rows())[1]
    name = cells[header.index("用户")]
    assert name.value == FORMULA_NAME and name.data_type == "s"
    assert cells[header.index("金额")].data_type == "n"


def test_a_typed_filter_that_reads_as_a_formula_stays_text_on_the_about_sheet(demo):
    buffer = io.BytesIO()
    with translation.override("zh-hans"):
        write_xlsx(services.sales_detail(Filters(customer="=1+2"), page_size=None), buffer)
    buffer.seek(0)
    about = load_workbook(buffer).worksheets[1]
    typed = [row[1] for row in about.iter_rows() if row[1].value == "=1+2"]
    assert typed and typed[0].data_type == "s"


def test_negative_amounts_stay_numbers_and_signs_in_text_are_defused():
    from prepaid.reports.exports import defused

    assert defused("-19.97") == "-19.97"
    assert defused("-5") == "-5"
    assert defused("+8613800000000") == "'+8613800000000"
    assert defused("@SUM(A1:A9)") == "'@SUM(A1:A9)"
    assert defused("-2+3") == "'-2+3"
    assert defused("\t=1") == "'\t=1"
    assert defused("王五") == "王五"

"""Quantities of different units are never added: a water account (m³) and an electricity
account (kWh) sold at one desk, every report checked against sums made here from the inputs,
on the page, in the terminal (text and JSON) and in the CSV and Excel files."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db

DESK = "units-desk"  # the reports below are narrowed to this desk (the demo may be loaded)
PASSWORD = "Units-admin-1"
WATER_PRICE, POWER_PRICE = Decimal("3.20"), Decimal("0.50")
# What was sold, written out: (customer, account, quantity).
SALES = [("A", "water", Decimal("12.50")), ("A", "power", Decimal("10.00")), ("B", "power", "20")]
WATER_TOTAL, POWER_TOTAL = Decimal("12.50"), Decimal("30.00")
MONEY_TOTAL = WATER_TOTAL * WATER_PRICE + POWER_TOTAL * POWER_PRICE  # 40.00 + 15.00
MIXED = "自来水 12.50 m³ · 电 30.00 kWh"


@dataclass
class UnitsOffice:
    admin: Any
    water: Any
    power: Any
    customers: dict[str, Any]


def _account(admin, meter_type, sub_meter, name, code):
    """The office's account of this meter type: the demo's when it is loaded, else a new one
    with the same sub-meter number and name."""
    from prepaid.accounts.models import Account
    from prepaid.accounts.services import create_account

    found = Account.objects.filter(sub_meter=sub_meter).first()
    if found is not None:
        assert (found.name, found.meter_type) == (name, {"water": 1, "electricity": 2}[meter_type])
        return found
    return create_account(
        admin,
        meter_type=meter_type,
        sub_meter=sub_meter,
        limit="2000",
        prestore="0",
        alarm="1",
        overdraft="0",
        maintenance_code=code,
        name=name,
    )


@pytest.fixture
def units_office(db, tmp_path):
    from prepaid.accounts.services import add_price
    from prepaid.cards.services import format_card
    from prepaid.core.card import codec
    from prepaid.customers.services import register_customer
    from prepaid.operators.models import Operator, Role
    from prepaid.readers.virtual import CardStore, VirtualReader
    from prepaid.vending import services as vending
    from prepaid.vending.services import Station

    from .conftest import SITE_KEY

    admin = Operator(username="units-admin", role=Role.ADMIN, is_staff=True)
    admin.set_password(PASSWORD)
    admin.save()
    water = _account(admin, "water", 1, "自来水", "1234")
    power = _account(admin, "electricity", 2, "电", "5678")
    prices = {
        "water": add_price(admin, account_id=water.pk, name="单位水价", unit_price=WATER_PRICE),
        "power": add_price(admin, account_id=power.pk, name="单位电价", unit_price=POWER_PRICE),
    }
    accounts = {"water": water, "power": power}
    customers = {
        "A": register_customer(admin, name="单位甲", phone="13800000001", address="水电路1号"),
        "B": register_customer(admin, name="单位乙", phone="13800000002", address="水电路2号"),
    }
    store = CardStore(tmp_path / "cards")
    store.root.mkdir()
    station = Station(operator=admin, reader=VirtualReader(store), site_key=SITE_KEY, name=DESK)
    for letter in customers:
        store.create(letter, codec.blank_image())
        store.insert(letter)
        format_card(station)
    for n, (letter, account, quantity) in enumerate(SALES):
        store.insert(letter)
        vending.open_account(
            station,
            customers[letter],
            accounts[account],
            prices[account],
            quantity=str(quantity),
            key=f"units-{n}",
        )
    return UnitsOffice(admin, water, power, customers)


def _by_account(rows):
    """Quantity and money per account from the ledger of the desk, summed here."""
    totals: dict[int, list[Decimal]] = {}
    for row in rows:
        into = totals.setdefault(row.account_id, [Decimal(0), Decimal(0)])
        into[0] += Decimal(row.quantity_centi) / 100
        into[1] += Decimal(row.amount_fen) / 100
    return totals


def test_the_ledger_holds_what_was_sold(units_office):
    from prepaid.vending.models import LedgerEntry

    totals = _by_account(LedgerEntry.objects.filter(station=DESK))
    office = units_office
    assert totals == {
        office.water.pk: [WATER_TOTAL, WATER_TOTAL * WATER_PRICE],
        office.power.pk: [POWER_TOTAL, POWER_TOTAL * POWER_PRICE],
    }
    assert sum(t[1] for t in totals.values()) == MONEY_TOTAL == Decimal("55.00")


def test_sales_detail_keeps_each_accounts_quantity_in_its_unit(units_office):
    from prepaid.reports import services
    from prepaid.reports.exports import write_csv, write_xlsx
    from prepaid.reports.services import Filters
    from prepaid.reports.tables import json_document

    with translation.override("zh-hans"):
        table = services.sales_detail(Filters(station=DESK), page_size=None)
        rows = list(table.rows)
        document = json_document(services.sales_detail(Filters(station=DESK)))
        text = io.StringIO()
        write_csv(services.sales_detail(Filters(station=DESK), page_size=None), text, bom=False)
        book = io.BytesIO()
        write_xlsx(services.sales_detail(Filters(station=DESK), page_size=None), book)
    assert sorted((r["account"], r["unit"]) for r in rows) == [
        ("电", "kWh"),
        ("电", "kWh"),
        ("自来水", "m³"),
    ]
    assert table.totals["quantity"].text() == MIXED and table.totals["unit"] is None
    assert Decimal(table.totals["amount"]) / 100 == MONEY_TOTAL
    assert document["totals"]["quantity"] is None and document["totals"]["amount"] == "55.00"
    assert document["totals"]["quantity_by_account"] == [
        {"account": "自来水", "unit": "m³", "quantity": "12.50"},
        {"account": "电", "unit": "kWh", "quantity": "30.00"},
    ]
    records = list(csv.reader(io.StringIO(text.getvalue())))
    header, total = records[0], records[-1]
    assert total[0] == "合计"
    assert total[header.index("充值量")] == MIXED
    assert total[header.index("单位")] == ""
    assert total[header.index("金额")] == "55.00"
    book.seek(0)
    sheet = list(load_workbook(book).worksheets[0].iter_rows(values_only=True))
    assert sheet[-1][header.index("充值量")] == MIXED
    assert Decimal(str(sheet[-1][header.index("金额")])) == MONEY_TOTAL
    # one account: its total is a number again, in its unit
    water = services.sales_detail(Filters(station=DESK, account_id=units_office.water.pk))
    assert (water.totals["quantity"].single, water.totals["unit"]) == (1250, "m³")
    assert json_document(water)["totals"]["quantity"] == "12.50"


def test_summary_has_a_quantity_column_per_account_whatever_the_grouping(units_office):
    from prepaid.reports import services
    from prepaid.reports.exports import write_csv, write_xlsx
    from prepaid.reports.services import Filters

    office = units_office
    water, power = f"quantity_{office.water.pk}", f"quantity_{office.power.pk}"
    for period in ("day", "month", "year"):
        for group in ("none", "operator", "payment", "price", "account", "station"):
            table = services.sales_summary(Filters(station=DESK), period=period, group=group)
            keys = [c.key for c in table.columns if c.kind == "quantity"]
            assert keys == [water, power], (period, group)
            totals = table.totals
            assert (totals[water], totals[power]) == (1250, 3000)
            assert Decimal(totals["amount"]) / 100 == MONEY_TOTAL
            assert sum(r[water] or 0 for r in table.rows) == 1250
            assert sum(r[power] or 0 for r in table.rows) == 3000
    by_price = services.sales_summary(Filters(station=DESK), period="year", group="price")
    cells = {r["group"]: (r[water], r[power]) for r in by_price.rows}
    assert cells == {"自来水 · 单位水价": (1250, None), "电 · 单位电价": (None, 3000)}
    with translation.override("zh-hans"):
        table = services.sales_summary(Filters(station=DESK), period="month")
        text = io.StringIO()
        write_csv(table, text, bom=False)
        book = io.BytesIO()
        write_xlsx(table, book)
    records = list(csv.reader(io.StringIO(text.getvalue())))
    assert records[0][4:6] == ["自来水充值量（m³）", "电充值量（kWh）"]
    assert records[-1][4:6] == ["12.50", "30.00"] and records[-1][-1] == "55.00"
    book.seek(0)
    sheet = load_workbook(book).worksheets[0]
    total = list(sheet.iter_rows())[-1]
    assert [c.data_type for c in total[4:6]] == ["n", "n"]
    assert [Decimal(str(c.value)) for c in total[4:6]] == [WATER_TOTAL, POWER_TOTAL]


def test_report_pages_show_no_mixed_sum(units_office, client):
    from prepaid.core.money import format_centi

    client.force_login(units_office.admin)
    sales = client.get(reverse("reports:sales"), {"station": DESK}).content.decode()
    footer = sales.split("<tfoot>")[1].split("</tfoot>")[0]
    # On screen one account a line (the files keep MIXED on one line).
    # (a number and its unit are never parted: a crowded screen breaks after the account)
    assert "自来水 12.50\N{NO-BREAK SPACE}m³<br>电 30.00\N{NO-BREAK SPACE}kWh" in footer
    assert "55.00" in footer
    assert format_centi(4250) not in sales  # 12.50 + 30.00, the sum that means nothing
    summary = client.get(reverse("reports:summary"), {"station": DESK, "group": "payment"})
    page = summary.content.decode()
    assert "自来水充值量（m³）" in page and "电充值量（kWh）" in page
    footer = page.split("<tfoot>")[1].split("</tfoot>")[0]
    assert ">12.50<" in footer and ">30.00<" in footer and "42.50" not in footer
    customer = units_office.customers["A"]
    history = client.get(reverse("reports:customer", args=[customer.user_number])).content.decode()
    footer = history.split("<tfoot>")[1].split("</tfoot>")[0]
    assert "自来水 12.50\N{NO-BREAK SPACE}m³<br>电 10.00\N{NO-BREAK SPACE}kWh" in footer
    assert "22.50" not in footer


@pytest.fixture
def cli(units_office, tmp_path, monkeypatch, capsys):
    from django.utils import translation

    from prepaid.cli.main import main

    home = tmp_path / "home"
    DataHome(home).ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home))
    monkeypatch.setenv("PREPAID_OPERATOR", "units-admin")
    monkeypatch.setenv("PREPAID_PASSWORD", PASSWORD)
    monkeypatch.setenv("PREPAID_STATION", DESK)

    def run(*argv):
        capsys.readouterr()
        try:
            status = main(list(argv))
        finally:
            translation.deactivate()
        return status, capsys.readouterr().out

    return run


def test_the_command_line_keeps_units_apart_in_text_json_and_files(cli, units_office, tmp_path):
    status, out = cli("report", "summary", "--station", DESK, "--json")
    assert status == 0
    document = json.loads(out)
    assert document["total"]["quantity"] is None
    assert document["total"]["quantity_by_account"] == [
        {"account": "自来水", "unit": "m³", "quantity": "12.50"},
        {"account": "电", "unit": "kWh", "quantity": "30.00"},
    ]
    assert document["total"]["amount"] == "55.00"
    water = f"quantity_{units_office.water.pk}"
    assert document["total"][water] == "12.50"
    status, out = cli("report", "summary", "--station", DESK, "--group", "account", "--json")
    by_account = {r["group"]: r for r in json.loads(out)["rows"]}
    assert by_account["自来水"]["quantity"] == "12.50"
    assert by_account["电"]["quantity"] == "30.00"
    status, out = cli("report", "sales", "--station", DESK)
    assert status == 0
    total = out.splitlines()[-2].strip()  # the totals line, above “Page 1 of 1”
    assert total.startswith("合计") and MIXED in total and "55.00" in total
    assert "42.50" not in out
    status, out = cli("report", "sales", "--station", DESK, "--json")
    assert json.loads(out)["totals"]["quantity"] is None
    number = units_office.customers["A"].user_number
    status, out = cli("report", "customer", number, "--json")
    totals = json.loads(out)["totals"]
    assert totals["quantity"] is None and totals["amount"] == "45.00"  # 40.00 + 5.00
    assert [p["quantity"] for p in totals["quantity_by_account"]] == ["12.50", "10.00"]
    path = tmp_path / "summary.xlsx"
    status, _ = cli("report", "summary", "--station", DESK, "--format", "xlsx", "-o", str(path))
    assert status == 0
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert rows[0][4:6] == ("自来水充值量（m³）", "电充值量（kWh）")
    assert [Decimal(str(v)) for v in rows[-1][4:6]] == [WATER_TOTAL, POWER_TOTAL]
    path = tmp_path / "sales.csv"
    status, _ = cli("report", "sales", "--station", DESK, "--format", "csv", "-o", str(path))
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert records[-1][records[0].index("充值量")] == MIXED


def test_the_shift_settlement_totals_money_only(units_office):
    from prepaid.reports.shifts import (
        close_shift,
        shift_report,
        shift_report_document,
        shift_settlement_table,
    )

    settlement = close_shift(units_office.admin, DESK, counted_cash=str(MONEY_TOTAL))
    assert settlement.variance_fen == 0
    # a shift sells water and electricity: its totals hold money, no quantity adding the two
    assert set(settlement.totals) == {"cash"}
    assert not any("quantity" in key for key in settlement.totals["cash"])
    report = shift_report(settlement.shift)
    assert report.totals.payments["cash"].amount_fen == 5500
    assert not any(c.kind == "quantity" for c in shift_settlement_table(report).columns)
    assert "quantity" not in json.dumps(shift_report_document(report))

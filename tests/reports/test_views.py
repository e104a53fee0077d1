"""The report pages: logged-in operators only, filters, sorting, pages, downloads, charts,
shift settlement and its print view."""

from __future__ import annotations

import csv
import datetime
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from prepaid.operators.models import Operator

pytestmark = pytest.mark.django_db

PAGES = [
    "reports:index",
    "reports:sales",
    "reports:summary",
    "reports:customers",
    "reports:cards",
    "reports:pending",
    "reports:shifts",
    "reports:suspicious",
]


@pytest.fixture
def operator_client(client, demo):
    clerk = Operator.objects.filter(role="operator").order_by("username").first()
    client.force_login(clerk)
    return client


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_operators_see_every_report(operator_client, name):
    response = operator_client.get(reverse(name))
    assert response.status_code == 200
    assert b"report-nav" in response.content


def test_sales_page_filters_sorts_and_pages(operator_client, demo):
    start = (demo.result.end - datetime.timedelta(days=60)).isoformat()
    url = reverse("reports:sales")
    response = operator_client.get(url, {"date_from": start, "sort": "-amount", "size": 10})
    table = response.context["table"]
    assert table.sort == "-amount" and table.page_size == 10
    amounts = [row["amount"] for row in table.rows]
    assert amounts == sorted(amounts, reverse=True) and len(amounts) == 10
    assert b'aria-sort="descending"' in response.content
    second = operator_client.get(
        url, {"date_from": start, "sort": "-amount", "size": 10, "page": 2}
    )
    assert second.context["table"].page == 2
    assert second.context["table"].rows[0]["amount"] <= amounts[-1]
    bad = operator_client.get(url, {"date_from": "2026-02-30"})
    assert bad.status_code == 200 and bad.context["form"].errors


def test_downloads(operator_client, demo):
    start = (demo.result.end - datetime.timedelta(days=10)).isoformat()
    url = reverse("reports:sales")
    response = operator_client.get(url, {"date_from": start, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    page = operator_client.get(url, {"date_from": start}).context["table"]
    assert len(records) == page.count + 2  # header, rows, totals
    response = operator_client.get(url, {"date_from": start, "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert sheet.max_row == page.count + 2
    response = operator_client.get(reverse("reports:suspicious"), {"format": "xlsx"})
    assert response.status_code == 200 and "suspicious" in response["Content-Disposition"]


def test_summary_page_with_a_daily_chart(operator_client, demo):
    end = demo.result.end
    response = operator_client.get(
        reverse("reports:summary"),
        {
            "by": "day",
            "group": "payment",
            "date_from": (end - datetime.timedelta(days=13)).isoformat(),
            "date_to": end.isoformat(),
        },
    )
    assert response.status_code == 200
    svg = response.context["chart"]
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert len([e for e in root.iter() if e.tag.endswith("rect")]) == 14


def test_chart_urls_are_svg(operator_client):
    for name in ("daily-takings", "monthly-quantity"):
        response = operator_client.get(reverse("reports:chart", args=[name]))
        assert response["Content-Type"].startswith("image/svg+xml")
        ET.fromstring(response.content)
    assert operator_client.get(reverse("reports:chart", args=["nope"])).status_code == 404


def test_customer_pages(operator_client, demo):
    number = demo.record.reissues[0]["user_number"]
    response = operator_client.get(reverse("reports:customers"), {"q": number})
    assert response.status_code == 302
    response = operator_client.get(response["Location"])
    assert response.status_code == 200
    assert number.encode() in response.content
    page = response.content.decode()
    assert f"用户历史记录：{number}" in page and "<span>用户：" in page  # Chinese colons
    assert operator_client.get(reverse("reports:customer", args=["99999999"])).status_code == 404


def test_shift_settlement_pages(operator_client, demo):
    from prepaid.reports.models import ShiftSettlement

    settlement = ShiftSettlement.objects.exclude(variance_fen=0).first()
    response = operator_client.get(reverse("reports:shift", args=[settlement.shift_id]))
    assert response.status_code == 200
    assert b'data-testid="variance"' in response.content
    assert b"close-shift" not in response.content  # closed: no close form
    printed = operator_client.get(reverse("reports:shift_print", args=[settlement.shift_id]))
    assert printed.status_code == 200 and b"report-print" in printed.content
    assert b"navbar" not in printed.content


def test_a_date_filter_keeps_its_value_in_chinese(operator_client, demo):
    """The default start of the sales detail reaches the date picker as ISO: in zh-Hans a
    value such as 2026/10/29 is no date to the browser, and the field looked empty."""
    page = operator_client.get(reverse("reports:sales"))
    start = page.context["form"].initial["date_from"]
    assert f'name="date_from" value="{start.isoformat()}"' in page.content.decode()


def test_the_shift_print_view_prints_and_leads_back(operator_client, demo):
    """The print view is a page of its own, without the menus: a print button and a way back
    to the shift, neither printed."""
    from prepaid.reports.models import ShiftSettlement

    shift_id = ShiftSettlement.objects.first().shift_id
    page = operator_client.get(reverse("reports:shift_print", args=[shift_id])).content.decode()
    bar = page.split('data-testid="print-bar"')[1].split("</p>")[0]
    assert 'onclick="window.print()"' in bar and ">打印</button>" in bar
    assert f'href="{reverse("reports:shift", args=[shift_id])}"' in bar
    assert '<p class="no-print" data-testid="print-bar">' in page
    assert "<p>操作员：____________</p>" in page and "<p>复核人：____________</p>" in page


def test_the_shift_list_opens_each_shift(operator_client, demo):
    """From the list of shifts to one shift's settlement and its printout (a reprint)."""
    from prepaid.vending.models import Shift

    listed = operator_client.get(reverse("reports:shifts")).content.decode()
    shift = Shift.objects.order_by("-opened_at").first()
    assert f'<a href="{reverse("reports:shift", args=[shift.pk])}">{shift.pk}</a>' in listed


def _a_sale_at_desk_1(office, monkeypatch):
    """A shift opened at station desk-1 by its first sale."""
    monkeypatch.setenv("PREPAID_STATION", "desk-1")
    office.open(quantity="2")


def test_close_a_shift_from_the_page(client, small_office, monkeypatch):
    office = small_office
    _a_sale_at_desk_1(office, monkeypatch)
    client.force_login(office.clerk)
    response = client.get(reverse("reports:shifts"))
    shift = response.context["open_shift"]
    assert shift is not None
    page = client.get(reverse("reports:shift", args=[shift.pk]))
    assert b"close-shift" in page.content
    # 交班 settles the takings for good: the operator confirms it first
    asked = f"确定交班（班次 {shift.pk}）？本班收款即结算，之后的销售计入新的班次。"
    assert f'data-testid="close-shift" data-confirm="{asked}"' in page.content.decode()
    response = client.post(
        reverse("reports:shift_close"), {"shift": shift.pk, "counted_cash": "90.00"}
    )
    assert response.status_code == 302
    shift.refresh_from_db()
    assert shift.closed_at is not None and shift.settlement.variance_fen == 0
    again = client.post(
        reverse("reports:shift_close"), {"shift": shift.pk, "counted_cash": "90.00"}, follow=True
    )
    assert "shift_closed" not in again.content.decode() and again.status_code == 200


def test_closing_someone_elses_closed_shift_says_it_is_not_theirs(
    client, small_office, monkeypatch
):
    from prepaid.operators.models import Operator, Role
    from prepaid.reports.shifts import close_shift, open_shift_of

    office = small_office
    _a_sale_at_desk_1(office, monkeypatch)
    shift = open_shift_of(office.clerk, "desk-1")
    close_shift(office.clerk, "desk-1", counted_cash="90.00")
    other = Operator.objects.create(username="other-clerk", role=Role.OPERATOR)
    client.force_login(other)
    response = client.post(
        reverse("reports:shift_close"), {"shift": shift.pk, "counted_cash": "90.00"}, follow=True
    )
    page = response.content.decode()
    assert "只有该班次的操作员或管理员才能交班。" in page, page
    assert "该班次已交班" not in page


def _cli_shift_files(shift_id, tmp_path, monkeypatch, capsys):
    """``prepaid report shift --id N`` as CSV (standard output) and as an Excel file."""
    from django.utils import translation

    from prepaid.cli.main import main
    from prepaid.home import DataHome

    home = tmp_path / "cli-home"
    DataHome(home).ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home))
    monkeypatch.setenv("PREPAID_OPERATOR", "office-clerk")
    monkeypatch.setenv("PREPAID_PASSWORD", "Office-clerk-1")
    target = tmp_path / "cli-shift.xlsx"
    capsys.readouterr()
    try:
        assert main(["report", "shift", "--id", str(shift_id), "--format", "csv"]) == 0
        text = capsys.readouterr().out
        argv = ["report", "shift", "--id", str(shift_id), "--format", "xlsx", "-o", str(target)]
        assert main(argv) == 0
    finally:
        translation.deactivate()
    return list(csv.reader(io.StringIO(text))), target


def _sheet_values(source):
    sheet = load_workbook(source).worksheets[0]
    return [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]


def test_the_shift_page_downloads_the_files_of_the_command_line(
    client, small_office, monkeypatch, tmp_path, capsys
):
    """日结 on the page: CSV and Excel of the settlement, cell for cell the files of
    ``prepaid report shift --format csv|xlsx`` (takings, expected and counted cash, variance)."""
    from decimal import Decimal

    from prepaid.core.money import fen_to_decimal

    office = small_office
    _a_sale_at_desk_1(office, monkeypatch)
    client.force_login(office.clerk)
    shift = client.get(reverse("reports:shifts")).context["open_shift"]
    client.post(reverse("reports:shift_close"), {"shift": shift.pk, "counted_cash": "88.50"})
    shift.refresh_from_db()
    settlement = shift.settlement
    url = reverse("reports:shift", args=[shift.pk])
    page = client.get(url).content.decode()
    assert f'href="{url}?format=csv" download data-testid="export-csv"' in page
    assert f'href="{url}?format=xlsx" download data-testid="export-xlsx"' in page

    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="shift-{shift.pk}-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    downloaded = list(csv.reader(io.StringIO(text[1:])))
    workbook = client.get(url, {"format": "xlsx"})
    assert workbook.status_code == 200 and workbook["Content-Type"].endswith(".sheet")

    command_line, target = _cli_shift_files(shift.pk, tmp_path, monkeypatch, capsys)
    assert downloaded == command_line
    assert _sheet_values(io.BytesIO(workbook.content)) == _sheet_values(target)
    # and they are the settlement's numbers
    assert downloaded[-4][0] == "合计"
    assert Decimal(downloaded[-4][-1]) == fen_to_decimal(settlement.takings_fen) == Decimal("90.00")
    assert [Decimal(r[-1]) for r in downloaded[-3:]] == [
        fen_to_decimal(settlement.expected_cash_fen),
        Decimal("88.50"),
        Decimal("-1.50"),
    ]


def test_a_shift_download_of_an_unknown_shift_is_404(client, small_office):
    from prepaid.vending.models import Shift

    client.force_login(small_office.clerk)
    missing = (Shift.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    response = client.get(reverse("reports:shift", args=[missing]), {"format": "csv"})
    assert response.status_code == 404


def test_an_open_shift_reads_as_not_handed_over_in_chinese(client, small_office, monkeypatch):
    """“Open” of a shift is 未交班, not the “open” of a link (打开) or of a valve (开启)."""
    office = small_office
    _a_sale_at_desk_1(office, monkeypatch)
    client.force_login(office.clerk)  # zh-Hans, the site's default
    listing = client.get(reverse("reports:shifts")).content.decode()
    assert ">未交班</option>" in listing and ">已交班</option>" in listing
    assert "打开" not in listing and "开启" not in listing
    shift = client.get(reverse("reports:shifts")).context["open_shift"]
    page = client.get(reverse("reports:shift", args=[shift.pk])).content.decode()
    assert '<dt>交班时间</dt><dd><span data-testid="shift-open">未交班</span></dd>' in page
    office.clerk.language = "en"
    office.clerk.save(update_fields=["language"])
    page = client.get(reverse("reports:shift", args=[shift.pk])).content.decode()
    assert '<span data-testid="shift-open">Not yet: the shift is open</span>' in page  # not "Open"


def test_a_bad_counted_cash_is_shown_with_what_was_typed(client, small_office, monkeypatch):
    """交班 with 58.301: refused next to the field, the value kept, the shift still open."""
    from django.utils import translation
    from django.utils.html import escape

    from prepaid.core.errors import PrepaidError
    from prepaid.core.money import parse_money

    office = small_office
    _a_sale_at_desk_1(office, monkeypatch)
    client.force_login(office.clerk)
    shift = client.get(reverse("reports:shifts")).context["open_shift"]
    response = client.post(
        reverse("reports:shift_close"),
        {"shift": shift.pk, "counted_cash": "58.301", "remarks": "点钞两次"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="58.301"' in page and 'value="点钞两次"' in page
    with pytest.raises(PrepaidError) as refused, translation.override("zh-hans"):
        parse_money("58.301", field="counted cash", allow_zero=True)
    with translation.override("zh-hans"):
        said = escape(refused.value.translate(translation.gettext))
    assert f'data-field-error="counted_cash">{said}</span>' in page
    assert 'aria-invalid="true"' in page and "too_many_decimals" in page
    shift.refresh_from_db()
    assert shift.closed_at is None


def test_report_tables_show_times_as_every_other_page(client, small_office, monkeypatch):
    """Screen: the locale's format (2026年11月28日 17:41); CSV keeps 2026-11-28 17:41:21."""
    from django.utils import formats, timezone, translation

    office = small_office
    _a_sale_at_desk_1(office, monkeypatch)
    client.force_login(office.clerk)
    response = client.get(reverse("reports:sales"))
    moment = timezone.localtime(next(iter(response.context["table"].rows))["time"])
    with translation.override("zh-hans"):
        shown = formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    assert "年" in shown
    page = response.content.decode()
    assert f'<td class="nowrap">{shown}</td>' in page  # a time is never broken over lines
    assert moment.strftime("%Y-%m-%d %H:%M:%S") not in page
    exported = client.get(reverse("reports:sales"), {"format": "csv"})
    assert moment.strftime("%Y-%m-%d %H:%M:%S") in b"".join(exported.streaming_content).decode(
        "utf-8-sig"
    )
    shift = client.get(reverse("reports:shifts")).context["open_shift"]
    head = client.get(reverse("reports:shift", args=[shift.pk])).content.decode()
    with translation.override("zh-hans"):
        opened = formats.date_format(timezone.localtime(shift.opened_at), "SHORT_DATETIME_FORMAT")
    assert f"<dd>{opened}</dd>" in head


def test_report_cells_short_words_and_times_stay_on_one_line(client, small_office, monkeypatch):
    """At 1366 px the sales detail broke 销售 and 已完成 one character a line while long
    texts had room: short words, times and numbers keep to one line, long texts wrap."""
    from prepaid.reports import tables as t
    from prepaid.reports.views import _cell_classes

    office = small_office
    _a_sale_at_desk_1(office, monkeypatch)
    client.force_login(office.clerk)
    page = client.get(reverse("reports:sales")).content.decode()
    assert '<td class="nowrap">' in page and '<td class="num">' in page
    import prepaid.reports

    css = Path(prepaid.reports.__file__).with_name("static") / "reports" / "reports.css"
    assert ".report-table td.nowrap" in css.read_text()

    text, money = (
        t.Column("remarks", t.Label("Remarks", "备注")),
        t.Column("amount", t.Label("Amount", "金额"), t.MONEY),
    )
    assert _cell_classes(text, "已完成") == "nowrap"
    assert _cell_classes(text, "替换第 1 次购买（34.50）：退还用户 14.52。") == ""
    assert _cell_classes(text, "第一行\n第二行") == "multiline"
    assert _cell_classes(money, "1,040.00") == "num"
    assert (
        _cell_classes(t.Column("time", t.Label("Time", "时间"), t.DATETIME), "2026年11月28日 17:41")
        == "nowrap"
    )


def test_report_cells_give_way_where_a_wide_report_needs_the_room():
    """In English the pending and voided sales were 1,900 pixels wide at 1366 and a
    customer's history broke “Swipe seen on the card” over three lines: two short words may
    go one under the other, a card serial in two halves, an event stays on one line."""
    from prepaid.reports import tables as t
    from prepaid.reports.views import _cell_classes

    payment = t.Column("payment", t.Label("Payment method", "支付方式"))
    assert _cell_classes(payment, "WeChat Pay") == "words"
    assert _cell_classes(payment, "微信支付") == "nowrap"
    serial = t.Column("card_serial", t.Label("Card serial", "卡序列号"))
    assert _cell_classes(serial, "d6c273f95505db15") == "serial"
    event = t.Column("event", t.Label("Event", "事件"))
    assert _cell_classes(event, "Swipe seen on the card") == "nowrap"
    assert _cell_classes(event, "Meter reading (check card)") == "nowrap"
    import prepaid.reports

    css = Path(prepaid.reports.__file__).with_name("static") / "reports" / "reports.css"
    rules = css.read_text()
    assert ".report-table td.words { word-break: keep-all; }" in rules
    assert ".report-table th { white-space: normal; word-break: keep-all; }" in rules


def test_a_total_of_several_accounts_is_one_line_each():
    """自来水 316.74 m³ · 电 6468.64 kWh · 天然气 321.66 m³ on one line made the 充值量 column
    wider than half the page: one account a line, the column as wide as one of them."""
    from prepaid.reports import tables as t
    from prepaid.reports.views import _total_cell

    column = t.Column("quantity", t.Label("Quantity", "充值量"), t.QUANTITY)
    both = t.Quantities((("自来水", "m³", 31674), ("电", "kWh", 646864)))
    assert _total_cell(column, both) == {
        # a crowded screen breaks a line after its account, never between number and unit
        "text": "自来水 316.74\N{NO-BREAK SPACE}m³\n电 6468.64\N{NO-BREAK SPACE}kWh",
        "classes": "num multiline",
    }
    assert _total_cell(column, t.Quantities((("自来水", "m³", 31674),))) == {
        "text": "316.74",
        "classes": "num",
    }


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"as_of": "9999-12-31"},
        {"as_of": "0001-01-01"},
    ],
)
def test_a_day_at_the_calendars_ends_is_refused_not_a_server_error(operator_client, name, query):
    """0001-01-01 in the office's time zone, or the day after 9999-12-31, cannot be held: the
    filter says which days it takes instead of the page failing."""
    response = operator_client.get(reverse(name), query)
    assert response.status_code == 200
    dated = {
        "reports:sales",
        "reports:summary",
        "reports:cards",
        "reports:pending",
        "reports:shifts",
    }
    if set(query) & {"date_from", "date_to"} and name in dated:
        assert "请输入 1900 年至 2999 年之间的日期。" in response.content.decode()


def test_a_chart_at_the_calendars_ends_falls_back_to_its_usual_period(operator_client):
    for query in ({"from": "0001-01-01"}, {"to": "9999-12-31"}):
        chart = operator_client.get(reverse("reports:chart", args=["daily-takings"]), query)
        assert chart.status_code == 200 and b"<svg" in chart.content


def test_the_account_filter_gives_the_sub_meter_in_the_pages_brackets(operator_client, demo):
    """自来水（1） on a Chinese page, as its other brackets (（v1，2026年11月1日）), not the
    half-width 自来水 (1); an English page keeps Water (1)."""
    from prepaid.accounts.models import Account

    account = Account.objects.order_by("sub_meter").first()
    for name in ("reports:sales", "reports:summary"):
        page = operator_client.get(reverse(name)).content.decode()
        shown = f"{account.name}（{account.sub_meter}）"
        assert f'<option value="{account.pk}">{shown}</option>' in page
        assert f"{account.name} ({account.sub_meter})" not in page
    clerk = operator_client.get(reverse("reports:sales")).wsgi_request.user
    clerk.language = "en"
    clerk.save(update_fields=["language"])  # rolled back after the test
    page = operator_client.get(reverse("reports:sales")).content.decode()
    assert f">{account.name} ({account.sub_meter})</option>" in page


def test_amounts_and_quantities_are_grouped_on_the_page_as_the_locale_groups_them(
    operator_client, demo
):
    """The report pages write 48,520.86 and 1,537.00 in English, as the vending pages do
    (1026.00 read as a code); Chinese writes no separator. The files stay machine-readable:
    48520.86 in CSV, a number formatted 0.00 in Excel."""
    import re
    from decimal import Decimal

    from prepaid.core.money import centi_to_decimal, fen_to_decimal

    url = reverse("reports:sales")
    query = {"date_from": demo.result.start.isoformat(), "date_to": demo.result.end.isoformat()}
    page = operator_client.get(url, query)
    totals = page.context["table"].totals
    amount = fen_to_decimal(totals["amount"])
    assert amount >= 1000 and totals["quantity"].single is None  # water and electricity
    plain = str(amount)
    grouped = f"{amount:,}"
    unit, large = next(
        (unit, centi_to_decimal(c)) for _, unit, c in totals["quantity"].parts if c >= 100_000
    )

    def footer(response):
        html = response.content.decode()
        return re.search(r"<tfoot>.*?</tfoot>", html, re.S).group(0)

    assert plain in footer(page) and grouped not in footer(page)  # zh-Hans: no separator
    Operator.objects.filter(pk=page.context["user"].pk).update(language="en")
    english = footer(operator_client.get(url, query))
    assert grouped in english and f">{plain}<" not in english
    assert f" {large:,}\N{NO-BREAK SPACE}{unit}" in english

    csv_text = b"".join(
        operator_client.get(url, {**query, "format": "csv"}).streaming_content
    ).decode("utf-8")
    *_, total_row = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    assert plain in total_row and grouped not in total_row
    workbook = operator_client.get(url, {**query, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(workbook.content)).worksheets[0]
    numbers = [
        (Decimal(str(c.value)), c.number_format)
        for c in sheet[sheet.max_row]
        if c.data_type == "n" and c.value is not None
    ]
    assert (amount, "0.00") in numbers, numbers


def test_the_settlement_groups_its_amounts_as_the_locale_groups_them():
    from django.utils import translation

    from prepaid.reports.templatetags.prepaid_reports import yuan

    with translation.override("en"):
        assert yuan(12_345_678) == "123,456.78" and yuan(-150) == "-1.50"
    with translation.override("zh-hans"):
        assert yuan(12_345_678) == "123456.78"

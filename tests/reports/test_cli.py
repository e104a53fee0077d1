"""``prepaid report …``, ``prepaid shift close`` and ``prepaid demo`` through the CLI."""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from prepaid.core.money import fen_to_decimal
from prepaid.home import DataHome

DEMO_PASSWORD = "Demo-admin-pw1"


class Cli:
    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, *argv, json_output=True):
        from django.utils import translation

        from prepaid.cli.main import main

        self.capsys.readouterr()
        args = [*argv] + (["--json"] if json_output else [])
        try:
            status = main(args)
        finally:
            translation.deactivate()
        out = self.capsys.readouterr()
        return status, (json.loads(out.out) if json_output else out.out + out.err)


@pytest.fixture
def cli(demo, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    DataHome(home).ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home))
    monkeypatch.setenv("PREPAID_OPERATOR", "demo-admin")
    monkeypatch.setenv("PREPAID_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setenv("PREPAID_STATION", "counter-1")
    return Cli(capsys)


pytestmark = pytest.mark.django_db


def test_report_summary_json_has_amount_and_quantity_per_group_and_overall(cli, demo):
    status, document = cli("report", "summary", "--by", "year", "--group", "operator")
    assert status == 0
    assert Decimal(document["total"]["amount"]) == fen_to_decimal(demo.record.money_fen)
    assert sum(Decimal(row["amount"]) for row in document["rows"]) == Decimal(
        document["total"]["amount"]
    )
    for row in document["rows"]:
        assert {"period", "group", "amount", "quantity", "count"} <= set(row)
    by_operator = {}
    for row in document["rows"]:
        by_operator[row["group"]] = by_operator.get(row["group"], 0) + Decimal(row["amount"])
    assert by_operator == {
        name: fen_to_decimal(v) for name, v in demo.record.takings_by_operator.items() if v
    }


def test_report_sales_table_json_csv_and_xlsx(cli, demo, tmp_path):
    start = demo.result.start.isoformat()
    end = demo.result.end.isoformat()
    status, text = cli(
        "report",
        "sales",
        "--from",
        start,
        "--to",
        end,
        "--page-size",
        "5",
        "--lang",
        "zh-hans",
        json_output=False,
    )
    assert status == 0 and "销售明细" in text and "金额" in text
    status, document = cli(
        "report", "sales", "--from", start, "--to", end, "--format", "json", "--page-size", "5"
    )
    assert status == 0 and len(document["rows"]) == 5
    assert Decimal(document["totals"]["amount"]) == fen_to_decimal(demo.record.money_fen)
    target = tmp_path / "sales.csv"
    status, result = cli(
        "report", "sales", "--from", start, "--to", end, "--format", "csv", "--output", str(target)
    )
    assert status == 0 and result["rows"] == document["count"]
    records = list(csv.reader(io.StringIO(target.read_text("utf-8-sig"))))
    assert len(records) == document["count"] + 2
    target = tmp_path / "sales.xlsx"
    status, result = cli(
        "report",
        "sales",
        "--from",
        start,
        "--to",
        end,
        "--pay",
        "cash",
        "--format",
        "xlsx",
        "--output",
        str(target),
    )
    assert status == 0
    sheet = load_workbook(target).worksheets[0]
    assert sheet.max_row == result["rows"] + 2
    payment = [c.value for c in sheet[1]].index("支付方式")
    assert {
        row[payment]
        for row in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1, values_only=True)
    } == {"现金"}
    status, error = cli("report", "sales", "--format", "xlsx")
    assert status == 2 and error["error"] == "output_required"
    status, error = cli("report", "sales", "--operator", "nobody")
    assert status == 2 and error["error"] == "unknown_operator"
    status, error = cli("report", "sales", "--account", "999")
    assert (status, error["error"]) == (2, "unknown_account")
    status, error = cli("report", "summary", "--price", "999")
    assert (status, error["error"]) == (2, "unknown_price")


def test_report_customer_cards_pending_shifts(cli, demo):
    number = demo.record.meter_changes[0]["user_number"]
    status, document = cli("report", "customer", number, "--all", "--lang", "en")
    assert status == 0
    assert {"Meter change", "Purchase", "Swipe seen on the card"} <= {
        row["event"] for row in document["rows"]
    }
    status, document = cli("report", "cards", "--kind", "reissue", "--all")
    assert status == 0 and document["count"] == len(demo.record.reissues)
    status, document = cli("report", "pending", "--status", "pending", "--all")
    assert status == 0 and {r["id"] for r in document["rows"]} == set(demo.record.pending)
    status, document = cli("report", "shifts", "--status", "open")
    assert status == 0 and document["count"] == 0


def test_report_shift_and_suspicious(cli, demo):
    from prepaid.reports.models import ShiftSettlement

    settlement = ShiftSettlement.objects.exclude(variance_fen=0).first()
    status, document = cli("report", "shift", "--id", str(settlement.shift_id))
    assert status == 0
    assert Decimal(document["variance"]) == fen_to_decimal(settlement.variance_fen)
    status, document = cli("report", "suspicious", "--as-of", demo.result.as_of.isoformat())
    assert status == 0
    planted = {a["user_number"] for a in demo.result.anomalies}
    flagged = {c["user_number"] for c in document["customers"]}
    assert len(planted & flagged) >= 0.8 * len(planted)
    status, error = cli("report", "suspicious", "--set", "nonsense=1")
    assert status == 2 and error["error"] == "bad_rule"


def test_report_shift_takes_a_format_like_every_report(cli, demo, tmp_path):
    from prepaid.reports.models import ShiftSettlement

    settlement = ShiftSettlement.objects.exclude(variance_fen=0).first()
    shift = str(settlement.shift_id)
    status, text = cli("report", "shift", "--id", shift, "--format", "json", json_output=False)
    assert status == 0
    assert Decimal(json.loads(text)["takings"]) == fen_to_decimal(settlement.takings_fen)
    status, text = cli("report", "shift", "--id", shift, "--format", "csv", json_output=False)
    assert status == 0
    records = list(csv.reader(io.StringIO(text)))
    assert records[0] == [
        "支付方式",
        "销售笔数",
        "销售金额",
        "冲正笔数",
        "冲正金额",
        "费用",
        "金额",
    ]
    assert records[-4][0] == "合计"
    assert Decimal(records[-4][-1]) == fen_to_decimal(settlement.takings_fen)
    # the files carry the cash as the slip does: expected, counted, variance (the point of 日结)
    cash = [
        ("应收现金", settlement.expected_cash_fen),
        ("实收现金", settlement.counted_cash_fen),
        ("差额（实收 − 应收）", settlement.variance_fen),
    ]
    assert [(r[0], Decimal(r[-1])) for r in records[-3:]] == [
        (label, fen_to_decimal(fen)) for label, fen in cash
    ]
    target = tmp_path / "shift.xlsx"
    status, _ = cli("report", "shift", "--id", shift, "--format", "xlsx", "-o", str(target))
    sheet = load_workbook(target).active
    assert status == 0 and sheet.max_row == len(records)
    footer = list(sheet.iter_rows(min_row=sheet.max_row - 2))
    assert [(r[0].value, Decimal(str(r[-1].value)), r[-1].number_format) for r in footer] == [
        (label, fen_to_decimal(fen), "0.00") for label, fen in cash
    ]
    assert settlement.variance_fen == settlement.counted_cash_fen - settlement.expected_cash_fen
    status, text = cli("report", "shift", "--id", shift, json_output=False)
    assert status == 0
    assert "支付方式" in text and "状态：已交班" in text and "closed" not in text


@pytest.mark.parametrize(
    "argv",
    [
        ("report", "sales", "--format", "csv"),
        ("report", "summary", "--format", "xlsx"),
        ("report", "chart", "daily-takings"),
    ],
)
def test_a_report_file_that_cannot_be_written_is_bad_input(cli, tmp_path, argv):
    target = tmp_path / "no-such-dir" / "out"
    status, document = cli(*argv, "--output", str(target))
    assert status == 2 and document["error"] == "cannot_write"
    assert str(target) in document["message"]


def test_report_chart_writes_svg(cli, demo, tmp_path):
    target = tmp_path / "takings.svg"
    status, _ = cli(
        "report",
        "chart",
        "daily-takings",
        "--from",
        demo.result.start.isoformat(),
        "--to",
        demo.result.end.isoformat(),
        "--output",
        str(target),
    )
    assert status == 0 and target.read_text().startswith("<svg")


def _bar_labels(svg: str) -> list[str]:
    return re.findall(r"<title>([^:<]+): ", svg)


@pytest.mark.parametrize(
    ("chart", "label", "count"),
    [("daily-takings", "%m-%d", 30), ("monthly-quantity", "%Y-%m", 12)],
)
def test_a_chart_given_only_its_end_covers_its_usual_period_up_to_it(
    cli, demo, tmp_path, chart, label, count
):
    """Not refused as ending before a start the operator never typed (the last 30 days' or
    12 months' first day): the period ending on the day given."""
    end = demo.result.start + datetime.timedelta(days=75)  # long before the last 30 days
    target = tmp_path / "chart.svg"
    status, document = cli("report", "chart", chart, "--to", end.isoformat(), "-o", str(target))
    assert status == 0, document
    drawn = list(dict.fromkeys(_bar_labels(target.read_text())))  # each account's months
    assert len(drawn) == count and drawn[-1] == end.strftime(label), drawn


def test_a_chart_started_after_today_is_refused_as_after_today(cli, tmp_path):
    from django.utils import timezone

    today = timezone.localdate()
    start = today + datetime.timedelta(days=3)
    target = tmp_path / "chart.svg"
    argv = ["report", "chart", "daily-takings", "--from", start.isoformat(), "-o", str(target)]
    status, document = cli(*argv)
    assert (status, document["error"]) == (2, "bad_date_range")
    assert document["message"] == f"起始日期 {start.isoformat()} 晚于今天（{today.isoformat()}）。"
    status, document = cli(*argv, "--lang", "en")
    assert document["message"] == (
        f"The start date {start.isoformat()} is after today, {today.isoformat()}."
    )
    assert not target.exists()


def _run(
    home: Path, *argv: str, stdin: str | None = None, **more: str
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PREPAID_HOME": str(home),
        "PREPAID_PASSWORD": "Admin-pw-123",
        "PREPAID_STATION": "desk",
        **more,
    }
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "prepaid", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.skipif(
    os.environ.get("PREPAID_TEST_DATABASE") == "postgres",
    reason="the end-to-end demo runs on its own SQLite data directory",
)
def test_demo_command_end_to_end(tmp_path):
    home = tmp_path / "office"
    assert _run(home, "init", "--admin-password", "Admin-pw-123").returncode == 0
    anomalies = tmp_path / "anomalies.json"
    done = _run(
        home,
        "demo",
        "--customers",
        "10",
        "--months",
        "3",
        "--seed",
        "5",
        "--anomalies",
        str(anomalies),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["customers"] == 10 and result["record"]["sales"] > 10
    listed = json.loads(anomalies.read_text())
    assert len(listed["anomalies"]) == 8
    # three months are shorter than the anomalies' usual lead: each still starts within the
    # history, or it is listed as planted and never happens
    assert all(result["start"] <= a["since"] <= result["end"] for a in listed["anomalies"])
    summary = json.loads(_run(home, "report", "summary", "--by", "year", "--json").stdout)
    assert Decimal(summary["total"]["amount"]) == Decimal(result["record"]["money"])
    # the households' cards and meters are handed over to the data directory: the office
    # goes on selling to them, and they go on swiping
    names = sorted(path.stem for path in (home / "cards").glob("*.card"))
    cards = [name for name in names if name.isdigit()]
    assert 0 < len(cards) <= 10 and all(len(name) == 8 for name in cards)
    stock = [name for name in names if not name.isdigit()]
    assert stock, "no new card left for an opening or a reissue"
    assert _run(home, "card", "insert", stock[0]).returncode == 0
    assert json.loads(_run(home, "card", "read", "--json").stdout)["type"] == "new"
    assert _run(home, "card", "insert", cards[0]).returncode == 0
    read = json.loads(_run(home, "card", "read", "--json").stdout)
    assert read["type"] == "user" and read["user_number"] == cards[0]
    meter = json.loads(_run(home, "meter", "show", f"{cards[0]}-1", "--json").stdout)
    assert meter["state"] == "bound"
    swiped = _run(home, "meter", "swipe", f"{cards[0]}-1", "--json")
    assert json.loads(swiped.stdout)["result"] == "ok", swiped.stdout
    again = _run(home, "demo", "--customers", "10", "--json")
    assert (
        again.returncode == 1 and json.loads(again.stdout)["error"] == "demo_needs_empty_database"
    )
    closed = _run(home, "shift", "close", "--counted-cash", "0", "--json")
    assert closed.returncode == 1 and json.loads(closed.stdout)["error"] == "no_open_shift"
    # the demo's clerks changed the given passwords, as at a first login; to act as one the
    # administrator sets its password and the clerk changes it (README)
    operators = json.loads(_run(home, "operator", "list", "--json").stdout)
    clerks = [o for o in operators if o["role"] == "operator"]
    assert clerks and not any(o["must_change_password"] for o in clerks)
    assert _run(home, "operator", "passwd", "clerk1", stdin="Clerk-given-1\n").returncode == 0
    given = {"PREPAID_OPERATOR": "clerk1", "PREPAID_PASSWORD": "Clerk-given-1"}
    refused = _run(home, "report", "summary", "--json", **given)
    assert json.loads(refused.stdout)["error"] == "password_change_required"
    assert (
        _run(home, "operator", "passwd", "clerk1", stdin="Clerk-own-1\n", **given).returncode == 0
    )
    own = {"PREPAID_OPERATOR": "clerk1", "PREPAID_PASSWORD": "Clerk-own-1"}
    assert _run(home, "report", "summary", "--json", **own).returncode == 0


def test_shift_close_of_someone_elses_closed_shift_says_it_is_not_theirs(
    small_office, tmp_path, monkeypatch, capsys
):
    """``prepaid shift close --id N`` by another clerk: not theirs, though already closed."""
    from django.utils import translation

    from prepaid.cli.main import main
    from prepaid.operators.models import Operator, Role
    from prepaid.reports.shifts import close_shift, open_shift_of

    office = small_office
    office.open(quantity="1")
    shift = open_shift_of(office.clerk, "desk-1")
    close_shift(office.clerk, "desk-1", counted_cash="45.00")
    other = Operator(username="other-clerk", role=Role.OPERATOR)
    other.set_password("Other-clerk-1")
    other.save()
    home = tmp_path / "cli-home"
    DataHome(home).ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home))
    monkeypatch.setenv("PREPAID_OPERATOR", "other-clerk")
    monkeypatch.setenv("PREPAID_PASSWORD", "Other-clerk-1")
    capsys.readouterr()
    try:
        status = main(["shift", "close", "--id", str(shift.pk), "--counted-cash", "45", "--json"])
    finally:
        translation.deactivate()
    refused = json.loads(capsys.readouterr().out)
    assert (status, refused["error"]) == (1, "not_your_shift")


def test_report_sales_all_prints_every_row_in_the_table(cli, demo):
    """``--all`` on a terminal table: the rows are printed, not only the totals row."""
    status, document = cli("report", "sales", "--all", "--from", demo.result.start.isoformat())
    assert status == 0 and document["rows"]
    status, text = cli(
        "report", "sales", "--all", "--from", demo.result.start.isoformat(), json_output=False
    )
    assert status == 0
    printed = [line.split()[0] for line in text.splitlines()[4:] if line.strip()]
    shown = [p for p in printed if p.isdigit()]
    assert shown == [str(row["id"]) for row in document["rows"]]


def test_the_totals_row_of_a_terminal_table_is_labelled_like_the_files(cli, demo):
    status, text = cli("report", "summary", "--by", "year", json_output=False)
    assert status == 0
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last.split()[0] == "合计", text


def test_report_summary_offers_no_customer_filter(cli, demo):
    # A summary's numbers are every customer's: ``--customer`` would only relabel them.
    number = demo.record.meter_changes[0]["user_number"]
    status, document = cli("report", "summary", "--customer", number)
    assert status == 2, document
    status, document = cli("report", "sales", "--customer", number, "--all")
    assert status == 0 and document["count"] > 0


def test_a_report_of_one_row_says_row_in_english(cli, demo, tmp_path):
    from collections import Counter

    from django.utils import timezone

    from prepaid.vending.models import LedgerEntry

    sales = LedgerEntry.objects.filter(kind="sale").select_related("customer")
    days = Counter((e.customer.user_number, timezone.localtime(e.time).date()) for e in sales)
    number, day = next(key for key, n in sorted(days.items()) if n == 1)
    argv = ["report", "sales", "--kind", "sale", "--customer", number]
    argv += ["--from", day.isoformat(), "--to", day.isoformat(), "--lang", "en"]
    status, text = cli(*argv, json_output=False)
    assert status == 0 and "Page 1 of 1, 1 row." in text, text
    path = tmp_path / "one.csv"
    status, text = cli(*argv, "--format", "csv", "--output", str(path), json_output=False)
    assert status == 0 and f"Wrote 1 row to {path}." in text, text
    status, text = cli(*argv[:-2], json_output=False)
    assert "第 1/1 页，共 1 行。" in text, text


def test_the_suspicious_worklist_offers_no_sort(cli, demo):
    # It is ranked by score and has no column to sort by: “--sort” is not an option of it,
    # rather than one every value of which is refused with an empty list of columns.
    status, document = cli("report", "suspicious", "--sort", "score")
    assert status == 2 and document["error"] == "usage", document
    assert "--sort" in document["message"]


@pytest.mark.parametrize("report", ["sales", "customer", "pending", "cards"])
def test_an_unknown_sort_column_is_bad_input(cli, demo, report):
    argv = ["report", report, "--sort", "-bogus"]
    if report == "customer":
        argv.insert(2, demo.record.meter_changes[0]["user_number"])
    status, document = cli(*argv)
    assert status == 2 and document["error"] == "bad_sort"
    assert "-bogus" in document["message"] and "time" in document["message"]
    status, document = cli("report", "sales", "--sort", "-amount")
    assert status == 0 and document["sort"] == "-amount"

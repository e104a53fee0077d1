"""Every report's numbers against an independent computation on the demo history: plain
Python over the ledger and purchase rows, and the demo's own record of what it took."""

from __future__ import annotations

import datetime
from collections import defaultdict

import pytest
from django.utils import timezone

from prepaid.cards.models import CardOperation
from prepaid.core.errors import InvalidInput
from prepaid.core.money import format_centi, format_fen
from prepaid.customers.models import Customer
from prepaid.reports import services
from prepaid.reports.aggregates import rebuild_aggregates, refresh_aggregates
from prepaid.reports.models import MonthlyPurchase, SalesDay, WriteBackObservation
from prepaid.reports.services import Filters
from prepaid.vending.models import LedgerEntry, MeterChange, Purchase, Shift

pytestmark = pytest.mark.django_db
MONEY = ("sale", "reversal", "fee")


def ledger():
    rows = LedgerEntry.objects.values(
        "id",
        "time",
        "kind",
        "customer_id",
        "account_id",
        "payment_method",
        "operator_id",
        "operator__username",
        "station",
        "quantity_centi",
        "amount_fen",
        "shift_id",
        "price_version__price_id",
    )
    for row in rows:
        row["day"] = timezone.localtime(row["time"]).date()
        yield row


def _month_of(day):
    return day.replace(day=1)


# The unit of each meter type (1 water, 2 electricity, 3 gas, 4 heat), written out here.
UNITS = {1: "m³", 2: "kWh", 3: "m³", 4: "GJ"}


def per_account(rows, measure="quantity_centi"):
    """Quantities summed per account, never across accounts."""
    totals: dict[int, int] = defaultdict(int)
    for row in rows:
        if row["account_id"] is not None:
            totals[row["account_id"]] += row[measure]
    return dict(totals)


def parts(by_account):
    """(account name, unit, quantity) of the accounts with a quantity, in sub-meter order."""
    from prepaid.accounts.models import Account

    return tuple(
        (a.name, UNITS[a.meter_type], by_account[a.pk])
        for a in Account.objects.order_by("sub_meter")
        if by_account.get(a.pk)
    )


# -- sales detail ---------------------------------------------------------------------------


def test_sales_detail_totals_and_pages_match_the_ledger(demo):
    rows = [r for r in ledger() if r["kind"] in MONEY]
    table = services.sales_detail(Filters(), page_size=25)
    assert table.count == len(rows)
    assert table.totals["amount"] == sum(r["amount_fen"] for r in rows)
    # water (m³), electricity (kWh) and gas (m³) are kept apart: no unit for the mixture
    assert table.totals["quantity"].parts == parts(per_account(rows))
    assert len(table.totals["quantity"].parts) == 3 and table.totals["unit"] is None
    assert table.totals["amount"] == demo.record.money_fen
    newest = sorted(rows, key=lambda r: (r["time"], r["id"]), reverse=True)
    assert [r["id"] for r in table.rows] == [r["id"] for r in newest[:25]]
    second = services.sales_detail(Filters(), page=2, page_size=25)
    assert [r["id"] for r in second.rows] == [r["id"] for r in newest[25:50]]
    assert table.pages == (len(rows) + 24) // 25


@pytest.mark.parametrize("field", ["operator_id", "account_id", "payment", "station"])
def test_sales_detail_filters(demo, field):
    rows = [r for r in ledger() if r["kind"] in MONEY]
    source = {
        "operator_id": "operator_id",
        "account_id": "account_id",
        "payment": "payment_method",
        "station": "station",
    }[field]
    values = sorted({r[source] for r in rows if r[source]})
    assert len(values) >= 2
    middle = sorted({r["day"] for r in rows})[len(rows) and len({r["day"] for r in rows}) // 2]
    start, end = middle, middle + datetime.timedelta(days=40)
    for value in values:
        expected = [r for r in rows if r[source] == value and start <= r["day"] <= end]
        table = services.sales_detail(
            Filters(date_from=start, date_to=end, **{field: value}), page_size=None
        )
        got = list(table.rows)
        assert table.count == len(got) == len(expected)
        assert (
            sum(r["amount"] for r in got)
            == table.totals["amount"]
            == sum(r["amount_fen"] for r in expected)
        )


def test_sales_detail_by_price_and_customer(demo):
    rows = [r for r in ledger() if r["kind"] in MONEY]
    prices = {r["price_version__price_id"] for r in rows if r["price_version__price_id"]}
    for price_id in prices:
        expected = [r for r in rows if r["price_version__price_id"] == price_id]
        table = services.sales_detail(Filters(price_id=price_id))
        assert table.count == len(expected)
        assert table.totals["amount"] == sum(r["amount_fen"] for r in expected)
    customer = Customer.objects.order_by("user_number")[3]
    expected = [r for r in rows if r["customer_id"] == customer.pk]
    for text in (customer.user_number, customer.user_number.lstrip("0"), customer.name):
        table = services.sales_detail(Filters(customer=text), page_size=None)
        got = list(table.rows)
        assert {r["user_number"] for r in got} >= {customer.user_number}
        mine = [r for r in got if r["user_number"] == customer.user_number]
        assert len(mine) == len(expected)


def test_sales_detail_sorts_by_every_sortable_column(demo):
    start = demo.result.end - datetime.timedelta(days=60)
    for column in services.SALES_COLUMNS:
        if not column.sort:
            continue
        for sort in (column.key, "-" + column.key):
            table = services.sales_detail(Filters(date_from=start), sort=sort, page_size=40)
            assert table.sort == sort
            values = [r[column.key] for r in table.rows]
            if column.key in ("amount", "quantity", "time", "id", "shift"):
                assert values == sorted(values, reverse=sort.startswith("-"))


def test_operator_and_payment_takings_match_the_demo_record(demo):
    by_operator: dict[str, int] = defaultdict(int)
    by_payment: dict[str, int] = defaultdict(int)
    by_day: dict[str, int] = defaultdict(int)
    for row in ledger():
        if row["kind"] in MONEY:
            by_operator[row["operator__username"]] += row["amount_fen"]
            by_payment[row["payment_method"]] += row["amount_fen"]
            by_day[row["day"].isoformat()] += row["amount_fen"]
    record = demo.record
    assert dict(by_operator) == {k: v for k, v in record.takings_by_operator.items() if v}
    assert dict(by_payment) == {k: v for k, v in record.takings_by_payment.items() if v}
    assert {k: v for k, v in by_day.items() if v} == {
        k: v for k, v in record.takings_by_day.items() if v
    }


# -- summaries -------------------------------------------------------------------------------

GROUP_SOURCE = {
    "operator": "operator_id",
    "account": "account_id",
    "price": "price_version__price_id",
    "payment": "payment_method",
    "station": "station",
    "none": None,
}


def _period(day, period):
    return {"day": day.isoformat(), "month": day.strftime("%Y-%m"), "year": str(day.year)}[period]


@pytest.mark.parametrize("period", ["day", "month", "year"])
@pytest.mark.parametrize("group", list(GROUP_SOURCE))
def test_summary_matches_plain_python(demo, period, group):
    expected: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in ledger():
        if row["kind"] not in MONEY:
            continue
        key = (
            _period(row["day"], period),
            row[GROUP_SOURCE[group]] if GROUP_SOURCE[group] else None,
        )
        totals = expected[key]
        totals["amount"] += row["amount_fen"]
        if row["kind"] in ("sale", "reversal") or row["account_id"] is not None:
            totals.setdefault("by_account", defaultdict(int))
        if row["kind"] in ("sale", "reversal"):
            totals["by_account"][row["account_id"]] += row["quantity_centi"]
        elif row["account_id"] is not None:
            totals["by_account"][row["account_id"]] += 0
        if row["kind"] == "sale":
            totals["count"] += 1
        if row["kind"] == "reversal":
            totals["reversals"] += 1
        if row["kind"] in ("sale", "reversal"):
            totals["sales"] += row["amount_fen"]
        if row["kind"] == "fee":
            totals["fees"] += row["amount_fen"]
    table = services.sales_summary(Filters(), period=period, group=group)
    measures = ("count", "reversals", "sales", "fees", "amount")
    got = {(row["period"], row["group_key"]): {m: row[m] for m in measures} for row in table.rows}
    assert got == {key: {m: totals.get(m, 0) for m in measures} for key, totals in expected.items()}
    # one quantity column per account, each of one unit; no column adds accounts together
    accounts = sorted({a for totals in expected.values() for a in totals.get("by_account", {})})
    quantity_keys = [c.key for c in table.columns if c.kind == "quantity"]
    assert sorted(quantity_keys) == sorted(f"quantity_{a}" for a in accounts)
    for row in table.rows:
        by_account = expected[(row["period"], row["group_key"])].get("by_account", {})
        assert {a: row[f"quantity_{a}"] for a in accounts if a in by_account} == by_account
        assert all(row[f"quantity_{a}"] is None for a in accounts if a not in by_account)
        assert row["quantity"].parts == parts(by_account)
    assert table.totals["amount"] == demo.record.money_fen
    assert {a: table.totals[f"quantity_{a}"] for a in accounts} == {
        a: demo.record.quantity_by_account.get(a, 0) for a in accounts
    }
    assert table.totals["quantity"].parts == parts(demo.record.quantity_by_account)


def test_summary_with_filters_and_its_json_document(demo):
    rows = [r for r in ledger() if r["kind"] in MONEY]
    operator_id = rows[0]["operator_id"]
    start = demo.result.start + datetime.timedelta(days=30)
    end = start + datetime.timedelta(days=45)
    expected = [r for r in rows if r["operator_id"] == operator_id and start <= r["day"] <= end]
    table = services.sales_summary(
        Filters(date_from=start, date_to=end, operator_id=operator_id),
        period="day",
        group="payment",
    )
    assert table.totals["amount"] == sum(r["amount_fen"] for r in expected)
    document = services.summary_document(table)
    assert document["total"]["amount"] == format_fen(sum(r["amount_fen"] for r in expected))
    quantities = parts(per_account(r for r in expected if r["kind"] != "fee"))
    assert len(quantities) > 1  # water and electricity, at least
    assert document["total"]["quantity"] is None  # m³ and kWh: no one number
    assert document["total"]["quantity_by_account"] == [
        {"account": name, "unit": unit, "quantity": format_centi(q)} for name, unit, q in quantities
    ]
    for row in document["rows"]:
        assert set(row) >= {"period", "group", "amount", "quantity", "count"}
        if len(row["quantity_by_account"]) == 1:
            assert row["quantity"] == row["quantity_by_account"][0]["quantity"]
        assert row["amount"].count(".") == 1 and len(row["amount"].split(".")[1]) == 2


def test_a_summary_narrowed_to_a_customer_is_refused_not_everyones_totals(demo):
    # The aggregates are not kept per customer: the summary cannot honour the filter, and
    # must not show every customer's takings under a header naming one.
    customer = Customer.objects.filter(accounts__isnull=False).first()
    with pytest.raises(InvalidInput) as refused:
        services.sales_summary(Filters(customer=customer.user_number), period="year")
    assert refused.value.code == "bad_filter"


def test_charts_data_match_the_record_and_the_ledger(demo):
    start, end = demo.result.start, demo.result.end
    days = services.daily_takings(start, end)
    assert len(days) == (end - start).days + 1
    record = demo.record.takings_by_day
    assert {d.isoformat(): v for d, v in days if v} == {k: v for k, v in record.items() if v}
    months, series = services.monthly_quantity_per_account(start, end)
    expected: dict[tuple, int] = defaultdict(int)
    for row in ledger():
        if row["kind"] in ("sale", "reversal"):
            expected[(row["account_id"], _month_of(row["day"]))] += row["quantity_centi"]
    from prepaid.accounts.models import Account

    names = dict(Account.objects.values_list("id", "name"))
    for account_id, name in names.items():
        assert series[name] == [expected.get((account_id, m), 0) for m in months]
        assert sum(series[name]) == demo.record.quantity_by_account[account_id]


def test_monthly_quantity_refuses_a_range_that_ends_before_it_starts(db):
    # Within one month too: the months would be the same, the days are not.
    for start, end in (
        (datetime.date(2027, 1, 1), datetime.date(2026, 11, 29)),
        (datetime.date(2026, 11, 20), datetime.date(2026, 11, 5)),
    ):
        with pytest.raises(InvalidInput) as refused:
            services.monthly_quantity_per_account(start, end)
        assert refused.value.code == "bad_date_range"
    with pytest.raises(InvalidInput) as refused:
        services.daily_takings(datetime.date(2026, 11, 20), datetime.date(2026, 11, 5))
    assert refused.value.code == "bad_date_range"


# -- aggregates -------------------------------------------------------------------------------


DAY_FIELDS = (
    "day",
    "operator_id",
    "station",
    "account_id",
    "price_id",
    "payment_method",
    "kind",
    "entry_count",
    "quantity_centi",
    "amount_fen",
)
MONTH_FIELDS = (
    "customer_id",
    "account_id",
    "month",
    "sale_count",
    "reversal_count",
    "quantity_centi",
    "amount_fen",
)


def _rows(model, fields):
    return sorted(model.objects.values_list(*fields), key=repr)  # fees have no account


def test_aggregates_are_idempotent_and_rebuild_to_the_same_rows(demo):
    refresh_aggregates()
    days = _rows(SalesDay, DAY_FIELDS)
    months = _rows(MonthlyPurchase, MONTH_FIELDS)
    assert refresh_aggregates().entries == 0  # the demo's entries are all settled
    rebuild_aggregates()
    assert _rows(SalesDay, DAY_FIELDS) == days
    assert _rows(MonthlyPurchase, MONTH_FIELDS) == months
    by_key: dict[tuple, int] = defaultdict(int)
    for row in ledger():
        if row["kind"] in ("sale", "reversal") and row["account_id"]:
            by_key[(row["customer_id"], row["account_id"], _month_of(row["day"]))] += row[
                "quantity_centi"
            ]
    assert {(c, a, m): q for c, a, m, _s, _r, q, _a in months} == dict(by_key)


# -- customer history, card operations, pending and voided -------------------------------------


def test_customer_history_shows_every_event(demo):
    reissued = demo.record.reissues[0]["user_number"]
    changed = demo.record.meter_changes[0]["user_number"]
    for number in {reissued, changed}:
        customer = Customer.objects.get(user_number=number)
        table = services.customer_history(customer, page_size=None)
        events = list(table.rows)
        codes = [e["event_code"] for e in events]
        purchases = Purchase.objects.filter(customer_account__customer=customer)
        assert (
            codes.count("purchase") + codes.count("correction") + codes.count("transfer")
            == purchases.count()
        )
        assert (
            codes.count("swipe")
            == WriteBackObservation.objects.filter(customer=customer).count()
            > 0
        )
        assert (
            codes.count("open")
            == CardOperation.objects.filter(customer=customer, kind="open").count()
            > 0
        )
        times = [e["time"] for e in events]
        assert times == sorted(times, reverse=True)
        completed = purchases.filter(status="completed", kind="purchase")
        fees = LedgerEntry.objects.filter(customer=customer, kind="fee")
        assert table.totals["amount"] == sum(p.amount_fen for p in completed) + sum(
            f.amount_fen for f in fees
        )
    history = services.customer_history(Customer.objects.get(user_number=reissued), page_size=None)
    assert "reissue" in [e["event_code"] for e in history.rows]
    history = services.customer_history(Customer.objects.get(user_number=changed), page_size=None)
    changes = [e for e in history.rows if e["event_code"] == "meter_change"]
    assert (
        len(changes)
        == MeterChange.objects.filter(customer_account__customer__user_number=changed).count()
        >= 1
    )
    only_swipes = services.customer_history(
        Customer.objects.get(user_number=changed), Filters(kinds=("swipe",)), page_size=None
    )
    assert {e["event_code"] for e in only_swipes.rows} == {"swipe"}


def test_card_operations_report(demo):
    counts = defaultdict(int)
    for kind in CardOperation.objects.values_list("kind", flat=True):
        counts[kind] += 1
    assert counts["format"] and counts["tool_card"] and counts["open"] and counts["reissue"]
    assert counts["meter_change"] == len(demo.record.meter_changes)
    assert counts["reissue"] == len(demo.record.reissues)
    total = services.card_operations(Filters())
    assert total.count == sum(counts.values())
    for kind, count in counts.items():
        assert services.card_operations(Filters(kinds=(kind,))).count == count
    tools = list(services.card_operations(Filters(kinds=("tool_card",)), page_size=None).rows)
    assert {row["tool"] for row in tools} >= {"设置卡", "清零卡", "检查卡"} or {
        row["tool"] for row in tools
    } >= {"Setting card", "Zero card", "Check card"}


def test_pending_and_voided_sales(demo):
    table = services.pending_and_voided(Filters(), page_size=None)
    rows = list(table.rows)
    expected = Purchase.objects.filter(status__in=("pending", "voided"))
    assert {r["id"] for r in rows} == set(expected.values_list("id", flat=True))
    assert set(demo.record.pending) | set(demo.record.voided) <= {r["id"] for r in rows}
    assert table.totals["amount"] == sum(p.amount_fen for p in expected)
    pending = services.pending_and_voided(Filters(statuses=("pending",)), page_size=None)
    assert {r["id"] for r in pending.rows} == set(demo.record.pending)


def test_shift_list_takings_equal_the_ledger(demo):
    per_shift: dict[int, int] = defaultdict(int)
    for row in ledger():
        if row["kind"] in MONEY:
            per_shift[row["shift_id"]] += row["amount_fen"]
    table = services.shift_list(Filters(), page_size=None)
    rows = list(table.rows)
    assert {r["id"] for r in rows} == set(Shift.objects.values_list("id", flat=True))
    assert all(r["closed_at"] for r in rows)  # the demo closes every shift at night
    for row in rows:
        assert row["takings"] == per_shift.get(row["id"], 0)


def test_a_fee_in_the_sales_detail_sells_no_quantity(demo):
    """补卡费 rows leave the quantity empty (not 0.00), on screen and in the exports."""
    table = services.sales_detail(Filters(kinds=("fee",)), page_size=None)
    rows = list(table.rows)
    assert rows and all(row["quantity"] is None for row in rows)
    assert all(row["amount"] > 0 for row in rows)


def test_a_sale_late_in_the_evening_belongs_to_its_local_day(small_office, settings):
    # 23:30 in the office is 15:30 UTC the same day, 00:10 the next local day is still that
    # UTC day: the reports count the office's days, in the detail, the summary and the chart.
    import zoneinfo

    from prepaid.demo.clock import SimulatedClock, simulated_now
    from prepaid.vending import services as vending

    settings.TIME_ZONE = "Asia/Shanghai"
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")
    office = small_office
    # the last evening of a month (after the price takes effect: the fixture adds it today)
    evening = datetime.datetime(2031, 3, 31, 23, 30, tzinfo=zone)
    with simulated_now(SimulatedClock(evening)) as clock:
        opened = office.open(quantity="4")
        office.swipe()
        clock.set(datetime.datetime(2031, 4, 1, 0, 10, tzinfo=zone))
        sold = vending.sell(office.station(), quantity="2", key=office.key())
        refresh_aggregates(now=clock.now())
    march, april = datetime.date(2031, 3, 31), datetime.date(2031, 4, 1)
    for day, amount in ((march, opened.amount_fen), (april, sold.amount_fen)):
        detail = services.sales_detail(Filters(date_from=day, date_to=day))
        assert (detail.count, detail.totals["amount"]) == (1, amount)
    both = Filters(date_from=march, date_to=april)
    by_day = services.sales_summary(both, period="day", refresh=False)
    assert [(r["period"], r["amount"]) for r in by_day.rows] == [
        ("2031-03-31", opened.amount_fen),
        ("2031-04-01", sold.amount_fen),
    ]
    by_month = services.sales_summary(both, period="month", refresh=False)
    assert [(r["period"], r["amount"]) for r in by_month.rows] == [
        ("2031-03", opened.amount_fen),
        ("2031-04", sold.amount_fen),
    ]
    assert services.daily_takings(march, april, refresh=False) == [
        (march, opened.amount_fen),
        (april, sold.amount_fen),
    ]


def test_the_fee_only_group_sells_no_quantity_in_the_summary_json_as_in_the_files(small_office):
    """A reissue fee has no account: grouped by account it is the “(none)” row, whose
    quantity cells are empty in the table, the CSV and the Excel file, and null in the JSON
    (not 0.00); the account's own row and the totals keep their quantity."""
    import csv
    import io

    from openpyxl import load_workbook

    from prepaid.cards.services import format_card
    from prepaid.core.card import codec
    from prepaid.reports.exports import write_csv, write_xlsx
    from prepaid.vending import services as vending

    office = small_office
    office.open(quantity="3")
    office.swipe()
    office.store.create("user2", codec.blank_image())
    office.store.insert("user2")
    format_card(office.station(office.admin))
    vending.reissue(office.station(office.admin), office.customer, fee="10", key=office.key())
    table = services.sales_summary(Filters(station="desk-1"), period="year", group="account")
    quantity_key = f"quantity_{office.account.pk}"
    by_group = {row["group_key"]: row for row in table.rows}
    assert set(by_group) == {office.account.pk, None}
    assert by_group[None][quantity_key] is None  # the table's cell is empty

    document = services.summary_document(table)
    rows = {row["group_key"]: row for row in document["rows"]}
    fee_row = rows[None]
    assert (fee_row["group"], fee_row["fees"], fee_row["amount"]) == ("（无）", "10.00", "10.00")
    assert fee_row["quantity"] is None
    assert fee_row[quantity_key] is None
    assert fee_row["quantity_by_account"] == []
    sold = rows[office.account.pk]
    assert (sold["quantity"], sold[quantity_key], sold["amount"]) == ("3.00", "3.00", "135.00")
    assert (document["total"]["quantity"], document["total"]["amount"]) == ("3.00", "145.00")

    text, book = io.StringIO(), io.BytesIO()
    write_csv(table, text)
    write_xlsx(table, book)
    records = list(csv.reader(io.StringIO(text.getvalue())))
    column = records[0].index("热充值量（GJ）")
    fee_record = next(r for r in records if r[column - 3] == "（无）")
    assert fee_record[column] == ""
    book.seek(0)
    sheet = list(load_workbook(book).worksheets[0].iter_rows(values_only=True))
    fee_line = next(r for r in sheet if "（无）" in r)
    assert fee_line[column] is None

    # the administrator took the fee alone: a summary of it has no quantity column at all
    fees = services.sales_summary(
        Filters(station="desk-1", operator_id=office.admin.pk), period="year"
    )
    assert not [c for c in fees.columns if c.kind == "quantity"]
    document = services.summary_document(fees)
    assert [(r["quantity"], r["amount"]) for r in document["rows"]] == [(None, "10.00")]
    assert (document["total"]["quantity"], document["total"]["amount"]) == (None, "10.00")


@pytest.mark.parametrize(
    "kinds", [(), ("transfer",), ("sale", "reversal", "fee", "transfer"), ("reversal",)]
)
def test_sales_detail_totals_of_every_kind_match_the_ledger(demo, kinds):
    """Without a customer the totals are summed from the day totals: kind by kind, as the
    entries listed add up."""
    wanted = set(kinds or MONEY)
    rows = [r for r in ledger() if r["kind"] in wanted]
    table = services.sales_detail(Filters(kinds=kinds), page_size=None)
    listed = list(table.rows)
    assert table.count == len(listed) == len(rows)
    assert table.totals["amount"] == sum(r["amount_fen"] for r in rows)
    assert table.totals["quantity"].parts == parts(per_account(rows))


def test_sales_detail_totals_count_a_sale_made_since_the_day_totals_were_brought_up_to_date(
    small_office,
):
    office = small_office
    refresh_aggregates()
    before = services.sales_detail(Filters(operator_id=office.clerk.pk))
    office.open(quantity="4")  # a sale of 4 GJ at 45.00 by the clerk, after the refresh
    after = services.sales_detail(Filters(operator_id=office.clerk.pk))
    assert after.count == before.count + 1
    assert after.totals["amount"] == before.totals["amount"] + 180_00
    assert after.totals["quantity"].parts[-1] == ("热", "GJ", 4_00)

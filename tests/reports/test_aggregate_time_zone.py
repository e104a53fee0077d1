"""The stored totals follow the office's time zone: counted in another zone (it was changed,
or it was not recorded yet), they are counted again in the current one before any report
reads them, and the rebuild is audited."""

from __future__ import annotations

import datetime
from collections import defaultdict

import pytest
from django.utils import timezone

from prepaid.audit.models import AuditEntry
from prepaid.reports import services
from prepaid.reports.aggregates import STATE, refresh_aggregates
from prepaid.reports.models import AggregateState, MonthlyPurchase
from prepaid.reports.services import Filters
from prepaid.reports.suspicious import analyse
from prepaid.vending.models import LedgerEntry

pytestmark = pytest.mark.django_db

# 12 hours behind Shanghai (13 in winter): most of an office day falls on another local day.
ELSEWHERE = "America/New_York"


def _local_days(kinds=("sale", "reversal", "fee")):
    """Money per local day of the current zone, from the ledger in plain Python."""
    totals: dict[str, int] = defaultdict(int)
    for time, amount in LedgerEntry.objects.filter(kind__in=kinds).values_list(
        "time", "amount_fen"
    ):
        totals[timezone.localtime(time).date().isoformat()] += amount
    return dict(totals)


def _summary_days():
    table = services.sales_summary(Filters(), period="day")
    return {row["period"]: row["amount"] for row in table.rows}


def _rebuilds():
    return list(
        AuditEntry.objects.filter(action="aggregates.rebuild").values_list("before", "after")
    )


def test_a_changed_zone_rebuilds_the_totals_in_it_once_and_audits_it(demo, settings):
    refresh_aggregates()
    home = timezone.get_current_timezone_name()
    assert _summary_days() == _local_days()
    before = _rebuilds()

    settings.TIME_ZONE = ELSEWHERE
    assert _summary_days() == _local_days()
    assert _rebuilds() == [*before, ({"time_zone": home}, {"time_zone": ELSEWHERE})]
    assert AggregateState.objects.get(name=STATE).time_zone == ELSEWHERE
    # counted once: the next report finds the totals in its zone
    assert refresh_aggregates().rebuilt_from is None
    assert _rebuilds() == [*before, ({"time_zone": home}, {"time_zone": ELSEWHERE})]

    settings.TIME_ZONE = home
    assert refresh_aggregates().rebuilt_from == ELSEWHERE
    assert _summary_days() == _local_days()


def test_the_day_summary_agrees_with_the_sales_detail_after_the_zone_changed(demo, settings):
    refresh_aggregates()
    home = _local_days()
    settings.TIME_ZONE = ELSEWHERE
    elsewhere = _local_days()
    # days the two zones count differently: the totals of the old zone would be wrong there
    differing = sorted(day for day in elsewhere if elsewhere[day] != home.get(day, 0))
    assert differing
    for day in differing[:5]:
        date = datetime.date.fromisoformat(day)
        filters = Filters(date_from=date, date_to=date)
        detail = services.sales_detail(filters)
        summary = services.sales_summary(filters, period="day")
        assert summary.totals["amount"] == detail.totals["amount"] == elsewhere[day]


def test_the_suspicious_analysis_reads_months_of_the_current_zone(demo, settings):
    refresh_aggregates()
    settings.TIME_ZONE = ELSEWHERE
    analyse()
    expected: dict[tuple, int] = defaultdict(int)
    for customer, account, time, quantity in LedgerEntry.objects.filter(
        kind__in=("sale", "reversal"), account_id__isnull=False
    ).values_list("customer_id", "account_id", "time", "quantity_centi"):
        expected[(customer, account, timezone.localtime(time).date().replace(day=1))] += quantity
    stored = MonthlyPurchase.objects.values_list(
        "customer_id", "account_id", "month", "quantity_centi"
    )
    assert {(c, a, m): q for c, a, m, q in stored} == dict(expected)
    assert AggregateState.objects.get(name=STATE).time_zone == ELSEWHERE


def test_totals_of_an_unrecorded_zone_are_counted_again(demo):
    refresh_aggregates()
    zone = timezone.get_current_timezone_name()
    AggregateState.objects.filter(name=STATE).update(time_zone="")
    before = _rebuilds()
    assert refresh_aggregates().rebuilt_from == ""
    assert _rebuilds() == [*before, ({"time_zone": ""}, {"time_zone": zone})]
    assert _summary_days() == _local_days()


def test_the_first_count_records_its_zone_and_audits_nothing(db, settings):
    settings.TIME_ZONE = ELSEWHERE
    AggregateState.objects.filter(name=STATE).delete()
    assert refresh_aggregates().rebuilt_from is None
    assert AggregateState.objects.get(name=STATE).time_zone == ELSEWHERE
    assert not AuditEntry.objects.filter(action="aggregates.rebuild").exists()


def test_another_name_of_the_same_zone_keeps_the_totals(demo, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    refresh_aggregates()
    before = _rebuilds()
    settings.TIME_ZONE = "PRC"  # the same zone data: the same days
    assert refresh_aggregates().rebuilt_from is None
    assert _rebuilds() == before
    assert AggregateState.objects.get(name=STATE).time_zone == "Asia/Shanghai"
    assert _summary_days() == _local_days()

"""The office's time zone is recorded in the database: a station in another zone is refused
(``wrong_time_zone``) before it does anything, an administrator changes it deliberately (the
stored totals counted again in the new zone, the change audited), and a process still running
in the old zone is refused by the stored totals instead of counting them back."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from prepaid.audit.models import AuditEntry
from prepaid.core.errors import PrepaidError
from prepaid.reports import services
from prepaid.reports.aggregates import STATE, refresh_aggregates
from prepaid.reports.models import AggregateState, OfficeTimeZone, SalesDay
from prepaid.reports.services import Filters
from prepaid.reports.time_zone import (
    change_office_time_zone,
    require_office_time_zone,
    same_zone,
)
from prepaid.vending.models import LedgerEntry

pytestmark = pytest.mark.django_db

ELSEWHERE = "America/New_York"


def _entries(action: str) -> list[tuple]:
    return list(AuditEntry.objects.filter(action=action).values_list("before", "after", "station"))


def _office() -> list[str]:
    return list(OfficeTimeZone.objects.values_list("time_zone", flat=True))


def _refused(call, *args) -> PrepaidError:
    with pytest.raises(PrepaidError) as refused:
        call(*args)
    return refused.value


def test_the_first_use_records_the_stations_zone_once_and_audits_it(db, monkeypatch):
    monkeypatch.setenv("PREPAID_STATION", "counter-1")
    zone = timezone.get_current_timezone_name()
    assert require_office_time_zone() == zone
    assert _office() == [zone]
    assert _entries("office.time_zone.record") == [
        (None, {"time_zone": zone, "station": "counter-1"}, "counter-1")
    ]
    assert require_office_time_zone() == zone  # found recorded: nothing more
    assert len(_entries("office.time_zone.record")) == 1


def test_a_station_in_another_zone_is_refused_and_told_both_zones(db, settings):
    home = require_office_time_zone()
    settings.TIME_ZONE = ELSEWHERE
    refused = _refused(require_office_time_zone)
    assert refused.code == "wrong_time_zone"
    with translation.override("en"):
        message = refused.translate(translation.gettext)
    assert f"PREPAID_TIME_ZONE={ELSEWHERE}" in message
    assert f"Set PREPAID_TIME_ZONE={home} on this station" in message
    assert "prepaid office time-zone" in message
    with translation.override("zh-hans"):
        chinese = refused.translate(translation.gettext)
    assert f"请在本工作站设置 PREPAID_TIME_ZONE={home}" in chinese
    assert "营业厅的时区（" in chinese and "本次操作未执行。" in chinese
    assert _office() == [home]


@pytest.mark.parametrize(
    ("office", "station"),
    [
        ("Asia/Shanghai", "PRC"),
        ("Asia/Shanghai", "Asia/Chongqing"),
        ("PRC", "Asia/Shanghai"),
        ("Asia/Harbin", "PRC"),
    ],
)
def test_a_station_set_to_another_name_of_the_offices_zone_is_not_refused(
    db, settings, office, station
):
    settings.TIME_ZONE = office
    assert require_office_time_zone() == office
    settings.TIME_ZONE = station
    assert require_office_time_zone() == office
    assert _office() == [office]  # the office's name stays as recorded
    assert len(_entries("office.time_zone.record")) == 1


def test_a_zone_that_agrees_with_the_offices_only_today_is_refused(db, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    require_office_time_zone()
    settings.TIME_ZONE = "Asia/Taipei"  # UTC+8 today as well, not in its history
    refused = _refused(require_office_time_zone)
    assert refused.code == "wrong_time_zone"
    assert (refused.params["station_zone"], refused.params["office_zone"]) == (
        "Asia/Taipei",
        "Asia/Shanghai",
    )
    with translation.override("en"):
        message = refused.translate(translation.gettext)
    assert "(PREPAID_TIME_ZONE=Asia/Taipei)" in message
    assert "Set PREPAID_TIME_ZONE=Asia/Shanghai on this station" in message


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("Asia/Shanghai", "Asia/Shanghai", True),
        ("Asia/Shanghai", "PRC", True),
        ("Asia/Chongqing", "PRC", True),
        ("Etc/UTC", "UTC", True),
        ("Asia/Shanghai", "Asia/Taipei", False),
        ("Asia/Shanghai", "Asia/Hong_Kong", False),
        ("Europe/Paris", "Europe/Berlin", False),
        ("Asia/Shanghai", "Mars/Olympus", False),
        ("Asia/Shanghai", "asia/shanghai", False),
        ("Asia/Shanghai", "../Asia/Shanghai", False),
        ("Asia/Shanghai", "", False),
    ],
)
def test_zones_are_compared_by_their_data_not_their_names(one, other, same):
    assert same_zone(one, other) is same
    assert same_zone(other, one) is same


def test_the_administrator_changes_the_zone_and_the_totals_follow(demo, settings):
    home = require_office_time_zone()
    refresh_aggregates()
    change = change_office_time_zone(demo.admin, ELSEWHERE)
    assert (change.before, change.after, change.changed, change.rebuilt) == (
        home,
        ELSEWHERE,
        True,
        True,
    )
    assert _office() == [ELSEWHERE]
    assert [(b, a) for b, a, _station in _entries("office.time_zone")] == [
        ({"time_zone": home}, {"time_zone": ELSEWHERE})
    ]
    assert [(b, a) for b, a, _station in _entries("aggregates.rebuild")][-1] == (
        {"time_zone": home},
        {"time_zone": ELSEWHERE},
    )
    assert AggregateState.objects.get(name=STATE).time_zone == ELSEWHERE

    # the station set to the new zone finds the totals counted in it, and rebuilds nothing
    settings.TIME_ZONE = ELSEWHERE
    rebuilds = len(_entries("aggregates.rebuild"))
    days: dict[str, int] = defaultdict(int)
    for time, amount in LedgerEntry.objects.filter(
        kind__in=("sale", "reversal", "fee")
    ).values_list("time", "amount_fen"):
        days[timezone.localtime(time).date().isoformat()] += amount
    summary = services.sales_summary(Filters(), period="day")
    assert {row["period"]: row["amount"] for row in summary.rows} == dict(days)
    assert len(_entries("aggregates.rebuild")) == rebuilds

    # the same zone again changes nothing
    again = change_office_time_zone(demo.admin, ELSEWHERE)
    assert (again.changed, again.rebuilt) == (False, False)
    assert len(_entries("office.time_zone")) == 1


def test_a_process_still_in_the_old_zone_is_refused_by_the_totals(demo, settings):
    home = require_office_time_zone()
    refresh_aggregates()
    change_office_time_zone(demo.admin, ELSEWHERE)
    days = sorted(SalesDay.objects.values_list("day", "amount_fen"))
    rebuilds = _entries("aggregates.rebuild")

    settings.TIME_ZONE = home  # a server started before the change, not restarted
    refused = _refused(lambda: services.sales_summary(Filters(), period="day"))
    assert refused.code == "wrong_time_zone"
    assert (refused.params["station_zone"], refused.params["office_zone"]) == (home, ELSEWHERE)
    # the totals stay counted in the office's zone: not counted back
    assert AggregateState.objects.get(name=STATE).time_zone == ELSEWHERE
    assert sorted(SalesDay.objects.values_list("day", "amount_fen")) == days
    assert _entries("aggregates.rebuild") == rebuilds


def test_totals_in_the_offices_zone_cost_no_look_at_it(demo):
    require_office_time_zone()
    refresh_aggregates()
    with CaptureQueriesContext(connection) as queries:
        refresh_aggregates()
    table = OfficeTimeZone._meta.db_table
    assert queries.captured_queries  # the refresh did run
    assert not [q for q in queries.captured_queries if table in q["sql"]]


def test_only_an_administrator_changes_it_and_only_to_a_zone(demo, clerk):
    home = require_office_time_zone()
    refused = _refused(change_office_time_zone, clerk, "Mars/Olympus")
    assert refused.code == "permission_denied"  # before the zone is even looked at
    for bad in ("Mars/Olympus", "", "../etc/passwd", "Asia", "zone.tab", "asia/shanghai"):
        refused = _refused(change_office_time_zone, demo.admin, bad)
        assert refused.code == "unknown_time_zone", bad
        assert refused.exit_status == 2
    with translation.override("zh-hans"):
        assert (
            refused.translate(translation.gettext)
            == "“asia/shanghai”不是时区。请填写一个时区，如 Asia/Shanghai。"
        )
    assert _office() == [home]
    assert not _entries("office.time_zone")


def test_a_change_counts_the_shifts_left_open(demo):
    from prepaid.vending.models import Shift

    require_office_time_zone()
    change = change_office_time_zone(demo.admin, ELSEWHERE)
    assert change.open_shifts == Shift.objects.filter(closed_at__isnull=True).count()
    assert change.document()["open_shifts"] == change.open_shifts


@pytest.mark.parametrize("zone", ["Etc/GMT-8", "Etc/UTC", "UTC", "Asia/Shanghai"])
def test_the_office_records_the_zone_by_its_name_not_its_abbreviation(db, settings, zone):
    """Django names a fixed-offset zone by its abbreviation (+08 for Etc/GMT-8, UTC for
    Etc/UTC), which is no zone: recorded, the office's zone could not be set on a station."""
    settings.TIME_ZONE = zone
    assert require_office_time_zone() == zone
    assert _office() == [zone]
    assert _entries("office.time_zone.record")[0][1]["time_zone"] == zone
    refresh_aggregates()  # the stored totals agree with the office: nothing refused
    assert AggregateState.objects.get(name=STATE).time_zone == zone
    assert require_office_time_zone() == zone


def test_another_name_of_the_offices_zone_is_recorded_and_counts_nothing_again(db, settings, admin):
    settings.TIME_ZONE = "Asia/Shanghai"
    require_office_time_zone()
    refresh_aggregates()
    rebuilds = len(_entries("aggregates.rebuild"))
    change = change_office_time_zone(admin, "PRC")
    assert (change.before, change.after, change.changed, change.renamed, change.rebuilt) == (
        "Asia/Shanghai",
        "PRC",
        True,
        True,
        False,
    )
    assert change.document()["renamed"] is True
    assert _office() == ["PRC"]  # as asked, and audited
    assert [(b, a) for b, a, _station in _entries("office.time_zone")] == [
        ({"time_zone": "Asia/Shanghai"}, {"time_zone": "PRC"})
    ]
    assert len(_entries("aggregates.rebuild")) == rebuilds
    assert AggregateState.objects.get(name=STATE).time_zone == "Asia/Shanghai"
    assert require_office_time_zone() == "PRC"  # a station still set to Asia/Shanghai runs
    refresh_aggregates()
    assert len(_entries("aggregates.rebuild")) == rebuilds

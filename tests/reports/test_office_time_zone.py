"""The office's time zone is recorded in the database: a station in another zone is refused
(``wrong_time_zone``) before it does anything."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from prepaid.audit.models import AuditEntry
from prepaid.core.errors import PrepaidError
from prepaid.reports.models import OfficeTimeZone
from prepaid.reports.time_zone import require_office_time_zone

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

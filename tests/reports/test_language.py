"""Reports in the operator's language: brackets, colons and list separators as Chinese writes
them, English as English does."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_chart_titles_name_their_unit_in_the_languages_brackets():
    import datetime

    from django.utils import translation

    from prepaid.reports.figures import daily_takings_svg

    day = datetime.date(2026, 11, 1)
    with translation.override("zh-hans"):
        chinese = daily_takings_svg(day, day)
    with translation.override("en"):
        english = daily_takings_svg(day, day)
    assert "每日收款（元）" in chinese and "每日收款 (元)" not in chinese
    assert "Daily takings (yuan)" in english


def test_a_filter_of_several_values_is_listed_as_the_language_lists():
    from django.utils import translation

    from prepaid.reports.services import Filters

    filters = Filters(statuses=("pending", "voided"))
    with translation.override("zh-hans"):
        (_, chinese), *_ = filters.describe()
    with translation.override("en"):
        (_, english), *_ = filters.describe()
    assert chinese == "待完成、已作废"
    assert english == "Pending, Voided"


def test_every_time_column_of_the_reports_is_headed_as_a_time_in_chinese():
    # A shift's closing time headed “已交班” (closed) reads as a status, not as the time the
    # column holds: every time column says 时间, as 开班时间 beside it does.
    from django.utils import translation

    from prepaid.reports import services, tables

    columns = [
        column
        for name in dir(services)
        if name.endswith("_COLUMNS")
        for column in getattr(services, name)
        if column.kind == tables.DATETIME
    ]
    assert {c.key for c in columns} >= {"time", "opened_at", "closed_at", "resolved_at"}
    with translation.override("zh-hans"):
        headers = {c.key: c.label.text() for c in columns}
    assert all(header.endswith("时间") for header in headers.values()), headers
    assert headers["closed_at"] == "交班时间"

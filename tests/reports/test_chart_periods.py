"""The days a report chart covers when the operator names none, or only one end: the same on
the 查询 page, at ``charts/NAME.svg`` and with ``prepaid report chart``."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from django.utils import timezone

from prepaid.operators.models import Operator
from prepaid.reports.aggregates import add_months, month_start
from prepaid.reports.figures import monthly_quantity_period

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def _today_is(monkeypatch: pytest.MonkeyPatch, today: datetime.date) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today)


def _months(start: datetime.date, end: datetime.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


@pytest.mark.parametrize("month", range(1, 13))
def test_the_monthly_quantity_chart_shows_the_last_twelve_months_in_every_month(
    monkeypatch: pytest.MonkeyPatch, month: int
) -> None:
    """Not 13 in a month of 31 days (a year back from the 1st less 335 days overshot)."""
    _today_is(monkeypatch, datetime.date(2026, month, 15))
    start, end = monthly_quantity_period(None, None)
    assert start.day == 1 and _months(start, end) == 12


def _next_month_of_31_days(day: datetime.date) -> datetime.date:
    month = add_months(month_start(day), 1)
    while (add_months(month, 1) - month).days != 31:
        month = add_months(month, 1)
    return month.replace(day=15)


def _bars(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect")]


def test_the_monthly_charts_draw_twelve_months_on_the_page_and_at_their_address(
    client, demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(Operator.objects.filter(role="operator").order_by("username").first())
    today = _next_month_of_31_days(demo.result.end)  # the demo's last months among the twelve
    _today_is(monkeypatch, today)
    svgs = client.get(reverse("reports:index")).context["monthly_svgs"]
    assert svgs
    for svg in svgs:
        months = [bar.split(":")[0] for bar in _bars(svg)]
        assert len(months) == 12 and months[-1] == today.strftime("%Y-%m"), months
    stacked = client.get(reverse("reports:chart", args=["monthly-quantity"])).content.decode()
    assert len(_bars(stacked)) == 12 * len(svgs)


@pytest.mark.parametrize(("name", "count"), [("daily-takings", 30), ("monthly-quantity", 12)])
def test_a_chart_address_given_only_its_end_draws_its_usual_period_up_to_it(
    client, demo, name: str, count: int
) -> None:
    client.force_login(Operator.objects.filter(role="operator").order_by("username").first())
    end = demo.result.start + datetime.timedelta(days=75)  # long before the last 30 days
    response = client.get(reverse("reports:chart", args=[name]), {"to": end.isoformat()})
    assert response.status_code == 200, response.content.decode()
    drawn = list(dict.fromkeys(bar.split(":")[0] for bar in _bars(response.content.decode())))
    label = "%m-%d" if name == "daily-takings" else "%Y-%m"
    assert len(drawn) == count and drawn[-1] == end.strftime(label), drawn


def test_a_chart_address_started_after_today_names_today(client, demo) -> None:
    client.force_login(Operator.objects.filter(role="operator").order_by("username").first())
    today = timezone.localdate()
    start = today + datetime.timedelta(days=1)
    url = reverse("reports:chart", args=["daily-takings"])
    response = client.get(url, {"from": start.isoformat()})
    assert response.status_code == 409
    assert (
        f"起始日期 {start.isoformat()} 晚于今天（{today.isoformat()}）。"
        in response.content.decode()
    )

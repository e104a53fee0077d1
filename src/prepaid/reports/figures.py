"""The report charts: daily takings and monthly quantity per account, as SVG."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext_noop

from prepaid.accounts.models import Account
from prepaid.accounts.services import meter_unit
from prepaid.core.errors import InvalidInput, _
from prepaid.core.money import format_centi, format_fen
from prepaid.reports import charts
from prepaid.reports.aggregates import add_months, month_start
from prepaid.reports.labels import L
from prepaid.reports.services import Filters, daily_takings, monthly_quantity_per_account

DAILY_TAKINGS = L(gettext_noop("Daily takings"), "每日收款")
MONTHLY_QUANTITY = L(gettext_noop("Monthly quantity sold: %(account)s"), "每月售出量：%(account)s")
DAILY_TAKINGS_DAYS = 30  # the daily takings chart's usual period
MONTHLY_QUANTITY_MONTHS = 12  # the monthly quantity chart's usual period: this month and 11
YUAN = L(gettext_noop("yuan"), "元")
WITH_UNIT = L(gettext_noop("%(title)s (%(unit)s)"), "%(title)s（%(unit)s）")


def _heading(title: str, unit: str) -> str:
    """每日收款（元） / Daily takings (yuan): the unit in the language's brackets."""
    return WITH_UNIT.text() % {"title": title, "unit": unit} if unit else title


def daily_takings_svg(
    date_from: datetime.date, date_to: datetime.date, filters: Filters | None = None
) -> str:
    days = daily_takings(date_from, date_to, filters)
    labels = [day.strftime("%m-%d") for day, _ in days]
    series = charts.Series(DAILY_TAKINGS.text(), [value for _, value in days])
    return charts.bar_chart(
        DAILY_TAKINGS.text(),
        labels,
        series,
        format_fen,
        YUAN.text(),
        heading=_heading(DAILY_TAKINGS.text(), YUAN.text()),
    )


def monthly_quantity_svgs(date_from: datetime.date, date_to: datetime.date) -> list[str]:
    months, series = monthly_quantity_per_account(date_from, date_to)
    units = {a.name: meter_unit(a) for a in Account.objects.all()}
    labels = [month.strftime("%Y-%m") for month in months]
    svgs = []
    for index, (name, values) in enumerate(series.items()):
        title = MONTHLY_QUANTITY.text() % {"account": name}
        svgs.append(
            charts.bar_chart(
                title,
                labels,
                charts.Series(name, values, charts.COLOURS[index % 4]),
                format_centi,
                units.get(name, ""),
                heading=_heading(title, units.get(name, "")),
            )
        )
    return svgs


def daily_takings_period(
    date_from: datetime.date | None, date_to: datetime.date | None
) -> tuple[datetime.date, datetime.date]:
    """The days the daily takings chart covers: those given; without an end up to today,
    without a start the 30 days up to the end (the last 30 days when no day is given)."""
    end = _chart_end(date_from, date_to)
    return date_from or end - datetime.timedelta(days=DAILY_TAKINGS_DAYS - 1), end


def monthly_quantity_period(
    date_from: datetime.date | None, date_to: datetime.date | None
) -> tuple[datetime.date, datetime.date]:
    """The days the monthly quantity chart covers: those given; without an end up to today,
    without a start the 12 months up to the end's month (the last 12 months when no day is
    given)."""
    end = _chart_end(date_from, date_to)
    return date_from or add_months(month_start(end), 1 - MONTHLY_QUANTITY_MONTHS), end


def _chart_end(date_from: datetime.date | None, date_to: datetime.date | None) -> datetime.date:
    """The chart's last day: the one given, else today. The usual period is counted back from
    it, so an end alone is never before a start the operator did not give; a start alone
    after today is refused as after today, not after an end date never typed."""
    today = timezone.localdate()
    if date_to is None and date_from is not None and date_from > today:
        raise InvalidInput(
            "bad_date_range",
            _("The start date %(start)s is after today, %(today)s."),
            start=date_from.isoformat(),
            today=today.isoformat(),
        )
    return date_to or today


CHART_PERIODS = {"daily-takings": daily_takings_period, "monthly-quantity": monthly_quantity_period}


def chart_svg(name: str, date_from: datetime.date | None, date_to: datetime.date | None) -> str:
    """A chart by its name (``charts/NAME.svg``, ``prepaid report chart NAME``) as one SVG
    document, over the days given or its usual period (:data:`CHART_PERIODS`)."""
    start, end = CHART_PERIODS[name](date_from, date_to)
    if name == "daily-takings":
        return daily_takings_svg(start, end)
    return charts.stack(monthly_quantity_svgs(start, end))

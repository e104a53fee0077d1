"""The report charts: daily takings and monthly quantity per account, as SVG."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext_noop

from prepaid.accounts.models import Account
from prepaid.accounts.services import meter_unit
from prepaid.core.money import format_centi, format_fen
from prepaid.reports import charts
from prepaid.reports.aggregates import add_months, month_start
from prepaid.reports.labels import L
from prepaid.reports.services import Filters, daily_takings, monthly_quantity_per_account

DAILY_TAKINGS = L(gettext_noop("Daily takings"), "每日收款")
MONTHLY_QUANTITY = L(gettext_noop("Monthly quantity sold: %(account)s"), "每月售出量：%(account)s")
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


def monthly_quantity_period(
    date_from: datetime.date | None, date_to: datetime.date | None
) -> tuple[datetime.date, datetime.date]:
    """The days the monthly quantity chart covers: those given; without an end up to today,
    without a start from the first of the month 11 months before this one (12 months)."""
    today = timezone.localdate()
    start = date_from or add_months(month_start(today), 1 - MONTHLY_QUANTITY_MONTHS)
    return start, date_to or today

"""Tiered prices across period boundaries, checked figure by figure against the rules.

Every expected figure is worked out by hand from the tariff in the comment beside it. The
office's clock (``timezone.now``, read by every service) is the demo's simulated clock, set to
moments either side of a local midnight in the office's time zone (Asia/Shanghai, 8 hours
ahead of UTC): the period a purchase falls in is the office's calendar day, not UTC's.
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from prepaid.accounts.services import add_price, adjust_price
from prepaid.demo.clock import SimulatedClock, simulated_now
from prepaid.reports.services import Filters, sales_detail, sales_summary
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry

pytestmark = pytest.mark.django_db

OFFICE = zoneinfo.ZoneInfo("Asia/Shanghai")


def _local(year: int, month: int, day: int, hour: int, minute: int, second: int = 0):
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=OFFICE)


def _year() -> int:
    """A year ahead of today, so that the office's prices (effective today) apply."""
    return timezone.localdate().year + 2


def _lines(purchase) -> list[tuple[int, str, str, str]]:
    return [
        (line["tier"], line["quantity"], line["unit_price"], line["amount"])
        for line in purchase.tier_lines
    ]


def test_a_yearly_tier_starts_again_at_the_office_s_new_year_not_utc_s(office, key):
    """0-180:5.00, 180-260:7.00, 260-:9.00 by year. 170 bought on 12-31; 20 more at 23:59:30
    local (15:59:30 UTC) split 10 × 5.00 + 10 × 7.00; 20 more at 00:00:30 local on 01-01
    (still 12-31 in UTC) are the new year's first, all at 5.00."""
    year = _year()
    with simulated_now(SimulatedClock(_local(year, 12, 31, 23, 0))) as clock:
        meter = office.meter()
        office.new_card("u1")
        opened = vending.open_account(
            office.station,
            office.customer,
            office.account,
            office.tiered,
            quantity="170",
            key=key(),
        )
        assert (opened.amount_fen, opened.period_start) == (850_00, datetime.date(year, 1, 1))
        office.swipe(meter)

        clock.set(_local(year, 12, 31, 23, 59, 30))
        late = vending.sell(office.station, quantity="20", key=key())
        assert late.amount_fen == 10 * 5_00 + 10 * 7_00 == 120_00
        assert _lines(late) == [(1, "10.00", "5.00", "50.00"), (2, "10.00", "7.00", "70.00")]
        office.swipe(meter)

        clock.set(_local(year + 1, 1, 1, 0, 0, 30))
        assert timezone.now().astimezone(datetime.UTC).date() == datetime.date(year, 12, 31)
        early = vending.sell(office.station, quantity="20", key=key())
        assert early.period_start == datetime.date(year + 1, 1, 1)
        assert early.amount_fen == 20 * 5_00
        assert _lines(early) == [(1, "20.00", "5.00", "100.00")]


def test_a_monthly_tier_at_month_end_an_announced_price_and_corrections(office, key):
    """0-10:1.00, 10-20:2.00, 20-:3.00 by month; adjusted to 1.50 / 2.50 / 3.50 from 02-01.

    - 01-20: 8 bought (8.00).
    - 01-31 23:59: 5 more, the old price: 2 × 1.00 + 3 × 2.00 = 8.00. Corrected to 9.99 yuan:
      the reversed 5 no longer count, 2 × 1.00 = 2.00 leaves 7.99 for 3.99 × 2.00 = 7.98
      (4.00 would cost 10.00): 5.99 for 9.98.
    - 02-01 00:00:30: a new month at the new price; 30.00 yuan buys 10 × 1.50 + 6 × 2.50.
      Corrected to 25: 10 × 1.50 + 10 × 2.50 + 5 × 3.50 = 57.50.

    The reports count the corrections as reversals and new sales, per local day and month,
    and add up to the ledger."""
    year = _year()
    admin = office.station.operator
    with simulated_now(SimulatedClock(_local(year, 1, 20, 10, 0))) as clock:
        meter = office.meter()
        office.new_card("u1")
        price = add_price(
            admin,
            account_id=office.account.pk,
            name="按月阶梯",
            tiers="0-10:1.00,10-20:2.00,20-:3.00",
            period="month",
        )
        adjust_price(
            admin,
            price.pk,
            tiers="0-10:1.50,10-20:2.50,20-:3.50",
            effective_from=datetime.date(year, 2, 1),
        )
        opened = vending.open_account(
            office.station, office.customer, office.account, price, quantity="8", key=key()
        )
        assert (opened.amount_fen, opened.price_version.number) == (8_00, 1)
        office.swipe(meter)

        clock.set(_local(year, 1, 31, 23, 59))
        sale = vending.sell(office.station, quantity="5", key=key())
        assert (sale.amount_fen, sale.price_version.number) == (8_00, 1)
        assert _lines(sale) == [(1, "2.00", "1.00", "2.00"), (2, "3.00", "2.00", "6.00")]
        fixed = vending.correct(office.station, amount="9.99", key=key())
        assert (fixed.quantity_centi, fixed.amount_fen, fixed.tendered_fen) == (599, 998, 999)
        assert _lines(fixed) == [(1, "2.00", "1.00", "2.00"), (2, "3.99", "2.00", "7.98")]
        office.swipe(meter)

        clock.set(_local(year, 2, 1, 0, 0, 30))
        sale = vending.sell(office.station, amount="30", key=key())
        assert (sale.quantity_centi, sale.amount_fen, sale.price_version.number) == (1600, 30_00, 2)
        assert sale.period_start == datetime.date(year, 2, 1)
        fixed = vending.correct(office.station, quantity="25", key=key())
        assert fixed.amount_fen == 15_00 + 25_00 + 17_50
        assert _lines(fixed) == [
            (1, "10.00", "1.50", "15.00"),
            (2, "10.00", "2.50", "25.00"),
            (3, "5.00", "3.50", "17.50"),
        ]

        clock.set(_local(year, 2, 1, 0, 30))
        ledger = LedgerEntry.objects.all()
        assert sum(e.amount_fen for e in ledger) == 8_00 + 9_98 + 57_50 == 75_48
        assert sum(e.quantity_centi for e in ledger) == 800 + 599 + 2500

        by_day = sales_summary(Filters(), period="day")
        assert [(r["period"], r["count"], r["reversals"], r["amount"]) for r in by_day.rows] == [
            (f"{year}-01-20", 1, 0, 8_00),
            (f"{year}-01-31", 2, 1, 9_98),
            (f"{year}-02-01", 2, 1, 57_50),
        ]
        by_month = sales_summary(Filters(), period="month")
        assert [(r["period"], r["amount"]) for r in by_month.rows] == [
            (f"{year}-01", 17_98),
            (f"{year}-02", 57_50),
        ]
        for table in (by_day, by_month):
            assert table.totals["amount"] == 75_48
            assert table.totals["quantity"].single == 3899
        detail = sales_detail(Filters(), page_size=None)
        assert (detail.count, detail.totals["amount"]) == (7, 75_48)
        assert detail.totals["quantity"].single == 3899


def test_a_tier_counts_the_period_s_tiered_purchases_under_another_kind_of_period(office, key):
    """0-10:1.00, 10-:2.00 by year; 8 bought on 06-10. Adjusted to the same tiers by month
    from 06-15: a sale of 5 on 06-16 counts June's 8 (2 × 1.00 + 3 × 2.00 = 8.00, not
    5 × 1.00). Adjusted back to yearly from 07-01: a sale of 5 on 07-02 counts the whole
    year's 18 (5 × 2.00 = 10.00, not the first tier again)."""
    year = _year()
    admin = office.station.operator
    with simulated_now(SimulatedClock(_local(year, 6, 10, 10, 0))) as clock:
        meter = office.meter()
        office.new_card("u1")
        price = add_price(
            admin,
            account_id=office.account.pk,
            name="阶梯",
            tiers="0-10:1.00,10-:2.00",
            period="year",
        )
        for day, period in ((15, "month"), (1, "year")):
            month = 6 if day == 15 else 7
            adjust_price(
                admin,
                price.pk,
                tiers="0-10:1.00,10-:2.00",
                period=period,
                effective_from=datetime.date(year, month, day),
            )
        opened = vending.open_account(
            office.station, office.customer, office.account, price, quantity="8", key=key()
        )
        assert (opened.amount_fen, opened.period_start) == (8_00, datetime.date(year, 1, 1))
        office.swipe(meter)

        clock.set(_local(year, 6, 16, 0, 0, 30))
        june = vending.sell(office.station, quantity="5", key=key())
        assert june.period_start == datetime.date(year, 6, 1)
        assert _lines(june) == [(1, "2.00", "1.00", "2.00"), (2, "3.00", "2.00", "6.00")]
        assert june.amount_fen == 8_00
        office.swipe(meter)

        clock.set(_local(year, 7, 2, 9, 0))
        july = vending.sell(office.station, quantity="5", key=key())
        assert july.period_start == datetime.date(year, 1, 1)
        assert (july.amount_fen, _lines(july)) == (10_00, [(2, "5.00", "2.00", "10.00")])


def test_a_price_that_becomes_tiered_starts_its_tiers_then(office, key):
    """Flat 1.00 until 06-15, then 0-10:1.00, 10-:2.00 by year. 8 bought flat on 06-10 do not
    count: 5 bought on 06-16 are all in the first tier (5.00); 7 more on 06-17 split
    5 × 1.00 + 2 × 2.00 = 9.00."""
    year = _year()
    admin = office.station.operator
    with simulated_now(SimulatedClock(_local(year, 6, 10, 10, 0))) as clock:
        meter = office.meter()
        office.new_card("u1")
        price = add_price(admin, account_id=office.account.pk, name="改阶梯", unit_price="1.00")
        adjust_price(
            admin,
            price.pk,
            tiers="0-10:1.00,10-:2.00",
            period="year",
            effective_from=datetime.date(year, 6, 15),
        )
        opened = vending.open_account(
            office.station, office.customer, office.account, price, quantity="8", key=key()
        )
        assert (opened.amount_fen, opened.period_start) == (8_00, None)
        office.swipe(meter)

        clock.set(_local(year, 6, 16, 9, 0))
        first = vending.sell(office.station, quantity="5", key=key())
        assert (first.amount_fen, _lines(first)) == (5_00, [(1, "5.00", "1.00", "5.00")])
        office.swipe(meter)

        clock.set(_local(year, 6, 17, 9, 0))
        second = vending.sell(office.station, quantity="7", key=key())
        assert second.amount_fen == 9_00
        assert _lines(second) == [(1, "5.00", "1.00", "5.00"), (2, "2.00", "2.00", "4.00")]

"""The report aggregates, rebuilt by key from the append-only ledger.

:class:`~prepaid.reports.models.SalesDay` (per local day), its monthly sums
:class:`~prepaid.reports.models.SalesMonth`, and
:class:`~prepaid.reports.models.MonthlyPurchase` (per customer, account, local month) are
derived data: every refresh *recomputes* the keys touched by new ledger entries from the
ledger itself (delete the key, insert its totals again), so a refresh is idempotent and can
never count an entry twice.

Which entries are new: those above the *settled* watermark. After a refresh the watermark
moves to the last entry older than :data:`SETTLE` (ten minutes). Entries younger than that
are recounted at every refresh until they settle, which covers the one way an entry could be
missed: on PostgreSQL a transaction may commit an entry with a lower id after a higher one has
been counted — but never ten minutes later (transactions here last milliseconds; the margin
also absorbs clock differences between stations). SQLite commits one writer at a time.

Days and months are local (``TIME_ZONE``): each key is a time range ``[start, end)`` in UTC,
so the database needs no time-zone arithmetic and uses the ledger's time index. The state row
records the zone they were counted in; when the office's zone is no longer that one (an
administrator changed it, ``prepaid office time-zone``, or the zone was not recorded yet), the
refresh drops the totals and counts the whole ledger again in the office's zone, under the
same lock, and audits it (``aggregates.rebuild``, the old and the new zone): a summary must
never give one zone's days while the sales detail gives another's. A process whose zone is
not the office's (a server still running in the old zone) is refused (``wrong_time_zone``,
``prepaid.reports.time_zone``) rather than count them back in its own.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from prepaid.accounts.models import PriceVersion
from prepaid.audit.services import log_action
from prepaid.home import station_name
from prepaid.reports.models import AggregateState, MonthlyPurchase, SalesDay, SalesMonth
from prepaid.reports.time_zone import (
    office_time_zone,
    same_zone,
    station_time_zone,
    wrong_time_zone,
)
from prepaid.vending.models import LedgerEntry

SETTLE = datetime.timedelta(minutes=10)
# Above this many new entries, touched months are rebuilt whole instead of key by key.
BULK_ENTRIES = 2000
STATE = "ledger"


@dataclass(frozen=True)
class Refresh:
    entries: int  # new or unsettled ledger entries looked at
    days: int  # SalesDay days rebuilt
    monthly_keys: int  # MonthlyPurchase keys rebuilt (or months, for a bulk rebuild)
    settled_id: int
    rebuilt_from: str | None = None  # the zone of the totals dropped first, if any


def day_range(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The UTC bounds ``[start, end)`` of a local day."""
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), zone)
    end = timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min), zone
    )
    return start, end


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_range(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start, _ = day_range(month)
    end, _ = day_range(next_month(month))
    return start, end


def local_date(value: datetime.datetime) -> datetime.date:
    return timezone.localtime(value).date()


def _dt(value: datetime.datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def _date(value: datetime.date) -> object:
    return connection.ops.adapt_datefield_value(value)


def refresh_aggregates(now: datetime.datetime | None = None) -> Refresh:
    """Bring the aggregates up to date with the ledger (cheap when nothing is new)."""
    now = now or timezone.now()
    with transaction.atomic():
        state, created = AggregateState.objects.select_for_update(no_key=True).get_or_create(
            name=STATE
        )
        rebuilt_from = _follow_time_zone(state, created, now)
        fresh = LedgerEntry.objects.filter(id__gt=state.settled_ledger_id)
        stats = fresh.aggregate(n=Count("id"), first=Min("time"), last=Max("time"))
        if not stats["n"]:
            return Refresh(0, 0, 0, state.settled_ledger_id, rebuilt_from)
        days = _days_between(local_date(stats["first"]), local_date(stats["last"]))
        for day in days:
            _rebuild_sales_day(day)
        for month in sorted({month_start(day) for day in days}):
            _rebuild_sales_month(month)
        if stats["n"] > BULK_ENTRIES:
            months = sorted({month_start(day) for day in days})
            for month in months:
                _rebuild_month(month)
            monthly = len(months)
        else:
            keys = {
                (customer_id, account_id, month_start(local_date(time)))
                for customer_id, account_id, time in fresh.filter(
                    kind__in=MONTHLY_KINDS, account_id__isnull=False
                ).values_list("customer_id", "account_id", "time")
            }
            for key in sorted(keys):
                _rebuild_monthly_key(*key)
            monthly = len(keys)
        settled = (
            fresh.filter(time__lt=now - SETTLE).aggregate(top=Max("id"))["top"]
            or state.settled_ledger_id
        )
        state.settled_ledger_id = max(state.settled_ledger_id, settled)
        state.refreshed_at = now
        state.save(update_fields=["settled_ledger_id", "refreshed_at"])
    return Refresh(stats["n"], len(days), monthly, state.settled_ledger_id, rebuilt_from)


def _follow_time_zone(state: AggregateState, created: bool, now: datetime.datetime) -> str | None:
    """Drop totals counted in another zone than this process's, so that the refresh counts
    the whole ledger again in this zone — when it is the office's: a process still running in
    an old zone after the office's was changed (a server not yet restarted) is refused
    (``wrong_time_zone``) instead of counting them back. Runs under the state row's lock: a
    second station waits, then finds the totals in its zone. Returns the zone dropped, if
    any. While the zones agree it costs no query."""
    zone = station_time_zone()
    if same_zone(state.time_zone, zone):
        return None
    office = office_time_zone()
    if office is not None and not same_zone(office, zone):
        raise wrong_time_zone(zone, office)
    old = state.time_zone
    if not created:
        SalesDay.objects.all().delete()
        SalesMonth.objects.all().delete()
        MonthlyPurchase.objects.all().delete()
        log_action(
            None,
            "aggregates.rebuild",
            state,
            before={"time_zone": old},
            after={"time_zone": zone},
            station=station_name(),
        )
        state.settled_ledger_id = 0
    state.time_zone = zone
    state.refreshed_at = now
    state.save(update_fields=["settled_ledger_id", "time_zone", "refreshed_at"])
    return None if created else old


def rebuild_aggregates() -> Refresh:
    """Drop the aggregates and count the whole ledger again (after a restore, or to check)."""
    with transaction.atomic():
        SalesDay.objects.all().delete()
        SalesMonth.objects.all().delete()
        MonthlyPurchase.objects.all().delete()
        AggregateState.objects.filter(name=STATE).delete()
    return refresh_aggregates()


def _days_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


MONTHLY_KINDS = (LedgerEntry.Kind.SALE, LedgerEntry.Kind.REVERSAL)

_SALES_DAY_INSERT = """
INSERT INTO {salesday} (day, month, year, operator_id, station, account_id, price_id,
                        payment_method, kind, entry_count, quantity_centi, amount_fen)
SELECT %s, %s, %s, l.operator_id, l.station, l.account_id, v.price_id, l.payment_method,
       l.kind, COUNT(*), SUM(l.quantity_centi), SUM(l.amount_fen)
FROM {ledger} l LEFT JOIN {version} v ON v.id = l.price_version_id
WHERE l.time >= %s AND l.time < %s
GROUP BY l.operator_id, l.station, l.account_id, v.price_id, l.payment_method, l.kind
"""

_MONTHLY_SELECT = """
SELECT customer_id, account_id, %s,
       SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END),
       SUM(CASE WHEN kind = 'reversal' THEN 1 ELSE 0 END),
       SUM(quantity_centi), SUM(amount_fen),
       MIN(CASE WHEN kind = 'sale' THEN time END), MAX(CASE WHEN kind = 'sale' THEN time END)
FROM {ledger}
WHERE time >= %s AND time < %s AND kind IN ('sale', 'reversal') AND account_id IS NOT NULL
"""
_MONTHLY_INSERT = """
INSERT INTO {monthly} (customer_id, account_id, month, sale_count, reversal_count,
                       quantity_centi, amount_fen, first_sale_at, last_sale_at)
"""


_SALES_MONTH_INSERT = """
INSERT INTO {salesmonth} (month, year, operator_id, station, account_id, price_id,
                          payment_method, kind, entry_count, quantity_centi, amount_fen)
SELECT month, year, operator_id, station, account_id, price_id, payment_method, kind,
       SUM(entry_count), SUM(quantity_centi), SUM(amount_fen)
FROM {salesday} WHERE month = %s
GROUP BY month, year, operator_id, station, account_id, price_id, payment_method, kind
"""


def _sql(template: str) -> str:
    return template.format(
        salesmonth=SalesMonth._meta.db_table,
        salesday=SalesDay._meta.db_table,
        ledger=LedgerEntry._meta.db_table,
        version=PriceVersion._meta.db_table,
        monthly=MonthlyPurchase._meta.db_table,
    )


def _rebuild_sales_day(day: datetime.date) -> None:
    start, end = day_range(day)
    SalesDay.objects.filter(day=day).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_SALES_DAY_INSERT),
            [_date(day), _date(month_start(day)), day.year, _dt(start), _dt(end)],
        )


def _rebuild_sales_month(month: datetime.date) -> None:
    SalesMonth.objects.filter(month=month).delete()
    with connection.cursor() as cursor:
        cursor.execute(_sql(_SALES_MONTH_INSERT), [_date(month)])


def _rebuild_month(month: datetime.date) -> None:
    start, end = month_range(month)
    MonthlyPurchase.objects.filter(month=month).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_MONTHLY_INSERT + _MONTHLY_SELECT + " GROUP BY customer_id, account_id"),
            [_date(month), _dt(start), _dt(end)],
        )


def _rebuild_monthly_key(customer_id: int, account_id: int, month: datetime.date) -> None:
    start, end = month_range(month)
    MonthlyPurchase.objects.filter(
        customer_id=customer_id, account_id=account_id, month=month
    ).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(
                _MONTHLY_INSERT
                + _MONTHLY_SELECT
                + " AND customer_id = %s AND account_id = %s GROUP BY customer_id, account_id"
            ),
            [_date(month), _dt(start), _dt(end), customer_id, account_id],
        )

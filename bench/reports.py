"""Report benchmark: every report at 100,000 customers and 2,000,000 sales on SQLite.

    python bench/reports.py [--customers N] [--sales N] [--months M] [--keep DIR]

Prints figures, asserts nothing (targets: summaries ≤ 1 s, detail pages ≤ 200 ms,
suspicious analysis ≤ 10 s).

Playing two million sales through the services would take days, so the bulk of the history
comes from a **bench-only generator** that writes consistent rows straight into the tables:
customers, cards, customer accounts, completed purchases with their ledger entries (serials in
order, amounts = quantity × unit price), about 1 % corrected (the original marked corrected, a
reversal entry, the correcting purchase), a few voided and pending purchases, one shift per
operator and day with its settlement, card operations, and the meters' write-backs as the
office would have seen them (balances, cumulative use and credit that agree, so the
use-vs-purchases rule has real work to do). No audit entries are written: the audit chain of
a bench database does not verify. The real services' rate is measured separately by running
``prepaid demo`` on a small office in a second data directory.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATIONS = 5
OPERATORS = 10
PAYMENTS = ("cash",) * 11 + ("wechat",) * 5 + ("alipay",) * 3 + ("bank_card",)
CHUNK = 50_000
BULK_TABLES = [
    "vending_ledgerentry",
    "vending_purchase",
    "reports_writebackobservation",
    "cards_cardoperation",
    "vending_customeraccount",
    "vending_customercard",
    "customers_customer",
]


def setup(home: Path) -> Any:
    os.environ["PREPAID_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "prepaid.settings"
    import django

    django.setup()
    from prepaid.home import DataHome
    from prepaid.operators.models import Operator
    from prepaid.setup import initialise

    initialise(DataHome(home), admin_password="bench-admin-pw")
    return Operator.objects.get(username="admin")


# -- the bench-only bulk generator ------------------------------------------------------------


class Loader:
    """Rows straight into SQLite, in chunks, with the pragmas of a bulk load."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.pending: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.columns: dict[str, list[str]] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")  # WAL again once loaded (close)
            cursor.execute("PRAGMA cache_size=-2000000")  # 2 GB: indexes stay in memory
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA foreign_keys=OFF")  # checked once at the end (close)
            # History is written shift by shift with the shifts already closed: lift the
            # closed-shift guard for the load and put it back afterwards (``close``).
            cursor.execute("DROP TRIGGER IF EXISTS reports_ledger_closed_shift")
            # Secondary indexes are built once at the end (sorted), not row by row.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({', '.join(['%s'] * len(BULK_TABLES))})",
                BULK_TABLES,
            )
            self.indexes = cursor.fetchall()
            for name, _sql in self.indexes:
                cursor.execute(f'DROP INDEX "{name}"')

    def close(self) -> None:
        guard = importlib.import_module("prepaid.reports.migrations.0003_closed_shift_guard")
        self.flush()
        started = time.perf_counter()
        with self.connection.cursor() as cursor:
            for _name, sql in self.indexes:
                cursor.execute(sql)
            cursor.execute(guard.SQLITE[0])
            cursor.execute("PRAGMA journal_mode=WAL")
        print(
            f"  {len(self.indexes)} indexes built in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )

    def model(self, model: Any) -> str:
        table = model._meta.db_table
        self.columns[table] = [f.column for f in model._meta.concrete_fields]
        return table

    def add(self, table: str, **values: Any) -> None:
        rows = self.pending[table]
        rows.append(tuple(values[column] for column in self.columns[table]))
        if len(rows) >= CHUNK:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.pending):
            rows = self.pending[name]
            if not rows:
                continue
            columns = self.columns[name]
            sql = (
                f"INSERT INTO {name} ({', '.join(columns)}) VALUES "
                f"({', '.join(['?'] * len(columns))})"
            )
            raw = self.connection.connection
            started = time.perf_counter()
            with self.connection.cursor():  # Django runs SQLite in autocommit: one BEGIN
                raw.execute("BEGIN")
                raw.executemany(sql, rows)
                raw.execute("COMMIT")
            self.seconds[name] += time.perf_counter() - started
            self.counts[name] += len(rows)
            rows.clear()


def stamp(seconds: int) -> str:
    """A UTC Unix time as SQLite's datetime text."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def local_day(seconds: int, offset: int) -> int:
    return (seconds + offset) // 86400


def generate(admin: Any, customers: int, sales: int, months: int, seed: int) -> dict[str, Any]:
    from django.utils import timezone

    from prepaid.accounts.services import add_price, create_account
    from prepaid.cards.models import CardOperation
    from prepaid.customers.models import Customer
    from prepaid.operators.models import Operator, Role
    from prepaid.reports.models import ShiftSettlement, WriteBackObservation
    from prepaid.vending.models import (
        CustomerAccount,
        CustomerCard,
        LedgerEntry,
        Purchase,
        Shift,
    )

    rng = random.Random(seed)
    load = Loader()
    tables = {
        m: load.model(m)
        for m in (
            Customer,
            CustomerCard,
            CustomerAccount,
            Purchase,
            LedgerEntry,
            Shift,
            ShiftSettlement,
            CardOperation,
            WriteBackObservation,
        )
    }
    # Accounts and prices through the services: few, and they carry the tariffs.
    plans = [
        ("water", 1, "100", [("居民用水", "3.45"), ("商业用水", "5.80")], 100, 1500),
        ("electricity", 2, "2000", [("居民用电", "0.5383"), ("商业用电", "0.8000")], 50, 30000),
        ("gas", 3, "300", [("居民用气", "2.53")], 15, 4000),
    ]
    utilities = []
    for kind, sub, limit, prices, share, base in plans:
        account = create_account(
            admin,
            meter_type=kind,
            sub_meter=sub,
            limit=limit,
            prestore="5",
            alarm="5",
            overdraft="3",
            maintenance_code="1",
        )
        priced = []
        for name, unit in prices:
            price = add_price(admin, account_id=account.pk, name=name, unit_price=unit)
            version = price.versions.get()
            hao = int(unit.replace(".", "").ljust(len(unit.split(".")[0]) + 4, "0"))
            priced.append((price.pk, version.pk, hao))
        utilities.append((account.pk, sub, priced, share, base))
    operators = []
    for n in range(OPERATORS):
        operator = Operator(username=f"clerk{n + 1}", role=Role.OPERATOR)
        operator.set_unusable_password()
        operator.save()
        operators.append(operator.pk)

    zone = timezone.get_current_timezone()
    end_day = timezone.localdate()
    start_day = end_day - datetime.timedelta(days=months * 30)
    offset = int(zone.utcoffset(datetime.datetime(2025, 1, 1)).total_seconds())
    start = (
        int(datetime.datetime.combine(start_day, datetime.time(), datetime.UTC).timestamp())
        - offset
    )
    days = (end_day - start_day).days

    # Customers, cards, customer accounts, openings.
    accounts: list[list[Any]] = []  # [ca_id, customer_id, account_id, version, hao, base, card]
    ca_id = 0
    for c in range(1, customers + 1):
        opened = start - 86400 * rng.randint(1, 300)
        load.add(
            tables[Customer],
            id=c,
            user_number=f"{c:08d}",
            name=f"用户{c}",
            phone=f"138{c:08d}",
            address=f"幸福路{c}号",
            id_number="",
            remarks="",
            created_at=stamp(opened),
        )
        serial = f"{c:016x}"
        load.add(
            tables[CustomerCard],
            id=c,
            customer_id=c,
            serial=serial,
            generation=1,
            status="active",
            issued_at=stamp(opened),
            revoked_at=None,
        )
        for account_id, _sub, priced, share, base in utilities:
            if rng.randint(1, 100) > share:
                continue
            ca_id += 1
            price_id, version_id, hao = priced[0] if rng.randint(1, 10) > 1 else priced[-1]
            accounts.append(
                [
                    ca_id,
                    c,
                    account_id,
                    version_id,
                    hao,
                    base * rng.randint(50, 150) // 100,
                    serial,
                    price_id,
                ]
            )
            load.add(
                tables[CustomerAccount],
                id=ca_id,
                customer_id=c,
                account_id=account_id,
                price_id=price_id,
                last_serial=0,
                opened_at=stamp(opened),
            )
            load.add(
                tables[CardOperation],
                id=ca_id,
                kind="open",
                card_serial=serial,
                tool_type="",
                account_id=account_id,
                customer_id=c,
                operator_id=admin.pk,
                station="counter-1",
                time=stamp(opened),
                details="{}",
            )
    schedule = _schedule(rng, len(accounts), sales, days)
    anomalies = _bench_anomalies(rng, len(accounts), days)
    load.flush()
    # serial, balance, cumulative, credited, time of the last sale, last serial observed,
    # and the last reading seen: cumulative, credited, balance (None before the first)
    state = {a[0]: [0, 500, 0, 0, 0, 0, None, 0, 0] for a in accounts}
    shifts: dict[tuple[int, int], list[Any]] = {}
    purchase_id = ledger_id = observation_id = 0
    for day in range(days):
        day_start = start + day * 86400
        chosen = sorted(
            (rng.randint(8 * 3600 + 1800, 17 * 3600), index)
            for index in schedule[day]
            if day < anomalies["stop"].get(index, days)
        )
        for index in anomalies["hack"].get(day, ()):  # a doctored meter gains credit
            state[accounts[index][0]][1] += 1500
        for second, index in chosen:
            t = day_start + second
            ca, customer, account_id, version_id, hao, base, card, _price = accounts[index]
            s = state[ca]
            op = rng.randrange(OPERATORS)
            operator, station = operators[op], f"counter-{op % STATIONS + 1}"
            key = (day, op)
            if key not in shifts:
                shift_id = len(shifts) + 1
                opened = day_start + 8 * 3600
                shifts[key] = [
                    shift_id,
                    operator,
                    station,
                    opened,
                    defaultdict(lambda: [0, 0, 0, 0, 0]),
                    0,
                    0,
                ]
                load.add(
                    tables[Shift],
                    id=shift_id,
                    operator_id=operator,
                    station=station,
                    opened_at=stamp(opened),
                    closed_at=stamp(opened + 9 * 3600 + 1800),
                )
            shift = shifts[key]
            payment = rng.choice(PAYMENTS)
            if s[0] > s[5]:  # the card shows the write-back of the swipe after the last sale
                s[5] = s[0]
                observation_id += 1
                use = unexplained = 0
                if s[6] is not None:
                    use = s[2] - s[6]
                    unexplained = use - (s[3] - s[7]) + (s[1] - s[8])
                s[6], s[7], s[8] = s[2], s[3], s[1]
                flagged = day >= anomalies["flag"].get(index, days)
                load.add(
                    tables[WriteBackObservation],
                    id=observation_id,
                    customer_id=customer,
                    customer_account_id=ca,
                    account_id=account_id,
                    card_serial=card,
                    card_generation=1,
                    sub_meter=account_id,
                    last_serial=s[0],
                    balance_centi=s[1],
                    cumulative_centi=s[2],
                    status=8 if flagged else 0,  # TAMPER
                    result=0,
                    meter_time=stamp(s[4] + 86400),
                    observed_at=stamp(t),
                    credited_centi=s[3],
                    meter_segment=0,
                    use_centi=use,
                    unexplained_centi=unexplained,
                )
            quantity = max(100, base * rng.randint(70, 130) // 100 // 100 * 100)
            amount = (quantity * hao + 5000) // 10000
            corrected = rng.randint(1, 100) == 1
            if corrected:  # a first quantity, reversed and written again
                purchase_id += 1
                ledger_id += 1
                wrong_q = quantity * 2
                wrong = (wrong_q * hao + 5000) // 10000
                load.add(
                    tables[Purchase],
                    **_purchase(
                        purchase_id,
                        s[0] + 1,
                        "corrected",
                        wrong_q,
                        wrong,
                        payment,
                        card,
                        None,
                        t,
                        ca,
                        version_id,
                        operator,
                        shift[0],
                        station,
                    ),
                )
                load.add(
                    tables[LedgerEntry],
                    **_entry(
                        ledger_id,
                        "sale",
                        t,
                        s[0] + 1,
                        wrong_q,
                        wrong,
                        payment,
                        customer,
                        account_id,
                        purchase_id,
                        None,
                        version_id,
                        operator,
                        shift[0],
                        station,
                    ),
                )
                ledger_id += 1
                load.add(
                    tables[LedgerEntry],
                    **_entry(
                        ledger_id,
                        "reversal",
                        t + 30,
                        s[0] + 1,
                        -wrong_q,
                        -wrong,
                        payment,
                        customer,
                        account_id,
                        purchase_id,
                        ledger_id - 1,
                        version_id,
                        operator,
                        shift[0],
                        station,
                    ),
                )
                _book(shift, payment, "sale", wrong)
                _book(shift, payment, "reversal", -wrong)
            supersedes = purchase_id if corrected else None
            status = "voided" if rng.randint(1, 500) == 1 else "completed"
            purchase_id += 1
            load.add(
                tables[Purchase],
                **_purchase(
                    purchase_id,
                    s[0] + 1,
                    status,
                    quantity,
                    amount,
                    payment,
                    card,
                    supersedes,
                    t + 60,
                    ca,
                    version_id,
                    operator,
                    shift[0],
                    station,
                ),
            )
            if status == "voided":
                continue
            ledger_id += 1
            load.add(
                tables[LedgerEntry],
                **_entry(
                    ledger_id,
                    "sale",
                    t + 60,
                    s[0] + 1,
                    quantity,
                    amount,
                    payment,
                    customer,
                    account_id,
                    purchase_id,
                    None,
                    version_id,
                    operator,
                    shift[0],
                    station,
                ),
            )
            _book(shift, payment, "sale", amount)
            used = min(s[1], max(0, quantity * rng.randint(80, 120) // 100))
            s[0] += 1
            s[1] += quantity - used
            s[2] += used
            s[3] += quantity
            s[4] = t
        if day % 30 == 29 or day == days - 1:
            for table in (Shift, Purchase, LedgerEntry, WriteBackObservation):
                load.flush(tables[table])
            print(
                f"\r  generated {day + 1}/{days} days, {ledger_id:,} ledger entries",
                end="",
                file=sys.stderr,
                flush=True,
            )
    print(file=sys.stderr)
    load.flush()
    for (_day, _op), (shift_id, operator, _station, opened, totals, _a, _b) in sorted(
        shifts.items(), key=lambda item: item[1][0]
    ):
        document = {
            m: {
                "count": v[0],
                "reversals": v[1],
                "fees": 0,
                "sales_fen": v[2],
                "reversals_fen": v[3],
                "fees_fen": 0,
                "amount_fen": v[2] + v[3],
                "quantity_centi": 0,
            }
            for m, v in totals.items()
        }
        cash = totals["cash"][2] + totals["cash"][3] if "cash" in totals else 0
        takings = sum(v[2] + v[3] for v in totals.values())
        load.add(
            tables[ShiftSettlement],
            id=shift_id,
            shift_id=shift_id,
            closed_by_id=operator,
            closed_at=stamp(opened + 9 * 3600 + 1800),
            entry_count=sum(v[0] + v[1] for v in totals.values()),
            takings_fen=takings,
            expected_cash_fen=cash,
            counted_cash_fen=cash,
            variance_fen=0,
            totals=json.dumps(document),
            last_entry_id=None,
            remarks="",
        )
    load.flush()
    raw = load.connection.connection
    raw.execute("BEGIN")
    raw.executemany(
        "UPDATE vending_customeraccount SET last_serial = ? WHERE id = ?",
        [(values[0], ca) for ca, values in state.items()],
    )
    raw.execute("COMMIT")
    load.close()
    with load.connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "customers": customers,
        "accounts": len(accounts),
        "rows": dict(load.counts),
        "start": start_day,
        "end": end_day,
    }


def _schedule(rng: random.Random, accounts: int, sales: int, days: int) -> list[list[int]]:
    """Days on which each account buys: regularly, every ``interval`` days ± 15 % (people
    buy when their meter runs low), intervals set so that the total is about ``sales``."""
    per_day: list[list[int]] = [[] for _ in range(days)]
    mean = days * accounts * 100 // max(sales, 1)  # hundredths of a day
    for index in range(accounts):
        interval = mean * rng.randint(70, 130) // 100
        at = rng.randint(0, interval)
        while at // 100 < days:
            per_day[at // 100].append(index)
            at += max(100, interval * rng.randint(85, 115) // 100)
    return per_day


def _bench_anomalies(rng: random.Random, accounts: int, days: int) -> dict[str, Any]:
    """A few anomalies so the suspicious analysis has real work: 1 % of the accounts stop
    buying 150 days before the end, 0.5 % report tamper for the last 100 days, 0.3 % get
    15.00 of credit from nowhere 120 days before the end."""
    picks = rng.sample(range(accounts), k=accounts * 18 // 1000)
    stop = {i: days - 150 for i in picks[: accounts // 100]}
    flag = {i: days - 100 for i in picks[accounts // 100 : accounts * 15 // 1000]}
    hack: dict[int, list[int]] = {days - 120: picks[accounts * 15 // 1000 :]}
    return {"stop": stop, "flag": flag, "hack": hack}


def _purchase(
    pk: int,
    serial: int,
    status: str,
    quantity: int,
    amount: int,
    payment: str,
    card: str,
    supersedes: int | None,
    t: int,
    ca: int,
    version: int,
    operator: int,
    shift: int,
    station: str,
) -> dict[str, Any]:
    return {
        "id": pk,
        "customer_account_id": ca,
        "serial": serial,
        "kind": "purchase",
        "status": status,
        "quantity_centi": quantity,
        "amount_fen": amount,
        "tendered_fen": amount,
        "price_version_id": version,
        "tier_lines": "[]",
        "period_start": None,
        "payment_method": payment,
        "card_serial": card,
        "card_generation": 1,
        "supersedes_id": supersedes,
        "idempotency_key": f"b{pk}",
        "operator_id": operator,
        "shift_id": shift,
        "station": station,
        "created_at": stamp(t),
        "resolved_at": stamp(t + 2),
    }


def _entry(
    pk: int,
    kind: str,
    t: int,
    serial: int,
    quantity: int,
    amount: int,
    payment: str,
    customer: int,
    account: int,
    purchase: int,
    reverses: int | None,
    version: int,
    operator: int,
    shift: int,
    station: str,
) -> dict[str, Any]:
    return {
        "id": pk,
        "kind": kind,
        "time": stamp(t),
        "customer_id": customer,
        "account_id": account,
        "purchase_id": purchase,
        "reverses_id": reverses,
        "serial": serial,
        "quantity_centi": quantity,
        "amount_fen": amount,
        "payment_method": payment,
        "price_version_id": version,
        "operator_id": operator,
        "shift_id": shift,
        "station": station,
        "idempotency_key": f"b{pk}:{kind}",
        "remarks": "",
    }


def _book(shift: list[Any], payment: str, kind: str, amount: int) -> None:
    totals = shift[4][payment]
    if kind == "sale":
        totals[0] += 1
        totals[2] += amount
    else:
        totals[1] += 1
        totals[3] += amount


# -- timing ------------------------------------------------------------------------------------


def timed(work: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    """Median seconds of ``runs`` runs, and the last result."""
    seconds = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        if hasattr(result, "rows") and not isinstance(result.rows, list):
            result.rows = list(result.rows)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def report(name: str, seconds: float, target: float, note: str = "") -> None:
    mark = "ok" if seconds <= target else "SLOW"
    print(
        f"  {name:<58} {seconds * 1000:9.1f} ms  (target {target * 1000:.0f} ms) {mark}"
        f"{'  ' + note if note else ''}"
    )


def bench_reports(info: dict[str, Any]) -> None:
    from prepaid.customers.models import Customer
    from prepaid.operators.models import Operator
    from prepaid.reports import services, suspicious
    from prepaid.reports.aggregates import rebuild_aggregates, refresh_aggregates
    from prepaid.reports.figures import daily_takings_svg, monthly_quantity_svgs
    from prepaid.reports.services import Filters
    from prepaid.reports.shifts import shift_report
    from prepaid.vending.models import Shift

    end = info["end"]
    month = end - datetime.timedelta(days=30)
    started = time.perf_counter()
    refresh = rebuild_aggregates()
    print(
        f"  aggregates rebuilt from the ledger: {time.perf_counter() - started:.1f} s "
        f"({refresh.entries:,} entries, {refresh.days} days)"
    )
    seconds, _ = timed(refresh_aggregates)
    report("aggregates refresh, nothing new", seconds, 0.2)

    print("detail pages (50 rows, with count and totals):")
    operator = Operator.objects.get(username="clerk3").pk
    customer = Customer.objects.get(user_number="00004242")
    details = [
        (
            "sales detail, last 31 days, newest first",
            lambda: services.sales_detail(Filters(date_from=month)),
        ),
        (
            "sales detail, last 31 days, by amount",
            lambda: services.sales_detail(Filters(date_from=month), sort="-amount"),
        ),
        (
            "sales detail, page 100",
            lambda: services.sales_detail(Filters(date_from=month), page=100),
        ),
        (
            "sales detail, one operator, 31 days",
            lambda: services.sales_detail(Filters(date_from=month, operator_id=operator)),
        ),
        (
            "sales detail, one operator, all time",
            lambda: services.sales_detail(Filters(operator_id=operator)),
        ),
        (
            "sales detail, cash, 31 days",
            lambda: services.sales_detail(Filters(date_from=month, payment="cash")),
        ),
        (
            "sales detail, one customer (user number)",
            lambda: services.sales_detail(Filters(customer="00004242")),
        ),
        (
            "sales detail, one price, 31 days",
            lambda: services.sales_detail(Filters(date_from=month, price_id=1)),
        ),
        ("customer history", lambda: services.customer_history(customer)),
        ("card operations, all", lambda: services.card_operations(Filters())),
        (
            "card operations, opens, 31 days",
            lambda: services.card_operations(Filters(kinds=("open",), date_from=month)),
        ),
        ("pending and voided sales, all time", lambda: services.pending_and_voided(Filters())),
        ("shifts, all", lambda: services.shift_list(Filters())),
        ("one shift's settlement", lambda: shift_report(Shift.objects.order_by("-id").first())),
    ]
    for name, work in details:
        seconds, _ = timed(work)
        report(name, seconds, 0.2)

    print("summaries (aggregates up to date):")
    for period in ("day", "month", "year"):
        for group in ("none", "operator", "account", "price", "payment"):
            seconds, table = timed(
                lambda p=period, g=group: services.sales_summary(Filters(), period=p, group=g)
            )
            report(
                f"summary by {period} × {group}, all time", seconds, 1.0, f"{len(table.rows)} rows"
            )
    seconds, _ = timed(
        lambda: services.sales_summary(
            Filters(date_from=end - datetime.timedelta(days=365)), period="month", group="operator"
        )
    )
    report("summary by month × operator, one year", seconds, 1.0)
    seconds, _ = timed(lambda: daily_takings_svg(month, end))
    report("chart: daily takings, 31 days", seconds, 1.0)
    seconds, _ = timed(lambda: monthly_quantity_svgs(end - datetime.timedelta(days=365), end))
    report("chart: monthly quantity per account, 12 months", seconds, 1.0)

    print("suspicious customers:")
    seconds, analysis = timed(lambda: suspicious.analyse(end), runs=1)
    report(
        "suspicious analysis",
        seconds,
        10.0,
        f"{analysis.accounts_checked:,} accounts, {len(analysis.suspects):,} on the list",
    )


def bench_demo(customers: int, months: int) -> None:
    """The real services: ``prepaid demo`` on a small office, sales per second."""
    with tempfile.TemporaryDirectory(prefix="prepaid-bench-demo-") as tmp:
        env = {**os.environ, "PREPAID_HOME": tmp, "PREPAID_PASSWORD": "bench-admin-pw"}
        env.pop("DATABASE_URL", None)
        command = [sys.executable, "-m", "prepaid"]
        subprocess.run(
            [*command, "init", "--admin-password", "bench-admin-pw"],
            env=env,
            check=True,
            capture_output=True,
        )
        started = time.perf_counter()
        done = subprocess.run(
            [
                *command,
                "demo",
                "--customers",
                str(customers),
                "--months",
                str(months),
                "--seed",
                "1",
                "--json",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
    result = json.loads(done.stdout)
    sales = result["record"]["sales"]
    print(
        f"  prepaid demo --customers {customers} --months {months}: {sales} sales, "
        f"{result['record']['swipes']} swipes in {seconds:.1f} s "
        f"= {sales / seconds:.1f} sales/s through the real services "
        f"({seconds / max(sales, 1) * 1000:.0f} ms per sale, swipes, shifts and all)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--sales", type=int, default=2_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--demo-customers", type=int, default=30)
    parser.add_argument("--demo-months", type=int, default=3)
    parser.add_argument("--keep", help="build the bench database here and keep it")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: time the reports on the database built before",
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the real-service demo")
    args = parser.parse_args()

    if not args.no_demo:
        print("real services (prepaid demo):")
        bench_demo(args.demo_customers, args.demo_months)
    home = Path(args.keep or tempfile.mkdtemp(prefix="prepaid-bench-reports-"))
    saved = home / "bench-info.json"
    admin = setup(home)
    if args.reuse and saved.exists():
        info = json.loads(saved.read_text())
        info["end"] = datetime.date.fromisoformat(info["end"])
        print(
            f"reusing {home}: {info['customers']:,} customers, "
            f"{info['rows'].get('vending_ledgerentry', 0):,} ledger entries"
        )
    else:
        print(
            f"bench-only bulk generator: {args.customers:,} customers, {args.sales:,} sales, "
            f"{args.months} months into {home}"
        )
        started = time.perf_counter()
        info = generate(admin, args.customers, args.sales, args.months, args.seed)
        seconds = time.perf_counter() - started
        rows = sum(info["rows"].values())
        print(
            f"  {rows:,} rows in {seconds:.0f} s ({rows / seconds:,.0f} rows/s, indexes "
            "built at the end): "
            + ", ".join(f"{k.split('_', 1)[1]} {v:,}" for k, v in sorted(info["rows"].items()))
        )
        saved.write_text(json.dumps({**info, "start": str(info["start"]), "end": str(info["end"])}))
    size = (home / "prepaid.sqlite3").stat().st_size
    print(f"  database: {size / 2**30:.2f} GiB")
    bench_reports(info)
    if not args.keep:
        import shutil

        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

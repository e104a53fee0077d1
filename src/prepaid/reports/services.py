"""Queries and reports (查询): sales detail, summaries, a customer's history, card operations,
pending and voided sales, shifts, and the data behind the charts.

Each report is a plain function taking its filters, sort and page explicitly and returning a
:class:`~prepaid.reports.tables.Table`; with ``page_size=None`` it returns every row as an
iterator (for exports). Detail reports read the vending tables (indexed by migration
``reports.0002``); summaries and charts read the aggregates, refreshed first.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from django.db.models import BooleanField, Count, F, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_noop, pgettext

from prepaid.accounts.models import Account, MeterTypeChoice, Price
from prepaid.accounts.services import METER_UNITS
from prepaid.cards.models import CardOperation
from prepaid.core.errors import InvalidInput, _
from prepaid.core.money import format_centi, format_fen
from prepaid.customers.models import Customer
from prepaid.operators.models import Operator
from prepaid.reports import tables as t
from prepaid.reports.aggregates import (
    add_months,
    day_range,
    month_start,
    refresh_aggregates,
)
from prepaid.reports.labels import (
    CARD_OPERATION_LABELS,
    CARD_TYPE_LABELS,
    FEE_LABELS,
    LEDGER_KIND_LABELS,
    METER_FLAG_LABELS,
    PAYMENT_LABELS,
    PURCHASE_KIND_LABELS,
    PURCHASE_STATUS_LABELS,
    SWIPE_RESULT_LABELS,
    TOOL_CARD_LABELS,
    L,
    Label,
    account_quantity_label,
    text_of,
)
from prepaid.reports.models import SalesDay, SalesMonth, ShiftSettlement, WriteBackObservation
from prepaid.reports.tables import Column, Table
from prepaid.vending.models import CustomerCard, LedgerEntry, MeterChange, Purchase, Shift

# -- common filter ---------------------------------------------------------------------------

F_FROM = L(gettext_noop("From"), "起始日期")
F_TO = L(gettext_noop("To"), "截止日期")
F_OPERATOR = L(gettext_noop("Operator"), "操作员")
F_ACCOUNT = L(gettext_noop("Account"), "账户")
F_PRICE = L(gettext_noop("Price"), "价格")
F_PAYMENT = L(gettext_noop("Payment method"), "支付方式")
F_CUSTOMER = L(gettext_noop("Customer"), "用户")
F_STATION = L(gettext_noop("Station"), "工作站")
F_KINDS = L(gettext_noop("Entry kinds"), "类型")
F_STATUS = L(gettext_noop("Status"), "状态")
F_PERIOD = L(gettext_noop("Period"), "期间")
F_GROUP = L(gettext_noop("Group by"), "分组")


@dataclass(frozen=True)
class Filters:
    """What a report is narrowed to. Dates are local days, inclusive."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    operator_id: int | None = None
    account_id: int | None = None
    price_id: int | None = None
    payment: str | None = None
    customer: str | None = None  # user number, or part of a name or phone number
    station: str | None = None
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def describe(self) -> list[tuple[Label, str]]:
        """For the header of exports: which filters were applied."""
        described: list[tuple[Label, str]] = []
        if self.date_from:
            described.append((F_FROM, self.date_from.isoformat()))
        if self.date_to:
            described.append((F_TO, self.date_to.isoformat()))
        if self.operator_id:
            name = (
                Operator.objects.filter(pk=self.operator_id)
                .values_list("username", flat=True)
                .first()
            )
            described.append((F_OPERATOR, name or str(self.operator_id)))
        if self.account_id:
            account = Account.objects.filter(pk=self.account_id).first()
            described.append((F_ACCOUNT, account.name if account else str(self.account_id)))
        if self.price_id:
            price = Price.objects.filter(pk=self.price_id).first()
            described.append((F_PRICE, price.name if price else str(self.price_id)))
        if self.payment:
            described.append((F_PAYMENT, text_of(PAYMENT_LABELS, self.payment)))
        if self.customer:
            described.append((F_CUSTOMER, self.customer))
        if self.station:
            described.append((F_STATION, self.station))
        if self.kinds:
            described.append((F_KINDS, _listed(text_of(LEDGER_KIND_LABELS, k) for k in self.kinds)))
        if self.statuses:
            described.append(
                (F_STATUS, _listed(text_of(PURCHASE_STATUS_LABELS, s) for s in self.statuses))
            )
        return described


def check_date_range(date_from: datetime.date | None, date_to: datetime.date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(
            "bad_date_range",
            _("The start date %(start)s is after the end date %(end)s."),
            start=date_from.isoformat(),
            end=date_to.isoformat(),
        )


class DayFilters(Protocol):
    """Filters by office days, inclusive: a report's and the audit log's."""

    @property
    def date_from(self) -> datetime.date | None: ...

    @property
    def date_to(self) -> datetime.date | None: ...


def _time_q(field_name: str, filters: DayFilters) -> Q:
    """Rows whose moment ``field_name`` falls on the days from ``date_from`` to ``date_to``:
    from the first day's midnight in the office's time zone up to, not including, the
    midnight after the last. A start after the end is refused."""
    check_date_range(filters.date_from, filters.date_to)
    condition = Q()
    if filters.date_from:
        condition &= Q(**{f"{field_name}__gte": day_range(filters.date_from)[0]})
    if filters.date_to:
        condition &= Q(**{f"{field_name}__lt": day_range(filters.date_to)[1]})
    return condition


def customer_ids(text: str) -> QuerySet[Customer]:
    """Customers a typed text names: a user number (``123`` finds ``00000123``), or part of
    a name or phone number — every one of them, as a subquery of their ids for the report's
    own query (a name may match thousands of customers: none is left out)."""
    text = text.strip()
    if not text:
        return Customer.objects.none().values("id")
    exact = Q(user_number=text)
    if text.isdigit() and len(text) < 8:
        exact |= Q(user_number=text.zfill(8))
    found = Customer.objects.filter(exact).values_list("id", flat=True).first()
    if found is not None:
        return Customer.objects.filter(pk=found).values("id")
    matches = Q(name__icontains=text) | Q(phone__contains=text) | Q(user_number__startswith=text)
    return Customer.objects.filter(matches).values("id")


def _customer_q(field_name: str, filters: Filters) -> Q:
    if not filters.customer:
        return Q()
    return Q(**{f"{field_name}__in": customer_ids(filters.customer)})


# -- quantities: one unit per account ----------------------------------------------------------


def unit_of(meter_type: int | None) -> str:
    """The unit of an account's meter type (m³, kWh, GJ); "" without an account."""
    return METER_UNITS[MeterTypeChoice(meter_type)] if meter_type else ""


def account_units() -> dict[int, tuple[str, str]]:
    """Every account's name and unit, in sub-meter order."""
    accounts = Account.objects.order_by("sub_meter").values_list("id", "name", "meter_type")
    return {pk: (name, unit_of(meter_type)) for pk, name, meter_type in accounts}


def quantities(
    by_account: dict[Any, int], accounts: dict[int, tuple[str, str]] | None = None
) -> t.Quantities:
    """A quantity total kept apart per account (accounts netting to zero left out): a water
    and an electricity account are never added into one number."""
    accounts = account_units() if accounts is None else accounts
    return t.Quantities(
        tuple(
            (name, unit, int(by_account[pk]))
            for pk, (name, unit) in accounts.items()
            if by_account.get(pk)
        )
    )


def _quantity_totals(queryset: QuerySet[Any], account_field: str) -> tuple[int, dict[str, Any]]:
    """The count of rows and their totals: amount, and quantity per account (with the unit
    when it is one account's)."""
    stats = (
        queryset.order_by()
        .values(account_field)
        .annotate(n=Count("id"), quantity=Sum("quantity_centi"), amount=Sum("amount_fen"))
    )
    return _summed(stats, account_field)


def _summed(stats: Iterable[dict[str, Any]], account_field: str) -> tuple[int, dict[str, Any]]:
    """Rows of a count ``n``, ``quantity`` and ``amount`` per account, added up."""
    count, amount, by_account = 0, 0, {}
    for row in stats:
        count += row["n"]
        amount += row["amount"] or 0
        by_account[row[account_field]] = row["quantity"] or 0
    total = quantities(by_account)
    return count, {"quantity": total, "unit": total.unit, "amount": amount}


def _paged(
    table: Table,
    rows: QuerySet[Any] | list[Any],
    page: int,
    page_size: int | None,
    convert: Any,
    values: Any = None,
) -> Table:
    """One page of ``rows`` (or all of them, lazily, without a page size).

    With ``values`` (a function adding the joined columns to a queryset), a page is fetched
    in two steps: the page's ids sorted from the table alone, then the joins for those ids
    only — sorting a month of sales must not join every one of them first."""
    page, size = t.page_bounds(page, page_size)
    if size is None:
        if isinstance(rows, QuerySet):
            source = values(rows) if values is not None else rows
            iterator = source.iterator(chunk_size=2000)
        else:
            iterator = iter(rows)
        return replace(table, rows=(convert(r) for r in iterator), page=1, page_size=None)
    pages = max(1, ((table.count or 0) + size - 1) // size)
    page = min(page, pages)
    if values is not None and isinstance(rows, QuerySet):
        ids = list(rows.values_list("id", flat=True)[(page - 1) * size : page * size])
        found = {r["id"]: r for r in values(rows.model.objects.filter(id__in=ids))}
        chunk: Any = [found[pk] for pk in ids]
    else:
        chunk = rows[(page - 1) * size : page * size]
    return replace(table, rows=[convert(r) for r in chunk], page=page, page_size=size)


# -- 销售明细 sales detail -----------------------------------------------------------------------

SALES_COLUMNS = [
    Column("id", L(gettext_noop("Entry"), "流水号"), t.INT, "id"),
    Column("time", L(gettext_noop("Time"), "时间"), t.DATETIME, "time"),
    Column("kind", L(gettext_noop("Kind"), "类型"), t.TEXT, "kind"),
    Column(
        "user_number", L(gettext_noop("User number"), "用户编号"), t.TEXT, "customer__user_number"
    ),
    Column("customer", L(gettext_noop("Customer"), "用户名称")),
    Column("account", L(gettext_noop("Account"), "账户"), t.TEXT, "account__sub_meter"),
    Column("price", L(gettext_noop("Price"), "价格类型")),
    # the version of the price the entry was priced at: a past sale keeps its own (调整价格)
    Column("price_version", L(gettext_noop("Price version"), "价格版本"), t.INT),
    Column("serial", L(gettext_noop("Purchase serial"), "购买序号"), t.INT),
    Column("quantity", L(gettext_noop("Quantity"), "购买量"), t.QUANTITY, "quantity_centi"),
    Column("unit", L(gettext_noop("Unit"), "单位")),
    Column("amount", L(gettext_noop("Amount"), "金额"), t.MONEY, "amount_fen"),
    Column("payment", L(gettext_noop("Payment method"), "支付方式"), t.TEXT, "payment_method"),
    Column("operator", L(gettext_noop("Operator"), "操作员"), t.TEXT, "operator__username"),
    Column("station", L(gettext_noop("Station"), "工作站"), t.TEXT, "station"),
    Column("shift", L(gettext_noop("Shift"), "班次"), t.INT, "shift_id"),
]
SALES_TITLE = L(gettext_noop("Sales detail"), "销售明细")
DEFAULT_SALES_KINDS = (LedgerEntry.Kind.SALE, LedgerEntry.Kind.REVERSAL, LedgerEntry.Kind.FEE)


def sales_queryset(filters: Filters) -> QuerySet[LedgerEntry]:
    condition = _time_q("time", filters) & _customer_q("customer_id", filters)
    kinds = filters.kinds or DEFAULT_SALES_KINDS
    condition &= Q(kind__in=kinds)
    if filters.operator_id:
        condition &= Q(operator_id=filters.operator_id)
    if filters.account_id:
        condition &= Q(account_id=filters.account_id)
    if filters.price_id:
        versions = (
            list(Price.objects.get(pk=filters.price_id).versions.values_list("id", flat=True))
            if Price.objects.filter(pk=filters.price_id).exists()
            else []
        )
        condition &= Q(price_version_id__in=versions)
    if filters.payment:
        condition &= Q(payment_method=filters.payment)
    if filters.station:
        condition &= Q(station=filters.station)
    return LedgerEntry.objects.filter(condition)


def _sales_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "time": row["time"],
        "kind": text_of(LEDGER_KIND_LABELS, row["kind"]),
        "user_number": row["user_number"],
        "customer": row["customer_name"],
        "account": row["account_name"] or "",
        "price": row["price_name"] or "",
        "price_version": row["price_version_number"],
        "serial": row["serial"],
        # a fee (补卡费) sells no quantity: its cell is empty, not 0.00
        "quantity": None if row["kind"] == LedgerEntry.Kind.FEE else row["quantity_centi"],
        "unit": unit_of(row["meter_type"]),
        "amount": row["amount_fen"],
        "payment": text_of(PAYMENT_LABELS, row["payment_method"]),
        "operator": row["operator_name"],
        "station": row["station"],
        "shift": row["shift_id"],
    }


def sales_detail(
    filters: Filters,
    *,
    sort: str = "-time",
    page: int = 1,
    page_size: int | None = t.DEFAULT_PAGE_SIZE,
) -> Table:
    """销售明细: ledger entries (sales, reversals, fees by default) with their totals (the
    quantity per account: m³ and kWh are not added)."""
    queryset = sales_queryset(filters)
    sort_key, order = t.ordering(SALES_COLUMNS, sort, "-time")
    count, totals = _sales_totals(filters, queryset)
    rows = queryset.order_by(*order)
    table = Table(
        SALES_TITLE,
        SALES_COLUMNS,
        [],
        count=count,
        sort=sort_key,
        totals=totals,
        filters=filters.describe(),
    )
    return _paged(table, rows, page, page_size, _sales_row, _sales_values)


def _sales_totals(filters: Filters, queryset: QuerySet[LedgerEntry]) -> tuple[int, dict[str, Any]]:
    """The sales detail's count and totals. Narrowed to a customer, from the ledger entries
    themselves; otherwise every filter is one the day totals are kept by (whole local days,
    operator, account, price, payment method, station, kind), so they are summed from the day
    totals, brought up to date first: the same figures without reading each entry (one
    operator's two years of entries took 1.5 s at 2,000,000 sales)."""
    if filters.customer:
        return _quantity_totals(queryset, "account_id")
    refresh_aggregates()
    days = summary_queryset(filters, kinds=filters.kinds or DEFAULT_SALES_KINDS)
    stats = (
        days.order_by()
        .values("account_id")
        .annotate(n=Sum("entry_count"), quantity=Sum("quantity_centi"), amount=Sum("amount_fen"))
    )
    return _summed(stats, "account_id")


def _sales_values(queryset: QuerySet[LedgerEntry]) -> QuerySet[Any]:
    return queryset.values(
        "id",
        "time",
        "kind",
        "serial",
        "quantity_centi",
        "amount_fen",
        "payment_method",
        "station",
        "shift_id",
        user_number=F("customer__user_number"),
        customer_name=F("customer__name"),
        account_name=F("account__name"),
        meter_type=F("account__meter_type"),
        price_name=F("price_version__price__name"),
        price_version_number=F("price_version__number"),
        operator_name=F("operator__username"),
    )


# -- 汇总 summaries --------------------------------------------------------------------------

PERIODS = {"day": "day", "month": "month", "year": "year"}
GROUPS = {
    "none": None,
    "operator": "operator_id",
    "account": "account_id",
    "price": "price_id",
    "payment": "payment_method",
    "station": "station",
}
SUMMARY_TITLE = L(gettext_noop("Sales summary"), "销售汇总")
SUMMARY_COLUMNS = [
    Column("period", L(gettext_noop("Period"), "期间")),
    Column("group", L(gettext_noop("Group"), "分组")),
    Column("count", L(gettext_noop("Sales"), "销售笔数"), t.INT),
    Column("reversals", L(gettext_noop("Reversals"), "冲正笔数"), t.INT),
    # here come the net quantities, one column per account (see summary_columns)
    # net of reversals (the shift settlement shows sales and reversals apart)
    Column("sales", L(gettext_noop("Net sales amount"), "净销售金额"), t.MONEY),
    Column("fees", L(gettext_noop("Fees"), "费用"), t.MONEY),
    Column("amount", L(gettext_noop("Amount"), "合计金额"), t.MONEY),
]
SUMMARY_MONEY = ("count", "reversals", "sales", "fees", "amount")


def summary_columns(accounts: dict[int, tuple[str, str]]) -> list[Column]:
    """The summary's columns: the net quantity of each account in a column of its own
    (自来水充值量（m³）, 电充值量（kWh）), so that no cell adds m³ to kWh."""
    quantity = [
        Column(f"quantity_{pk}", account_quantity_label(name, unit), t.QUANTITY)
        for pk, (name, unit) in accounts.items()
    ]
    return SUMMARY_COLUMNS[:4] + quantity + SUMMARY_COLUMNS[4:]


MONEY_KINDS = (LedgerEntry.Kind.SALE, LedgerEntry.Kind.REVERSAL, LedgerEntry.Kind.FEE)


def _summary_measures() -> dict[str, Any]:
    sale, reversal, fee = Q(kind="sale"), Q(kind="reversal"), Q(kind="fee")
    return {
        "count": Sum("entry_count", filter=sale, default=0),
        "reversals": Sum("entry_count", filter=reversal, default=0),
        "quantity": Sum("quantity_centi", filter=sale | reversal, default=0),
        "sales": Sum("amount_fen", filter=sale | reversal, default=0),
        "fees": Sum("amount_fen", filter=fee, default=0),
        "amount": Sum("amount_fen", default=0),
    }


def _whole_months(filters: Filters) -> bool:
    start, end = filters.date_from, filters.date_to
    return (start is None or start.day == 1) and (
        end is None or (end + datetime.timedelta(days=1)).day == 1
    )


def summary_queryset(
    filters: Filters, *, monthly: bool = False, kinds: Iterable[str] = MONEY_KINDS
) -> QuerySet[Any]:
    """The aggregate rows a summary sums: per day, or per month (``monthly``, only for
    periods of whole months), of the ledger entries of ``kinds``."""
    check_date_range(filters.date_from, filters.date_to)
    condition = Q(kind__in=tuple(kinds))
    field_name = "month" if monthly else "day"
    if filters.date_from:
        start = month_start(filters.date_from) if monthly else filters.date_from
        condition &= Q(**{f"{field_name}__gte": start})
    if filters.date_to:
        end = month_start(filters.date_to) if monthly else filters.date_to
        condition &= Q(**{f"{field_name}__lte": end})
    for name in ("operator_id", "account_id", "price_id", "station"):
        value = getattr(filters, name)
        if value:
            condition &= Q(**{name: value})
    if filters.payment:
        condition &= Q(payment_method=filters.payment)
    model = SalesMonth if monthly else SalesDay
    return model.objects.filter(condition)


def _check_choice(value: str, choices: Iterable[str], code: str) -> str:
    if value not in choices:
        raise InvalidInput(
            code,
            _("“%(value)s” is not one of: %(choices)s."),
            value=value,
            choices=", ".join(choices),
        )
    return value


def _period_text(period: str, value: Any) -> str:
    if period == "year":
        return str(value)
    if period == "month":
        return value.strftime("%Y-%m")
    return value.isoformat()


def group_labels(group: str, keys: Iterable[Any]) -> dict[Any, str]:
    """Names of the group keys of a summary (operator names, account names …)."""
    keys = [k for k in keys if k not in (None, "")]
    if group == "operator":
        return dict(Operator.objects.filter(pk__in=keys).values_list("id", "username"))
    if group == "account":
        return dict(Account.objects.filter(pk__in=keys).values_list("id", "name"))
    if group == "price":
        return {
            p.pk: f"{p.account.name} · {p.name}"
            for p in Price.objects.filter(pk__in=keys).select_related("account")
        }
    if group == "payment":
        return {k: text_of(PAYMENT_LABELS, k) for k in keys}
    return {k: str(k) for k in keys}


PERIOD_LABELS = {
    "day": L(gettext_noop("Day"), "按日"),
    "month": L(gettext_noop("Month"), "按月"),
    "year": L(gettext_noop("Year"), "按年"),
}
GROUP_LABELS = {
    "none": L(gettext_noop("None"), "不分组"),
    "operator": L(gettext_noop("Operator"), "操作员"),
    "account": L(gettext_noop("Account"), "账户"),
    "price": L(gettext_noop("Price"), "价格"),
    "payment": L(gettext_noop("Payment method"), "支付方式"),
    "station": L(gettext_noop("Station"), "工作站"),
}
NO_GROUP = L(gettext_noop("(none)"), "（无）")
ALL = L(gettext_noop("All"), "全部")


def sales_summary(
    filters: Filters, *, period: str = "month", group: str = "none", refresh: bool = True
) -> Table:
    """销售汇总 by day, month or year × operator, account, price, payment method or station:
    sales and reversals counted, net quantity per account (a column each: the units differ),
    net sales amount, fees, and the total."""
    _check_choice(period, PERIODS, "bad_period")
    _check_choice(group, GROUPS, "bad_group")
    if filters.customer:
        # The aggregates are not kept per customer: summing them would give every
        # customer's totals under a header naming one.
        raise InvalidInput(
            "bad_filter",
            _(
                "The sales summary cannot be narrowed to a customer: see the sales detail "
                "or the customer's history."
            ),
        )
    if refresh:
        refresh_aggregates()
    monthly = period != "day" and _whole_months(filters)
    queryset = summary_queryset(filters, monthly=monthly)
    group_field = GROUPS[group]
    keys = [PERIODS[period]] + ([group_field] if group_field else [])
    grouped = _summary_groups(queryset, keys)
    labels = group_labels(group, {row[group_field] for row in grouped}) if group_field else {}
    every = account_units()
    accounts = {pk: every[pk] for pk in every if any(pk in row["by_account"] for row in grouped)}
    rows = []
    for row in grouped:
        key = row[group_field] if group_field else None
        rows.append(
            {
                "period": _period_text(period, row[PERIODS[period]]),
                "group": (labels.get(key) or NO_GROUP.text()) if group_field else ALL.text(),
                "group_key": key,
                **{m: row[m] for m in SUMMARY_MONEY},
                **{f"quantity_{pk}": row["by_account"].get(pk) for pk in accounts},
                "quantity": quantities(row["by_account"], every),
            }
        )
    totals: dict[str, Any] = {m: sum(row[m] for row in grouped) for m in SUMMARY_MONEY}
    by_account = {pk: sum(row["by_account"].get(pk, 0) for row in grouped) for pk in accounts}
    totals.update({f"quantity_{pk}": value for pk, value in by_account.items()})
    totals["quantity"] = quantities(by_account, every)
    described = [
        (F_PERIOD, PERIOD_LABELS[period].text()),
        (F_GROUP, GROUP_LABELS[group].text()),
        *filters.describe(),
    ]
    return Table(
        SUMMARY_TITLE,
        summary_columns(accounts),
        rows,
        totals=totals,
        count=len(rows),
        filters=described,
        extra={"period": period, "group": group},
    )


def _summary_groups(queryset: QuerySet[Any], keys: list[str]) -> list[dict[str, Any]]:
    """The summary's groups with their money measures and their net quantity per account."""
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    rows = (
        queryset.values(*keys, "account_id")
        .annotate(**_summary_measures())
        .order_by(*keys, "account_id")
    )
    for row in rows:
        key = tuple(row[k] for k in keys)
        group = grouped.get(key)
        if group is None:
            group = grouped[key] = {k: row[k] for k in keys}
            group.update({m: 0 for m in SUMMARY_MONEY}, by_account={})
        for measure in SUMMARY_MONEY:
            group[measure] += row[measure]
        if row["account_id"] is not None:
            group["by_account"][row["account_id"]] = row["quantity"]
    return list(grouped.values())


def summary_document(table: Table) -> dict[str, Any]:
    """``report summary`` JSON: rows and overall totals with ``amount`` and ``quantity``
    (a two-decimal string when the row is of one account, else ``null``) and
    ``quantity_by_account`` (each account's net quantity with its unit).

    A row of no account at all (the “(none)” group of fees, grouped by account; a summary of
    fees alone) sells no quantity: ``null``, as its cells are empty in the table and the
    files, not 0.00."""
    document = t.json_document(table)
    document["period"] = table.extra.get("period")
    document["group"] = table.extra.get("group")
    quantity = Column("quantity", L(gettext_noop("Quantity"), "购买量"), t.QUANTITY)
    account_keys = [c.key for c in table.columns if c.kind == t.QUANTITY]
    for row, source in zip(document["rows"], table.rows, strict=True):
        row["group_key"] = source.get("group_key")
        of_an_account = any(source.get(key) is not None for key in account_keys)
        row["quantity"] = t.cell_json(quantity, source["quantity"]) if of_an_account else None
        row["quantity_by_account"] = source["quantity"].to_json()
    if not account_keys and document.get("totals") is not None:
        document["totals"]["quantity"] = None  # fees alone, or nothing sold
    document["total"] = document.get("totals")
    return document


# -- charts data -------------------------------------------------------------------------------


def daily_takings(
    date_from: datetime.date,
    date_to: datetime.date,
    filters: Filters | None = None,
    *,
    refresh: bool = True,
) -> list[tuple[datetime.date, int]]:
    """Money taken per local day (sales − reversals + fees), every day of the range."""
    if refresh:
        refresh_aggregates()
    base = replace(filters or Filters(), date_from=date_from, date_to=date_to)
    totals = dict(
        summary_queryset(base).values("day").annotate(a=Sum("amount_fen")).values_list("day", "a")
    )
    days = (date_to - date_from).days + 1
    return [
        (
            date_from + datetime.timedelta(days=n),
            int(totals.get(date_from + datetime.timedelta(days=n)) or 0),
        )
        for n in range(max(days, 0))
    ]


def monthly_quantity_per_account(
    month_from: datetime.date, month_to: datetime.date, *, refresh: bool = True
) -> tuple[list[datetime.date], dict[str, list[int]]]:
    """Net quantity sold per account and local month: (months, {account name: values}).
    A range that starts after it ends is refused, as the daily takings refuse it, not drawn
    as a chart of no months that reads as nothing sold."""
    check_date_range(month_from, month_to)
    if refresh:
        refresh_aggregates()
    month_from, month_to = month_start(month_from), month_start(month_to)
    months = []
    month = month_from
    while month <= month_to:
        months.append(month)
        month = add_months(month, 1)
    rows = (
        SalesMonth.objects.filter(
            month__gte=month_from,
            month__lte=month_to,
            kind__in=("sale", "reversal"),
            account__isnull=False,
        )
        .values("month", "account_id")
        .annotate(q=Sum("quantity_centi"))
    )
    names = dict(Account.objects.values_list("id", "name"))
    series: dict[str, list[int]] = {
        names[a]: [0] * len(months) for a in sorted({r["account_id"] for r in rows} & set(names))
    }
    index = {m: i for i, m in enumerate(months)}
    for row in rows:
        if row["account_id"] in names:
            series[names[row["account_id"]]][index[row["month"]]] += int(row["q"] or 0)
    return months, series


# -- 用户历史 a customer's history ---------------------------------------------------------------

HISTORY_TITLE = L(gettext_noop("Customer history"), "用户历史记录")
HISTORY_COLUMNS = [
    Column("time", L(gettext_noop("Time"), "时间"), t.DATETIME, "time"),
    Column("event", L(gettext_noop("Event"), "事件"), t.TEXT, "event"),
    Column("account", L(gettext_noop("Account"), "账户"), t.TEXT, "account"),
    Column("serial", L(gettext_noop("Purchase serial"), "购买序号"), t.INT, "serial"),
    Column("quantity", L(gettext_noop("Quantity"), "购买量"), t.QUANTITY, "quantity"),
    Column("unit", L(gettext_noop("Unit"), "单位")),
    Column("amount", L(gettext_noop("Amount"), "金额"), t.MONEY, "amount"),
    Column("status", L(gettext_noop("Status"), "状态")),
    Column("balance", L(gettext_noop("Meter balance"), "表内余量"), t.QUANTITY),
    Column("cumulative", L(gettext_noop("Cumulative use"), "累计用量"), t.QUANTITY),
    Column("details", L(gettext_noop("Details"), "说明")),
    Column("operator", L(gettext_noop("Operator"), "操作员"), t.TEXT, "operator"),
    Column("station", L(gettext_noop("Station"), "工作站")),
]
EVENT_LABELS = {
    "purchase": L(gettext_noop("Purchase"), "购买"),
    "correction": L(gettext_noop("Correction"), "充值修改"),
    "reversal": L(gettext_noop("Reversal"), "冲正"),
    "transfer": L(gettext_noop("Meter-change transfer"), "换表转移"),
    "fee": L(gettext_noop("Fee"), "费用"),
    "swipe": L(gettext_noop("Swipe seen on the card"), "刷表回读"),
    "check_reading": L(gettext_noop("Meter reading (check card)"), "检查卡读数"),
    "format": L(gettext_noop("New card made"), "制作新卡"),
    "open": L(gettext_noop("Open account"), "开户"),
    "reissue": L(gettext_noop("Reissue"), "补卡"),
    "restore": L(gettext_noop("Card restored"), "恢复卡片"),
    "recycle": L(gettext_noop("Card recycled"), "卡片回收"),
    "meter_change": L(gettext_noop("Meter change"), "换表"),
}
HISTORY_KINDS = tuple(EVENT_LABELS)
# The purchases the ledger booked (a sale entry each): their amounts are money taken.
BOOKED = (Purchase.Status.COMPLETED, Purchase.Status.CORRECTED)

D_CORRECTS = L(
    gettext_noop("Corrects purchase serial %(serial)s (was %(quantity)s for %(amount)s)"),
    "修改购买序号 %(serial)s（原 %(quantity)s，金额 %(amount)s）",
)
D_REVERSES = L(
    gettext_noop("Reverses the sale of purchase serial %(serial)s (corrected)"),
    "冲正购买序号 %(serial)s 的销售（已修改）",
)
D_NOT_BOOKED = L(gettext_noop("not charged"), "未收费")
D_CARD = L(gettext_noop("Card %(card)s"), "卡号 %(card)s")
D_PREVIOUS = L(gettext_noop("before: %(previous)s"), "上次：%(previous)s")
# An opening wrote the account's first purchase (listed in the history on its own row).
D_FIRST_PURCHASE = L(gettext_noop("with the first purchase"), "含首次充值")
D_GENERATION = L(gettext_noop("generation %(generation)s"), "代次 %(generation)s")
D_REVOKED = L(gettext_noop("card %(card)s revoked"), "旧卡 %(card)s 作废")
D_RECYCLED = L(
    gettext_noop("Card %(previous_card)s (%(previous)s) recycled as new card %(card)s"),
    "卡片 %(previous_card)s（%(previous)s）回收为新卡 %(card)s",
)
D_TRANSFER = L(gettext_noop("%(transfer)s moved to the new meter"), "转入新表 %(transfer)s")
D_METER_CHANGE = L(
    gettext_noop(
        "old meter left %(remaining)s − pre-stored %(prestore)s + unswiped %(carried)s "
        "= %(transfer)s moved, worth %(value)s at the current price"
    ),
    "旧表剩余 %(remaining)s − 预存量 %(prestore)s + 未刷表购买 %(carried)s "
    "= 转入 %(transfer)s，按当前价格计 %(value)s",
)
D_REASON = L(gettext_noop("reason: %(reason)s"), "原因：%(reason)s")
DETAILS_SEPARATOR = " · "


def _details(*parts: str) -> str:
    return DETAILS_SEPARATOR.join(p for p in parts if p)


def _account_of(account: Account | None) -> dict[str, Any]:
    """An event's account: its name, and its id and unit (the history's totals are kept
    apart per account)."""
    if account is None:
        return {"account": "", "account_id": None, "unit": ""}
    return {"account": account.name, "account_id": account.pk, "unit": unit_of(account.meter_type)}


def _flags_text(status: int) -> str:
    from prepaid.core.card.model import MeterStatus  # imported by the reports naming flags

    flags = MeterStatus(status)
    return _listed(text_of(METER_FLAG_LABELS, code) for code in flags.codes)


def _listed(names: Iterable[str]) -> str:
    """Names in a list as the language writes one (待完成、已作废 / Pending, Voided)."""
    return pgettext("list separator", ", ").join(names)


def _history_purchases(customer: Customer, filters: Filters) -> Iterator[dict[str, Any]]:
    rows = Purchase.objects.filter(
        _time_q("created_at", filters), customer_account__customer=customer
    ).select_related("customer_account__account", "operator", "supersedes")
    for p in rows:
        transfer = p.kind == Purchase.Kind.TRANSFER
        event = "transfer" if transfer else "correction" if p.supersedes_id else "purchase"
        corrects = ""
        if p.supersedes_id:
            original = p.supersedes
            corrects = D_CORRECTS.text() % {
                "serial": original.serial,
                "quantity": format_centi(original.quantity_centi),
                "amount": format_fen(original.amount_fen),
            }
        booked = p.status in BOOKED
        details = _details(
            corrects,
            text_of(PAYMENT_LABELS, p.payment_method) if p.payment_method else "",
            "" if booked or transfer else D_NOT_BOOKED.text(),
        )
        yield {
            "time": p.created_at,
            "event_code": event,
            "purchase_id": p.pk,
            "corrects_id": p.supersedes_id,
            **_account_of(p.customer_account.account),
            "serial": p.serial,
            "quantity": p.quantity_centi,
            "amount": None if transfer else p.amount_fen,
            "booked": booked and not transfer,
            "status_code": p.status,
            "details": details,
            "operator": p.operator.username,
            "station": p.station,
        }


def _history_ledger(customer: Customer, filters: Filters) -> Iterator[dict[str, Any]]:
    """Money that moved without a purchase of its own: reversals of corrected sales, fees."""
    kinds = (LedgerEntry.Kind.REVERSAL, LedgerEntry.Kind.FEE)
    rows = LedgerEntry.objects.filter(
        _time_q("time", filters), customer=customer, kind__in=kinds
    ).select_related("operator", "account")
    for e in rows:
        payment = text_of(PAYMENT_LABELS, e.payment_method) if e.payment_method else ""
        if e.kind == LedgerEntry.Kind.REVERSAL:
            event = {
                "event_code": "reversal",
                **_account_of(e.account),
                "serial": e.serial,
                "quantity": e.quantity_centi,
                "reverses_purchase_id": e.purchase_id,
                "details": _details(D_REVERSES.text() % {"serial": e.serial}, payment),
            }
        else:
            remarks = text_of(FEE_LABELS, e.remarks) if e.remarks else ""
            event = {
                "event_code": "fee",
                **_account_of(e.account),
                "details": _details(remarks, payment),
            }
        yield {
            "time": e.time,
            "ledger_id": e.pk,
            "amount": e.amount_fen,
            "booked": True,
            "operator": e.operator.username,
            "station": e.station,
            **event,
        }


def swipe_result_text(result: int) -> str:
    """The meter's display code after a swipe, by name (正常, E06 超过限购量 …)."""
    from prepaid.core.meter import SwipeResult  # imported by the reports naming swipes

    try:
        code = SwipeResult(result).code
    except ValueError:
        return f"E{result:02d}"
    return text_of(SWIPE_RESULT_LABELS, code)


D_CHECK_CARD = L(gettext_noop("check card %(card)s"), "检查卡 %(card)s")


def _history_swipes(customer: Customer, filters: Filters) -> Iterator[dict[str, Any]]:
    """The meters' readings the office has seen: write-backs on the customer's card (a swipe
    and its result) and readings brought by a check card (检查卡: no swipe result)."""
    rows = WriteBackObservation.objects.filter(
        _time_q("meter_time", filters), customer=customer
    ).select_related("account")
    for o in rows:
        if o.source == WriteBackObservation.Source.CHECK_CARD:
            event_code = "check_reading"
            said = D_CHECK_CARD.text() % {"card": o.card_serial}
        else:
            event_code, said = "swipe", swipe_result_text(o.result)
        yield {
            "time": o.meter_time,
            "event_code": event_code,
            **_account_of(o.account),
            "account": o.account.name if o.account else str(o.sub_meter),
            "serial": o.last_serial,
            "balance": o.balance_centi,
            "cumulative": o.cumulative_centi,
            "details": _details(said, _flags_text(o.status)),
        }


def card_operation_details(
    kind: str,
    card_serial: str,
    details: dict[str, Any],
    *,
    with_card: bool = True,
    unit: str = "",
) -> str:
    """What a card operation did, in the operator's language (no stored keys or codes);
    ``with_card=False`` where the card serial has a column of its own; a quantity moved in
    ``unit``, the unit of the operation's account (转入新表 145.00 m³)."""
    details = details or {}
    previous = details.get("previous")
    previous_text = text_of(CARD_TYPE_LABELS, previous) if previous else ""
    if kind == CardOperation.Kind.RECYCLE:
        return D_RECYCLED.text() % {
            "previous_card": details.get("previous_serial") or "",
            "previous": previous_text,
            "card": card_serial,
        }
    parts = [D_CARD.text() % {"card": card_serial}] if with_card else []
    if previous_text:
        parts.append(D_PREVIOUS.text() % {"previous": previous_text})
    if details.get("generation") is not None:
        parts.append(D_GENERATION.text() % {"generation": details["generation"]})
    if details.get("revoked"):
        parts.append(D_REVOKED.text() % {"card": details["revoked"]})
    if details.get("purchase") is not None:
        parts.append(D_FIRST_PURCHASE.text())
    if details.get("transfer") is not None:
        transfer = f"{details['transfer']} {unit}".rstrip()
        parts.append(D_TRANSFER.text() % {"transfer": transfer})
    if details.get("reason"):
        parts.append(D_REASON.text() % {"reason": details["reason"]})
    return _details(*parts)


def _history_card_operations(customer: Customer, filters: Filters) -> Iterator[dict[str, Any]]:
    """The customer's own card operations, the making of each of the customer's cards (its
    format) and their recycling (recorded under the new card's serial)."""
    serials = list(CustomerCard.objects.filter(customer=customer).values_list("serial", flat=True))
    mine = (
        Q(customer=customer)
        | Q(kind=CardOperation.Kind.FORMAT, card_serial__in=serials)
        | Q(kind=CardOperation.Kind.RECYCLE, details__previous_serial__in=serials)
    )
    rows = (
        CardOperation.objects.filter(_time_q("time", filters), mine)
        .exclude(kind__in=(CardOperation.Kind.METER_CHANGE, CardOperation.Kind.TOOL_CARD))
        .select_related("account", "operator")
    )
    for op in rows:
        account = _account_of(op.account)
        yield {
            "time": op.time,
            "event_code": op.kind,
            **account,
            "details": card_operation_details(
                op.kind, op.card_serial, op.details, unit=account["unit"]
            ),
            "operator": op.operator.username,
            "station": op.station,
        }


def _history_meter_changes(customer: Customer, filters: Filters) -> Iterator[dict[str, Any]]:
    rows = (
        MeterChange.objects.filter(_time_q("time", filters), customer_account__customer=customer)
        .exclude(transfer__status=Purchase.Status.VOIDED)  # its card was never written
        .select_related("customer_account__account", "operator", "transfer")
    )
    for m in rows:
        arithmetic = D_METER_CHANGE.text() % {
            "remaining": format_centi(m.remaining_centi),
            "prestore": format_centi(m.prestore_centi),
            "carried": format_centi(m.carried_centi),
            "transfer": format_centi(m.transfer.quantity_centi),
            "value": format_fen(m.value_fen),
        }
        reason = D_REASON.text() % {"reason": m.reason} if m.reason else ""
        yield {
            "time": m.time,
            "event_code": "meter_change",
            **_account_of(m.customer_account.account),
            "serial": m.transfer.serial,
            "balance": m.old_balance_centi,
            "cumulative": m.old_cumulative_centi,
            "details": _details(arithmetic, reason),
            "operator": m.operator.username,
            "station": m.transfer.station,
        }


HISTORY_SOURCES = {
    "purchase": _history_purchases,
    "ledger": _history_ledger,
    "swipe": _history_swipes,
    "card": _history_card_operations,
    "meter_change": _history_meter_changes,
}


def customer_history(
    customer: Customer,
    filters: Filters | None = None,
    *,
    sort: str = "-time",
    page: int = 1,
    page_size: int | None = t.DEFAULT_PAGE_SIZE,
) -> Table:
    """用户历史: every purchase with its status (a correction naming the purchase it corrects),
    the ledger's reversals of corrected sales, fees, swipes seen through write-back, card
    operations (new card, open, reissue, restore, recycle) and meter changes, merged by time.

    Amounts are money the ledger booked (sales, reversals, fees) — pending and voided
    purchases show what was asked, marked as not charged — so the totals are the net money
    and net quantity the customer paid for in the period."""
    filters = filters or Filters()
    sort_key, _order = t.ordering(HISTORY_COLUMNS, sort, "-time")
    wanted = set(filters.kinds) & set(HISTORY_KINDS) or set(HISTORY_KINDS)
    events: list[dict[str, Any]] = []
    for source in HISTORY_SOURCES.values():
        events.extend(e for e in source(customer, filters) if e["event_code"] in wanted)
    name = sort_key.lstrip("-")
    events = _sort_events(events, name, sort_key.startswith("-"))
    booked = [e for e in events if e.get("booked")]
    by_account: dict[Any, int] = {}
    for e in booked:
        if e["event_code"] != "fee":
            by_account[e["account_id"]] = by_account.get(e["account_id"], 0) + e["quantity"]
    quantity = quantities(by_account)
    totals = {
        "quantity": quantity,
        "unit": quantity.unit,
        "amount": sum(e["amount"] for e in booked),
    }
    described = [(F_CUSTOMER, f"{customer.user_number} {customer.name}"), *filters.describe()]
    table = Table(
        HISTORY_TITLE,
        HISTORY_COLUMNS,
        [],
        count=len(events),
        sort=sort_key,
        totals=totals,
        filters=described,
        extra={"customer": customer},
    )
    return _paged(table, events, page, page_size, _history_row)


# Events of one instant in the order they happen: the card is made, the purchase written,
# the account opened; a correction is written, then the sale it replaces reversed.
EVENT_ORDER = {
    code: n
    for n, code in enumerate(
        (
            "format",
            "purchase",
            "open",
            "correction",
            "reversal",
            "reissue",
            "fee",
            "restore",
            "swipe",
            "check_reading",
            "transfer",
            "meter_change",
            "recycle",
        )
    )
}


def _sort_events(events: list[dict[str, Any]], name: str, descending: bool) -> list[dict[str, Any]]:
    def chronological(event: dict[str, Any]) -> tuple[Any, ...]:
        return (event["time"], EVENT_ORDER.get(event["event_code"], 0))

    def key(event: dict[str, Any]) -> tuple[Any, ...]:
        value = event.get("event_code") if name == "event" else event.get(name)
        return (value is None, value if value is not None else 0, *chronological(event))

    present = [e for e in events if (e.get(name) if name != "event" else 1) is not None]
    missing = [e for e in events if (e.get(name) if name != "event" else 1) is None]
    present.sort(key=key, reverse=descending)
    missing.sort(key=chronological, reverse=descending)
    return present + missing


def _history_row(event: dict[str, Any]) -> dict[str, Any]:
    row = dict(event)
    row["event"] = text_of(EVENT_LABELS, event["event_code"])
    if "status_code" in event:
        row["status"] = text_of(PURCHASE_STATUS_LABELS, event["status_code"])
    return row


# -- 卡片操作 card operations -----------------------------------------------------------------

CARD_TITLE = L(gettext_noop("Card operations"), "卡片操作记录")
CARD_COLUMNS = [
    Column("time", L(gettext_noop("Time"), "时间"), t.DATETIME, "time"),
    Column("kind", L(gettext_noop("Operation"), "操作"), t.TEXT, "kind"),
    Column("tool", L(gettext_noop("Tool card"), "工具卡类型")),
    Column("card_serial", L(gettext_noop("Card serial"), "卡序列号"), t.TEXT, "card_serial"),
    Column("account", L(gettext_noop("Account"), "账户")),
    Column(
        "user_number", L(gettext_noop("User number"), "用户编号"), t.TEXT, "customer__user_number"
    ),
    Column("customer", L(gettext_noop("Customer"), "用户名称")),
    Column("operator", L(gettext_noop("Operator"), "操作员"), t.TEXT, "operator__username"),
    Column("station", L(gettext_noop("Station"), "工作站"), t.TEXT, "station"),
    Column("details", L(gettext_noop("Details"), "说明")),
]


def card_operations(
    filters: Filters,
    *,
    sort: str = "-time",
    page: int = 1,
    page_size: int | None = t.DEFAULT_PAGE_SIZE,
) -> Table:
    """卡片操作: formats, recycles, tool cards, opens, reissues, meter changes, restores."""
    condition = _time_q("time", filters) & _customer_q("customer_id", filters)
    if filters.kinds:
        condition &= Q(kind__in=filters.kinds)
    if filters.operator_id:
        condition &= Q(operator_id=filters.operator_id)
    if filters.account_id:
        condition &= Q(account_id=filters.account_id)
    if filters.station:
        condition &= Q(station=filters.station)
    queryset = CardOperation.objects.filter(condition)
    sort_key, order = t.ordering(CARD_COLUMNS, sort, "-time")
    rows = queryset.order_by(*order).values(
        "id",
        "time",
        "kind",
        "tool_type",
        "card_serial",
        "station",
        "details",
        account_name=F("account__name"),
        account_meter_type=F("account__meter_type"),
        user_number=F("customer__user_number"),
        customer_name=F("customer__name"),
        operator_name=F("operator__username"),
    )
    table = Table(
        CARD_TITLE,
        CARD_COLUMNS,
        [],
        count=queryset.count(),
        sort=sort_key,
        filters=filters.describe(),
    )
    return _paged(table, rows, page, page_size, _card_row)


def _card_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": row["time"],
        "kind": text_of(CARD_OPERATION_LABELS, row["kind"]),
        "tool": text_of(TOOL_CARD_LABELS, row["tool_type"]) if row["tool_type"] else "",
        "card_serial": row["card_serial"],
        "account": row["account_name"] or "",
        "user_number": row["user_number"] or "",
        "customer": row["customer_name"] or "",
        "operator": row["operator_name"],
        "station": row["station"],
        "details": card_operation_details(
            row["kind"],
            row["card_serial"],
            row["details"],
            with_card=False,
            unit=unit_of(row["account_meter_type"]),
        ),
    }


# -- 未完成/作废 pending and voided sales -------------------------------------------------------

PENDING_TITLE = L(gettext_noop("Pending and voided sales"), "未完成及作废销售")
PENDING_COLUMNS = [
    Column("id", L(gettext_noop("Purchase"), "购买记录号"), t.INT, "id"),
    Column("time", L(gettext_noop("Time"), "时间"), t.DATETIME, "created_at"),
    Column("status", L(gettext_noop("Status"), "状态"), t.TEXT, "status"),
    Column("resolved_at", L(gettext_noop("Settled at"), "处理时间"), t.DATETIME, "resolved_at"),
    Column(
        "user_number",
        L(gettext_noop("User number"), "用户编号"),
        t.TEXT,
        "customer_account__customer__user_number",
    ),
    Column("customer", L(gettext_noop("Customer"), "用户名称")),
    Column("account", L(gettext_noop("Account"), "账户")),
    Column("serial", L(gettext_noop("Purchase serial"), "购买序号"), t.INT),
    Column("kind", L(gettext_noop("Kind"), "类型")),
    Column("quantity", L(gettext_noop("Quantity"), "购买量"), t.QUANTITY, "quantity_centi"),
    Column("unit", L(gettext_noop("Unit"), "单位")),
    Column("amount", L(gettext_noop("Amount"), "金额"), t.MONEY, "amount_fen"),
    Column("payment", L(gettext_noop("Payment method"), "支付方式")),
    Column("operator", L(gettext_noop("Operator"), "操作员"), t.TEXT, "operator__username"),
    Column("station", L(gettext_noop("Station"), "工作站"), t.TEXT, "station"),
    Column("card_serial", L(gettext_noop("Card serial"), "卡序列号")),
    Column("corrects", L(gettext_noop("Corrects serial"), "修改的购买序号"), t.INT),
]
UNFINISHED = (Purchase.Status.PENDING, Purchase.Status.VOIDED)
# The condition of the unfinished purchases' partial index (reports migration 0010), written
# out: SQLite matches a query to a partial index by the condition's text, and an IN list of
# bound parameters never matches (it would walk every purchase of the office instead).
UNFINISHED_CONDITION = RawSQL(
    "\"vending_purchase\".\"status\" IN ('pending', 'voided')", (), output_field=BooleanField()
)


def pending_and_voided(
    filters: Filters,
    *,
    sort: str = "-time",
    page: int = 1,
    page_size: int | None = t.DEFAULT_PAGE_SIZE,
) -> Table:
    """Sales that are still pending (card not written or not seen since) or were voided."""
    statuses = tuple(s for s in filters.statuses if s in UNFINISHED) or UNFINISHED
    # The partial index's condition is always there, so the database reads that small index
    # and not millions of completed purchases, whichever statuses were chosen.
    condition = _time_q("created_at", filters) & _customer_q(
        "customer_account__customer_id", filters
    )
    if statuses != UNFINISHED:
        condition &= Q(status__in=statuses)
    if filters.operator_id:
        condition &= Q(operator_id=filters.operator_id)
    if filters.account_id:
        condition &= Q(customer_account__account_id=filters.account_id)
    if filters.station:
        condition &= Q(station=filters.station)
    queryset = Purchase.objects.filter(UNFINISHED_CONDITION, condition)
    sort_key, order = t.ordering(PENDING_COLUMNS, sort, "-time")
    count, totals = _quantity_totals(queryset, "customer_account__account_id")
    rows = queryset.order_by(*order)
    table = Table(
        PENDING_TITLE,
        PENDING_COLUMNS,
        [],
        count=count,
        sort=sort_key,
        totals=totals,
        filters=replace(filters, statuses=statuses).describe(),
    )
    return _paged(table, rows, page, page_size, _pending_row, _pending_values)


def _pending_values(queryset: QuerySet[Purchase]) -> QuerySet[Any]:
    return queryset.values(
        "id",
        "created_at",
        "status",
        "resolved_at",
        "serial",
        "kind",
        "quantity_centi",
        "amount_fen",
        "payment_method",
        "station",
        "card_serial",
        user_number=F("customer_account__customer__user_number"),
        customer_name=F("customer_account__customer__name"),
        account_name=F("customer_account__account__name"),
        meter_type=F("customer_account__account__meter_type"),
        operator_name=F("operator__username"),
        corrects=F("supersedes__serial"),
    )


def _pending_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "time": row["created_at"],
        "status": text_of(PURCHASE_STATUS_LABELS, row["status"]),
        "resolved_at": row["resolved_at"],
        "user_number": row["user_number"],
        "customer": row["customer_name"],
        "account": row["account_name"],
        "serial": row["serial"],
        "kind": text_of(PURCHASE_KIND_LABELS, row["kind"]),
        "quantity": row["quantity_centi"],
        "unit": unit_of(row["meter_type"]),
        "amount": row["amount_fen"],
        "payment": text_of(PAYMENT_LABELS, row["payment_method"]),
        "operator": row["operator_name"],
        "station": row["station"],
        "card_serial": row["card_serial"],
        "corrects": row["corrects"],
    }


# -- 班次 shifts ------------------------------------------------------------------------------

SHIFTS_TITLE = L(gettext_noop("Shifts"), "班次")
SHIFT_COLUMNS = [
    Column("id", L(gettext_noop("Shift"), "班次"), t.INT, "id"),
    Column("operator", L(gettext_noop("Operator"), "操作员"), t.TEXT, "operator__username"),
    Column("station", L(gettext_noop("Station"), "工作站"), t.TEXT, "station"),
    Column("opened_at", L(gettext_noop("Opened"), "开班时间"), t.DATETIME, "opened_at"),
    Column("closed_at", L(gettext_noop("Closed"), "交班时间"), t.DATETIME, "closed_at"),
    Column("entries", L(gettext_noop("Entries"), "笔数"), t.INT),
    Column("takings", L(gettext_noop("Takings"), "收款合计"), t.MONEY),
    Column("expected_cash", L(gettext_noop("Expected cash"), "应收现金"), t.MONEY),
    Column("counted_cash", L(gettext_noop("Counted cash"), "实收现金"), t.MONEY),
    Column("variance", L(gettext_noop("Variance"), "差额"), t.MONEY),
]
OPEN = L(gettext_noop("open"), "未交班")


def shift_list(
    filters: Filters,
    *,
    status: str | None = None,
    sort: str = "-opened_at",
    page: int = 1,
    page_size: int | None = t.DEFAULT_PAGE_SIZE,
) -> Table:
    """班次: every shift with its takings; closed ones with the counted cash and variance."""
    from prepaid.reports.shifts import shift_list_filter

    check_date_range(filters.date_from, filters.date_to)
    queryset = Shift.objects.filter(
        shift_list_filter(
            operator_id=filters.operator_id,
            station=filters.station,
            status=status,
            date_from=filters.date_from,
            date_to=filters.date_to,
        )
    )
    sort_key, order = t.ordering(SHIFT_COLUMNS, sort, "-opened_at")
    rows = queryset.order_by(*order).select_related("operator", "settlement")
    table = Table(
        SHIFTS_TITLE,
        SHIFT_COLUMNS,
        [],
        count=queryset.count(),
        sort=sort_key,
        filters=filters.describe(),
    )
    paged = _paged(table, rows, page, page_size, lambda s: s)
    shifts = list(paged.rows)
    live = _live_shift_totals([s.pk for s in shifts if s.closed_at is None])
    return replace(paged, rows=[_shift_row(s, live.get(s.pk)) for s in shifts])


def _live_shift_totals(shift_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = (
        LedgerEntry.objects.filter(shift_id__in=shift_ids)
        .values("shift_id")
        .annotate(
            n=Count("id"),
            takings=Sum("amount_fen", filter=Q(kind__in=MONEY_KINDS), default=0),
            cash=Sum(
                "amount_fen", filter=Q(kind__in=MONEY_KINDS, payment_method="cash"), default=0
            ),
        )
    )
    return {r["shift_id"]: r for r in rows}


def _shift_row(shift: Shift, live: dict[str, int] | None) -> dict[str, Any]:
    settlement: ShiftSettlement | None = getattr(shift, "settlement", None)
    live = live or {"n": 0, "takings": 0, "cash": 0}
    return {
        "id": shift.pk,
        "operator": shift.operator.username,
        "station": shift.station,
        "opened_at": shift.opened_at,
        "closed_at": shift.closed_at,
        "entries": settlement.entry_count if settlement else live["n"],
        "takings": settlement.takings_fen if settlement else live["takings"],
        "expected_cash": settlement.expected_cash_fen if settlement else live["cash"],
        "counted_cash": settlement.counted_cash_fen if settlement else None,
        "variance": settlement.variance_fen if settlement else None,
    }

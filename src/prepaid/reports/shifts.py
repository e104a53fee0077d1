"""Shift settlement (日结/交班): an operator closes the shift and counts the cash.

A purchase's ledger entries go into the shift it was sold in while that shift is open, even
when it is completed later by someone else (``vending.shifts``); other entries go into the
operator's *current* open shift at the station, opening a new one after a close. So a closed
shift never receives another entry: a later correction of one of its sales is booked in the
shift that is open then, and its reversal entry points at the original sale entry (which
stays in the closed shift); a sale still pending when its shift closed is booked, when it
completes, in the completing operator's current shift, and both shifts' reports name it.
The database refuses any entry into a closed shift and any change of a closed shift or of a
settlement (migration ``reports.0003``).

Closing sets ``Shift.closed_at`` — the only change this app makes to a vending table — and
writes the :class:`ShiftSettlement`, both audited, in one transaction.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from prepaid.audit.services import log_action
from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.core.money import format_fen, parse_money
from prepaid.moments import office_moment
from prepaid.operators.models import Operator
from prepaid.reports import tables as t
from prepaid.reports.labels import PAYMENT_LABELS, L, text_of
from prepaid.reports.models import ShiftSettlement
from prepaid.vending.models import LedgerEntry, Purchase, Shift

MAX_REMARKS = 200
CASH = LedgerEntry.Payment.CASH
MONEY_KINDS = (LedgerEntry.Kind.SALE, LedgerEntry.Kind.REVERSAL, LedgerEntry.Kind.FEE)


def no_open_shift() -> PrepaidError:
    return PrepaidError(
        "no_open_shift", _("There is no open shift of this operator at this station.")
    )


def shift_closed() -> PrepaidError:
    return PrepaidError(
        "shift_closed", _("This shift is closed; a closed shift cannot be changed.")
    )


def unknown_shift(shift_id: Any) -> InvalidInput:
    return InvalidInput("unknown_shift", _("There is no shift %(id)s."), id=shift_id)


@dataclass
class PaymentTotals:
    count: int = 0  # sale entries
    reversals: int = 0
    fees: int = 0  # fee entries
    sales_fen: int = 0
    reversals_fen: int = 0
    fees_fen: int = 0
    # No quantity: a shift sells on every account, and m³ and kWh do not add up.

    @property
    def amount_fen(self) -> int:
        return self.sales_fen + self.reversals_fen + self.fees_fen

    def to_json(self) -> dict[str, int]:
        return {
            "count": self.count,
            "reversals": self.reversals,
            "fees": self.fees,
            "sales_fen": self.sales_fen,
            "reversals_fen": self.reversals_fen,
            "fees_fen": self.fees_fen,
            "amount_fen": self.amount_fen,
        }

    @classmethod
    def from_json(cls, data: dict[str, int]) -> PaymentTotals:
        return cls(
            count=data["count"],
            reversals=data["reversals"],
            fees=data["fees"],
            sales_fen=data["sales_fen"],
            reversals_fen=data["reversals_fen"],
            fees_fen=data["fees_fen"],
        )  # settlements of earlier versions also stored a quantity_centi: not read


@dataclass
class ShiftTotals:
    payments: dict[str, PaymentTotals] = field(default_factory=dict)
    entry_count: int = 0
    transfers: int = 0  # meter-change transfers booked (no money)
    last_entry_id: int | None = None

    @property
    def takings_fen(self) -> int:
        return sum(p.amount_fen for p in self.payments.values())

    @property
    def expected_cash_fen(self) -> int:
        cash = self.payments.get(CASH)
        return cash.amount_fen if cash else 0


def shift_totals(shift: Shift) -> ShiftTotals:
    """The shift's takings per payment method, straight from its ledger entries."""
    totals = ShiftTotals()
    rows = (
        LedgerEntry.objects.filter(shift=shift)
        .values("payment_method", "kind")
        .annotate(n=Count("id"), amount=Sum("amount_fen"))
    )
    for row in rows:
        totals.entry_count += row["n"]
        if row["kind"] == LedgerEntry.Kind.TRANSFER:
            totals.transfers += row["n"]
            continue
        payment = totals.payments.setdefault(row["payment_method"] or "", PaymentTotals())
        if row["kind"] == LedgerEntry.Kind.SALE:
            payment.count += row["n"]
            payment.sales_fen += row["amount"]
        elif row["kind"] == LedgerEntry.Kind.REVERSAL:
            payment.reversals += row["n"]
            payment.reversals_fen += row["amount"]
        elif row["kind"] == LedgerEntry.Kind.FEE:
            payment.fees += row["n"]
            payment.fees_fen += row["amount"]
    totals.last_entry_id = (
        LedgerEntry.objects.filter(shift=shift).order_by("-id").values_list("id", flat=True).first()
    )
    return totals


def open_shift_of(operator: Operator, station: str) -> Shift | None:
    return Shift.objects.filter(operator=operator, station=station, closed_at__isnull=True).first()


def get_shift(shift_id: Any) -> Shift:
    try:
        pk = int(str(shift_id).strip())
    except ValueError:
        raise unknown_shift(shift_id) from None
    shift = Shift.objects.select_related("operator").filter(pk=pk).first()
    if shift is None:
        raise unknown_shift(shift_id)
    return shift


def _may_close(operator: Operator, shift: Shift) -> None:
    if shift.operator_id != operator.pk and not operator.is_admin:
        raise PrepaidError(
            "not_your_shift", _("Only the shift's operator or an administrator may close it.")
        )


def close_shift(
    operator: Operator, station: str, *, counted_cash: Any, remarks: str = "", shift_id: Any = None
) -> ShiftSettlement:
    """日结/交班: close the operator's open shift at the station (or shift ``shift_id``: its
    own operator or an administrator), with the cash counted in the drawer.

    Whether the operator may close the shift is checked before anything else: someone else's
    shift is refused as not theirs, whether or not it is closed and whatever was typed."""
    if shift_id is not None:
        _may_close(operator, get_shift(shift_id))
    counted_fen = parse_money(counted_cash, field="counted cash", allow_zero=True)
    remarks = (remarks or "").strip()
    if len(remarks) > MAX_REMARKS:
        raise InvalidInput(
            "too_long",
            _("%(field)s is too long (at most %(maximum)s characters)."),
            field="remarks",
            maximum=MAX_REMARKS,
        )
    with transaction.atomic():
        shift = _shift_to_close(operator, station, shift_id)
        totals = shift_totals(shift)
        now = timezone.now()
        shift.closed_at = now
        shift.save(update_fields=["closed_at"])
        expected = totals.expected_cash_fen
        settlement = ShiftSettlement.objects.create(
            shift=shift,
            closed_by=operator,
            closed_at=now,
            entry_count=totals.entry_count,
            takings_fen=totals.takings_fen,
            expected_cash_fen=expected,
            counted_cash_fen=counted_fen,
            variance_fen=counted_fen - expected,
            totals={method: p.to_json() for method, p in sorted(totals.payments.items())},
            last_entry_id=totals.last_entry_id,
            remarks=remarks,
        )
        log_action(
            operator,
            "shift.close",
            shift,
            station=station,
            before={"closed_at": None},
            after={
                "closed_at": now.isoformat(),
                "settlement": settlement.pk,
                "entries": totals.entry_count,
                "takings": format_fen(totals.takings_fen),
                "expected_cash": format_fen(expected),
                "counted_cash": format_fen(counted_fen),
                "variance": format_fen(counted_fen - expected),
            },
        )
    return settlement


def _shift_to_close(operator: Operator, station: str, shift_id: Any) -> Shift:
    if shift_id is not None:
        pk = get_shift(shift_id).pk
        shift = Shift.objects.select_for_update(no_key=True).get(pk=pk)
    else:
        found = open_shift_of(operator, station)
        if found is None:
            raise no_open_shift()
        shift = Shift.objects.select_for_update(no_key=True).get(pk=found.pk)
    _may_close(operator, shift)
    if shift.closed_at is not None:
        raise shift_closed()
    return shift


# -- the settlement report -------------------------------------------------------------------


@dataclass
class ShiftReport:
    shift: Shift
    totals: ShiftTotals
    settlement: ShiftSettlement | None
    # Reversals booked in this shift of sales from earlier shifts: (entry, original shift id).
    corrections_of_earlier: list[tuple[LedgerEntry, int]] = field(default_factory=list)
    # Reversals booked in later shifts of this shift's sales: (entry, shift id).
    corrected_later: list[tuple[LedgerEntry, int]] = field(default_factory=list)
    pending: list[Purchase] = field(default_factory=list)  # begun in this shift, not settled
    # Begun in this shift and voided (the card never got them; by whichever station read the
    # card later): nothing booked, yet the customer may have paid at this shift's counter.
    voided: list[Purchase] = field(default_factory=list)
    # Sales of earlier (closed) shifts completed in this shift: the money is in their drawer.
    completed_from_earlier: list[LedgerEntry] = field(default_factory=list)
    # Sales of this shift completed after it closed, booked in another shift.
    completed_later: list[LedgerEntry] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.shift.closed_at is not None

    @property
    def expected_cash_fen(self) -> int:
        if self.settlement is not None:
            return self.settlement.expected_cash_fen
        return self.totals.expected_cash_fen

    @property
    def takings_fen(self) -> int:
        if self.settlement is not None:
            return self.settlement.takings_fen
        return self.totals.takings_fen


def shift_report(shift: Shift) -> ShiftReport:
    """The settlement of a closed shift, or the running totals of an open one."""
    settlement = ShiftSettlement.objects.filter(shift=shift).select_related("closed_by").first()
    if settlement is not None:
        totals = ShiftTotals(
            payments={m: PaymentTotals.from_json(p) for m, p in settlement.totals.items()},
            entry_count=settlement.entry_count,
            last_entry_id=settlement.last_entry_id,
        )
        totals.transfers = LedgerEntry.objects.filter(
            shift=shift, kind=LedgerEntry.Kind.TRANSFER
        ).count()
    else:
        totals = shift_totals(shift)
    earlier = (
        LedgerEntry.objects.filter(shift=shift, kind=LedgerEntry.Kind.REVERSAL)
        .exclude(reverses__shift=shift)
        .select_related("reverses", "customer", "operator")
        .order_by("id")
    )
    later = (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL, reverses__shift=shift)
        .exclude(shift=shift)
        .select_related("reverses", "customer")
        .order_by("id")
    )
    pending = Purchase.objects.filter(shift=shift, status=Purchase.Status.PENDING).select_related(
        "customer_account__customer"
    )
    voided = (
        Purchase.objects.filter(shift=shift, status=Purchase.Status.VOIDED)
        .exclude(kind=Purchase.Kind.TRANSFER)  # no money
        .select_related("customer_account__customer")
        .order_by("id")
    )
    sales = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.SALE, purchase__isnull=False
    ).select_related("customer", "operator", "purchase__shift__operator")
    from_earlier = sales.filter(shift=shift).exclude(purchase__shift=shift).order_by("id")
    completed_later = (
        sales.filter(purchase__shift=shift).exclude(shift=shift).select_related("shift")
    ).order_by("id")
    return ShiftReport(
        shift=shift,
        totals=totals,
        settlement=settlement,
        corrections_of_earlier=[
            (e, e.reverses.shift_id) for e in earlier if e.reverses is not None
        ],
        corrected_later=[(e, e.shift_id) for e in later],
        pending=list(pending),
        voided=list(voided),
        completed_from_earlier=list(from_earlier),
        completed_later=list(completed_later),
    )


def latest_shift(operator: Operator, station: str | None = None) -> Shift | None:
    """The operator's open shift (at the station, when given), else the last one closed."""
    shifts = Shift.objects.filter(operator=operator)
    if station:
        shifts = shifts.filter(station=station)
    open_one = shifts.filter(closed_at__isnull=True).order_by("-opened_at").first()
    return open_one or shifts.order_by("-closed_at", "-id").first()


def shift_report_document(report: ShiftReport) -> dict[str, Any]:
    """The JSON shape of ``prepaid report shift`` and ``prepaid shift close``."""
    shift, settlement = report.shift, report.settlement
    payments = {
        method: {
            "count": p.count,
            "reversals": p.reversals,
            "fees": p.fees,
            "sales": format_fen(p.sales_fen),
            "reversals_amount": format_fen(p.reversals_fen),
            "fees_amount": format_fen(p.fees_fen),
            "amount": format_fen(p.amount_fen),
        }
        for method, p in sorted(report.totals.payments.items())
    }
    document: dict[str, Any] = {
        "shift_id": shift.pk,
        "operator": shift.operator.username,
        "station": shift.station,
        "opened_at": office_moment(shift.opened_at),
        "closed_at": _iso(shift.closed_at),
        "status": "closed" if report.closed else "open",
        "entries": report.totals.entry_count,
        "transfers": report.totals.transfers,
        "payments": payments,
        "takings": format_fen(report.takings_fen),
        "expected_cash": format_fen(report.expected_cash_fen),
        "counted_cash": format_fen(settlement.counted_cash_fen) if settlement else None,
        "variance": format_fen(settlement.variance_fen) if settlement else None,
        "closed_by": settlement.closed_by.username if settlement else None,
        "remarks": settlement.remarks if settlement else "",
        "corrections_of_earlier_shifts": [
            {
                "entry": e.pk,
                "serial": e.serial,
                "amount": format_fen(e.amount_fen),
                "original_entry": e.reverses_id,
                "original_shift": shift_id,
            }
            for e, shift_id in report.corrections_of_earlier
        ],
        "corrected_in_later_shifts": [
            {
                "entry": e.pk,
                "serial": e.serial,
                "amount": format_fen(e.amount_fen),
                "original_entry": e.reverses_id,
                "shift": shift_id,
            }
            for e, shift_id in report.corrected_later
        ],
        "pending": [p.pk for p in report.pending],
        "voided": [
            {
                "purchase": p.pk,
                "serial": p.serial,
                "user_number": p.customer_account.customer.user_number,
                "amount": format_fen(p.amount_fen),
                "payment": p.payment_method,
                "voided_at": office_moment(p.resolved_at),
            }
            for p in report.voided
        ],
        "completed_from_earlier_shifts": [
            {
                "entry": e.pk,
                "purchase": e.purchase_id,
                "serial": e.serial,
                "user_number": e.customer.user_number,
                "amount": format_fen(e.amount_fen),
                "payment": e.payment_method,
                "original_shift": e.purchase.shift_id,
                "original_operator": e.purchase.shift.operator.username,
            }
            for e in report.completed_from_earlier
        ],
        "completed_in_later_shifts": [
            {
                "entry": e.pk,
                "purchase": e.purchase_id,
                "serial": e.serial,
                "user_number": e.customer.user_number,
                "amount": format_fen(e.amount_fen),
                "payment": e.payment_method,
                "shift": e.shift_id,
                "operator": e.operator.username,
            }
            for e in report.completed_later
        ],
    }
    return document


def _iso(value: datetime.datetime | None) -> str | None:
    return office_moment(value)


def shift_list_filter(
    *,
    operator_id: int | None = None,
    station: str | None = None,
    status: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> Q:
    from prepaid.reports.aggregates import day_range

    condition = Q()
    if operator_id:
        condition &= Q(operator_id=operator_id)
    if station:
        condition &= Q(station=station)
    if status == "open":
        condition &= Q(closed_at__isnull=True)
    elif status == "closed":
        condition &= Q(closed_at__isnull=False)
    if date_from:
        condition &= Q(opened_at__gte=day_range(date_from)[0])
    if date_to:
        condition &= Q(opened_at__lt=day_range(date_to)[1])
    return condition


SETTLEMENT_TITLE = L(gettext_noop("Shift settlement"), "日结")
SETTLEMENT_COLUMNS = [
    t.Column("payment", L(gettext_noop("Payment method"), "支付方式")),
    t.Column("count", L(gettext_noop("Sales"), "销售笔数"), t.INT),
    t.Column("sales", L(gettext_noop("Sales amount"), "销售金额"), t.MONEY),
    t.Column("reversals", L(gettext_noop("Reversals"), "冲正笔数"), t.INT),
    t.Column("reversals_amount", L(gettext_noop("Reversed amount"), "冲正金额"), t.MONEY),
    t.Column("fees", L(gettext_noop("Fees"), "费用"), t.MONEY),
    t.Column("amount", L(gettext_noop("Amount"), "金额"), t.MONEY),
]
# the times the files describe the shift with (the terminal's slip says them in a sentence)
OPENED = L(gettext_noop("Opened"), "开班时间")
CLOSED = L(gettext_noop("Closed"), "交班时间")
EXPECTED_CASH = L(gettext_noop("Expected cash"), "应收现金")
COUNTED_CASH = L(gettext_noop("Counted cash"), "实收现金")
VARIANCE = L(gettext_noop("Variance (counted − expected)"), "差额（实收 − 应收）")
SHIFT_STATUS_LABELS = {
    "open": L(gettext_noop("open"), "未交班"),
    "closed": L(gettext_noop("closed"), "已交班"),
}


def shift_settlement_table(report: ShiftReport) -> t.Table:
    """The settlement's takings per payment method as a report table with a totals row:
    ``prepaid report shift`` prints it and exports it (CSV, Excel)."""
    rows = [
        {
            "payment": text_of(PAYMENT_LABELS, method),
            "count": p.count,
            "sales": p.sales_fen,
            "reversals": p.reversals,
            "reversals_amount": p.reversals_fen,
            "fees": p.fees_fen,
            "amount": p.amount_fen,
        }
        for method, p in sorted(report.totals.payments.items())
    ]
    totals = {
        column.key: sum(row[column.key] for row in rows)
        for column in SETTLEMENT_COLUMNS
        if column.numeric
    }
    shift = report.shift
    status = text_of(SHIFT_STATUS_LABELS, "closed" if report.closed else "open")
    settlement = report.settlement
    cash = [(EXPECTED_CASH, report.totals.expected_cash_fen)]
    if settlement is not None:
        cash = [
            (EXPECTED_CASH, settlement.expected_cash_fen),
            (COUNTED_CASH, settlement.counted_cash_fen),
            (VARIANCE, settlement.variance_fen),
        ]
    return t.Table(
        SETTLEMENT_TITLE,
        SETTLEMENT_COLUMNS,
        rows,
        totals=totals,
        count=len(rows),
        filters=[
            (L(gettext_noop("Shift"), "班次"), str(shift.pk)),
            (L(gettext_noop("Operator"), "操作员"), shift.operator.username),
            (L(gettext_noop("Station"), "工作站"), shift.station),
            (L(gettext_noop("Status"), "状态"), status),
            (OPENED, _local_text(shift.opened_at)),
            *([(CLOSED, _local_text(shift.closed_at))] if shift.closed_at else []),
        ],
        # the files carry the cash as the slip does: expected, counted, variance
        footer=[{"payment": label, "amount": fen} for label, fen in cash],
    )


def _local_text(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")

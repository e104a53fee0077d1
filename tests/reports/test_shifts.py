"""Shift settlement (日结/交班): totals equal the ledger; a closed shift never changes; a later
correction lands in the current shift with a reference to the original sale."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from prepaid.core.errors import InvalidInput, PrepaidError
from prepaid.reports.models import ShiftSettlement
from prepaid.reports.shifts import (
    close_shift,
    open_shift_of,
    shift_report,
    shift_report_document,
    shift_totals,
)
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Shift

pytestmark = pytest.mark.django_db
MONEY = ("sale", "reversal", "fee")


def test_every_demo_settlement_equals_its_ledger(demo):
    ledger: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in LedgerEntry.objects.filter(kind__in=MONEY):
        ledger[entry.shift_id][entry.payment_method] += entry.amount_fen
    settlements = list(ShiftSettlement.objects.all())
    assert settlements and len(settlements) == Shift.objects.count()
    for settlement in settlements:
        expected = ledger.get(settlement.shift_id, {})
        got = {m: p["amount_fen"] for m, p in settlement.totals.items() if p["amount_fen"]}
        assert got == {m: v for m, v in expected.items() if v}
        assert settlement.takings_fen == sum(expected.values())
        assert settlement.expected_cash_fen == expected.get("cash", 0)
        assert settlement.variance_fen == (
            settlement.counted_cash_fen - settlement.expected_cash_fen
        )


def test_the_variances_are_the_planted_ones(demo):
    """The demo counts the cash it took itself; only its planted miscounts show up."""
    planted = {v["shift"]: v["variance_fen"] for v in demo.record.variances}
    found = dict(
        ShiftSettlement.objects.exclude(variance_fen=0).values_list("shift_id", "variance_fen")
    )
    assert found == planted


def test_closed_demo_shift_refuses_changes(demo):
    # a closed shift that took money (a shift may close with none: its sales completed later)
    entry = (
        LedgerEntry.objects.filter(shift__in=ShiftSettlement.objects.values("shift"))
        .select_related("shift__operator", "customer")
        .order_by("pk")
        .first()
    )
    shift = entry.shift
    settlement = ShiftSettlement.objects.get(shift=shift)
    with pytest.raises(PrepaidError) as refused:
        close_shift(demo.admin, shift.station, counted_cash="1", shift_id=shift.pk)
    assert refused.value.code == "shift_closed"
    with pytest.raises(DatabaseError), transaction.atomic():
        Shift.objects.filter(pk=shift.pk).update(station="elsewhere")
    with pytest.raises(DatabaseError), transaction.atomic():
        ShiftSettlement.objects.filter(pk=settlement.pk).update(counted_cash_fen=0)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.create(
            kind="fee",
            time=timezone.now(),
            customer=entry.customer,
            amount_fen=100,
            payment_method="cash",
            operator=shift.operator,
            shift=shift,
            station=shift.station,
            idempotency_key="into-a-closed-shift",
        )


def _sell(office, quantity="10"):
    office.store.insert("user")
    return vending.sell(office.station(), quantity=quantity, key=office.key())


def test_close_settles_takings_per_payment_method(small_office):
    office = small_office
    office.store.insert("user")
    opened = vending.open_account(
        office.station(),
        office.customer,
        office.account,
        office.price,
        quantity="4",
        payment="wechat",
        key=office.key(),
    )
    office.swipe()
    sale = vending.sell(office.station(), quantity="2", payment="cash", key=office.key())
    fixed = vending.correct(office.station(), quantity="1", key=office.key())
    shift = open_shift_of(office.clerk, "desk-1")
    totals = shift_totals(shift)
    assert totals.payments["wechat"].amount_fen == opened.amount_fen == 18000
    cash = totals.payments["cash"]
    assert (cash.count, cash.reversals) == (2, 1)
    assert cash.amount_fen == sale.amount_fen - sale.amount_fen + fixed.amount_fen == 4500
    settlement = close_shift(office.clerk, "desk-1", counted_cash="40.00", remarks="少5元")
    assert settlement.expected_cash_fen == 4500
    assert settlement.variance_fen == -500
    assert settlement.takings_fen == 22500
    shift.refresh_from_db()
    assert shift.closed_at == settlement.closed_at
    document = shift_report_document(shift_report(shift))
    assert document["payments"]["cash"]["amount"] == "45.00"
    assert (document["expected_cash"], document["counted_cash"], document["variance"]) == (
        "45.00",
        "40.00",
        "-5.00",
    )
    with pytest.raises(PrepaidError) as refused:
        close_shift(office.clerk, "desk-1", counted_cash="0")
    assert refused.value.code == "no_open_shift"
    from prepaid.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="shift.close", object_id=str(shift.pk)).exists()


def test_correction_after_close_lands_in_the_current_shift(small_office):
    office = small_office
    office.open(quantity="4")
    office.swipe()
    sale = vending.sell(office.station(), quantity="3", key=office.key())
    first = open_shift_of(office.clerk, "desk-1")
    settlement = close_shift(office.clerk, "desk-1", counted_cash="315.00")
    assert settlement.variance_fen == 0
    before = shift_totals(first)

    fixed = vending.correct(office.station(), quantity="2", key=office.key())
    second = open_shift_of(office.clerk, "desk-1")
    assert second is not None and second.pk != first.pk
    reversal = LedgerEntry.objects.get(kind="reversal", purchase=sale)
    assert reversal.shift_id == second.pk
    assert reversal.reverses.shift_id == first.pk  # the reference to the original sale
    assert LedgerEntry.objects.get(kind="sale", purchase=fixed).shift_id == second.pk

    after = shift_totals(first)  # the closed shift is exactly as it was settled
    assert after.payments["cash"].amount_fen == before.payments["cash"].amount_fen
    assert after.entry_count == before.entry_count == settlement.entry_count
    report = shift_report(second)
    assert [(e.pk, shift_id) for e, shift_id in report.corrections_of_earlier] == [
        (reversal.pk, first.pk)
    ]
    assert [e.pk for e, _ in shift_report(first).corrected_later] == [reversal.pk]
    assert report.totals.expected_cash_fen == fixed.amount_fen - sale.amount_fen


def test_the_terminal_slip_of_a_closed_shift_names_its_sales_corrected_later(small_office):
    # The printed slip of the web page lists them; the terminal's slip must too, or a
    # reprint of the closed shift reads as if its sale had stood.
    from types import SimpleNamespace

    from django.utils import translation
    from django.utils.translation import gettext

    from prepaid.cli.report import say_shift
    from prepaid.core.money import format_fen
    from prepaid.reports.shifts import shift_settlement_table

    office = small_office
    office.open(quantity="4")
    office.swipe()
    sale = vending.sell(office.station(), quantity="3", key=office.key())
    first = open_shift_of(office.clerk, "desk-1")
    close_shift(office.clerk, "desk-1", counted_cash="315.00")
    vending.correct(office.station(), quantity="2", key=office.key())
    second = open_shift_of(office.clerk, "desk-1")
    report = shift_report(first)
    lines: list[str] = []
    with translation.override("zh-hans"):
        ctx = SimpleNamespace(say=lines.append, gettext=gettext)
        say_shift(ctx, shift_report_document(report), shift_settlement_table(report))
    assert lines[-1] == (
        f"购买序号 {sale.serial} 已在班次 {second.pk} 中修改：{format_fen(-sale.amount_fen)}"
    ), lines


def test_only_the_operator_or_an_admin_closes_a_shift(small_office):
    from prepaid.operators.models import Operator, Role

    office = small_office
    office.open(quantity="1")
    shift = open_shift_of(office.clerk, "desk-1")
    other = Operator.objects.create(username="other-clerk", role=Role.OPERATOR)
    with pytest.raises(PrepaidError) as refused:
        close_shift(other, "desk-1", counted_cash="45", shift_id=shift.pk)
    assert refused.value.code == "not_your_shift"
    with pytest.raises(InvalidInput):
        close_shift(office.clerk, "desk-1", counted_cash="abc")
    with pytest.raises(InvalidInput):
        close_shift(office.clerk, "desk-1", counted_cash="-1")
    settlement = close_shift(office.admin, "desk-9", counted_cash="45", shift_id=shift.pk)
    assert settlement.closed_by == office.admin and settlement.variance_fen == 0
    # closed now: someone else is still told it is not theirs (permission first), and so
    # whatever they typed
    for counted in ("45", "abc"):
        with pytest.raises(PrepaidError) as refused:
            close_shift(other, "desk-1", counted_cash=counted, shift_id=shift.pk)
        assert refused.value.code == "not_your_shift"
    with pytest.raises(PrepaidError) as refused:
        close_shift(office.clerk, "desk-1", counted_cash="45", shift_id=shift.pk)
    assert refused.value.code == "shift_closed"

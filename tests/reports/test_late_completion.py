"""Whose shift a sale completed later belongs to: the one it was sold in (its operator took
the money) while that shift is open, whoever completes it and wherever; once that shift is
closed, the completing operator's current shift, whose report names it as a sale of an
earlier shift completed there. The reports and the ledger agree either way."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import translation

from prepaid.cli.report import say_shift
from prepaid.core.money import format_fen
from prepaid.reports.shifts import (
    close_shift,
    open_shift_of,
    shift_report,
    shift_report_document,
    shift_settlement_table,
    shift_totals,
)
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Purchase, Shift
from prepaid.vending.settled import telling_settled

pytestmark = pytest.mark.django_db


class _Killed(BaseException):
    """The station's process dies before the card is written: the sale stays pending."""


class _KilledBeforeWrite:
    def __init__(self, reader) -> None:
        self.reader = reader

    def __getattr__(self, name):
        return getattr(self.reader, name)

    def write(self, data: bytes, offset: int = 0) -> None:
        raise _Killed


class _KilledAfterWrite(_KilledBeforeWrite):
    def write(self, data: bytes, offset: int = 0) -> None:
        self.reader.write(data, offset)
        raise _Killed


def _pending_sale_of_the_clerk(office, killed_by=_KilledBeforeWrite) -> Purchase:
    """The clerk at desk-1 takes the money for 1 GJ; the station dies writing the card."""
    office.open(quantity="4")
    office.swipe()
    killed = office.station()
    with pytest.raises(_Killed):
        vending.sell(
            replace(killed, reader=killed_by(killed.reader)),
            quantity="1",
            key=office.key(),
        )
    # the package's demo office has pending sales of its own
    return Purchase.objects.get(
        status=Purchase.Status.PENDING, customer_account__customer=office.customer
    )


def _report(shift):
    return shift_report(Shift.objects.select_related("operator").get(pk=shift.pk))


def _ledger_fen(shift) -> int:
    return sum(LedgerEntry.objects.filter(shift=shift).values_list("amount_fen", flat=True))


def _slip(shift) -> list[str]:
    report = _report(shift)
    lines: list[str] = []
    with translation.override("zh-hans"):
        ctx = SimpleNamespace(
            say=lines.append, gettext=translation.gettext, ngettext=translation.ngettext
        )
        say_shift(ctx, shift_report_document(report), shift_settlement_table(report))
    return lines


def test_an_admin_completing_a_sale_of_an_open_shift_books_it_in_that_shift(small_office):
    office = small_office
    pending = _pending_sale_of_the_clerk(office)
    clerk_shift = open_shift_of(office.clerk, "desk-1")
    assert pending.shift_id == clerk_shift.pk
    vending.resolve_lost_card(office.station(office.admin, "desk-9"), pending.pk, "complete")
    entry = LedgerEntry.objects.get(purchase=pending, kind=LedgerEntry.Kind.SALE)
    assert (entry.shift_id, entry.operator_id, entry.station) == (
        clerk_shift.pk,
        office.clerk.pk,
        "desk-1",
    )
    admin_shift = open_shift_of(office.admin, "desk-9")
    assert admin_shift is None or _ledger_fen(admin_shift) == 0
    report = _report(clerk_shift)
    assert report.takings_fen == _ledger_fen(clerk_shift) == 5 * pending.amount_fen
    assert not report.completed_from_earlier and not report.completed_later
    assert not report.pending


def test_the_card_read_at_another_station_completes_the_sale_in_its_open_shift(small_office):
    office = small_office
    pending = _pending_sale_of_the_clerk(office, _KilledAfterWrite)  # the card carries it
    clerk_shift = open_shift_of(office.clerk, "desk-1")
    # the card read at the admin's desk-9 finishes the pending sale
    vending.read_user_card(office.station(office.admin, "desk-9"))
    entry = LedgerEntry.objects.get(purchase=pending, kind=LedgerEntry.Kind.SALE)
    assert (entry.shift_id, entry.operator_id) == (clerk_shift.pk, office.clerk.pk)


def test_a_sale_completed_after_its_shift_closed_is_named_by_both_shifts(client, small_office):
    office = small_office
    pending = _pending_sale_of_the_clerk(office)
    clerk_shift = open_shift_of(office.clerk, "desk-1")
    # the clerk counts the drawer: the 4 GJ opening and the 1 GJ whose card was not written
    settlement = close_shift(office.clerk, "desk-1", counted_cash=format_fen(5 * 4500))
    assert settlement.variance_fen == pending.amount_fen  # the pending sale's money
    admin = office.station(office.admin, "desk-9")
    vending.resolve_lost_card(admin, pending.pk, "complete")
    admin_shift = open_shift_of(office.admin, "desk-9")
    entry = LedgerEntry.objects.get(purchase=pending, kind=LedgerEntry.Kind.SALE)
    assert (entry.shift_id, entry.operator_id) == (admin_shift.pk, office.admin.pk)
    # the closed settlement did not change, and still equals its ledger
    closed = _report(clerk_shift)
    assert closed.takings_fen == _ledger_fen(clerk_shift) == settlement.takings_fen
    assert [e.pk for e in closed.completed_later] == [entry.pk]
    later = shift_report_document(closed)["completed_in_later_shifts"]
    assert later == [
        {
            "entry": entry.pk,
            "purchase": pending.pk,
            "serial": pending.serial,
            "user_number": office.customer.user_number,
            "amount": "45.00",
            "payment": "cash",
            "shift": admin_shift.pk,
            "operator": "office-admin",
        }
    ]
    # the admin's shift takes it, and says whose drawer has the money
    report = _report(admin_shift)
    assert report.takings_fen == _ledger_fen(admin_shift) == shift_totals(admin_shift).takings_fen
    assert report.takings_fen == pending.amount_fen
    earlier = shift_report_document(report)["completed_from_earlier_shifts"]
    assert [(i["entry"], i["original_shift"], i["original_operator"]) for i in earlier] == [
        (entry.pk, clerk_shift.pk, "office-clerk")
    ]
    user = office.customer.user_number
    assert (
        f"本班次完成的以前班次销售：用户 {user} 的购买序号 {pending.serial}，45.00"
        f"（由 office-clerk 在班次 {clerk_shift.pk} 中售出）"
    ) in _slip(admin_shift)
    assert (
        f"本班次交班后才完成的销售：用户 {user} 的购买序号 {pending.serial}，45.00"
        f"（计入 office-admin 的班次 {admin_shift.pk}）"
    ) in _slip(clerk_shift)
    # the web's shift pages say the same
    client.force_login(office.admin)
    page = client.get(reverse("reports:shift", args=[admin_shift.pk])).content.decode()
    assert (
        f"用户 {user} 的购买序号 {pending.serial}：45.00"
        f"（由 office-clerk 在班次 {clerk_shift.pk} 中售出，款在其钱箱中）"
    ) in page
    page = client.get(reverse("reports:shift", args=[clerk_shift.pk])).content.decode()
    assert (
        f"用户 {user} 的购买序号 {pending.serial}：45.00，计入 office-admin 的班次 {admin_shift.pk}"
    ) in page


def test_a_sale_voided_by_a_read_at_another_station_is_listed_by_its_shift(
    client, small_office, monkeypatch
):
    """The card never got the clerk's sale; read at the admin's desk after the sale could
    still be running, it is voided and nothing is booked. The clerk's settlement lists it, so
    the drawer's difference (the customer paid at desk-1) is explained."""
    from datetime import timedelta

    office = small_office
    pending = _pending_sale_of_the_clerk(office)  # killed before the write
    clerk_shift = open_shift_of(office.clerk, "desk-1")
    monkeypatch.setattr(vending, "IN_FLIGHT", timedelta(0))
    told = []
    with telling_settled(told.append):
        vending.read_user_card(office.station(office.admin, "desk-9"))
    (settled,) = told
    assert (settled.outcome, settled.purchase_id) == ("voided", pending.pk)
    assert not LedgerEntry.objects.filter(purchase=pending).exists()
    settlement = close_shift(office.clerk, "desk-1", counted_cash=format_fen(5 * 4500))
    assert settlement.variance_fen == pending.amount_fen

    report = _report(clerk_shift)
    assert [p.pk for p in report.voided] == [pending.pk]
    (voided,) = shift_report_document(report)["voided"]
    assert {k: voided[k] for k in ("purchase", "serial", "user_number", "amount", "payment")} == {
        "purchase": pending.pk,
        "serial": pending.serial,
        "user_number": office.customer.user_number,
        "amount": "45.00",
        "payment": "cash",
    }
    user = office.customer.user_number
    line = f"已作废，未记账：用户 {user} 的第 {pending.pk} 号购买（序号 {pending.serial}），45.00"
    assert any(text.startswith(line) for text in _slip(clerk_shift)), _slip(clerk_shift)
    assert open_shift_of(office.admin, "desk-9") is None  # the void booked nothing there
    client.force_login(office.admin)
    page = client.get(reverse("reports:shift", args=[clerk_shift.pk])).content.decode()
    assert (
        f"用户 {user} 的第 {pending.pk} 号购买（序号 {pending.serial}）：45.00，"
        "没有写入卡片，已作废"
    ) in page

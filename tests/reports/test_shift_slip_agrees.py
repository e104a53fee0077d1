"""The terminal's settlement slip (``prepaid report shift``, ``prepaid shift close``) says
everything the web's shift page says: the meter-change transfers (no money), the sales still
pending, who closed the shift and the remarks — not only the takings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import translation

from prepaid.cli.report import say_shift
from prepaid.reports.shifts import (
    close_shift,
    open_shift_of,
    shift_report,
    shift_report_document,
    shift_settlement_table,
)
from prepaid.vending import services as vending

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


def _slip(shift, language: str = "zh-hans") -> list[str]:
    from prepaid.vending.models import Shift

    report = shift_report(Shift.objects.select_related("operator").get(pk=shift.pk))
    lines: list[str] = []
    with translation.override(language):
        ctx = SimpleNamespace(
            say=lines.append, gettext=translation.gettext, ngettext=translation.ngettext
        )
        say_shift(ctx, shift_report_document(report), shift_settlement_table(report))
    return lines


def test_the_slip_names_transfers_pending_sales_who_closed_and_the_remarks(small_office):
    from dataclasses import replace

    office = small_office
    office.open(quantity="4")
    office.swipe()
    killed = office.station()
    killed = replace(killed, reader=_KilledBeforeWrite(killed.reader))
    with pytest.raises(_Killed):
        vending.sell(killed, quantity="1", key=office.key())
    clerk_shift = open_shift_of(office.clerk, "desk-1")
    close_shift(
        office.admin, "desk-9", counted_cash="180", remarks="抽屉已清点", shift_id=clerk_shift.pk
    )
    slip = _slip(clerk_shift)
    assert "  交班人：office-admin" in slip, slip
    assert "  备注：抽屉已清点" in slip, slip
    assert "本班次有 1 笔销售仍未完成（未写卡，或此后再未读到该卡）。" in slip, slip
    english = _slip(clerk_shift, "en")
    assert "  Closed by: office-admin" in english, english
    assert "1 sale of this shift is still pending (card not written or not seen since)." in english

    vending.sell(office.station(), quantity="1", key=office.key())  # finishes the pending one
    office.swipe()
    vending.meter_change(office.station(office.admin, "desk-9"), remaining="3", key=office.key())
    admin_shift = open_shift_of(office.admin, "desk-9")
    slip = _slip(admin_shift)
    assert "1 笔换表转移（不涉及金额）。" in slip, slip
    assert not any("交班人" in line or "备注" in line for line in slip)

"""Swipes seen through write-back: each meter record on a card is stored once, with what the
office had credited up to the serial the meter applied. Vending's read of a user card records
them (the ``user_card_read`` signal, received in ``ReportsConfig.ready``)."""

from __future__ import annotations

import pytest
from django.utils import translation

from prepaid.audit.models import AuditEntry
from prepaid.core.card.model import MeterStatus
from prepaid.reports.models import WriteBackObservation
from prepaid.reports.writebacks import record_write_backs
from prepaid.vending import cardio
from prepaid.vending import services as vending

pytestmark = pytest.mark.django_db


def _read(office):
    office.store.insert("user")
    read = cardio.read(office.station().reader, office.site_key)
    return vending.read_user_card(office.station()).record, read.card


def test_each_record_is_stored_once_with_credit_and_flags(small_office):
    office = small_office
    office.store.insert("user")
    opened = vending.open_account(
        office.station(),
        office.customer,
        office.account,
        office.price,
        quantity="4",
        key=office.key(),
    )
    record, card = _read(office)
    assert record_write_backs(record, card) == 0  # not swiped yet: nothing written back
    office.swipe()
    record, card = _read(office)  # vending's read recorded the record
    assert record_write_backs(record, card, operator=office.clerk, station="desk-1") == 0
    WriteBackObservation.objects.all().delete()
    assert record_write_backs(record, card, operator=office.clerk, station="desk-1") == 1
    assert record_write_backs(record, card) == 0  # the same record seen again
    observation = WriteBackObservation.objects.get(customer=office.customer)
    assert (observation.last_serial, observation.credited_centi, observation.meter_segment) == (
        1,
        opened.quantity_centi,
        0,
    )
    assert observation.balance_centi == 200 + 400  # pre-stored + the first purchase
    assert observation.account == office.account
    observed = AuditEntry.objects.filter(action="write_back.observe", object_id=str(record.pk))
    assert observed.count() == 2
    # the log names the meter type, so that the log shows the quantities in its unit
    from prepaid.audit.log import changes_label

    (written,) = observed.order_by("id").last().after["records"]
    assert (written["meter_type"], written["balance_centi"]) == ("heat", 600)
    with translation.override("zh-hans"):
        shown = changes_label("vending.customercard", None, observed.order_by("id").last().after)
    assert "表计回写：子表号 4：余量 6.00 GJ，累计用量 0.00 GJ，购买序号 1，表计时间 " in shown
    assert "balance_centi" not in shown

    office.meter.use(80, office.meter.clock + 10)  # stays above the alarm level
    office.meter.tamper(office.meter.clock + 20)
    sale = vending.sell(office.station(), quantity="1", key=office.key())
    office.swipe()
    record, card = _read(office)
    assert record_write_backs(record, card) == 0
    latest = WriteBackObservation.objects.filter(customer=office.customer).order_by("id").last()
    assert latest.last_serial == 2
    assert latest.credited_centi == opened.quantity_centi + sale.quantity_centi
    assert latest.cumulative_centi == 80
    assert MeterStatus(latest.status) & MeterStatus.TAMPER
    # The identity the use-vs-purchases rule checks holds for an honest meter:
    first = WriteBackObservation.objects.filter(customer=office.customer).order_by("id").first()
    use = latest.cumulative_centi - first.cumulative_centi
    assert use == (latest.credited_centi - first.credited_centi) - (
        latest.balance_centi - first.balance_centi
    )


def test_each_reading_stores_what_it_leaves_unexplained(small_office):
    office = small_office
    office.open(quantity="4")
    office.swipe()
    _read(office)
    office.meter.use(50, office.meter.clock + 10)
    sale = vending.sell(office.station(), quantity="2", key=office.key())
    office.swipe()
    _read(office)
    honest = WriteBackObservation.objects.filter(customer=office.customer).order_by("id")
    assert [(o.use_centi, o.unexplained_centi) for o in honest] == [(0, 0), (50, 0)]
    assert sale.quantity_centi == 200

    office.meter.balance_centi += 1500  # credit from nowhere: a doctored meter
    office.meter.use(30, office.meter.clock + 10)
    vending.sell(office.station(), quantity="1", key=office.key())
    office.swipe()
    _read(office)
    latest = WriteBackObservation.objects.filter(customer=office.customer).order_by("id").last()
    assert (latest.use_centi, latest.unexplained_centi) == (30, 1500)


def test_a_voided_meter_change_does_not_start_a_new_meter(small_office, monkeypatch):
    """A meter change whose card was never written is voided: the customer keeps the old
    meter, whose next readings are compared with its earlier ones as before, and the
    customer's history shows no meter change."""
    from prepaid.core.errors import ReaderError
    from prepaid.reports.services import customer_history

    office = small_office
    office.open(quantity="4")
    office.swipe()
    _read(office)

    def card_pulled(*args, **kwargs):
        raise ReaderError("card_removed", "pulled")

    with monkeypatch.context() as patch:
        patch.setattr(cardio, "write_office_area", card_pulled)
        with pytest.raises(ReaderError):
            vending.meter_change(
                office.station(office.admin), remaining="6", reason="broken", key=office.key()
            )
    transfer = vending.Purchase.objects.get(
        kind="transfer", customer_account__customer=office.customer
    )
    assert transfer.status == "voided" and transfer.serial == 2

    office.meter.use(50, office.meter.clock + 10)
    sale = vending.sell(office.station(), quantity="1", key=office.key())
    assert sale.serial == 2  # the voided transfer's serial, on the old meter
    office.swipe()
    _read(office)
    latest = WriteBackObservation.objects.filter(customer=office.customer).order_by("id").last()
    assert latest.last_serial == 2
    assert latest.meter_segment == 0
    assert (latest.use_centi, latest.unexplained_centi) == (50, 0)
    events = [row["event_code"] for row in customer_history(office.customer).rows]
    assert "meter_change" not in events

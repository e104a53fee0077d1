"""A purchase left pending by a station killed between its two phases, settled by a read of
the card at another station: the read tells what it settled to whoever listens
(``telling_settled``), and the audit says where and why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prepaid.audit.models import AuditEntry
from prepaid.readers.virtual import VirtualReader
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Purchase
from prepaid.vending.settled import notice, telling_settled


class _Killed(BaseException):
    """The station's process dies here."""


class _KilledAt(VirtualReader):
    """Counter 1's reader: its station dies before (``before``) or after (``after``) the card
    write of its sale, the purchase left pending."""

    def __init__(self, store, step: str) -> None:
        super().__init__(store)
        self.step = step

    def write(self, data: bytes, offset: int = 0) -> None:
        if self.step == "after":
            super().write(data, offset)
        raise _Killed


def _counter(office, name: str, operator, reader=None) -> vending.Station:
    return vending.Station(
        operator=operator,
        reader=reader or office.station.reader,
        site_key=office.site_key,
        name=name,
    )


def crashed_sale(office, key, clerk, step: str) -> Purchase:
    """Counter 1 (the clerk) opens the customer's account, the card is swiped, then a sale of
    2 m³ there dies at ``step`` of its card write: its purchase stays pending."""
    counter_1 = _counter(office, "counter-1", clerk)
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        counter_1, office.customer, office.account, office.price, quantity="1", key=key()
    )
    office.swipe(meter)
    with pytest.raises(_Killed):
        vending.sell(
            _counter(office, "counter-1", clerk, _KilledAt(office.store, step)),
            quantity="2",
            key=key(),
        )
    (pending,) = Purchase.objects.filter(status="pending")
    return pending


@pytest.fixture
def past_in_flight(monkeypatch):
    monkeypatch.setattr(vending, "IN_FLIGHT", timedelta(0))


@pytest.mark.django_db
def test_a_read_at_another_station_voids_and_says_so(office, key, clerk, past_in_flight):
    pending = crashed_sale(office, key, clerk, "before")
    counter_2 = _counter(office, "counter-2", office.station.operator)
    told = []
    with telling_settled(told.append):
        vending.read_user_card(counter_2)

    (settled,) = told
    assert settled.outcome == "voided"
    assert (settled.purchase_id, settled.serial, settled.kind) == (pending.pk, 2, "purchase")
    assert (settled.quantity_centi, settled.amount_fen, settled.unit) == (200, 690, "m³")
    assert (settled.station, settled.operator) == ("counter-1", clerk.username)
    assert settled.began_at == pending.created_at
    assert settled.shift_id is None
    assert settled.document()["amount"] == "6.90"
    assert not LedgerEntry.objects.filter(purchase_id=pending.pk).exists()
    audit = AuditEntry.objects.get(action="sale.void", object_id=str(pending.pk))
    assert audit.station == "counter-2"
    assert audit.after["reason"] == "card does not carry it"

    text = notice(settled, lambda message: message)
    assert f"Purchase No. {pending.pk} of user" in text
    assert "serial 2, 2.00 m³, ¥6.90, station counter-1, operator clerk" in text
    assert "voided and nothing was booked" in text
    assert "sell it again at station counter-1" in text
    # read again: nothing more to settle, nothing told
    told.clear()
    with telling_settled(told.append):
        vending.read_user_card(counter_2)
    assert told == []


@pytest.mark.django_db
def test_a_read_of_a_card_that_carries_it_completes_and_says_where_booked(
    office, key, clerk, past_in_flight
):
    pending = crashed_sale(office, key, clerk, "after")
    counter_2 = _counter(office, "counter-2", office.station.operator)
    told = []
    with telling_settled(told.append):
        vending.read_user_card(counter_2)

    (settled,) = told
    assert settled.outcome == "completed"
    assert (settled.purchase_id, settled.serial, settled.amount_fen) == (pending.pk, 2, 690)
    # counter 1's shift is still open: booked there, where the money was taken
    assert (settled.shift_id, settled.shift_operator, settled.shift_station) == (
        pending.shift_id,
        clerk.username,
        "counter-1",
    )
    sale = LedgerEntry.objects.get(purchase_id=pending.pk)
    assert (sale.shift_id, sale.amount_fen) == (pending.shift_id, 690)
    audit = AuditEntry.objects.get(action="sale.complete", object_id=str(pending.pk))
    assert audit.station == "counter-2"
    assert audit.after["reason"] == vending.SETTLED_BY_READ
    text = notice(settled, lambda message: message)
    assert "is on the card: it is now booked in shift" in text
    assert f"shift {pending.shift_id} (clerk, counter-1)" in text


@pytest.mark.django_db
def test_a_sale_whose_own_read_settles_one_tells_it(office, key, clerk, past_in_flight):
    pending = crashed_sale(office, key, clerk, "before")
    counter_2 = _counter(office, "counter-2", office.station.operator)
    told = []
    with telling_settled(told.append):
        sold = vending.sell(counter_2, quantity="2", key=key())
    assert [(s.outcome, s.purchase_id) for s in told] == [("voided", pending.pk)]
    assert (sold.serial, sold.status) == (2, "completed")


@pytest.mark.django_db
def test_a_retry_that_finishes_its_own_pending_purchase_tells_it(office, key, clerk):
    """``_finish_pending``: the retried request at counter 1 itself finishes the purchase
    (the card carries it); the read that completes it is told too."""
    counter_1 = _counter(office, "counter-1", clerk)
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        counter_1, office.customer, office.account, office.price, quantity="1", key=key()
    )
    office.swipe(meter)
    retried = key()
    with pytest.raises(_Killed):
        vending.sell(
            _counter(office, "counter-1", clerk, _KilledAt(office.store, "after")),
            quantity="2",
            key=retried,
        )
    told = []
    with telling_settled(told.append):
        again = vending.sell(counter_1, quantity="2", key=retried)
    assert [(s.outcome, s.purchase_id) for s in told] == [("completed", again.pk)]

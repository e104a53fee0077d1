"""Two stations racing on one customer, interleaved deterministically.

Each test stops one station's use case at its most dangerous point (after it read the card,
before it locks the customer's account) and lets the other station act there. These are the
interleavings that several stations on one database make possible; the locking policy
(docs/locking.md) says what must happen, and these tests hold the code to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from prepaid.core.errors import PrepaidError
from prepaid.vending import services as vending
from prepaid.vending.models import CustomerCard, LedgerEntry, Purchase

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)


def next_key() -> str:
    return f"race-key-{next(_keys)}"


def opened(s) -> object:
    """The customer's card u1 opened at station one with 10.00, swiped into meter M1."""
    meter = s.meter(s.one, "M1")
    s.one.new_card("u1")
    vending.open_account(
        s.one.station, s.customer, s.account, s.price, quantity="10", key=next_key()
    )
    assert s.swipe(s.one, meter).ok
    return meter


def interleave(monkeypatch, name: str, interloper: Callable[[], None]) -> list[object]:
    """Run ``interloper`` once, the first time ``vending.<name>`` is called."""
    original = getattr(vending, name)
    ran: list[object] = []

    def hooked(*args, **kwargs):
        if not ran:
            ran.append(True)
            try:
                ran.append(interloper())
            except PrepaidError as exc:
                ran.append(exc)
        return original(*args, **kwargs)

    monkeypatch.setattr(vending, name, hooked)
    return ran


def sale_entries() -> list[tuple[str, int]]:
    return list(LedgerEntry.objects.values_list("kind", "amount_fen"))


def test_copy_of_the_card_sold_twice_second_is_refused(two_stations):
    s = two_stations
    opened(s)
    s.two.take(s.one, "u1")
    vending.sell(s.one.station, quantity="2", key=next_key())
    with pytest.raises(PrepaidError) as refused:
        vending.sell(s.two.station, quantity="3", key=next_key())
    assert refused.value.code == "card_mismatch"
    assert list(Purchase.objects.values_list("serial", "status")) == [
        (1, "completed"),
        (2, "completed"),
    ]


def test_reissue_after_the_sale_read_the_card_refuses_the_sale(two_stations, monkeypatch):
    """Station two reissues the card while station one is selling to the old one: the sale
    must not be booked on the revoked card (its credit could never reach the meter)."""
    s = two_stations
    opened(s)
    s.two.new_card("u2")
    ran = interleave(
        monkeypatch,
        "_check_limit",
        lambda: vending.reissue(s.two.station, s.customer, key=next_key()),
    )
    with pytest.raises(PrepaidError) as refused:
        vending.sell(s.one.station, quantity="7", key=next_key())
    assert isinstance(ran[1], vending.Reissue)
    assert refused.value.code == "card_revoked"
    assert not Purchase.objects.filter(serial=2).exists()
    assert sale_entries() == [("sale", 3450)]


def test_reissue_during_a_sale_card_write_is_refused(two_stations, monkeypatch):
    """Phase one committed at station one: a reissue at station two must wait for the sale."""
    s = two_stations
    opened(s)
    s.two.new_card("u2")
    ran = interleave(
        monkeypatch,
        "_write_and_complete",
        lambda: vending.reissue(s.two.station, s.customer, key=next_key()),
    )
    sale = vending.sell(s.one.station, quantity="7", key=next_key())
    assert sale.status == Purchase.Status.COMPLETED
    assert isinstance(ran[1], PrepaidError) and ran[1].code == "sale_in_progress"
    assert CustomerCard.objects.get(customer=s.customer).status == "active"


def test_corrections_on_two_copies_one_wins(two_stations, monkeypatch):
    s = two_stations
    opened(s)
    vending.sell(s.one.station, quantity="20", key=next_key())  # serial 2, not swiped
    s.two.take(s.one, "u1")
    ran = interleave(
        monkeypatch,
        "_check_limit",
        lambda: vending.correct(s.one.station, quantity="2", key=next_key()),
    )
    with pytest.raises(PrepaidError) as refused:
        vending.correct(s.two.station, quantity="3", key=next_key())
    assert isinstance(ran[1], Purchase) and ran[1].status == "completed"
    assert refused.value.code == "card_mismatch"
    assert sale_entries() == [("sale", 3450), ("sale", 6900), ("reversal", -6900), ("sale", 690)]


def test_meter_change_on_a_stale_copy_is_refused(two_stations, monkeypatch):
    s = two_stations
    opened(s)
    s.two.take(s.one, "u1")
    ran = interleave(
        monkeypatch,
        "_plan_meter_change",
        lambda: vending.sell(s.one.station, quantity="5", key=next_key()),
    )
    with pytest.raises(PrepaidError) as refused:
        vending.meter_change(s.two.station, remaining="8", key=next_key())
    assert isinstance(ran[1], Purchase) and ran[1].serial == 2
    assert refused.value.code == "card_mismatch"
    assert not Purchase.objects.filter(kind="transfer").exists()


def test_reissue_over_a_purchase_a_crashed_sale_left_pending_says_how_to_settle_it(
    two_stations, monkeypatch
):
    """A sale died after phase one (pending purchase), then the card was lost. Reissuing is
    not "still being written at another station; wait": nothing will ever finish it. The
    refusal says how to settle it; only a recent purchase of another station is in flight."""
    from datetime import timedelta

    from django.utils import timezone, translation

    s = two_stations
    opened(s)

    def crash(*args, **kwargs):
        raise RuntimeError("station killed")

    monkeypatch.setattr(vending, "_write_and_complete", crash)
    with pytest.raises(RuntimeError):
        vending.sell(s.one.station, quantity="7", key=next_key())
    monkeypatch.undo()
    pending = Purchase.objects.get(status="pending")
    s.one.new_card("u2")  # the card is lost: a new one for the reissue

    with pytest.raises(PrepaidError) as stale:
        vending.reissue(s.one.station, s.customer, key=next_key())
    assert stale.value.code == "stale_pending_purchase"
    assert f"prepaid reconcile --void {pending.pk}" in stale.value.message
    assert f"prepaid reconcile --complete {pending.pk}" in stale.value.message

    s.two.new_card("u3")  # at another station, a minute after: maybe still being written
    with pytest.raises(PrepaidError) as in_flight:
        vending.reissue(s.two.station, s.customer, key=next_key())
    assert in_flight.value.code == "sale_in_progress"
    # the card is lost: not "read the card again", but when to reissue again
    until = timezone.localtime(pending.created_at + vending.IN_FLIGHT).strftime("%H:%M:%S")
    assert "read the card" not in in_flight.value.message
    assert f"reissue again after {until}" in in_flight.value.message
    with translation.override("zh-hans"):
        chinese = in_flight.value.translate(translation.gettext)
    assert "读卡" not in chinese and f"{until} 之后再补卡" in chinese, chinese
    Purchase.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - vending.IN_FLIGHT - timedelta(seconds=1)
    )
    with pytest.raises(PrepaidError) as later:
        vending.reissue(s.two.station, s.customer, key=next_key())
    assert later.value.code == "stale_pending_purchase"
    assert CustomerCard.objects.get(customer=s.customer).status == "active"

    vending.resolve_lost_card(s.one.station, pending.pk, "void")  # as the message says
    reissued = vending.reissue(s.one.station, s.customer, key=next_key())
    assert reissued.card.slot(1).serial == 1


def test_a_sale_left_pending_at_a_stopped_station_is_refused_elsewhere_saying_until_when(
    two_stations, monkeypatch
):
    """Station one dies after phase one; the customer takes the card to station two. Within
    the minute the purchase may still be being written, so station two refuses — but "wait
    for it to finish" alone would keep the operator waiting for a station that will never
    finish. The refusal names the station and the time after which reading the card again
    settles the purchase; then it does."""
    from datetime import timedelta

    from django.utils import timezone, translation

    s = two_stations
    opened(s)

    def crash(*args, **kwargs):
        raise RuntimeError("station killed")

    monkeypatch.setattr(vending, "_write_and_complete", crash)
    with pytest.raises(RuntimeError):
        vending.sell(s.one.station, quantity="7", key=next_key())
    monkeypatch.undo()
    pending = Purchase.objects.get(status="pending")
    s.two.take(s.one, "u1")  # the customer carries the card to the other counter

    with pytest.raises(PrepaidError) as refused:
        vending.sell(s.two.station, quantity="2", key=next_key())
    assert refused.value.code == "sale_in_progress"
    until = timezone.localtime(pending.created_at + vending.IN_FLIGHT).strftime("%H:%M:%S")
    message = refused.value.message
    assert f"No. {pending.pk}" in message and "counter-1" in message and until in message
    with translation.override("zh-hans"):
        chinese = refused.value.translate(translation.gettext)
    assert "counter-1" in chinese and until in chinese and "之后" in chinese, chinese

    Purchase.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - vending.IN_FLIGHT - timedelta(seconds=1)
    )
    sold = vending.sell(s.two.station, quantity="2", key=next_key())  # read again, later
    assert (sold.status, sold.serial) == ("completed", 2)
    assert Purchase.objects.get(pk=pending.pk).status == "voided"  # the card never got it

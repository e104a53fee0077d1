"""The manual end to end through the service layer, with the meter model in the loop."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepaid.core.card import codec
from prepaid.core.errors import PrepaidError
from prepaid.core.meter import SwipeResult
from prepaid.core.money import format_centi, format_fen
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Purchase

pytestmark = pytest.mark.django_db


def _ledger_total() -> Decimal:
    total = sum(e.amount_fen for e in LedgerEntry.objects.all())
    return Decimal(total) / 100


def test_open_sell_refuse_unswiped_then_swipe_and_sell(office, key):
    meter = office.meter()
    office.new_card("u1")
    opened = vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    assert (opened.serial, opened.quantity_centi, opened.amount_fen) == (1, 1000, 3450)
    assert opened.status == Purchase.Status.COMPLETED

    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="5", key=key())
    assert refused.value.code == "card_not_swiped"

    outcome = office.swipe(meter)
    assert outcome.result is SwipeResult.OK
    assert meter.balance_centi == 500 + 1000  # pre-stored + first purchase

    sale = vending.sell(office.station, amount="19.99", key=key())
    assert sale.serial == 2
    assert sale.quantity_centi == 579  # 5.79 × 3.45 = 19.9755 → 19.98 ≤ 19.99
    assert sale.amount_fen == 1998
    assert _ledger_total() == Decimal("54.48")
    office.swipe(meter)
    assert meter.balance_centi == 1500 + 579
    assert meter.last_serial == 2


def test_correction_reverses_and_rewrites_same_serial(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    first = vending.sell(office.station, quantity="20", key=key())
    fixed = vending.correct(office.station, quantity="2", key=key())
    assert fixed.serial == first.serial == 2
    first.refresh_from_db()
    assert first.status == Purchase.Status.CORRECTED
    kinds = list(LedgerEntry.objects.values_list("kind", "amount_fen"))
    assert kinds == [("sale", 3450), ("sale", 6900), ("reversal", -6900), ("sale", 690)]
    office.swipe(meter)
    assert meter.balance_centi == 500 + 1000 + 200
    with pytest.raises(PrepaidError) as refused:
        vending.correct(office.station, quantity="3", key=key())
    assert refused.value.code == "already_swiped"


def test_limit_guard_uses_meter_write_back(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="900", key=key()
    )
    office.swipe(meter)
    assert meter.balance_centi == 90500
    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="95", key=key())
    assert refused.value.code == "over_limit"
    assert Purchase.objects.count() == 1
    sale = vending.sell(office.station, quantity="94", key=key())
    assert sale.status == Purchase.Status.COMPLETED


def test_reissue_revokes_old_card_and_never_credits_twice(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.sell(office.station, quantity="7", key=key())  # serial 2, not swiped
    old_image = office.station.reader.read()

    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, fee="5", key=key())
    assert result.record.generation == 2 and result.revoked is not None
    assert result.card.slot(1).serial == 2

    # The old card is refused in the office at once.
    office.insert("u1")
    with pytest.raises(PrepaidError) as refused:
        vending.read_user_card(office.station)
    assert refused.value.code == "card_revoked"

    # The new card must be swiped before the next sale, and credits serial 2 once.
    office.insert("u2")
    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="1", key=key())
    assert refused.value.code == "card_not_swiped"
    assert office.swipe(meter).result is SwipeResult.OK
    assert meter.balance_centi == 500 + 1000 + 700
    # The old card, swiped afterwards, is revoked in the meter and adds nothing.
    assert meter.swipe(old_image, office.site_key, office.tick()).result is SwipeResult.E05
    assert office.swipe(meter).result is SwipeResult.OK
    assert meter.balance_centi == 2200
    fees = LedgerEntry.objects.filter(kind="fee")
    assert [f.amount_fen for f in fees] == [500]


def test_meter_change_values_the_moved_quantity_in_the_tiers_it_was_bought_in(office, key):
    """On a tiered price the quantity left is the last bought this period: 用户剩余金额 prices
    it in those tiers, not all in the first one."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.tiered, quantity="170", key=key()
    )  # 170.00 at 5.00
    office.swipe(old_meter)
    vending.sell(office.station, quantity="20", key=key())  # 10.00 at 5.00, 10.00 at 7.00
    office.swipe(old_meter)
    office.meter("NEW")
    # 30.00 left on the old meter − 5.00 pre-stored = 25.00 moved: the last 25.00 bought,
    # 10.00 at 7.00 and 15.00 at 5.00
    _transfer, record = vending.meter_change(office.station, remaining="30", key=key())
    assert record.value_fen == 10_00 * 7 + 15_00 * 5 == 14500


def test_meter_change_moves_remaining_minus_prestore_plus_unswiped(office, key):
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="20", key=key()
    )
    office.swipe(old_meter)
    old_meter.use(1200, office.tick())  # 25.00 - 12.00 = 13.00 left
    office.swipe(old_meter)
    vending.sell(office.station, quantity="10", key=key())  # unswiped, carried over

    new = office.meter("NEW")  # cleared and set: balance = pre-stored 5.00
    transfer, record = vending.meter_change(
        office.station, remaining="13", reason="坏表", key=key()
    )
    assert transfer.kind == Purchase.Kind.TRANSFER and transfer.serial == 3
    assert transfer.quantity_centi == 1300 - 500 + 1000
    assert record.value_fen == 6210  # 18.00 × 3.45
    assert record.old_balance_centi == 1300

    # The old meter can never take the transfer; the new one binds and takes it once.
    assert office.swipe(old_meter).result is SwipeResult.E09
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == 500 + 1800 == 1300 + 1000
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == 2300
    sale = vending.sell(office.station, quantity="1", key=key())
    assert sale.serial == 4


def test_an_overdrawn_old_meter_passes_its_debt_to_the_new_one(office, key):
    """The old meter used 3.00 of its 5.00 overdraft (it shows −3.00): the new meter starts
    at −3.00 too, the debt not forgiven at the change; below −5.00 no meter can be."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)  # 5.00 pre-stored + 10.00
    old_meter.use(500, office.tick())  # down to the alarm level, 10.00: the valve closes
    office.swipe(old_meter)  # the card opens it again
    old_meter.use(1300, office.tick())
    assert old_meter.balance_centi == -300
    office.swipe(old_meter)

    new = office.meter("NEW")
    with pytest.raises(PrepaidError) as refused:
        vending.meter_change(office.station, remaining="-5.01", key=key())
    assert refused.value.code == "below_overdraft"
    assert not Purchase.objects.filter(kind=Purchase.Kind.TRANSFER).exists()

    transfer, record = vending.meter_change(office.station, remaining="-3", key=key())
    assert transfer.quantity_centi == -300 - 500
    assert record.remaining_centi == -300
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == -300


def test_a_meter_change_refuses_more_remaining_than_the_old_meter_wrote_back(office, key):
    """The old meter wrote 12.99 back at the card's last swipe and can only have used some
    since: 13.00 remaining would be credit made up on the new meter; 12.99 to the 0.01 is
    taken, the carried purchase on top."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)
    old_meter.use(201, office.tick())  # 15.00 - 2.01 = 12.99
    office.swipe(old_meter)
    vending.sell(office.station, quantity="0.01", key=key())  # unswiped, carried over
    new = office.meter("NEW")

    with pytest.raises(PrepaidError) as refused:
        vending.meter_change(office.station, remaining="13.00", key=key())
    assert refused.value.code == "remaining_above_meter"
    assert refused.value.params == {"remaining": "13.00", "balance": "12.99"}
    assert not Purchase.objects.filter(kind=Purchase.Kind.TRANSFER).exists()

    transfer, record = vending.meter_change(office.station, remaining="12.99", key=key())
    assert transfer.quantity_centi == 1299 - 500 + 1
    assert (record.old_balance_centi, record.carried_centi) == (1299, 1)
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == 1300


def test_a_purchase_the_meter_took_before_a_reissue_is_not_corrected_or_carried_over(office, key):
    """The reissued card has no write-back yet, but the office read the old card after the
    meter had taken serial 2: it is swiped, whatever the new card says."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)
    vending.sell(office.station, quantity="7", key=key())  # serial 2
    office.swipe(old_meter)
    vending.read_user_card(office.station)  # the office sees serial 2 applied
    office.new_card("u2")
    vending.reissue(office.station, office.customer, key=key())
    assert not vending.read_user_card(office.station).card.swiped(1)  # the card cannot tell

    with pytest.raises(PrepaidError) as refused:
        vending.correct(office.station, quantity="1", key=key())
    assert refused.value.code == "already_swiped"

    new = office.meter("NEW")
    office.insert("u2")
    transfer, record = vending.meter_change(office.station, remaining="22", key=key())
    assert record.carried_centi == 0
    assert transfer.quantity_centi == 2200 - 500  # the 7.00 is in the old meter's 22.00
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == 2200


def test_a_purchase_written_on_a_card_since_reissued_is_not_corrected(office, key):
    """The old card was lost after the meter may have taken serial 2, and the office never
    read it back: a refund would pay for credit the meter keeps. Refused, nothing written."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)
    vending.sell(office.station, quantity="7", key=key())  # serial 2
    office.swipe(old_meter)  # taken at home; the card is lost on the way back
    office.new_card("u2")
    vending.reissue(office.station, office.customer, key=key())
    image = office.station.reader.read()
    entries = LedgerEntry.objects.count()

    with pytest.raises(PrepaidError) as refused:
        vending.correct(office.station, quantity="1", key=key())
    assert refused.value.code == "reissued_since"
    assert office.station.reader.read() == image
    assert LedgerEntry.objects.count() == entries
    balance = old_meter.balance_centi
    assert office.swipe(old_meter).result is SwipeResult.OK
    assert old_meter.balance_centi == balance  # it had taken the 7.00: nothing twice


def test_a_reissued_card_still_carries_a_purchase_the_meter_never_took(office, key):
    """The old meter's display shows purchase 1 last: the admin says it did not take #2,
    which is carried over and taken once by the new meter."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)
    vending.sell(office.station, quantity="7", key=key())  # serial 2, never swiped
    office.new_card("u2")
    vending.reissue(office.station, office.customer, key=key())
    new = office.meter("NEW")
    office.insert("u2")
    transfer, record = vending.meter_change(
        office.station, remaining="15", last_taken=False, key=key()
    )
    assert record.carried_centi == 700
    assert transfer.quantity_centi == 1500 - 500 + 700
    assert record.last_taken is False
    doc = vending.meter_change_document(record)
    assert (doc["last_taken"], doc["asked_serial"], doc["carried"]) == (False, 2, "7.00")
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == 1500 + 700


def _purchase_taken_then_card_lost(office, key):
    """Purchase #2 (7.00) written on card u1 and taken by the old meter at home; u1 is lost
    before the office reads it back and reissued onto u2, in the reader."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)
    vending.sell(office.station, quantity="7", key=key())  # serial 2
    office.swipe(old_meter)  # taken at home: 5 + 10 + 7 = 22.00 on the old meter
    office.new_card("u2")
    vending.reissue(office.station, office.customer, key=key())
    return old_meter


def test_a_meter_change_asks_whether_the_old_meter_took_a_purchase_on_a_reissued_card(office, key):
    """The office cannot tell whether the old meter took #2: it refuses to guess, names the
    purchase and writes nothing."""
    from prepaid.audit.models import AuditEntry
    from prepaid.vending.models import MeterChange

    old_meter = _purchase_taken_then_card_lost(office, key)
    office.meter("NEW")
    office.insert("u2")
    user_card = vending.read_user_card(office.station)
    customer_account = user_card.customer.accounts.get(account=office.account)
    image = office.station.reader.read()
    purchases, audited = Purchase.objects.count(), AuditEntry.objects.count()

    with pytest.raises(PrepaidError) as refused:
        vending.check_meter_change(user_card, customer_account, "22")
    assert refused.value.code == "last_purchase_unknown"
    with pytest.raises(PrepaidError) as refused:
        vending.meter_change(office.station, remaining="22", key=key())
    assert refused.value.code == "last_purchase_unknown"
    assert refused.value.params == {"serial": 2, "quantity": "7.00", "unit": "m³"}
    assert "old meter's display" in refused.value.message
    assert office.station.reader.read() == image
    assert Purchase.objects.count() == purchases
    assert AuditEntry.objects.count() == audited
    assert not MeterChange.objects.exists()
    assert old_meter.last_serial == 2


def test_the_old_meter_took_the_purchase_so_it_is_not_carried_over(office, key):
    """The admin reads #2 on the old meter's display: its 22.00 already include the 7.00,
    and the new meter gets them once."""
    from prepaid.audit.models import AuditEntry

    _purchase_taken_then_card_lost(office, key)
    new = office.meter("NEW")
    office.insert("u2")
    user_card = vending.read_user_card(office.station)
    customer_account = user_card.customer.accounts.get(account=office.account)
    plan = vending.check_meter_change(user_card, customer_account, "22", last_taken=True)
    assert (plan.carried_centi, plan.transfer_centi) == (0, 2200 - 500)
    assert (plan.last_taken, plan.asked_serial) == (True, 2)

    transfer, record = vending.meter_change(
        office.station, remaining="22", last_taken=True, key=key()
    )
    assert record.carried_centi == 0 and record.last_taken is True
    assert transfer.quantity_centi == 2200 - 500
    audit = AuditEntry.objects.get(action="meter_change.record", object_id=str(record.pk))
    assert audit.after["last_taken"] is True and audit.after["asked_serial"] == 2
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == 2200  # not 29.00: the 7.00 once


def test_a_meter_change_does_not_ask_when_the_office_can_tell(office, key):
    """Not asked, and the answer ignored, when the card itself carries the purchase (its own
    write-back tells) or the last entry is swiped."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)
    vending.sell(office.station, quantity="7", key=key())  # on this card, not swiped
    office.meter("NEW")
    office.insert("u1")
    _, record = vending.meter_change(office.station, remaining="15", last_taken=True, key=key())
    assert record.carried_centi == 700  # the card says the meter did not take it
    assert record.last_taken is None
    doc = vending.meter_change_document(record)
    assert (doc["last_taken"], doc["asked_serial"]) == (None, None)


def _swipe_cut_short(office, meter) -> None:
    """The meter takes the card's purchase, and the card is pulled while the meter writes its
    record back: what the meter wrote fails its MAC."""
    outcome = meter.swipe(office.station.reader.read(), office.site_key, office.tick())
    assert outcome.ok and outcome.applied_serial
    office.station.reader.write(outcome.meter_area[:20], codec.METER_AREA.start)
    assert vending.read_user_card(office.station).card.write_back_damaged


def test_a_purchase_is_not_corrected_when_the_meter_s_record_on_the_card_is_damaged(office, key):
    """The meter took purchase 2 (7.00) but its write-back was cut: correcting it down to
    1.00 would refund 6.00 of credit the meter already holds."""
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.sell(office.station, quantity="7", key=key())
    _swipe_cut_short(office, meter)
    assert meter.last_serial == 2

    with pytest.raises(PrepaidError) as refused:
        vending.correct(office.station, quantity="1", key=key())
    assert refused.value.code == "write_back_damaged"
    assert not Purchase.objects.filter(status=Purchase.Status.CORRECTED).exists()

    office.swipe(meter)  # the meter writes its record again: now the office can tell
    with pytest.raises(PrepaidError) as refused:
        vending.correct(office.station, quantity="1", key=key())
    assert refused.value.code == "already_swiped"


def test_a_sale_or_a_recycling_says_when_the_meter_s_record_on_the_card_is_damaged(office, key):
    """The meter took purchase 2 but its write-back was cut: the card cannot show it swiped,
    so a sale and a recycling are refused as not swiped (the manual's sentence) — and say
    why the card shows no swipe, which the customer did make. A swipe writes it back."""
    from django.utils import translation

    from prepaid.cards import services as cards

    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.sell(office.station, quantity="7", key=key())
    _swipe_cut_short(office, meter)
    for attempt in (
        lambda: vending.sell(office.station, quantity="1", key=key()),
        lambda: cards.recycle_card(office.station),
    ):
        with pytest.raises(PrepaidError) as refused:
            attempt()
        assert refused.value.code == "card_not_swiped"
        with translation.override("zh-hans"):
            text = refused.value.translate(translation.gettext)
        assert text.startswith("该卡没有刷表，请刷表后再进行操作。"), text
        assert "卡上的表回写数据已损坏（表写卡时卡片被拔出）" in text, text
        assert "表还没有充入" not in text, text  # it has: the card cannot show it
    office.swipe(meter)  # the meter writes its record again
    assert vending.sell(office.station, quantity="1", key=key()).serial == 3


@pytest.mark.parametrize("taken", [True, False])
def test_a_meter_change_asks_when_the_meter_s_record_on_the_card_is_damaged(office, key, taken):
    """The old meter's write-back of the last purchase was cut, then the meter broke: only
    its display tells whether purchase 2 is in what it has left. Carrying it over when it
    is would credit it twice."""
    old_meter = office.meter("OLD")
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(old_meter)
    vending.sell(office.station, quantity="7", key=key())
    if taken:
        _swipe_cut_short(office, old_meter)  # 22.00 left, purchase 2 in it
    else:  # the swipe before the sale was cut: the meter never saw purchase 2
        office.station.reader.write(bytes(20), codec.METER_AREA.start)
        assert vending.read_user_card(office.station).card.write_back_damaged
    remaining = format_centi(old_meter.balance_centi)
    new = office.meter("NEW")

    with pytest.raises(PrepaidError) as refused:
        vending.meter_change(office.station, remaining=remaining, key=key())
    assert refused.value.code == "last_purchase_unknown"
    assert "damaged" in refused.value.message_template
    assert not Purchase.objects.filter(kind=Purchase.Kind.TRANSFER).exists()

    _transfer, record = vending.meter_change(
        office.station, remaining=remaining, last_taken=taken, key=key()
    )
    assert record.carried_centi == (0 if taken else 700)
    assert office.swipe(new).result is SwipeResult.OK
    assert new.balance_centi == 1500 + 700  # 5.00 + 10.00 + 7.00, each once


def test_idempotent_retry_charges_once(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    again = key()
    first = vending.sell(office.station, quantity="3", key=again)
    second = vending.sell(office.station, quantity="3", key=again)
    assert first.pk == second.pk
    assert LedgerEntry.objects.filter(kind="sale").count() == 2  # open + one sale


def test_tiered_price_splits_across_boundaries(office, key):
    meter = office.meter()
    office.new_card("u1")
    opened = vending.open_account(
        office.station, office.customer, office.account, office.tiered, quantity="170", key=key()
    )
    assert opened.amount_fen == 85000
    office.swipe(meter)
    sale = vending.sell(office.station, quantity="100", key=key())
    assert sale.amount_fen == 10 * 500 + 80 * 700 + 10 * 900
    assert [line["quantity"] for line in sale.tier_lines] == ["10.00", "80.00", "10.00"]


def test_reissue_retried_with_the_same_key_returns_the_first_result(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    office.new_card("u2")
    again = key()
    first = vending.reissue(office.station, office.customer, fee="5", key=again)
    second = vending.reissue(office.station, office.customer, fee="5", key=again)
    assert second.record.pk == first.record.pk and second.record.generation == 2
    assert second.fee.pk == first.fee.pk
    assert LedgerEntry.objects.filter(kind="fee").count() == 1
    assert vending.reissue_document(second) == vending.reissue_document(first)


def test_a_reissue_whose_card_write_failed_is_finished_with_its_own_fee_charged_once(office, key):
    """The card was pulled before the write: the reissue is recorded and its fee booked.
    Reissuing again onto that card (a new request) writes it and answers with that reissue."""
    from prepaid.core.errors import ReaderError
    from prepaid.readers.virtual import VirtualReader

    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.new_card("u2")
    pulled = vending.Station(
        operator=office.station.operator,
        reader=VirtualReader(office.store, cut_after=0),
        site_key=office.site_key,
        name=office.station.name,
    )
    with pytest.raises(ReaderError):
        vending.reissue(pulled, office.customer, fee="8", payment="alipay", key=key())
    office.insert("u2")
    finished = vending.reissue(office.station, office.customer, fee="8", key=key())
    assert finished.card.type.code == "user" and finished.record.generation == 2
    assert finished.fee is not None and finished.fee.amount_fen == 800
    assert vending.reissue_document(finished)["payment"] == "alipay"
    assert finished.revoked is not None and finished.revoked.generation == 1
    assert LedgerEntry.objects.filter(kind="fee").count() == 1


def test_a_reissue_document_shows_the_fee_exactly_as_the_ledger_booked_it(office, key):
    """What the CLI prints and the receipt shows of a 补卡: the cards, and the fee entry."""
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    opened = office.customer.cards.get()
    office.new_card("u2")
    result = vending.reissue(
        office.station, office.customer, fee="12.5", payment="wechat", key=key()
    )
    entry = LedgerEntry.objects.get(kind="fee", customer=office.customer)
    doc = vending.reissue_document(vending.find_reissue(result.operation.pk))
    assert doc["fee"] == format_fen(entry.amount_fen) == "12.50"
    assert (doc["fee_entry"], doc["payment"]) == (entry.pk, "wechat")
    assert doc["reissue_id"] == result.operation.pk
    assert (doc["user_number"], doc["customer"]) == (office.customer.user_number, "张三")
    assert (doc["card_serial"], doc["generation"]) == (result.record.serial, 2)
    assert (doc["revoked_serial"], doc["revoked_generation"]) == (opened.serial, 1)
    assert (doc["operator"], doc["station"]) == (office.station.operator.username, "counter-1")

    office.new_card("u3")  # a second reissue, without a fee: its own document, not the first's
    free = vending.reissue(office.station, office.customer, key=key())
    doc = vending.reissue_document(vending.reissue_of_card(office.customer, free.record.serial))
    assert (doc["fee"], doc["fee_entry"], doc["payment"]) == ("0.00", None, "")
    assert (doc["revoked_serial"], doc["revoked_generation"]) == (result.record.serial, 2)
    assert vending.reissue_of_card(office.customer, opened.serial) is None  # opened, not reissued
    with pytest.raises(PrepaidError) as unknown:
        vending.find_reissue(free.operation.pk + 1000)
    assert unknown.value.code == "unknown_reissue"


@pytest.mark.parametrize("cut", [0, 3, 40, 90])
def test_a_reissue_cut_mid_write_and_retried_with_its_key_finishes_the_card(office, key, cut):
    """The card left the reader mid-write: retried with the same key, the reissue reads the
    card and finishes writing it before it says 补卡成功, charged once."""
    from prepaid.core.card import codec
    from prepaid.core.errors import ReaderError
    from prepaid.readers.virtual import VirtualReader

    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.new_card("u2")
    cutting = vending.Station(
        operator=office.station.operator,
        reader=VirtualReader(office.store, cut_after=cut),
        site_key=office.site_key,
        name=office.station.name,
    )
    again = key()
    with pytest.raises(ReaderError):
        vending.reissue(cutting, office.customer, fee="5", key=again)
    office.insert("u2")
    retried = vending.reissue(office.station, office.customer, fee="5", key=again)
    assert retried.card.type.code == "user" and retried.record.generation == 2
    card = codec.decode(office.station.reader.read(), office.site_key)  # as the meter sees it
    assert (card.serial, card.generation) == (retried.record.serial, 2)
    assert card.slot(1).serial == 1 and card.slot(1).quantity_centi == 1000
    assert office.swipe(meter).result is SwipeResult.OK
    assert meter.balance_centi == 500 + 1000
    assert LedgerEntry.objects.filter(kind="fee").count() == 1


def test_a_reissue_retried_with_its_key_without_its_card_in_the_reader_is_refused(office, key):
    """Whether its card was written cannot be known without the card: the retry says which
    card to put in the reader, and charges nothing again."""
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.new_card("u2")
    again = key()
    first = vending.reissue(office.station, office.customer, fee="5", key=again)
    office.new_card("other")
    with pytest.raises(PrepaidError) as refused:
        vending.reissue(office.station, office.customer, fee="5", key=again)
    assert refused.value.code == "reissue_card_elsewhere"
    assert first.record.serial in str(refused.value.message)
    office.insert("u2")
    assert vending.reissue(office.station, office.customer, fee="5", key=again).record == (
        first.record
    )
    assert LedgerEntry.objects.filter(kind="fee").count() == 1

"""Acceptance of lost cards: reissue (补卡), revocation, recycling (回收) and formatting, rule
by rule of DESIGN §3 and the manual's 补卡 section, through the service layer."""

from __future__ import annotations

import pytest
from django.utils import translation

from prepaid.cards import services as cards
from prepaid.core.errors import PrepaidError
from prepaid.vending import services as vending

pytestmark = pytest.mark.django_db


def _opened(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.read_user_card(office.station)
    return meter


def test_recycling_a_card_in_use_with_credit_not_swiped_says_whose_and_which_credit(office, key):
    """The manual's sentence first, then why: the customer's card in use, and the purchase
    the meter has not taken, which recycling would lose. The code is unchanged."""
    _opened(office, key)
    vending.sell(office.station, quantity="7", key=key())
    before = office.station.reader.read()
    with pytest.raises(PrepaidError) as refused:
        cards.recycle_card(office.station)
    assert refused.value.code == "card_not_swiped"
    number = office.customer.user_number
    with translation.override("zh-hans"):
        text = refused.value.translate(translation.gettext)
    assert text.startswith("该卡没有刷表，请刷表后再进行操作")
    assert f"用户 {number} 张三" in text
    assert "子表 1，购买序号 2：7.00 m³" in text
    with translation.override("en"):
        text = refused.value.translate(translation.gettext)
    assert "sub-meter 1, purchase 2: 7.00 m³" in text
    assert office.station.reader.read() == before
    assert office.customer.cards.get().status == "active"


def _transfer_written(office, key):
    """A meter change whose transfer (serial 2, 13.00 − 5.00 = 8.00) is on the card, not yet
    swiped on the new meter; the old meter and the new one, set."""
    old_meter = _opened(office, key)
    old_meter.use(200, office.tick())  # 15.00 − 2.00 = 13.00 left
    office.swipe(old_meter)
    vending.read_user_card(office.station)
    new_meter = office.meter("NEW")
    transfer, _record = vending.meter_change(office.station, remaining="13", key=key())
    return transfer, new_meter


def test_a_reissue_records_and_says_a_transfer_the_revoked_card_still_carries(office, key):
    """Meters cannot tell a revoked card's transfer from a valid one: a set meter not yet
    bound takes it. After the new card gave it to the new meter, the lost card gives it to a
    second new meter too. The office cannot stop that, so the reissue records the transfer
    at risk (its operation, the revocation's audit entry) and says so on its result."""
    from prepaid.audit.models import AuditEntry
    from prepaid.core.meter import SwipeResult

    transfer, new_meter = _transfer_written(office, key)
    old_image = office.station.reader.read()
    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, key=key())
    at_risk = [{"sub_meter": 1, "serial": transfer.serial, "quantity": "8.00"}]
    assert vending.reissue_document(result)["transfers_at_risk"] == at_risk
    assert result.operation.details["transfers_at_risk"] == at_risk
    revoke = AuditEntry.objects.get(action="card.revoke", object_id=str(result.revoked.pk))
    assert revoke.after["transfers_at_risk"] == at_risk

    # What the warning is about: the new card's meter takes it, and a second new meter
    # takes it from the lost card as well (only recycling that card prevents it).
    assert office.swipe(new_meter).result is SwipeResult.OK
    second = office.meter("SECOND")
    assert second.swipe(old_image, office.site_key, office.tick()).result is SwipeResult.OK
    assert second.balance_centi == new_meter.balance_centi == 500 + 800


def test_a_reissue_after_the_transfer_was_taken_warns_of_nothing(office, key):
    transfer, new_meter = _transfer_written(office, key)
    office.swipe(new_meter)
    vending.read_user_card(office.station)  # the office sees the new meter took it
    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, key=key())
    assert vending.reissue_document(result)["transfers_at_risk"] == []
    assert result.card.slot(1).serial == transfer.serial


def test_a_reissue_onto_the_customer_s_own_card_in_use_says_so(office, key):
    """Not "recycle it if no longer used": the office knows it is this customer's card in
    use, and a reissue replaces a lost or broken card. Nothing changes."""
    _opened(office, key)
    before = office.station.reader.read()
    with pytest.raises(PrepaidError) as refused:
        vending.reissue(office.station, office.customer, key=key())
    assert refused.value.code == "not_a_new_card"
    with translation.override("zh-hans"):
        text = refused.value.translate(translation.gettext)
    assert "该用户正在使用的卡" in text and "回收" not in text
    assert office.station.reader.read() == before
    assert office.customer.cards.get().status == "active"

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

"""A sale refused because the last purchase is not swiped says, when the card's write-back
shows the meter refused it, what the meter showed and what to do (docs/vending.md, the
meter's display codes): after the manual's sentence, under the same code."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.utils import translation

from prepaid.core.errors import PrepaidError
from prepaid.vending import services as vending
from vending.test_rules import Unchanged

pytestmark = pytest.mark.django_db

NOT_SWIPED = "This card has not been swiped on the meter; swipe it on the meter and try again."


def _refused_by_the_meter(office, key):
    """A meter holding a purchase limit of 50 (set by other means than this account's setting
    card, whose limit is 999): it refuses (E06) a purchase the office allowed."""
    meter = office.meter()
    meter.parameters = replace(meter.parameters, limit_centi=50_00)
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)  # balance 15
    vending.read_user_card(office.station)
    vending.sell(office.station, quantity="100", key=key())
    assert office.swipe(meter).result.code == "E06"
    vending.read_user_card(office.station)  # 读卡: the refusal is seen (and recorded) once
    return meter


def _refusal(office, key) -> PrepaidError:
    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="1", key=key())
    return refused.value


def test_a_purchase_the_meter_refused_says_what_the_meter_showed(office, key):
    _refused_by_the_meter(office, key)
    before = Unchanged(office)
    refused = _refusal(office, key)
    assert refused.code == "card_not_swiped"
    assert refused.params["result"] == "E06"
    with translation.override("en"):
        message = refused.translate(translation.gettext)
    assert message.startswith(NOT_SWIPED + " The meter refused the card when it was last swiped (")
    assert message.endswith(
        ") and showed E06: The purchase would exceed the meter's purchase limit. Correct the "
        "purchase down, or let the customer use some first; then swipe the card on the meter "
        "again."
    )
    with translation.override("zh-hans"):
        message = refused.translate(translation.gettext)
    assert message.startswith("该卡没有刷表，请刷表后再进行操作。上次刷表时（")
    assert "表拒收了此卡，显示 E06：本次购买将超过表的限购量。请进行充值修改" in message
    before.check()


def test_a_purchase_never_swiped_gets_the_manuals_message_alone(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.sell(office.station, quantity="1", key=key())
    refused = _refusal(office, key)
    assert refused.code == "card_not_swiped"
    assert "result" not in refused.params
    assert refused.message == NOT_SWIPED


def test_after_a_correction_the_earlier_refusal_is_not_shown_until_the_meter_sees_it(office, key):
    """The meter refused the purchase before it was corrected down: the corrected purchase
    has not been swiped yet, so the meter has said nothing about it. Swiped and refused
    again, it has."""
    meter = _refused_by_the_meter(office, key)
    vending.correct(office.station, quantity="40", key=key())
    refused = _refusal(office, key)
    assert (refused.code, refused.message) == ("card_not_swiped", NOT_SWIPED)
    assert office.swipe(meter).result.code == "E06"  # 15 + 40 is still above 50
    assert _refusal(office, key).params["result"] == "E06"
    vending.correct(office.station, quantity="30", key=key())
    assert office.swipe(meter).ok
    assert vending.sell(office.station, quantity="1", key=key()).status == "completed"


def test_a_serial_gap_says_so(office, key):
    """E07, the other refusal a meter writes back onto its customer's card."""
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.sell(office.station, quantity="1", key=key())
    office.swipe(meter)
    vending.sell(office.station, quantity="1", key=key())
    meter.last_serial = 1  # as if purchase 2 had been applied by another meter, not this one
    assert office.swipe(meter).result.code == "E07"
    refused = _refusal(office, key)
    assert refused.params["result"] == "E07"
    with translation.override("en"):
        message = refused.translate(translation.gettext)
    assert message.startswith(NOT_SWIPED)
    assert "showed E07: A purchase is missing" in message
    assert "a new meter takes the credit only by a meter change" in message

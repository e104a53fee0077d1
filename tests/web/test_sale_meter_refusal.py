"""The sale page says why a card's last purchase is not swiped when the meter refused it."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from web_helpers import codes, html, tr

from prepaid.vending.models import Purchase

pytestmark = pytest.mark.django_db


def _meter_refuses_the_last_purchase(office) -> None:
    """A meter holding a purchase limit of 50 refuses (E06) a purchase the office allowed."""
    from prepaid.vending.services import sell
    from prepaid.web import simulator

    meter_id = office.meter()
    meters = simulator.store()
    meter = meters.load(meter_id)
    meter.parameters = replace(meter.parameters, limit_centi=50_00)
    meters.save(meter)
    office.open(quantity="10")
    assert office.swipe(meter_id).ok  # balance 15
    sell(office.station(), quantity="100", key=uuid.uuid4().hex)
    assert office.swipe(meter_id).result.code == "E06"


def test_the_sale_page_shows_what_the_meter_showed(clerk_client, office):
    _meter_refuses_the_last_purchase(office)
    read = html(clerk_client.post("/vending/sell/", {"action": "read"}))
    assert 'data-code="card_not_swiped"' in read
    assert "该卡没有刷表，请刷表后再进行操作。上次刷表时（" in read
    assert (
        "表拒收了此卡，显示 E06：" + tr("The purchase would exceed the meter's purchase limit.")
        in read
    )
    assert (
        tr(
            "Correct the purchase down, or let the customer use some first; then swipe the card "
            "on the meter again."
        )
        in read
    )
    written = clerk_client.post(
        "/vending/sell/",
        {
            "action": "write",
            "key": uuid.uuid4().hex,
            "payment": "cash",
            "basis": "quantity",
            "account": office.account.pk,
            "quantity": "1",
        },
    )
    assert "card_not_swiped" in codes(written)
    assert "显示 E06：" in html(written)
    assert Purchase.objects.count() == 2


def test_a_card_never_swiped_shows_the_manuals_message_alone(clerk_client, office):
    office.meter()
    office.open()
    read = html(clerk_client.post("/vending/sell/", {"action": "read"}))
    assert (
        tr("This card has not been swiped on the meter; swipe it on the meter and try again.")
        in read
    )
    assert "表拒收了此卡" not in read

"""Change is cash handed back: a sale by amount paid another way is charged its amount."""

from __future__ import annotations

import pytest

from prepaid.vending import services as vending

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("payment", "tendered", "change"),
    [("cash", "20.00", "0.02"), ("wechat", "19.98", "0.00"), ("bank_card", "19.98", "0.00")],
)
def test_only_cash_has_change(office, key, payment, tendered, change):
    """20 yuan at 3.45 buys 5.79 for 19.98 (5.80 would cost 20.01)."""
    office.meter()
    office.new_card("u1")
    opened = vending.open_account(
        office.station,
        office.customer,
        office.account,
        office.price,
        amount="20",
        payment=payment,
        key=key(),
    )
    assert (opened.quantity_centi, opened.amount_fen) == (579, 1998)
    doc = vending.purchase_document(opened)
    assert (doc["tendered"], doc["change"]) == (tendered, change)

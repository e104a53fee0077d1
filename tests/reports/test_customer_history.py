"""A customer's history (用户历史) played through the real services, every number checked
against the ledger, the purchases and the meter, and every details text readable."""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_DOWN, Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from prepaid.cards.services import format_card
from prepaid.core.card import codec
from prepaid.core.errors import ReaderError
from prepaid.reports import services
from prepaid.reports.exports import csv_records
from prepaid.vending import cardio
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Purchase

pytestmark = pytest.mark.django_db

UNIT_PRICE = Decimal("45.00")  # the small office's heat price (flat)


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def _read(office, name):
    office.store.insert(name)
    return vending.read_user_card(office.station())


@pytest.fixture
def history(small_office, monkeypatch):
    """Open by amount, correct it, swipe, sell, a sale whose card was pulled (voided), a
    reissue with a fee, a swipe of the new card and a meter change. Returns the office and
    what the meter showed at each swipe."""
    office = small_office
    office.open(amount="100")
    vending.correct(office.station(), quantity="3", key=office.key())
    seen = []
    office.swipe()
    seen.append((office.meter.balance_centi, office.meter.cumulative_centi))
    _read(office, "user")
    office.meter.use(50, office.meter.clock + 10)
    vending.sell(office.station(), quantity="1", payment="wechat", key=office.key())
    office.swipe()
    seen.append((office.meter.balance_centi, office.meter.cumulative_centi))
    _read(office, "user")

    def card_pulled(*args, **kwargs):
        raise ReaderError("card_removed", "pulled")

    with monkeypatch.context() as patch:
        patch.setattr(cardio, "write_office_area", card_pulled)
        with pytest.raises(ReaderError):
            vending.sell(office.station(), quantity="2", key=office.key())
    _read(office, "user")  # the card never got the sale: voided

    office.store.create("user2", codec.blank_image())
    office.store.insert("user2")
    format_card(office.station(office.admin))
    vending.reissue(office.station(), office.customer, fee="10", key=office.key())
    office.swipe()
    seen.append((office.meter.balance_centi, office.meter.cumulative_centi))
    _read(office, "user2")
    vending.meter_change(  # all the old meter wrote back, 5.50: it cannot have more
        office.station(office.admin), remaining="5.5", reason="表坏", key=office.key()
    )
    return office, seen


def test_every_purchase_with_its_status_and_the_correction_with_its_reversal(history):
    office, _seen = history
    table = services.customer_history(office.customer, page_size=None)
    rows = list(table.rows)
    purchases = {r["purchase_id"]: r for r in rows if "purchase_id" in r}
    stored = Purchase.objects.filter(customer_account__customer=office.customer)
    assert set(purchases) == {p.pk for p in stored}
    for p in stored:
        assert purchases[p.pk]["status_code"] == p.status
        assert purchases[p.pk]["quantity"] == p.quantity_centi
    assert {p.status for p in stored} == {"completed", "corrected", "voided"}

    # The opening by amount: the largest quantity 100.00 pays for at 45.00.
    opening = next(r for r in rows if r["event_code"] == "purchase" and r["serial"] == 1)
    quantity = (Decimal("100") / UNIT_PRICE).quantize(Decimal("0.01"), ROUND_DOWN)
    assert opening["quantity"] == fen(str(quantity)) == 2_22
    assert opening["amount"] == fen(str(quantity * UNIT_PRICE)) == 99_90
    assert opening["status_code"] == "corrected"

    correction = next(r for r in rows if r["event_code"] == "correction")
    assert correction["corrects_id"] == opening["purchase_id"]
    assert (correction["quantity"], correction["amount"]) == (3_00, fen(str(3 * UNIT_PRICE)))
    assert "修改购买序号 1（原 2.22，金额 99.90）" in correction["details"]

    reversal = next(r for r in rows if r["event_code"] == "reversal")
    assert reversal["reverses_purchase_id"] == opening["purchase_id"]
    assert (reversal["quantity"], reversal["amount"]) == (-2_22, -99_90)
    assert reversal["serial"] == 1 and "冲正购买序号 1" in reversal["details"]

    voided = next(r for r in rows if r.get("status_code") == "voided")
    assert (voided["quantity"], voided["amount"]) == (2_00, fen(str(2 * UNIT_PRICE)))
    assert "未收费" in voided["details"]

    fee = next(r for r in rows if r["event_code"] == "fee")
    assert fee["amount"] == 10_00 and fee["details"] == "补卡费 · 现金"


def test_totals_are_the_ledger_and_the_column_adds_up_to_them(history):
    office, _seen = history
    table = services.customer_history(office.customer, page_size=None)
    rows = list(table.rows)
    ledger = LedgerEntry.objects.filter(
        customer=office.customer, kind__in=("sale", "reversal", "fee")
    )
    money = sum(e.amount_fen for e in ledger)
    credit = sum(e.quantity_centi for e in ledger if e.kind != "fee")
    # From the inputs alone: 3 (corrected opening) + 1 sold, at 45.00, and a 10.00 fee.
    assert money == fen(str(4 * UNIT_PRICE + 10)) == 190_00
    assert credit == 4_00
    assert table.totals["amount"] == money
    # one account (heat): its quantity is a plain number, in its unit
    assert (table.totals["quantity"].single, table.totals["unit"]) == (credit, "GJ")
    booked = [r for r in rows if r.get("booked")]
    assert sum(r["amount"] for r in booked) == money
    assert sum(r["quantity"] for r in booked if r["event_code"] != "fee") == credit
    # Each ledger entry is one row: the sales through their purchases, the rest as themselves.
    sales = {e.purchase_id: e for e in ledger if e.kind == "sale"}
    for r in booked:
        if "purchase_id" in r:
            assert r["amount"] == sales[r["purchase_id"]].amount_fen
    assert len(booked) == ledger.count()


def test_swipes_meter_change_and_card_operations(history):
    office, seen = history
    rows = list(services.customer_history(office.customer, sort="time", page_size=None).rows)
    swipes = [r for r in rows if r["event_code"] == "swipe"]
    assert [(r["balance"], r["cumulative"]) for r in swipes] == seen
    # The meter's own arithmetic: prestore 2.00 + 3.00, 0.50 used, + 1.00; the reissued
    # card's swipe adds nothing (same serial).
    assert seen == [(5_00, 0), (5_50, 50), (5_50, 50)]
    # at or below the alarm level (5.00) the meter writes its alarm flag back
    assert [r["details"] for r in swipes] == ["正常 · 报警", "正常", "正常"]
    assert [r["serial"] for r in swipes] == [1, 2, 2]

    change = next(r for r in rows if r["event_code"] == "meter_change")
    assert (change["balance"], change["cumulative"]) == seen[-1]
    assert "旧表剩余 5.50 − 预存量 2.00 + 未刷表购买 0.00 = 转入 3.50" in change["details"]
    assert "按当前价格计 157.50" in change["details"] and "原因：表坏" in change["details"]
    assert change.get("amount") is None  # a value, not money taken
    transfer = next(r for r in rows if r["event_code"] == "transfer")
    assert (transfer["quantity"], transfer["amount"], transfer["serial"]) == (3_50, None, 3)
    # the card operations report gives the quantity moved in the account's unit (heat: GJ)
    cards = services.card_operations(services.Filters(), page_size=None).rows
    mine = [r for r in cards if r["user_number"] == office.customer.user_number]
    assert [r["details"] for r in mine if "转入新表" in r["details"]] == [
        "转入新表 3.50 GJ · 原因：表坏"
    ]
    with translation.override("en"):
        cards = services.card_operations(services.Filters(), page_size=None).rows
        mine = [r for r in cards if r["user_number"] == office.customer.user_number]
        assert any(r["details"].startswith("3.50 GJ moved to the new meter") for r in mine)

    codes = [r["event_code"] for r in rows]
    assert codes.count("format") == 2  # both of the customer's cards were made here
    assert codes.index("format") < codes.index("purchase") < codes.index("open")
    assert codes.index("correction") < codes.index("reversal")
    reissue = next(r for r in rows if r["event_code"] == "reissue")
    assert "代次 2" in reissue["details"] and "作废" in reissue["details"]
    times = [r["time"] for r in rows]
    assert times == sorted(times)


def test_details_are_readable_in_chinese_and_english(history):
    office, _seen = history
    raw = ("ok", "previous", "reissue fee", "gen ", "_")
    key_value = re.compile(r"\w=\w")  # previous=blank, purchase=20
    rows = list(services.customer_history(office.customer, page_size=None).rows)
    for row in rows:
        assert not any(token in row["details"] for token in raw), row
        assert not key_value.search(row["details"]), row
    cards = list(services.card_operations(services.Filters(), page_size=None).rows)
    assert any("上次：空白卡" in r["details"] for r in cards)
    assert any("含首次充值" in r["details"] for r in cards)  # no record id shown
    assert not any("#" in r["details"] for r in cards)
    for row in cards:
        assert not key_value.search(row["details"]), row
    with translation.override("en"):
        rows = list(services.customer_history(office.customer, page_size=None).rows)
        details = " | ".join(r["details"] for r in rows)
        assert "Corrects purchase serial 1 (was 2.22 for 99.90)" in details
        assert "Reverses the sale of purchase serial 1" in details
        assert "Reissue fee · Cash" in details and "Accepted" in details
        assert "before: Blank card" in details
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in details.replace("表坏", ""))


def test_export_and_web_page_show_the_same_history(history, client):
    office, _seen = history
    table = services.customer_history(office.customer, page_size=None)
    records = list(csv_records(table))
    assert records[0][:7] == ["时间", "事件", "账户", "购买序号", "充值量", "单位", "金额"]
    events = [r[1] for r in records[1:-1]]
    assert {"购买", "充值修改", "冲正", "费用", "刷表回读", "开户", "补卡", "换表卡调整"} <= set(
        events
    )
    assert records[-1][4:7] == ["4.00", "GJ", "190.00"]
    text = io.StringIO()
    csv.writer(text).writerows(records)
    assert "-99.90" in text.getvalue()

    client.force_login(office.clerk)
    response = client.get(reverse("reports:customer", args=[office.customer.user_number]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "冲正购买序号 1",
        "修改购买序号 1（原 2.22，金额 99.90）",
        "已作废",
        "补卡费",
        "正常",
    ):
        assert text in page

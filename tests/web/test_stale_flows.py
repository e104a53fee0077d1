"""Stale pages: what another window or another station changed between the confirm step and
写卡. The operator is never charged or credited anything but what the confirm step showed:
写卡 either writes exactly that, or is refused in the operator's language and changes
nothing — no purchase, no ledger entry, no audit entry, not a byte of the card."""

from __future__ import annotations

import re
from typing import Any

import pytest
from web_helpers import codes, html, tr

from prepaid.audit.models import AuditEntry
from prepaid.vending.models import CustomerCard, LedgerEntry, MeterChange, Purchase, Shift

pytestmark = pytest.mark.django_db

SELL, CORRECT, CHANGE = "/vending/sell/", "/vending/correct/", "/vending/meter-change/"


def _key(page: Any) -> str:
    return re.search(r'name="key" value="([0-9a-f]{32})"', html(page)).group(1)


def _confirmed(page: Any) -> str:
    """The confirm step's record of what it showed, which its 写卡 posts back (none: the
    tests of a change that must refuse the write fail)."""
    found = re.search(r'name="confirmed" value="([^"]+)"', html(page))
    return found.group(1) if found else ""


def _confirm(client: Any, path: str, **typed: Any) -> dict[str, Any]:
    """读卡, then the confirm step of ``typed``: the 写卡 form it shows, ready to post."""
    data = {"key": _key(client.post(path, {"action": "read"})), **typed}
    review = client.post(path, {**data, "action": "review"})
    assert 'data-testid="confirm"' in html(review), codes(review)
    return {**data, "confirmed": _confirmed(review), "action": "write"}


def _sale(office: Any, **typed: Any) -> dict[str, Any]:
    fields = {"quantity": "10", "amount": "", "basis": "quantity", "payment": "cash"}
    return {"account": office.account.pk, **fields, **typed}


def _elsewhere(office: Any, operator: Any = None, name: str = "counter-2") -> Any:
    """Another station on the same database; the customer's card is taken there and back."""
    from prepaid.readers.virtual import VirtualReader
    from prepaid.vending.services import Station

    return Station(
        operator=operator or office.admin,
        reader=VirtualReader(office.store),
        site_key=office.site_key,
        name=name,
    )


def _state(office: Any) -> tuple[Any, ...]:
    """Everything a refused 写卡 must leave as it was. Reading the card again records what
    the meters wrote back on it, as every 读卡 does (``write_back.observe``): what the office
    learns, not a change the write makes."""
    cards = {path.name: path.read_bytes() for path in sorted(office.store.root.glob("*"))}
    return (
        list(Purchase.objects.order_by("id").values_list("id", "serial", "status")),
        list(LedgerEntry.objects.order_by("id").values_list("id", "kind", "amount_fen")),
        list(CustomerCard.objects.order_by("id").values_list("serial", "status")),
        list(Shift.objects.order_by("id").values_list("id", "closed_at")),
        list(MeterChange.objects.values_list("id", flat=True)),
        list(AuditEntry.objects.exclude(action="write_back.observe").values_list("action")),
        cards,
    )


def _ready(office: Any, quantity: str = "10") -> None:
    """张三 opened on the flat price (¥3.45/m³) with card u1, swiped on meter M1."""
    office.meter()
    office.open(quantity=quantity)
    office.swipe()


# -- 1. the price adjusted (价格调整) or modified (修改) between the confirm step and 写卡 -----


@pytest.mark.parametrize(
    ("typed", "now"),
    [
        ({"quantity": "10", "basis": "quantity"}, {"quantity": "10.00", "amount": "50.00"}),
        ({"amount": "34.50", "basis": "amount"}, {"quantity": "6.90", "amount": "34.50"}),
    ],
)
def test_a_price_adjusted_after_the_confirm_step_is_not_charged_unseen(
    clerk_client, office, admin, typed, now
):
    from prepaid.accounts.services import adjust_price

    _ready(office)
    write = _confirm(clerk_client, SELL, **_sale(office, **{"quantity": "", **typed}))
    adjust_price(admin, office.price.pk, unit_price="5.00")  # from today on
    before = _state(office)

    refused = clerk_client.post(SELL, write)

    assert refused.status_code == 200 and "price_changed" in codes(refused)
    said = tr(
        "The price changed after the confirm step: %(quantity)s %(unit)s now cost "
        "¥%(amount)s, where %(confirmed_quantity)s %(unit)s for ¥%(confirmed_amount)s was "
        "confirmed. Nothing was charged or written: tell the customer, and confirm again.",
        unit="m³",
        confirmed_quantity="10.00",
        confirmed_amount="34.50",
        **now,
    )
    assert said in html(refused)
    assert _state(office) == before
    # confirmed again, the new price is shown, and 写卡 charges exactly that
    again = _confirm(clerk_client, SELL, **_sale(office, **{"quantity": "", **typed}))
    assert clerk_client.post(SELL, again).status_code == 302
    sale = Purchase.objects.latest("id")
    assert (sale.serial, sale.status) == (2, "completed")
    assert (sale.quantity_centi, sale.amount_fen) == (
        int(now["quantity"].replace(".", "")),
        int(now["amount"].replace(".", "")),
    )
    assert sale.price_version.number == 2
    assert LedgerEntry.objects.latest("id").amount_fen == sale.amount_fen


def _fresh_account(admin: Any) -> tuple[Any, Any]:
    """An electricity account no meter or customer uses yet, with one price (¥0.50/kWh)."""
    from prepaid.accounts.services import add_price, create_account

    account = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="9",
    )
    return account, add_price(admin, account_id=account.pk, name="居民用电", unit_price="0.50")


def _confirm_opening(client: Any, office: Any, account: Any, price: Any) -> dict[str, Any]:
    number = office.customer.user_number
    data = {
        "customer": number,
        "key": _key(client.get(f"/vending/open/?customer={number}")),
        "account": account.pk,
        "price": price.pk,
        "quantity": "100",
        "amount": "",
        "basis": "quantity",
        "payment": "cash",
    }
    review = client.post("/vending/open/", {**data, "action": "review"})
    assert 'data-testid="confirm"' in html(review), codes(review)
    assert "¥50.00" in html(review)
    return {**data, "confirmed": _confirmed(review), "action": "write"}


def test_an_opening_whose_price_was_corrected_after_the_confirm_step_writes_nothing(
    clerk_client, office, admin
):
    """修改价格 corrects a tariff no sale has used yet: an opening confirmed on it before."""
    from prepaid.accounts.services import modify_price

    account, price = _fresh_account(admin)
    office.new_card("u1")
    write = _confirm_opening(clerk_client, office, account, price)
    modify_price(admin, price.pk, unit_price="0.55")
    before = _state(office)

    refused = clerk_client.post("/vending/open/", write)

    assert refused.status_code == 200 and "price_changed" in codes(refused)
    assert "¥55.00" in html(refused) and "¥50.00" in html(refused)
    assert _state(office) == before  # the new card still new, the customer not opened
    assert not office.customer.accounts.exists()


# -- 2. the card in the reader swapped for another customer's -------------------------------


def _second_customer(office: Any, admin: Any, *, swiped: bool) -> Any:
    """李四, opened with card u2 (3 m³), swiped on his meter M2 when ``swiped``; u1 back in
    the reader."""
    from prepaid.customers.services import register_customer
    from prepaid.vending.services import open_account

    other = register_customer(admin, name="李四", phone="13900000000", address="幸福路2号")
    office.new_card("u2")
    open_account(office.station(), other, office.account, office.price, quantity="3", key="li-1")
    if swiped:
        office.meter("M2")
        office.swipe("M2")
    office.insert("u1")
    return other


@pytest.mark.parametrize("swiped", [True, False])
def test_a_card_swapped_after_the_confirm_step_is_not_sold_to(clerk_client, office, admin, swiped):
    _ready(office)
    other = _second_customer(office, admin, swiped=swiped)
    write = _confirm(clerk_client, SELL, **_sale(office))
    zhang = CustomerCard.objects.get(customer=office.customer)
    li = CustomerCard.objects.get(customer=other)
    office.insert("u2")
    before = _state(office)

    refused = clerk_client.post(SELL, write)

    assert refused.status_code == 200 and "not_the_confirmed_card" in codes(refused)
    said = tr(
        "The card in the reader (%(serial)s) is not the card read at the confirm step: that "
        "was card %(confirmed)s of user %(user_number)s %(name)s. Nothing was charged or "
        "written: put that card back in the reader and confirm again.",
        serial=li.serial,
        confirmed=zhang.serial,
        user_number=office.customer.user_number,
        name="张三",
    )
    assert said in html(refused)  # said whether or not the card in the reader could buy
    assert _state(office) == before
    # 张三's card back in the reader: the confirmed sale is written, to him, as confirmed
    office.insert("u1")
    assert clerk_client.post(SELL, write).status_code == 302
    sale = Purchase.objects.latest("id")
    assert sale.customer_account.customer == office.customer
    assert (sale.serial, sale.quantity_centi, sale.amount_fen) == (2, 1000, 3450)


def test_a_correction_confirmed_on_one_card_is_not_written_on_another(clerk_client, office, admin):
    from prepaid.vending.services import sell

    _ready(office)
    sell(office.station(), quantity="20", key="zhang-2")  # not swiped: it can be corrected
    _second_customer(office, admin, swiped=False)
    write = _confirm(clerk_client, CORRECT, **_sale(office, quantity="2"))
    office.insert("u2")  # 李四's first purchase, not swiped either
    before = _state(office)

    refused = clerk_client.post(CORRECT, write)

    assert "not_the_confirmed_card" in codes(refused)
    assert _state(office) == before


# -- 3. the same customer sold to in another window or at another station -------------------


def test_a_sale_written_in_another_window_first_refuses_the_second(clerk_client, office):
    """Two windows confirmed a sale to the same customer: the second 写卡 gets the manual's
    refusal, since the first sale is not swiped yet."""
    _ready(office)
    first = _confirm(clerk_client, SELL, **_sale(office))
    second = _confirm(clerk_client, SELL, **_sale(office, quantity="4"))
    assert clerk_client.post(SELL, second).status_code == 302
    before = _state(office)

    refused = clerk_client.post(SELL, first)

    assert "card_not_swiped" in codes(refused)
    assert tr(
        "This card has not been swiped on the meter; swipe it on the meter and try again."
    ) in html(refused)
    assert _state(office) == before
    assert [p.quantity_centi for p in Purchase.objects.order_by("id")] == [1000, 400]


def test_a_sale_made_and_swiped_elsewhere_after_the_confirm_step_refuses_the_write(
    clerk_client, office
):
    """Another station sold to the customer and the customer swiped the card before this
    window's 写卡: the card can buy again, but not the purchase confirmed on the card as it
    was (a second sale nobody confirmed for the money taken)."""
    from prepaid.vending.services import sell

    _ready(office)
    write = _confirm(clerk_client, SELL, **_sale(office))
    sell(_elsewhere(office), quantity="5", key="elsewhere-1")
    office.swipe()
    before = _state(office)

    refused = clerk_client.post(SELL, write)

    assert "written_since_confirmed" in codes(refused)
    assert tr(
        "The customer's card was written again after the confirm step (at another station "
        "or in another window): its last purchase is now #%(serial)s, %(quantity)s %(unit)s "
        "for ¥%(amount)s. Nothing was charged or written: read the card again and confirm "
        "again.",
        serial=2,
        quantity="5.00",
        unit="m³",
        amount="17.25",
    ) in html(refused)
    assert _state(office) == before


def test_a_sale_being_written_at_another_station_refuses_the_write(
    clerk_client, office, monkeypatch
):
    from django.utils import timezone

    from prepaid.vending import services as vending

    _ready(office)
    write = _confirm(clerk_client, SELL, **_sale(office))
    with monkeypatch.context() as killed:  # the other station stops after its phase one
        killed.setattr(vending, "_write_and_complete", _station_killed)
        with pytest.raises(RuntimeError):
            vending.sell(_elsewhere(office), quantity="5", key="elsewhere-1")
    before = _state(office)

    refused = clerk_client.post(SELL, write)

    assert "sale_in_progress" in codes(refused)
    pending = Purchase.objects.get(status="pending")
    assert pending.station == "counter-2"
    assert tr(  # where, and after when a stopped station's purchase is settled
        "Purchase No. %(id)s of this customer is still being written at station "
        "%(station)s (begun %(time)s); wait for it to finish and read the card again. If "
        "that station has stopped, read the card again after %(until)s: the purchase is "
        "then settled by what the card carries.",
        id=pending.pk,
        station="counter-2",
        time=timezone.localtime(pending.created_at).strftime("%H:%M:%S"),
        until=timezone.localtime(pending.created_at + vending.IN_FLIGHT).strftime("%H:%M:%S"),
    ) in html(refused)
    assert _state(office) == before


def _station_killed(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("station killed")


def test_a_correction_corrected_elsewhere_first_is_not_corrected_again(clerk_client, office):
    """The confirm step said what the correction replaces and the money to give back: a
    correction at another station first makes both wrong, so 写卡 is refused."""
    from prepaid.vending.services import correct, sell

    _ready(office)
    sell(office.station(), quantity="20", key="zhang-2")
    write = _confirm(clerk_client, CORRECT, **_sale(office, quantity="2"))
    correct(_elsewhere(office), quantity="5", key="elsewhere-1")
    before = _state(office)

    refused = clerk_client.post(CORRECT, write)

    assert "written_since_confirmed" in codes(refused)
    assert "#2" in html(refused) and "¥17.25" in html(refused)
    assert _state(office) == before
    kinds = [e.kind for e in LedgerEntry.objects.order_by("id")]
    assert kinds == ["sale", "sale", "reversal", "sale"]  # one correction, reversed once


# -- 4. the shift closed (日结/交班) in another window --------------------------------------


def _sold(client: Any, office: Any) -> None:
    """10 m³ sold through the pages to the card in the reader."""
    assert client.post(SELL, _confirm(client, SELL, **_sale(office))).status_code == 302


def _close_shift(client: Any, counted: str) -> None:
    closed = client.post("/reports/shifts/close/", {"counted_cash": counted})
    assert closed.status_code == 302


@pytest.mark.parametrize("shift_open_at_confirm", [True, False])
def test_a_shift_closed_after_the_confirm_step_refuses_the_write_and_says_so(
    clerk_client, office, clerk, admin, shift_open_at_confirm
):
    """The closed shift's settlement was counted: a sale confirmed before the close is not
    booked, unseen, into a new shift. The operator is told, and confirming again books it in
    the new shift."""
    from prepaid.reports.models import ShiftSettlement

    _ready(office)
    _second_customer(office, admin, swiped=True)
    if shift_open_at_confirm:
        _sold(clerk_client, office)
        office.swipe()
    assert Shift.objects.filter(operator=clerk).exists() == shift_open_at_confirm
    write = _confirm(clerk_client, SELL, **_sale(office, quantity="2"))
    if not shift_open_at_confirm:  # another window sells to 李四, opening the shift
        office.insert("u2")
        _sold(clerk_client, office)
        office.insert("u1")
    _close_shift(clerk_client, "34.50")
    settled = ShiftSettlement.objects.get()
    before = _state(office)

    refused = clerk_client.post(SELL, write)

    assert "shift_closed_since" in codes(refused)
    assert tr(
        "Your shift was closed after the confirm step. Nothing was charged or written, and "
        "the closed shift's settlement stands as counted. Confirm again: the money then goes "
        "into a new shift."
    ) in html(refused)
    assert _state(office) == before
    assert not Shift.objects.filter(operator=clerk, closed_at__isnull=True).exists()
    again = _confirm(clerk_client, SELL, **_sale(office, quantity="2"))
    assert clerk_client.post(SELL, again).status_code == 302
    entry = LedgerEntry.objects.latest("id")
    assert entry.amount_fen == 690 and entry.shift_id != settled.shift_id
    assert entry.shift.closed_at is None and entry.shift.operator == clerk
    assert LedgerEntry.objects.filter(shift_id=settled.shift_id).count() == settled.entry_count


def test_a_reissue_fee_confirmed_before_the_shift_closed_is_not_booked(clerk_client, office):
    _ready(office)
    _sold(clerk_client, office)
    write = _confirm_reissue(clerk_client, office, fee="5")
    _close_shift(clerk_client, "34.50")
    before = _state(office)

    refused = clerk_client.post("/vending/reissue/", write)

    assert "shift_closed_since" in codes(refused)
    assert _state(office) == before


# -- 5. the operator disabled, or the role lowered, between the confirm step and 写卡 --------


def test_an_operator_disabled_after_the_confirm_step_writes_nothing(clerk_client, office, admin):
    from prepaid.operators.services import disable_operator

    _ready(office)
    write = _confirm(clerk_client, SELL, **_sale(office))
    disable_operator(admin, "clerk")
    before = _state(office)

    refused = clerk_client.post(SELL, write)

    assert refused.status_code == 302 and "unsent=1" in refused["Location"]
    login = clerk_client.get(refused["Location"])
    assert codes(login) == {"operator_disabled"}  # disabled, and the sale not done
    assert _state(office) == before


def test_an_administrator_lowered_to_operator_after_the_confirm_step_changes_no_meter(
    admin_client, office, admin
):
    """换表卡调整 is for administrators: the role is read again at 写卡. (No command lowers a
    role: the database is changed under the page, as another administrator's tool would.)"""
    from prepaid.operators.models import Operator, Role

    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    write = _confirm(admin_client, CHANGE, account=office.account.pk, remaining="13", reason="")
    Operator.objects.filter(pk=admin.pk).update(role=Role.OPERATOR, is_staff=False)
    before = _state(office)

    refused = admin_client.post(CHANGE, write)

    assert refused.status_code == 403 and "permission_denied" in codes(refused)
    assert _state(office) == before


# -- 6. the account or the price deleted or changed under the confirmed opening or sale ------


def test_an_opening_whose_price_was_deleted_after_the_confirm_step_writes_nothing(
    clerk_client, office, admin
):
    from prepaid.accounts.services import delete_price

    account, price = _fresh_account(admin)
    office.new_card("u1")
    write = _confirm_opening(clerk_client, office, account, price)
    delete_price(admin, price.pk)
    before = _state(office)

    refused = clerk_client.post("/vending/open/", write)

    assert refused.status_code == 200 and 'data-testid="confirm"' not in html(refused)
    assert "price" in _field_errors_of(refused)
    assert _state(office) == before


def test_an_opening_whose_account_was_deleted_after_the_confirm_step_writes_nothing(
    clerk_client, office, admin
):
    from prepaid.accounts.services import delete_account

    account, price = _fresh_account(admin)
    office.new_card("u1")
    write = _confirm_opening(clerk_client, office, account, price)
    delete_account(admin, account.pk)
    before = _state(office)

    refused = clerk_client.post("/vending/open/", write)

    assert refused.status_code == 200 and 'data-testid="confirm"' not in html(refused)
    assert {"account", "price"} <= set(_field_errors_of(refused))
    assert _state(office) == before


def test_an_opening_over_an_account_limit_lowered_after_the_confirm_step_writes_nothing(
    clerk_client, office, admin
):
    from prepaid.accounts.services import modify_account

    account, price = _fresh_account(admin)
    office.new_card("u1")
    write = _confirm_opening(clerk_client, office, account, price)  # 100 kWh
    modify_account(admin, account.pk, limit="50")
    before = _state(office)

    refused = clerk_client.post("/vending/open/", write)

    assert "over_limit" in codes(refused)
    assert _state(office) == before


def test_a_sale_on_an_account_renamed_after_the_confirm_step_is_written_as_confirmed(
    clerk_client, office, admin
):
    """A change that touches nothing confirmed (the account's name) does not stop 写卡."""
    from prepaid.accounts.services import modify_account

    _ready(office)
    write = _confirm(clerk_client, SELL, **_sale(office))
    modify_account(admin, office.account.pk, name="自来水")
    assert clerk_client.post(SELL, write).status_code == 302
    sale = Purchase.objects.latest("id")
    assert (sale.serial, sale.quantity_centi, sale.amount_fen, sale.status) == (
        2,
        1000,
        3450,
        "completed",
    )


def _field_errors_of(page: Any) -> dict[str, str]:
    return dict(re.findall(r'data-field-error="([^"]+)">([^<]*)<', html(page)))


# -- 7. 补卡 confirmed, the card reissued at another station first --------------------------


def _confirm_reissue(client: Any, office: Any, fee: str = "") -> dict[str, Any]:
    number = office.customer.user_number
    key = _key(client.get(f"/vending/reissue/?customer={number}"))
    office.new_card("new-here")
    data = {"customer": number, "key": key, "fee": fee, "payment": "cash"}
    review = client.post("/vending/reissue/", {**data, "action": "review"})
    assert 'data-testid="confirm"' in html(review), codes(review)
    return {**data, "confirmed": _confirmed(review), "action": "write"}


def test_a_reissue_confirmed_after_another_station_reissued_first_writes_nothing(
    clerk_client, office
):
    from prepaid.cards.models import CardOperation
    from prepaid.vending.services import reissue

    _ready(office)
    write = _confirm_reissue(clerk_client, office, fee="5")
    old = CustomerCard.objects.get()
    office.new_card("new-there")
    reissue(_elsewhere(office), office.customer, fee="5", key="elsewhere-1")
    there = CustomerCard.objects.get(status="active")
    office.insert("new-here")
    before = _state(office)

    refused = clerk_client.post("/vending/reissue/", write)

    assert refused.status_code == 200 and "reissued_meanwhile" in codes(refused)
    assert tr(
        "The customer's card %(confirmed)s was replaced after the confirm step by card "
        "%(serial)s (at %(station)s by %(operator)s). Nothing was charged or written, and the "
        "new card in the reader stays new: start again if the customer still needs another "
        "card.",
        confirmed=old.serial,
        serial=there.serial,
        station="counter-2",
        operator="admin",
    ) in html(refused)
    assert _state(office) == before  # the card reissued there stays in use, one fee
    assert [e.amount_fen for e in LedgerEntry.objects.filter(kind="fee")] == [500]
    assert CardOperation.objects.filter(kind="reissue").count() == 1


# -- 8. 换表卡调整 confirmed, then a sale to the customer at another station ------------------


def test_a_meter_change_confirmed_before_a_sale_elsewhere_writes_no_transfer(admin_client, office):
    """The confirm step moved 8.00 m³ (13 left − 5 pre-stored): with a sale written since,
    not swiped, the transfer would carry it over too — not what was confirmed."""
    from prepaid.vending.services import sell

    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    write = _confirm(admin_client, CHANGE, account=office.account.pk, remaining="13", reason="坏表")
    sell(_elsewhere(office), quantity="4", key="elsewhere-1")
    before = _state(office)

    refused = admin_client.post(CHANGE, write)

    assert "written_since_confirmed" in codes(refused)
    assert "#2" in html(refused) and "4.00 m³" in html(refused)
    assert _state(office) == before
    assert not Purchase.objects.filter(kind="transfer").exists()


def test_a_meter_change_confirmed_before_a_price_adjustment_says_the_new_value(
    admin_client, office, admin
):
    """No money moves, but the value recorded (用户剩余金额) would not be the one shown."""
    from prepaid.accounts.services import adjust_price

    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    write = _confirm(admin_client, CHANGE, account=office.account.pk, remaining="13", reason="")
    adjust_price(admin, office.price.pk, unit_price="5.00")
    before = _state(office)

    refused = admin_client.post(CHANGE, write)

    assert "transfer_changed" in codes(refused)
    assert "¥40.00" in html(refused) and "¥27.60" in html(refused)
    assert _state(office) == before


# -- the confirmation itself -----------------------------------------------------------------


def test_a_write_posting_an_altered_confirmation_is_refused_as_damaged(clerk_client, office):
    _ready(office)
    write = _confirm(clerk_client, SELL, **_sale(office))
    before = _state(office)
    refused = clerk_client.post(SELL, {**write, "confirmed": "not one a page makes"})
    assert "damaged_form" in codes(refused)
    assert _state(office) == before

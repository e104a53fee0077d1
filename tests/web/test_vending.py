"""充值管理 through the pages: read the card, quote live, confirm, write; refusals inline;
a resubmitted key charged once."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from web_helpers import codes, field_errors, html, tr

from prepaid.vending.models import LedgerEntry, Purchase

pytestmark = pytest.mark.django_db


def _key(page) -> str:
    return re.search(r'name="key" value="([0-9a-f]{32})"', html(page)).group(1)


def _ledger_total() -> Decimal:
    return Decimal(sum(e.amount_fen for e in LedgerEntry.objects.all())) / 100


def _refusals(page) -> list[str]:
    """The refusals a page shows above its form."""
    return re.findall(r"data-error>([^<]*)<", html(page))


def _sale(client, key, **fields):
    data = {"action": "write", "key": key, "payment": "cash", "basis": "quantity", **fields}
    return client.post("/vending/sell/", data)


# -- 开户 ----------------------------------------------------------------------------------


def test_open_account_read_quote_confirm_write(clerk_client, office):
    office.new_card("u1")
    number = office.customer.user_number
    form = clerk_client.get(f"/vending/open/?customer={number}")
    key = _key(form)
    data = {
        "customer": number,
        "account": office.account.pk,
        "price": office.price.pk,
        "quantity": "10",
        "amount": "",
        "basis": "quantity",
        "payment": "cash",
        "key": key,
    }
    review = clerk_client.post("/vending/open/", {**data, "action": "review"})
    assert 'data-testid="confirm"' in html(review) and "¥34.50" in html(review)
    assert not Purchase.objects.exists()
    done = clerk_client.post("/vending/open/", {**data, "action": "write"})
    purchase = Purchase.objects.get()
    assert done["Location"] == f"/vending/purchases/{purchase.pk}/"
    assert (purchase.quantity_centi, purchase.amount_fen, purchase.status) == (
        1000,
        3450,
        "completed",
    )
    page = clerk_client.get(done["Location"])
    assert 'data-testid="write-success"' in html(page)
    assert tr("Card written successfully.") in html(page)
    again = clerk_client.post("/vending/open/", {**data, "action": "write"})
    assert again["Location"] == done["Location"]
    assert Purchase.objects.count() == 1 and LedgerEntry.objects.count() == 1


def test_open_over_the_limit_is_refused_at_the_confirm_step(clerk_client, office):
    """The operator hears of the purchase limit before taking the money, not at 写卡."""
    office.new_card("u1")
    review = clerk_client.post(
        "/vending/open/",
        {
            "customer": office.customer.user_number,
            "account": office.account.pk,
            "price": office.price.pk,
            "quantity": "2000",
            "amount": "",
            "basis": "quantity",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "review",
        },
    )
    page = html(review)
    assert "over_limit" in codes(review) and 'data-testid="confirm"' not in page
    assert "994.00" in page  # the most the new meter takes after its pre-stored 5.00
    assert not Purchase.objects.exists()


def test_open_account_double_submit_from_another_session_is_charged_once(office, clerk, web_home):
    office.new_card("u1")
    data = {
        "customer": office.customer.user_number,
        "account": office.account.pk,
        "price": office.price.pk,
        "amount": "20",
        "basis": "amount",
        "payment": "cash",
        "key": uuid.uuid4().hex,
        "action": "write",
    }
    first, second = Client(), Client()
    first.force_login(clerk)
    second.force_login(clerk)
    one = first.post("/vending/open/", data)
    two = second.post("/vending/open/", data)
    assert one["Location"] == two["Location"]
    assert LedgerEntry.objects.count() == 1 and _ledger_total() == Decimal("19.98")


def test_open_needs_a_new_card(clerk_client, office):
    office.blank("factory")
    office.insert("factory")
    data = {
        "customer": office.customer.user_number,
        "account": office.account.pk,
        "price": office.price.pk,
        "quantity": "10",
        "basis": "quantity",
        "payment": "cash",
        "key": uuid.uuid4().hex,
        "action": "write",
    }
    response = clerk_client.post("/vending/open/", data)
    assert response.status_code == 200 and "not_a_new_card" in codes(response)
    assert _key(response) != data["key"]
    assert not LedgerEntry.objects.exists()


def test_open_refuses_at_the_confirm_step_the_cards_its_write_refuses(clerk_client, admin, office):
    """A factory-blank card, or another customer's card, in the reader: the confirm step says
    so, as 写卡 would, instead of asking to confirm an opening that cannot be written."""
    from prepaid.customers.services import register_customer

    data = {
        "customer": office.customer.user_number,
        "account": office.account.pk,
        "price": office.price.pk,
        "quantity": "10",
        "basis": "quantity",
        "payment": "cash",
        "key": uuid.uuid4().hex,
        "action": "review",
    }
    office.blank("factory")
    office.insert("factory")
    review = clerk_client.post("/vending/open/", data)
    write = clerk_client.post("/vending/open/", {**data, "action": "write"})
    assert "not_a_new_card" in codes(review) and 'data-testid="confirm"' not in html(review)
    assert _refusals(review) == _refusals(write) != []
    office.open("u1")  # 张三's card, then 李四 at the counter with it
    other = register_customer(admin, name="李四", phone="13900000000", address="幸福路2号")
    review = clerk_client.post("/vending/open/", {**data, "customer": other.user_number})
    assert "not_a_new_card" in codes(review) and 'data-testid="confirm"' not in html(review)
    assert Purchase.objects.count() == 1


def test_open_confirms_another_account_on_the_customers_own_card(clerk_client, admin, office):
    from prepaid.accounts.services import add_price, create_account

    other = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="9",
    )
    power = add_price(admin, account_id=other.pk, name="居民用电", unit_price="0.4883")
    office.open("u1")
    review = clerk_client.post(
        "/vending/open/",
        {
            "customer": office.customer.user_number,
            "account": other.pk,
            "price": power.pk,
            "quantity": "10",
            "basis": "quantity",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "review",
        },
    )
    assert 'data-testid="confirm"' in html(review), codes(review)


def test_open_with_an_empty_reader(clerk_client, office):
    data = {
        "customer": office.customer.user_number,
        "account": office.account.pk,
        "price": office.price.pk,
        "quantity": "10",
        "basis": "quantity",
        "payment": "cash",
        "key": uuid.uuid4().hex,
        "action": "write",
    }
    assert "no_card" in codes(clerk_client.post("/vending/open/", data))


def test_open_with_a_price_of_another_account(clerk_client, admin, office):
    from prepaid.accounts.services import add_price, create_account

    other = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="9",
    )
    power = add_price(admin, account_id=other.pk, name="居民用电", unit_price="0.4883")
    office.new_card("u1")
    response = clerk_client.post(
        "/vending/open/",
        {
            "customer": office.customer.user_number,
            "account": office.account.pk,
            "price": power.pk,
            "quantity": "1",
            "basis": "quantity",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "review",
        },
    )
    page = html(clerk_client.get(f"/vending/open/?customer={office.customer.user_number}"))
    assert "<optgroup" in page and "¥" not in page.split("<optgroup")[0][-20:]
    write = clerk_client.post(
        "/vending/open/",
        {
            "customer": office.customer.user_number,
            "account": office.account.pk,
            "price": power.pk,
            "quantity": "1",
            "basis": "quantity",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "write",
        },
    )
    assert "price_not_of_account" in codes(write)
    assert response.status_code == 200 and not Purchase.objects.exists()


def test_open_offers_only_the_accounts_not_opened_yet(clerk_client, admin, office):
    """The water account is open: the form offers electricity and its prices only; with
    every account open, it says there is none left instead of a form that can only fail."""
    from prepaid.accounts.services import add_price, create_account, delete_account

    other = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="9",
    )
    add_price(admin, account_id=other.pk, name="居民用电", unit_price="0.4883")
    office.open()
    page = html(clerk_client.get(f"/vending/open/?customer={office.customer.user_number}"))
    account = page.split('name="account"')[1].split("</select>")[0]
    price = page.split('name="price"')[1].split("</select>")[0]
    assert f'value="{other.pk}"' in account and f'value="{office.account.pk}"' not in account
    assert "居民用电" in price and office.price.name not in price
    customer = html(clerk_client.get(f"/customers/{office.customer.user_number}/"))
    assert 'data-testid="open-account"' in customer and 'data-testid="all-open"' not in customer

    delete_account(admin, other.pk)  # never used: the office has the water account only
    page = html(clerk_client.get(f"/vending/open/?customer={office.customer.user_number}"))
    assert 'data-testid="all-open"' in page and 'name="account"' not in page
    # the customer's page offers no 开户 that can only say so: it says so itself
    customer = html(clerk_client.get(f"/customers/{office.customer.user_number}/"))
    assert f'data-testid="all-open">{tr("Opened on every account")}<' in customer
    assert 'data-testid="open-account"' not in customer and "/vending/open/?" not in customer


def test_the_quantity_fields_say_the_chosen_accounts_unit(clerk_client, admin_client, office):
    """充值量 and 用户剩余量 carry their unit beside the input, as 充值金额（元） does: the
    account chosen first's, and every account's for the page's script to follow the select."""
    from prepaid.accounts.services import create_account

    other = create_account(
        office.admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="9",
    )
    page = html(clerk_client.get(f"/vending/open/?customer={office.customer.user_number}"))
    quantity = page.split('name="quantity"')[1].split("</div>")[0]
    assert '<span class="input-group-text">m³</span>' in quantity
    assert f"&quot;{office.account.pk}&quot;: &quot;m³&quot;" in page
    assert f"&quot;{other.pk}&quot;: &quot;kWh&quot;" in page
    chosen = html(
        clerk_client.get(
            f"/vending/open/?customer={office.customer.user_number}&account={other.pk}"
        )
    )
    assert '<span class="input-group-text">kWh</span>' in chosen.split('name="quantity"')[1]
    office.meter()
    office.open()
    office.swipe()
    sale = html(clerk_client.post("/vending/sell/", {"action": "read"}))
    assert '<span class="input-group-text">m³</span>' in sale.split('name="quantity"')[1]
    change = html(admin_client.post("/vending/meter-change/", {"action": "read"}))
    assert '<span class="input-group-text">m³</span>' in change.split('name="remaining"')[1]


def test_open_picker_lists_customers(clerk_client, office):
    page = html(clerk_client.get("/vending/open/"))
    assert f"/vending/open/?customer={office.customer.user_number}" in page


@pytest.mark.parametrize("pick", ["open", "reissue"])
def test_the_customer_pickers_reach_the_results_from_the_keyboard(clerk_client, office, pick):
    """↓ from the search box goes through the customers' choose buttons (marked for the page's
    script), said beside 查找 once there are customers to choose; none to choose, nothing said."""
    number = office.customer.user_number
    found = html(clerk_client.get(f"/vending/{pick}/", {"q": number}))
    picker = found.split("data-customer-picker>")[1]
    assert re.search(r'<input[^>]*type="search"', picker)
    choose = re.findall(r'<a [^>]*data-pick[^>]*href="([^"]+)"', picker)
    assert choose == [f"/vending/{pick}/?customer={number}"]
    hint = tr("↓ ↑: go through the customers · Enter: choose")
    assert hint in picker
    none = html(clerk_client.get(f"/vending/{pick}/", {"q": "nobody-by-this-name"}))
    assert "data-pick" not in none and hint not in none
    assert "data-pick" not in html(clerk_client.get("/vending/", {"q": number}))


# -- 销售 ----------------------------------------------------------------------------------


def test_sale_flow_with_the_manual_refusal_before_the_swipe(clerk_client, office):
    office.meter()
    office.open()
    read = clerk_client.post("/vending/sell/", {"action": "read"})
    assert "card_not_swiped" in codes(read)
    assert tr(
        "This card has not been swiped on the meter; swipe it on the meter and try again."
    ) in html(read)
    office.swipe()
    read = clerk_client.post("/vending/sell/", {"action": "read"})
    assert "card_not_swiped" not in codes(read)
    assert 'data-testid="customer-name">张三<' in html(read)
    row = html(read).split('data-testid="card-accounts"')[1].split("</tr>")[1]
    assert "#1 · ¥34.50" in row and "15.00 m³" in row  # the meter balance with its unit
    key = _key(read)
    review = clerk_client.post(
        "/vending/sell/",
        {
            "action": "review",
            "key": key,
            "account": office.account.pk,
            "amount": "19.99",
            "basis": "amount",
            "payment": "wechat",
        },
    )
    assert 'data-testid="confirm"' in html(review)
    assert "5.79" in html(review) and "¥19.98" in html(review)
    assert Purchase.objects.count() == 1
    done = _sale(
        clerk_client,
        key,
        account=office.account.pk,
        amount="19.99",
        basis="amount",
        payment="wechat",
    )
    sale = Purchase.objects.latest("id")
    assert done["Location"] == f"/vending/purchases/{sale.pk}/"
    # WeChat charges the amount exactly: no change is handed back
    assert (sale.serial, sale.quantity_centi, sale.amount_fen, sale.tendered_fen) == (
        2,
        579,
        1998,
        1998,
    )
    assert sale.payment_method == "wechat"
    assert _ledger_total() == Decimal("54.48")


def test_a_card_swiped_on_none_of_its_meters_gets_no_sale_form(clerk_client, office):
    """Nothing can be sold on it: no amount to type (Enter would only reload the page), the
    refusal and 读卡 again, focused, for when the customer has swiped."""
    office.meter()
    office.open()
    read = html(clerk_client.post("/vending/sell/", {"action": "read"}))
    assert 'data-code="card_not_swiped"' in read
    assert 'name="amount"' not in read and 'data-testid="review"' not in read
    assert re.search(r'<button[^>]*autofocus[^>]*data-testid="read-card"', read)
    office.swipe()
    read = html(clerk_client.post("/vending/sell/", {"action": "read"}))
    assert 'name="amount"' in read
    assert not re.search(r'<button[^>]*autofocus[^>]*data-testid="read-card"', read)


def test_sale_refused_when_not_swiped_at_write(clerk_client, office):
    office.meter()
    office.open()
    response = _sale(clerk_client, uuid.uuid4().hex, account=office.account.pk, quantity="1")
    assert "card_not_swiped" in codes(response)
    assert Purchase.objects.count() == 1


def test_sale_without_a_card(clerk_client, office):
    assert "no_card" in codes(clerk_client.post("/vending/sell/", {"action": "read"}))
    assert "no_card" in codes(_sale(clerk_client, uuid.uuid4().hex, quantity="1"))


def _garbled_customer_card(office) -> bytes:
    """The customer's opened card with its header garbled, its serial too: neither a valid
    card nor blank, nor one the office can tell whose it was (and restore)."""
    office.open()
    path = office.store.path("u1")
    image = bytearray(path.read_bytes())
    image[0x20] ^= 0xFF
    image[0x29] ^= 0xFF
    path.write_bytes(bytes(image))
    return bytes(image)


def test_a_garbled_card_is_refused_as_damaged_at_sale_open_and_reissue(clerk_client, office):
    from prepaid.customers.services import register_customer

    image = _garbled_customer_card(office)
    neighbour = register_customer(office.admin, name="李四")
    ledger = LedgerEntry.objects.count()
    read = clerk_client.post("/vending/sell/", {"action": "read"})
    opening = clerk_client.post(
        "/vending/open/",
        {
            "customer": neighbour.user_number,
            "account": office.account.pk,
            "price": office.price.pk,
            "quantity": "10",
            "basis": "quantity",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "write",
        },
    )
    reissue = clerk_client.post(
        "/vending/reissue/",
        {
            "customer": office.customer.user_number,
            "fee": "5",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "write",
        },
    )
    for response in (read, opening, reissue):
        assert "bad_card" in codes(response)
        assert "not_a_new_card" not in codes(response)
        assert "not_a_user_card" not in codes(response)
        assert "卡片已损坏" in html(response) and "补卡" in html(response)
    assert LedgerEntry.objects.count() == ledger
    assert office.store.path("u1").read_bytes() == image


def test_chinese_pages_use_full_width_punctuation_after_labels(clerk_client, office):
    """已开户账户：…。, 补卡费：…, 纸张：… — not the English “: ” and “. ” inside Chinese."""
    purchase = office.open()
    number = office.customer.user_number
    opened = html(clerk_client.get(f"/vending/open/?customer={number}"))
    assert f"已开户账户：[1] {office.account.name}。" in opened
    printed = clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "58"})
    receipt = html(clerk_client.get(printed["Location"]))
    assert "纸张：" in receipt and "纸张:" not in receipt


def test_nothing_typed_asks_for_a_quantity_or_an_amount(clerk_client, office):
    """Not the services' “not both”: the operator typed neither."""
    from prepaid.customers.services import register_customer

    office.meter()
    office.open()
    office.swipe()
    newcomer = register_customer(office.admin, name="李四")  # not open on the account yet
    for page, extra in (
        ("/vending/sell/", {}),
        ("/vending/correct/", {}),
        ("/vending/open/", {"customer": newcomer.user_number, "price": office.price.pk}),
    ):
        review = clerk_client.post(
            page,
            {
                "action": "review",
                "key": uuid.uuid4().hex,
                "account": office.account.pk,
                "payment": "cash",
                **extra,
            },
        )
        assert field_errors(review)["amount"] == tr("Type a quantity or an amount."), page
        assert "quantity_or_amount" in codes(review)
    assert Purchase.objects.count() == 1


def test_sale_with_a_tool_card(clerk_client, office):
    office.meter()  # leaves the setting card in the reader
    response = clerk_client.post("/vending/sell/", {"action": "read"})
    assert "not_a_user_card" in codes(response)


@pytest.mark.parametrize(
    ("typed", "field", "code"),
    [
        ({"quantity": "", "amount": ""}, "amount", "quantity_or_amount"),
        ({"quantity": "-5"}, "quantity", "negative"),
        ({"quantity": "0"}, "quantity", "zero"),
        ({"quantity": "1.234"}, "quantity", "too_many_decimals"),
        ({"quantity": "1e3"}, "quantity", "not_a_number"),
        ({"quantity": "99999999999999999999"}, "quantity", "too_large"),
        ({"quantity": "<script>"}, "quantity", "not_a_number"),
        ({"amount": "0.001", "basis": "amount"}, "amount", "too_many_decimals"),
        ({"amount": "-1", "basis": "amount"}, "amount", "negative"),
        ({"amount": "0.01", "basis": "amount"}, None, None),
        ({"quantity": "1", "payment": "bitcoin"}, "payment", None),
    ],
)
def test_sale_bad_input_is_refused_inline(clerk_client, office, typed, field, code):
    office.meter()
    office.open()
    office.swipe()
    data = {
        "account": office.account.pk,
        "basis": "quantity",
        "payment": "cash",
        "key": uuid.uuid4().hex,
        **typed,
    }
    review = clerk_client.post("/vending/sell/", {**data, "action": "review"})
    assert review.status_code == 200
    assert 'data-testid="confirm"' not in html(review)
    if field:
        assert field in field_errors(review)
    if code:
        assert code in codes(review)
    write = clerk_client.post("/vending/sell/", {**data, "action": "write"})
    assert write.status_code == 200
    assert Purchase.objects.count() == 1 and LedgerEntry.objects.count() == 1


def test_over_the_limit_is_refused_at_write(clerk_client, office):
    """The limit is checked against the meter's write-back when the card is written."""
    office.meter()
    office.open()
    office.swipe()
    response = _sale(clerk_client, uuid.uuid4().hex, account=office.account.pk, quantity="995")
    assert "over_limit" in codes(response)
    assert "quantity" in field_errors(response) or "over_limit" in codes(response)
    assert Purchase.objects.count() == 1


@pytest.mark.parametrize(
    ("posted", "field"),
    [
        # an amount too long for the form was dropped, and the quantity beside it sold
        ({"quantity": "10", "amount": "1" * 41, "basis": "amount"}, "amount"),
        # a payment method too long for the form was dropped, and the sale paid in cash
        ({"quantity": "10", "payment": "cash" * 6}, "payment"),
        # an account that is no id was taken for “none chosen”: the card's only account
        ({"quantity": "10", "account": "water"}, "account"),
    ],
)
@pytest.mark.parametrize("page", ["sell", "correct"])
def test_a_write_with_a_value_the_form_cannot_take_writes_nothing(
    clerk_client, office, posted, field, page
):
    office.meter()
    office.open()
    office.swipe()
    if page == "correct":
        _sale(clerk_client, uuid.uuid4().hex, account=office.account.pk, quantity="20")
    purchases, entries = Purchase.objects.count(), LedgerEntry.objects.count()
    data = {"account": office.account.pk, "payment": "cash", "basis": "quantity", **posted}
    response = clerk_client.post(
        f"/vending/{page}/", {**data, "action": "write", "key": uuid.uuid4().hex}
    )
    assert response.status_code == 200
    assert field in field_errors(response)
    assert (Purchase.objects.count(), LedgerEntry.objects.count()) == (purchases, entries)


def test_a_meter_change_naming_an_account_that_is_no_id_writes_nothing(admin_client, office):
    office.meter()
    office.open()
    office.swipe()
    response = admin_client.post(
        "/vending/meter-change/",
        {
            "action": "write",
            "key": uuid.uuid4().hex,
            "account": "water",
            "remaining": "3",
            "reason": "",
        },
    )
    assert response.status_code == 200
    assert "account_not_open" in codes(response)
    assert not Purchase.objects.filter(kind="transfer").exists()


def test_a_form_sent_without_its_key_says_so_and_carries_a_fresh_one(clerk_client, office):
    """The idempotency key is hidden: its refusal is said above the form, not nowhere."""
    office.meter()
    office.open()
    office.swipe()
    data = {"account": office.account.pk, "quantity": "5", "basis": "quantity"}
    review = clerk_client.post("/vending/sell/", {**data, "payment": "cash", "action": "review"})
    assert 'data-testid="confirm"' not in html(review)
    assert "damaged_form" in codes(review)
    assert tr("The form arrived incomplete or altered. Check what it shows and send it again.") in (
        html(review)
    )
    again = clerk_client.post(
        "/vending/sell/", {**data, "payment": "cash", "action": "review", "key": _key(review)}
    )
    assert 'data-testid="confirm"' in html(again)


FORGED_KEYS = [
    "",
    "k",
    "-1",
    "<script>alert(1)</script>",
    "g" * 32,  # not hexadecimal
    "A" * 32,  # the page's keys are lowercase
    "0123456789abcdef" * 2 + "0",  # 33
    "0123456789abcdef" * 2 + "\n",
    "0123456789abcde",
    "x" * 5000,
]


def _done_so_far():
    from prepaid.audit.models import AuditEntry
    from prepaid.cards.models import CardOperation

    return (
        Purchase.objects.count(),
        LedgerEntry.objects.count(),
        CardOperation.objects.count(),
        AuditEntry.objects.count(),
    )


def _refused_as_damaged(response, forged):
    """Refused above the form with the message of a damaged form and a fresh key."""
    assert response.status_code == 200
    assert "damaged_form" in codes(response)
    assert tr("The form arrived incomplete or altered. Check what it shows and send it again.") in (
        html(response)
    )
    assert forged not in re.findall(r'name="key" value="([^"]*)"', html(response))


@pytest.mark.parametrize("forged", FORGED_KEYS)
def test_a_sale_with_a_key_the_page_never_made_is_refused_and_nothing_done(
    clerk_client, office, forged
):
    office.meter()
    office.open()
    office.swipe()
    clerk_client.post("/vending/sell/", {"action": "read"})  # stores what the meter wrote back
    before = _done_so_far()
    response = _sale(clerk_client, forged, account=office.account.pk, quantity="3")
    _refused_as_damaged(response, forged)
    assert _done_so_far() == before
    assert _key(response) != forged  # sent again, the form carries a key of the page's own
    done = _sale(clerk_client, _key(response), account=office.account.pk, quantity="3")
    assert done.status_code == 302 and Purchase.objects.count() == before[0] + 1


def test_every_card_writing_form_refuses_a_forged_key(clerk_client, admin_client, office):
    """开户, 充值修改, 补卡, 换表 and the card-making page: a key the page never made writes
    nothing, charges nothing and audits nothing."""
    forged = "forged-key"
    office.new_card("u0")
    number = office.customer.user_number
    opening = {
        "customer": number,
        "account": office.account.pk,
        "price": office.price.pk,
        "quantity": "10",
        "basis": "quantity",
        "payment": "cash",
        "key": forged,
    }
    for action in ("review", "write"):
        before = _done_so_far()
        response = clerk_client.post("/vending/open/", {**opening, "action": action})
        _refused_as_damaged(response, forged)
        assert _done_so_far() == before
    office.meter()
    office.open()
    before = _done_so_far()
    correction = {"account": office.account.pk, "quantity": "2", "basis": "quantity"}
    response = clerk_client.post(
        "/vending/correct/", {**correction, "action": "write", "key": forged}
    )
    _refused_as_damaged(response, forged)
    assert _done_so_far() == before
    office.new_card("u2")
    before = _done_so_far()
    response = clerk_client.post(
        "/vending/reissue/",
        {"customer": number, "fee": "5", "payment": "cash", "action": "write", "key": forged},
    )
    _refused_as_damaged(response, forged)
    assert _done_so_far() == before
    office.insert("u1")
    office.swipe()
    admin_client.post("/vending/meter-change/", {"action": "read"})
    before = _done_so_far()
    response = admin_client.post(
        "/vending/meter-change/",
        {"action": "write", "key": forged, "account": office.account.pk, "remaining": "3"},
    )
    _refused_as_damaged(response, forged)
    assert _done_so_far() == before
    office.new_card("t1")
    before = _done_so_far()
    for data in (
        {"action": "format"},
        {"action": "make", "tool": "check", "account": ""},
        {"action": "recycle"},
    ):
        response = admin_client.post("/cards/", {**data, "key": forged})
        assert response.status_code == 200 and "damaged_form" in codes(response), data
    assert _done_so_far() == before


def test_over_the_limit_is_refused_before_the_operator_confirms(clerk_client, office):
    """The confirm step already refuses what the write would: the meter's limit."""
    office.meter()
    office.open()
    office.swipe()
    data = {
        "action": "review",
        "key": uuid.uuid4().hex,
        "account": office.account.pk,
        "basis": "quantity",
        "quantity": "995",
        "payment": "cash",
    }
    review = clerk_client.post("/vending/sell/", data)
    assert review.status_code == 200
    assert "over_limit" in codes(review)
    assert 'data-testid="confirm"' not in html(review)
    within = clerk_client.post("/vending/sell/", {**data, "quantity": "5"})
    assert 'data-testid="confirm"' in html(within)
    assert Purchase.objects.count() == 1


def test_double_submit_with_the_same_key_is_charged_once(clerk_client, office, clerk):
    office.meter()
    office.open()
    office.swipe()
    key = uuid.uuid4().hex
    first = _sale(clerk_client, key, account=office.account.pk, quantity="3")
    second = _sale(clerk_client, key, account=office.account.pk, quantity="3")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    elsewhere = Client()
    elsewhere.force_login(clerk)
    third = _sale(elsewhere, key, account=office.account.pk, quantity="3")
    assert third["Location"] == first["Location"]
    assert LedgerEntry.objects.filter(kind="sale").count() == 2  # the opening and one sale
    assert _ledger_total() == Decimal("44.85")


def test_a_sale_resent_without_its_card_is_refused_at_once(clerk_client, office, monkeypatch):
    """The same form sent again while the pending sale's card is not in the reader: the
    refusal says which card to put there, without first waiting for the sale to settle (no
    other request is finishing it)."""
    from prepaid.readers.virtual import VirtualReader
    from prepaid.web.views import vending as views

    office.meter()
    office.open()
    office.swipe()
    write = VirtualReader.write

    def pulled(self, data, offset=0):
        monkeypatch.setattr(VirtualReader, "write", write)  # this write only
        self.cut_after = 0
        return write(self, data, offset)

    monkeypatch.setattr(VirtualReader, "write", pulled)
    key = uuid.uuid4().hex
    fields = {"account": office.account.pk, "quantity": "3"}
    assert "card_removed" in codes(_sale(clerk_client, key, **fields))
    office.store.eject()
    waits: list[float] = []
    monkeypatch.setattr(views.time, "sleep", waits.append)

    again = _sale(clerk_client, key, **fields)
    assert again.status_code == 200 and "purchase_pending" in codes(again)
    assert waits == []
    assert Purchase.objects.filter(status="pending").count() == 1


@pytest.mark.parametrize("cut", [0, 60])
def test_a_sale_resent_after_its_card_was_pulled_mid_write_finishes_it(
    clerk_client, office, monkeypatch, cut
):
    """写卡 with the card pulled out during the write (nothing or part of it written): the
    purchase stays pending. The card put back, the browser sends the same form again (same
    key): the sale is finished on the card and its written page shown, charged once."""
    from prepaid.core.card.codec import decode
    from prepaid.readers.virtual import VirtualReader
    from prepaid.web.views import vending as views

    monkeypatch.setattr(views, "FIRST_RESULT_WAIT", 0)
    office.meter()
    office.open()
    office.swipe()
    write = VirtualReader.write

    def pulled(self, data, offset=0):
        monkeypatch.setattr(VirtualReader, "write", write)  # this write only
        self.cut_after = cut
        return write(self, data, offset)

    monkeypatch.setattr(VirtualReader, "write", pulled)
    key = uuid.uuid4().hex
    fields = {"account": office.account.pk, "quantity": "3"}
    refused = _sale(clerk_client, key, **fields)
    assert refused.status_code == 200 and "card_removed" in codes(refused)
    (pending,) = Purchase.objects.filter(status="pending")

    office.insert("u1")
    again = _sale(clerk_client, key, **fields)
    assert again.status_code == 302
    assert again["Location"] == reverse("web:purchase", args=[pending.pk])
    assert Purchase.objects.get(pk=pending.pk).status == "completed"
    assert LedgerEntry.objects.filter(purchase=pending).count() == 1
    assert _ledger_total() == Decimal("44.85")  # the opening and this sale
    slot = decode(office.store.path("u1").read_bytes(), office.site_key).slot(1)
    assert (slot.serial, slot.quantity_centi) == (2, 300)


def test_back_and_reload_after_a_sale_goes_to_the_written_sale_with_a_message(clerk_client, office):
    """The browser's Back to the confirm page and a reload post the confirm step (or the
    write) again with the spent key: the written sale is shown, said so, nothing charged."""
    office.meter()
    office.open()
    office.swipe()
    key = uuid.uuid4().hex
    fields = {"account": office.account.pk, "quantity": "3", "basis": "quantity"}
    done = _sale(clerk_client, key, **fields)
    for action in ("review", "write"):
        again = clerk_client.post(
            "/vending/sell/", {"action": action, "key": key, "payment": "cash", **fields}
        )
        assert again.status_code == 302 and again["Location"] == done["Location"]
        shown = clerk_client.get(again["Location"])
        assert tr(
            "This form was already sent: purchase #%(serial)s was written then. "
            "Nothing was charged or written again.",
            serial=2,
        ) in html(shown)
        assert "card_not_swiped" not in codes(shown)
    assert LedgerEntry.objects.filter(kind="sale").count() == 2  # the opening and one sale


def test_tiered_quote_shows_the_split(clerk_client, office):
    from prepaid.vending.services import open_account

    office.meter()
    office.new_card("u1")
    open_account(
        office.station(),
        office.customer,
        office.account,
        office.tiered,
        quantity="170",
        key="tiered-open",
    )
    office.swipe()
    quote = clerk_client.post(
        "/vending/quote/",
        {
            "mode": "sale",
            "customer": office.customer.user_number,
            "account": office.account.pk,
            "quantity": "100",
            "basis": "quantity",
        },
    )
    page = html(quote)
    assert 'data-testid="quote-tiers"' in page
    assert re.findall(r'data-tier="(\d)"', page) == ["1", "2", "3"]
    assert 'data-amount="700.00"' in page  # 10 × 5 + 80 × 7 + 10 × 9
    # each tier's line says its unit, as the receipt does: 80.00 m³ at ¥7.00/m³
    tier = re.search(r'data-tier="2">(.*?)</tr>', page)
    assert tier is not None and "80.00 m³" in tier.group(1) and "¥7.00/m³" in tier.group(1)
    from prepaid.vending.services import sell

    sold = sell(office.station(), quantity="100", key=uuid.uuid4().hex)
    done = html(clerk_client.get(f"/vending/purchases/{sold.pk}/"))
    tiers = done[done.index('data-testid="done-tiers"') :]
    assert "80.00 m³" in tiers and "¥7.00/m³" in tiers


@pytest.mark.parametrize(("payment", "paid"), [("cash", True), ("wechat", False)])
def test_the_live_quote_shows_change_for_cash_only(clerk_client, office, payment, paid):
    """19.99 at 3.45 buys 5.79 for 19.98: 0.01 back in cash; WeChat charges 19.98."""
    office.open()
    quote = clerk_client.post(
        "/vending/quote/",
        {
            "mode": "sale",
            "customer": office.customer.user_number,
            "account": office.account.pk,
            "amount": "19.99",
            "basis": "amount",
            "payment": payment,
        },
    )
    assert 'data-amount="19.98"' in html(quote)
    assert (f'<th scope="row">{tr("Paid")}</th>' in html(quote)) is paid


def test_live_quote_both_ways(clerk_client, office):
    office.open()
    number = office.customer.user_number
    by_amount = clerk_client.post(
        "/vending/quote/",
        {
            "mode": "sale",
            "customer": number,
            "account": office.account.pk,
            "amount": "19.99",
            "basis": "amount",
        },
    )
    assert 'data-quantity="5.79"' in html(by_amount)
    by_quantity = clerk_client.post(
        "/vending/quote/",
        {
            "mode": "sale",
            "customer": number,
            "account": office.account.pk,
            "quantity": "10",
            "basis": "quantity",
        },
    )
    assert 'data-amount="34.50"' in html(by_quantity)
    opening = clerk_client.post(
        "/vending/quote/",
        {
            "mode": "open",
            "customer": number,
            "account": office.account.pk,
            "price": office.tiered.pk,
            "quantity": "200",
            "basis": "quantity",
        },
    )
    assert 'data-amount="1040.00"' in html(opening)  # 180 × 5 + 20 × 7
    bad = clerk_client.post(
        "/vending/quote/",
        {
            "mode": "sale",
            "customer": number,
            "account": office.account.pk,
            "quantity": "1.001",
            "basis": "quantity",
        },
    )
    assert "too_many_decimals" in codes(bad)
    empty = clerk_client.post("/vending/quote/", {"mode": "sale", "basis": "quantity"})
    assert empty.status_code == 200 and "data-quote" not in html(empty)
    assert clerk_client.get("/vending/quote/")["Location"] == "/vending/"  # POST only


# -- 充值修改 ----------------------------------------------------------------------------------


def test_a_correction_is_paid_as_the_sale_it_corrects(clerk_client, office):
    office.meter()
    office.open()
    office.swipe()
    _sale(
        clerk_client, uuid.uuid4().hex, account=office.account.pk, quantity="20", payment="wechat"
    )
    form = html(clerk_client.post("/vending/correct/", {"action": "read"}))
    assert re.search(r'<option value="wechat"[^>]*selected', form)
    assert not re.search(r'<option value="cash"[^>]*selected', form)


def test_a_correction_starts_on_the_account_that_can_still_be_corrected(clerk_client, office):
    """Water swiped, electricity not: the form offers electricity first, not the water account
    that the page says can no longer be corrected."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.vending.services import open_account

    office.meter()
    office.open()
    office.swipe()
    power = create_account(
        office.admin,
        meter_type="electricity",
        sub_meter=2,
        limit="9999",
        prestore="0",
        alarm="10",
        overdraft="0",
        maintenance_code="1234",
    )
    tariff = add_price(office.admin, account_id=power.pk, name="居民用电", unit_price="0.56")
    open_account(office.station(), office.customer, power, tariff, amount="50", key="power-1")
    form = html(clerk_client.post("/vending/correct/", {"action": "read"}))
    assert re.search(rf'<option value="{power.pk}"[^>]*selected', form)
    # and the sale the other way round: the swiped water account, which can be sold on
    sale = html(clerk_client.post("/vending/sell/", {"action": "read"}))
    assert re.search(rf'<option value="{office.account.pk}"[^>]*selected', sale)


def test_correction_reverses_and_rewrites(clerk_client, clerk, office):
    office.meter()
    office.open()
    office.swipe()
    _sale(clerk_client, uuid.uuid4().hex, account=office.account.pk, quantity="20")
    read = clerk_client.post("/vending/correct/", {"action": "read"})
    assert "already_swiped" not in codes(read)
    key = _key(read)
    review = clerk_client.post(
        "/vending/correct/",
        {
            "action": "review",
            "key": key,
            "account": office.account.pk,
            "quantity": "2",
            "basis": "quantity",
            "payment": "cash",
        },
    )
    assert 'data-testid="confirm"' in html(review) and "¥6.90" in html(review)
    done = clerk_client.post(
        "/vending/correct/",
        {
            "action": "write",
            "key": key,
            "account": office.account.pk,
            "quantity": "2",
            "basis": "quantity",
            "payment": "cash",
        },
    )
    assert done.status_code == 302
    kinds = list(LedgerEntry.objects.values_list("kind", "amount_fen"))
    assert kinds == [("sale", 3450), ("sale", 6900), ("reversal", -6900), ("sale", 690)]
    written = html(clerk_client.get(done["Location"]))
    # the correction keeps the purchase's serial: said once, in words, not "#2 · 修改购买 #2"
    assert 'data-testid="done-serial">#2 · 充值修改（替换原第 2 次购买）<' in written
    assert f'<dt class="col-sm-4">{tr("Purchase serial")}</dt>' in written
    clerk.language = "en"
    clerk.save(update_fields=["language"])
    english = html(clerk_client.get(done["Location"]))
    said = "#2 · Correction (replaces the original purchase 2)<"
    assert f'data-testid="done-serial">{said}' in english
    clerk.language = "zh-hans"
    clerk.save(update_fields=["language"])
    # the money that changed hands stays on the page and the receipt: ¥69.00 → ¥6.90
    assert 'data-testid="correction-refund">¥62.10<' in written
    purchase_id = done["Location"].rstrip("/").split("/")[-1]
    clerk_client.post(f"/vending/purchases/{purchase_id}/print/", {"paper": "58"})
    receipt = html(clerk_client.get(f"/vending/purchases/{purchase_id}/receipt/1/"))
    assert 'data-testid="receipt-refund">¥62.10<' in receipt and "¥69.00" in receipt
    office.swipe()
    swiped = clerk_client.post("/vending/correct/", {"action": "read"})
    assert "already_swiped" in codes(swiped)
    refused = clerk_client.post(
        "/vending/correct/",
        {
            "action": "write",
            "key": uuid.uuid4().hex,
            "account": office.account.pk,
            "quantity": "3",
            "basis": "quantity",
        },
    )
    assert "already_swiped" in codes(refused)
    assert LedgerEntry.objects.count() == 4


def test_a_correction_by_amount_shows_the_money_to_give_back_not_a_payment_and_change(
    clerk_client, office
):
    """20 m³ at ¥3.45 (¥69.00 paid) corrected to ¥19.99, which buys 5.79 m³ for ¥19.98: the
    customer gets ¥49.02 back. Nothing is paid at the correction, so neither the page nor the
    receipt shows “paid ¥19.99, change ¥0.01” (the cent is in the ¥49.02)."""
    office.meter()
    office.open()
    office.swipe()
    _sale(clerk_client, uuid.uuid4().hex, account=office.account.pk, quantity="20")
    clerk_client.post("/vending/correct/", {"action": "read"})
    correction = {
        "key": uuid.uuid4().hex,
        "account": office.account.pk,
        "amount": "19.99",
        "basis": "amount",
        "payment": "cash",
    }
    review = html(clerk_client.post("/vending/correct/", {"action": "review", **correction}))
    paid = tr("Paid")
    assert 'data-testid="confirm"' in review and "¥49.02" in review and paid not in review
    done = clerk_client.post("/vending/correct/", {"action": "write", **correction})
    assert done.status_code == 302
    written = html(clerk_client.get(done["Location"]))
    assert 'data-testid="correction-refund">¥49.02<' in written
    assert paid not in written
    purchase_id = done["Location"].rstrip("/").split("/")[-1]
    clerk_client.post(f"/vending/purchases/{purchase_id}/print/", {"paper": "58"})
    receipt = html(clerk_client.get(f"/vending/purchases/{purchase_id}/receipt/1/"))
    assert 'data-testid="receipt-refund">¥49.02<' in receipt and paid not in receipt


def test_the_correction_confirm_shows_the_purchase_replaced_and_the_money_to_give_back(
    clerk_client, office
):
    """Money changes hands at a correction: 20 m³ at ¥3.45 (¥69.00) corrected to 2 m³
    (¥6.90) gives the customer ¥62.10 back; corrected up to 25 m³ (¥86.25) collects ¥17.25."""
    office.meter()
    office.open()
    office.swipe()
    _sale(clerk_client, uuid.uuid4().hex, account=office.account.pk, quantity="20")
    sold, price = Decimal("20") * Decimal("3.45"), Decimal("3.45")

    def review(quantity: str) -> str:
        return html(
            clerk_client.post(
                "/vending/correct/",
                {
                    "action": "review",
                    "key": uuid.uuid4().hex,
                    "account": office.account.pk,
                    "quantity": quantity,
                    "basis": "quantity",
                    "payment": "cash",
                },
            )
        )

    down = review("2")
    replaced = tr("Replaces purchase #%(serial)s: %(quantity)s %(unit)s, %(amount)s.")
    assert replaced % {"serial": 2, "quantity": "20.00", "unit": "m³", "amount": "¥69.00"} in down
    give_back = sold - Decimal("2") * price
    assert f"{tr('Give back to the customer')}：¥{give_back}" in down
    assert 'data-testid="correction-collect"' not in down
    up = review("25")
    collect = Decimal("25") * price - sold
    assert f"{tr('Collect from the customer')}：¥{collect}" in up
    assert 'data-testid="correction-refund"' not in up
    same = review("20")
    assert "correction-refund" not in same and "correction-collect" not in same
    assert LedgerEntry.objects.count() == 2  # a confirm step moves no money


# -- 补卡 ------------------------------------------------------------------------------------


def test_the_reissue_page_lists_the_cards_in_lower_case_in_english(clerk_client, clerk, office):
    from prepaid.operators.models import Operator

    office.open()
    Operator.objects.filter(pk=clerk.pk).update(language="en")
    page = html(clerk_client.get(f"/vending/reissue/?customer={office.customer.user_number}"))
    assert "(in use)" in page and "(In use)" not in page


def test_the_reissue_page_gives_each_last_purchase_with_its_unit(clerk_client, office):
    """A customer's accounts may be water and electricity: 10.00 alone says neither m³ nor
    kWh (the sale page and the written page give the unit too)."""
    import re

    office.open(quantity="10")
    page = html(clerk_client.get(f"/vending/reissue/?customer={office.customer.user_number}"))
    table = re.search(r'data-testid="last-purchases">.*?</table>', page, re.S).group(0)
    assert "10.00 m³<" in table


def test_reissue_then_the_new_card_must_be_swiped(clerk_client, office):
    office.meter()
    office.open()
    office.swipe()
    number = office.customer.user_number
    page = clerk_client.get(f"/vending/reissue/?customer={number}")
    assert 'data-testid="last-purchases"' in html(page) and "10.00" in html(page)
    assert f"（{tr('In use')}）" in html(page) and "(Active)" not in html(page)
    office.new_card("u2")
    key = _key(page)
    review = clerk_client.post(
        "/vending/reissue/",
        {"customer": number, "key": key, "fee": "5", "payment": "cash", "action": "review"},
    )
    assert 'data-testid="confirm"' in html(review)
    done = clerk_client.post(
        "/vending/reissue/",
        {"customer": number, "key": key, "fee": "5", "payment": "cash", "action": "write"},
    )
    assert done.status_code == 302
    result = clerk_client.get(done["Location"])
    assert 'data-testid="reissue-success"' in html(result)
    assert tr("Card reissued successfully.") in html(result)
    again = clerk_client.post(
        "/vending/reissue/",
        {"customer": number, "key": key, "fee": "5", "payment": "cash", "action": "write"},
    )
    assert again["Location"] == done["Location"]
    assert [e.amount_fen for e in LedgerEntry.objects.filter(kind="fee")] == [500]
    # the browser's Back and Confirm again: 补卡成功 says nothing was charged or written again
    said = tr(
        "This form was already sent: the new card was written then. "
        "Nothing was charged or written again."
    )
    assert said in html(clerk_client.get(again["Location"]))
    assert "card_not_swiped" in codes(clerk_client.post("/vending/sell/", {"action": "read"}))
    office.insert("u1")
    assert "card_revoked" in codes(clerk_client.post("/vending/sell/", {"action": "read"}))
    # the cards listed as Chinese lists them: 卡片：…（已回收）、…（使用中）
    cards = html(clerk_client.get(f"/vending/reissue/?customer={number}"))
    assert f"（{tr('Revoked')}）、<code>" in cards and "), <code>" not in cards
    # the customer's cards and purchases by their names in the operator's language
    customer = html(clerk_client.get(f"/customers/{number}/"))
    assert f"<td>{tr('Revoked')}</td>" in customer and f"<td>{tr('In use')}</td>" in customer
    assert f"<td>{tr('Completed')}</td>" in customer and ">Revoked<" not in customer


def _reissue(client, number, **fields):
    data = {"customer": number, "key": uuid.uuid4().hex, "payment": "cash", **fields}
    done = client.post("/vending/reissue/", {**data, "action": "write"})
    assert done.status_code == 302, html(done)
    return done["Location"]


def test_a_reissue_of_a_first_purchase_no_meter_was_seen_taking_warns_at_the_counter(
    clerk_client, office
):
    """The customer swiped the opening, then lost the card before the office read the meter's
    write-back: the new card carries the first purchase unmarked, and a spare meter, set and
    not yet bound, would credit it too. 补卡成功 says so, with the purchase and its unit, so
    that the customer swipes the new card on their own meter only."""
    from prepaid.vending.services import read_user_card

    office.meter()
    office.open(quantity="10")
    assert office.swipe().ok  # the meter took it; the office never read it
    number = office.customer.user_number
    office.new_card("u2")
    page = html(clerk_client.get(_reissue(clerk_client, number)))
    (warning,) = re.findall(r'data-testid="first-purchase-at-risk">([^<]*)<', page)
    assert warning == tr(
        "Warning: the new card carries the customer's first purchase %(serial)s "
        "(%(quantity)s %(unit)s) on sub-meter %(sub_meter)s, which no meter is known to have "
        "taken. A spare meter that is set and not yet bound would credit it too: tell the "
        "customer to swipe the new card on their own meter only, and to bring the old card "
        "back if it is found.",
        serial=1,
        quantity="10.00",
        unit="m³",
        sub_meter=office.account.sub_meter,
    )
    assert "（序号 1，10.00 m³）" in warning and "只在自家的表上刷新卡" in warning
    assert 'data-testid="transfer-at-risk"' not in page

    # the office reads the meter's write-back from the new card: a further reissue marks the
    # first purchase taken, and there is nothing to warn about
    office.insert("u2")
    assert office.swipe().ok
    read_user_card(office.station())
    office.new_card("u3")
    again = html(clerk_client.get(_reissue(clerk_client, number)))
    assert 'data-testid="reissue-success"' in again
    assert 'data-testid="first-purchase-at-risk"' not in again


def _reissue_review(client, number):
    """The reissue's confirm step; it must write and audit nothing."""
    from prepaid.audit.models import AuditEntry
    from prepaid.cards.models import CardOperation
    from prepaid.vending.models import CustomerCard

    def counts():
        return [m.objects.count() for m in (AuditEntry, CardOperation, CustomerCard, LedgerEntry)]

    before = counts()
    data = {"customer": number, "key": uuid.uuid4().hex, "payment": "cash", "fee": "5"}
    review = html(client.post("/vending/reissue/", {**data, "action": "review"}))
    assert 'data-testid="confirm"' in review
    assert counts() == before
    return review


def test_the_reissue_confirm_step_warns_of_a_first_purchase_no_meter_was_seen_taking(
    clerk_client, office
):
    """Before 写卡, so that the operator tells the customer first: the same purchase the
    补卡成功 page then warns of, and nothing written or audited by the confirm step."""
    office.meter()
    office.open(quantity="10")
    assert office.swipe().ok  # the meter took it; the office never read it
    number = office.customer.user_number
    office.new_card("u2")
    review = _reissue_review(clerk_client, number)
    (warning,) = re.findall(r'data-testid="first-purchase-at-risk">([^<]*)<', review)
    assert warning == tr(
        "Warning: the new card will carry the customer's first purchase %(serial)s "
        "(%(quantity)s %(unit)s) on sub-meter %(sub_meter)s, which no meter is known to have "
        "taken. A spare meter that is set and not yet bound would credit it too: tell the "
        "customer before writing the card to swipe the new card on their own meter only, and "
        "to bring the old card back if it is found.",
        serial=1,
        quantity="10.00",
        unit="m³",
        sub_meter=office.account.sub_meter,
    )
    assert "（序号 1，10.00 m³）" in warning and "写卡前请告知用户" in warning
    assert 'data-testid="transfer-at-risk"' not in review
    assert office.customer.cards.get().status == "active"
    done = html(clerk_client.get(_reissue(clerk_client, number)))
    assert 'data-testid="first-purchase-at-risk">' in done


def test_the_reissue_confirm_step_warns_of_a_transfer_the_card_to_revoke_carries(
    admin_client, office
):
    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    key = _key(admin_client.post("/vending/meter-change/", {"action": "read"}))
    data = {"key": key, "account": office.account.pk, "remaining": "13", "reason": "坏表"}
    assert admin_client.post("/vending/meter-change/", {**data, "action": "write"}).status_code
    number = office.customer.user_number
    office.new_card("u2")
    review = _reissue_review(admin_client, number)
    (warning,) = re.findall(r'data-testid="transfer-at-risk">([^<]*)<', review)
    assert "子表 1 的换表转移（序号 2，8.00 m³）" in warning and "写卡前请告知用户" in warning
    assert 'data-testid="first-purchase-at-risk"' not in review
    done = html(admin_client.get(_reissue(admin_client, number)))
    assert done.count('data-testid="transfer-at-risk">') == 1


def test_a_reissue_after_a_second_purchase_gives_no_first_purchase_warning(clerk_client, office):
    """The card carries a later purchase, not the opening: no warning."""
    from prepaid.vending.services import read_user_card, sell

    office.meter()
    office.open(quantity="10")
    assert office.swipe().ok
    read_user_card(office.station())
    sell(office.station(), quantity="5", key=uuid.uuid4().hex)
    number = office.customer.user_number
    office.new_card("u2")
    page = html(clerk_client.get(_reissue(clerk_client, number)))
    assert 'data-testid="reissue-success"' in page
    assert 'data-testid="first-purchase-at-risk"' not in page


def test_a_reissue_has_a_receipt_of_its_booked_fee_at_once_and_later_from_the_customer(
    clerk_client, office
):
    from prepaid.audit.models import AuditEntry
    from prepaid.cards.models import CardOperation

    office.open()
    number = office.customer.user_number
    first_card = office.customer.cards.get().serial
    office.new_card("u2")
    done = _reissue(clerk_client, number, fee="12.5", payment="wechat")
    reissue = CardOperation.objects.get(kind="reissue")
    fee = LedgerEntry.objects.get(kind="fee")
    page = html(clerk_client.get(done))
    assert f'data-reissue="{reissue.pk}"' in page and 'data-testid="print-receipt"' in page
    assert 'data-testid="reissue-fee">¥12.50 · ' + tr("WeChat Pay") in page
    assert f"<code>{first_card}</code>" in page.split('data-testid="revoked-card"')[1]

    printed = clerk_client.post(f"/vending/reissues/{reissue.pk}/print/", {"paper": "58"})
    assert printed["Location"] == f"/vending/reissues/{reissue.pk}/receipt/1/?paper=58&print=1"
    receipt = html(clerk_client.get(printed["Location"]))
    assert 'data-testid="receipt"' in receipt and "paper-58" in receipt
    assert tr("Reissue receipt") in receipt and "REPRINT" not in receipt
    assert 'data-testid="receipt-fee">¥12.50<' in receipt and fee.amount_fen == 1250
    assert tr("WeChat Pay") in receipt and "张三" in receipt and number in receipt
    new_card = receipt.split('data-testid="receipt-new-card">')[1].split("<")[0]
    assert new_card.startswith(office.customer.cards.get(status="active").serial)
    assert first_card in receipt.split('data-testid="receipt-revoked-card">')[1]
    assert "web-test" in receipt  # the station that reissued the card
    reprint = clerk_client.post(f"/vending/reissues/{reissue.pk}/print/", {"paper": "a4"})
    again = html(clerk_client.get(reprint["Location"]))
    assert "重印 / REPRINT 2" in again and "size: A4" in again
    assert AuditEntry.objects.filter(action="receipt.print", object_type="cards.cardoperation")
    assert clerk_client.get(f"/vending/reissues/{reissue.pk}/receipt/3/").status_code == 404
    assert clerk_client.get(f"/vending/reissues/{reissue.pk + 99}/receipt/1/").status_code == 404
    assert clerk_client.post(f"/vending/reissues/{reissue.pk + 99}/print/").status_code == 404

    # Later: from the customer's cards, each reissued card opens its reissue and its receipt.
    office.new_card("u3")
    second = _reissue(clerk_client, number)  # no fee this time
    customer = html(clerk_client.get(f"/customers/{number}/"))
    assert customer.count('data-testid="reissue-receipt"') == 2
    assert f'href="{done}"' in customer and f'href="{second}"' in customer
    earlier = html(clerk_client.get(done))
    assert "重打收据" in earlier and "已打印 2 次" in earlier
    later = html(clerk_client.get(second))
    assert 'data-testid="reissue-fee">¥0.00<' in later  # its own fee, not the earlier one's
    assert later.count('data-testid="revoked-card"') == 1
    assert clerk_client.get(f"/vending/reissue/{number}/{first_card}/").status_code == 404


def test_reissue_needs_a_new_card_and_a_good_fee(clerk_client, office):
    office.open()
    number = office.customer.user_number
    base = {"customer": number, "payment": "cash", "action": "write"}
    not_new = clerk_client.post("/vending/reissue/", {**base, "key": uuid.uuid4().hex})
    assert "not_a_new_card" in codes(not_new)
    office.new_card("u2")
    for fee, code in (("-5", "negative"), ("1.005", "too_many_decimals"), ("abc", "not_a_number")):
        response = clerk_client.post(
            "/vending/reissue/", {**base, "fee": fee, "key": uuid.uuid4().hex}
        )
        assert code in codes(response), fee
        assert "fee" in field_errors(response)
        # the confirm step refuses it too, rather than showing a rounded fee to confirm
        review = clerk_client.post(
            "/vending/reissue/",
            {**base, "action": "review", "fee": fee, "key": uuid.uuid4().hex},
        )
        assert code in codes(review) and 'data-testid="confirm"' not in html(review), fee
    review = clerk_client.post(
        "/vending/reissue/",
        {**base, "action": "review", "fee": "10.5", "key": uuid.uuid4().hex},
    )
    assert 'data-testid="confirm"' in html(review) and "¥10.50" in html(review)
    assert not LedgerEntry.objects.filter(kind="fee").exists()


def test_reissue_refuses_at_the_confirm_step_the_cards_its_write_refuses(clerk_client, office):
    """The customer's own card in use, or a factory-blank card, in the reader: the confirm
    step refuses it as 写卡 would, instead of asking to write a new card and revoke the
    current one."""
    office.open("u1")
    number = office.customer.user_number
    base = {"customer": number, "fee": "5", "payment": "cash"}
    for card in ("u1", "factory"):
        if card == "factory":
            office.blank("factory")
            office.insert("factory")
        review = clerk_client.post(
            "/vending/reissue/", {**base, "action": "review", "key": uuid.uuid4().hex}
        )
        write = clerk_client.post(
            "/vending/reissue/", {**base, "action": "write", "key": uuid.uuid4().hex}
        )
        assert "not_a_new_card" in codes(review) and 'data-testid="confirm"' not in html(review)
        assert _refusals(review) == _refusals(write) != [], card
    assert tr(
        "A new card is needed; the card in the reader is this customer's card in use. A "
        "reissue writes a new card in place of a lost or broken one: put a new card in the "
        "reader."
    ) not in html(review)  # the blank card's own reason, not the earlier one's
    assert not LedgerEntry.objects.filter(kind="fee").exists()
    assert office.customer.cards.get().status == "active"


def test_reissue_confirm_step_for_a_customer_without_a_card(clerk_client, office):
    office.new_card("u2")
    review = clerk_client.post(
        "/vending/reissue/",
        {
            "customer": office.customer.user_number,
            "payment": "cash",
            "action": "review",
            "key": uuid.uuid4().hex,
        },
    )
    assert "nothing_to_reissue" in codes(review) and 'data-testid="confirm"' not in html(review)


def test_reissue_for_a_customer_without_a_card(clerk_client, office):
    office.new_card("u2")
    response = clerk_client.post(
        "/vending/reissue/",
        {
            "customer": office.customer.user_number,
            "payment": "cash",
            "action": "write",
            "key": uuid.uuid4().hex,
        },
    )
    assert "nothing_to_reissue" in codes(response)


# -- 换表卡调整 --------------------------------------------------------------------------------


def test_meter_change(admin_client, office):
    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    read = admin_client.post("/vending/meter-change/", {"action": "read"})
    key = _key(read)
    data = {"key": key, "account": office.account.pk, "remaining": "13", "reason": "坏表"}
    review = html(admin_client.post("/vending/meter-change/", {**data, "action": "review"}))
    # the manual: the remaining value at the current price is computed before 写卡
    assert 'data-testid="confirm"' in review
    assert 'data-testid="transfer">8.00 m³<' in review and 'data-testid="value">¥27.60<' in review
    assert ">13.00 m³<" in review and ">5.00 m³<" in review  # quantities with their unit
    assert not Purchase.objects.filter(kind="transfer").exists()
    done = admin_client.post("/vending/meter-change/", {**data, "action": "write"})
    assert done.status_code == 302
    page = html(admin_client.get(done["Location"]))
    assert 'data-testid="transfer">8.00 m³' in page  # 13 − 5 pre-stored
    banner = page.split('data-testid="write-success"')[1].split("</div>")[0]
    assert banner.split(">", 1)[1].strip() == "换表卡调整写卡成功"  # as 写卡成功: no full stop
    assert ">13.00 m³<" in page and ">5.00 m³<" in page
    assert 'data-testid="reason">坏表<' in page  # why the meter was changed, as recorded
    assert 'data-testid="old-readings">余量 ' in page  # the old meter's write-back read
    purchase_id = done["Location"].rstrip("/").split("/")[-1]
    admin_client.post(f"/vending/purchases/{purchase_id}/print/", {"paper": "80"})
    receipt = html(admin_client.get(f"/vending/purchases/{purchase_id}/receipt/1/"))
    assert tr("Please swipe the card on the new meter.") in receipt
    again = admin_client.post("/vending/meter-change/", {**data, "action": "write"})
    assert again["Location"] == done["Location"]
    assert Purchase.objects.filter(kind="transfer").count() == 1
    read = html(admin_client.post("/vending/sell/", {"action": "read"}))
    row = read.split('data-testid="card-accounts"')[1].split("</tr>")[1]
    assert tr("transfer") in row and "¥0.00" not in row  # a transfer, not a sale of ¥0.00


def test_a_reissue_names_a_carried_meter_change_transfer_as_a_transfer(admin_client, office):
    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    key = _key(admin_client.post("/vending/meter-change/", {"action": "read"}))
    data = {"key": key, "account": office.account.pk, "remaining": "13", "reason": "坏表"}
    assert admin_client.post("/vending/meter-change/", {**data, "action": "write"}).status_code
    office.new_card("u2")
    done = html(admin_client.get(_reissue(admin_client, office.customer.user_number, fee="0")))
    carried = done.split('data-testid="carried">')[1].split("</dd>")[0]
    assert carried == f"{tr('Meter-change transfer')} #2：8.00 m³", carried


def test_a_meter_change_takes_an_overdrawn_remaining_and_refuses_one_below_overdraft(
    admin_client, office
):
    """The old meter shows −3.00 (overdrawn): typed as read, the new meter gets the debt
    (−3.00 − 5.00 pre-stored); −5.01, below its overdraft, is refused on the field."""
    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    key = _key(admin_client.post("/vending/meter-change/", {"action": "read"}))
    data = {"key": key, "account": office.account.pk, "reason": "坏表", "action": "review"}
    below = admin_client.post("/vending/meter-change/", {**data, "remaining": "-5.01"})
    assert "below_overdraft" in codes(below)
    assert field_errors(below)["remaining"].startswith("旧表余量不能低于 -5.00")
    review = html(admin_client.post("/vending/meter-change/", {**data, "remaining": "-3"}))
    assert 'data-testid="transfer">-8.00 m³<' in review
    assert not Purchase.objects.filter(kind="transfer").exists()


def test_a_meter_change_asks_whether_the_old_meter_took_a_purchase_on_a_reissued_card(
    admin_client, office
):
    """#2 written on u1, taken at home, u1 lost before the office read it back: the form asks
    what the old meter's display shows, the review and the result show the answer."""
    from prepaid.vending.services import reissue, sell

    office.meter("OLD")
    office.open(quantity="10")
    office.swipe("OLD")
    sell(office.station(), quantity="7", key=uuid.uuid4().hex)  # serial 2
    form = html(admin_client.post("/vending/meter-change/", {"action": "read"}))
    assert 'data-testid="last-taken"' not in form  # u1 itself tells (not swiped): not asked
    office.swipe("OLD")  # 22.00 on the old meter, the 7.00 included; u1 is then lost
    office.new_card("u2")
    reissue(office.station(), office.customer, key=uuid.uuid4().hex)

    read = admin_client.post("/vending/meter-change/", {"action": "read"})
    page = html(read)
    assert 'data-testid="last-taken"' in page
    assert tr("The old meter took purchase #%(serial)s", serial=2) in page
    assert tr("The old meter did not take purchase #%(serial)s", serial=2) in page
    assert "（7.00 m³）" in page  # the hint names the purchase to look for
    data = {"key": _key(read), "account": office.account.pk, "remaining": "22"}
    unanswered = admin_client.post("/vending/meter-change/", {**data, "action": "review"})
    assert "last_purchase_unknown" in codes(unanswered)
    assert 'data-testid="confirm"' not in html(unanswered)
    refused = admin_client.post("/vending/meter-change/", {**data, "action": "write"})
    assert "last_purchase_unknown" in codes(refused)
    assert not Purchase.objects.filter(kind="transfer").exists()

    not_taken = html(
        admin_client.post(
            "/vending/meter-change/", {**data, "last_taken": "no", "action": "review"}
        )
    )
    assert 'data-testid="carried">7.00 m³<' in not_taken
    assert 'data-testid="transfer">24.00 m³<' in not_taken  # 22 − 5 + 7
    review = html(
        admin_client.post(
            "/vending/meter-change/", {**data, "last_taken": "yes", "action": "review"}
        )
    )
    answer = tr("The old meter took purchase #%(serial)s", serial=2)
    assert f'data-testid="last-taken-answer">{answer}<' in review
    assert 'data-testid="carried">0.00 m³<' in review
    assert 'data-testid="transfer">17.00 m³<' in review  # 22 − 5: the 7.00 is in the 22.00
    assert 'name="last_taken" value="yes"' in review  # carried to 写卡
    done = admin_client.post(
        "/vending/meter-change/", {**data, "last_taken": "yes", "action": "write"}
    )
    assert done.status_code == 302
    result = html(admin_client.get(done["Location"]))
    assert f'data-testid="last-taken-answer">{answer}<' in result
    assert 'data-testid="transfer">17.00 m³' in result


def test_a_meter_change_asks_when_the_meter_s_record_on_the_card_is_damaged(admin_client, office):
    """#2 taken by the old meter, the card pulled while it wrote back: the form asks what
    the old meter's display shows, and says why (not a reissue)."""
    from prepaid.core.card import codec
    from prepaid.vending.services import sell

    office.meter("OLD")
    office.open(quantity="10")
    office.swipe("OLD")
    sell(office.station(), quantity="7", key=uuid.uuid4().hex)  # serial 2
    reader = office.station().reader
    office.swipe("OLD")  # 22.00 on the old meter, the 7.00 included ...
    image = bytearray(reader.read())
    image[codec.METER_AREA.start + 4] ^= 0xFF  # ... and what it wrote back is damaged
    reader.write(bytes(image[codec.METER_AREA]), codec.METER_AREA.start)

    page = html(admin_client.post("/vending/meter-change/", {"action": "read"}))
    assert 'data-testid="last-taken"' in page
    assert tr("The old meter took purchase #%(serial)s", serial=2) in page
    hint = (
        "Purchase #%(serial)s (%(quantity)s %(unit)s) is on this card, but what the meter "
        "wrote back on the card is damaged: the office cannot tell whether the old meter took "
        "it. Read the last purchase number on the old meter's display."
    )
    assert tr(hint, serial=2, quantity="7.00", unit="m³") in page
    assert "写在用户补卡前的旧卡上" not in page  # the reissue's hint


def test_a_meter_change_leaving_less_than_the_pre_stored_says_what_the_card_does(
    admin_client, office
):
    """3 m³ left, 5 pre-stored on the new meter: the card takes 2 back from it."""
    office.meter("OLD")
    office.open(quantity="20")
    office.swipe("OLD")
    key = _key(admin_client.post("/vending/meter-change/", {"action": "read"}))
    data = {"key": key, "account": office.account.pk, "remaining": "3", "action": "review"}
    review = html(admin_client.post("/vending/meter-change/", data))
    assert 'data-testid="transfer">-2.00 m³<' in review
    assert 'data-testid="negative-transfer"' in review
    data["remaining"] = "13"
    assert 'data-testid="negative-transfer"' not in html(
        admin_client.post("/vending/meter-change/", data)
    )


def test_meter_change_bad_remaining(admin_client, office):
    office.meter("OLD")
    office.open()
    office.swipe("OLD")
    for remaining, code in (
        ("-5.01", "below_overdraft"),  # an overdrawn meter stops at its overdraft (5.00)
        ("1.234", "too_many_decimals"),
        ("5000", "over_limit"),
        ("15.01", "remaining_above_meter"),  # the old meter wrote back 15.00
    ):
        response = admin_client.post(
            "/vending/meter-change/",
            {
                "action": "write",
                "key": uuid.uuid4().hex,
                "account": office.account.pk,
                "remaining": remaining,
            },
        )
        assert code in codes(response), remaining
        assert "remaining" in field_errors(response), remaining  # shown at the field
        review = admin_client.post(
            "/vending/meter-change/",
            {
                "action": "review",
                "key": uuid.uuid4().hex,
                "account": office.account.pk,
                "remaining": remaining,
            },
        )
        assert code in codes(review) and 'data-testid="confirm"' not in html(review), remaining
    assert not Purchase.objects.filter(kind="transfer").exists()


# -- receipts -------------------------------------------------------------------------------


def test_receipt_prints_are_counted_and_reprints_marked(clerk_client, office):
    from prepaid.audit.models import AuditEntry

    purchase = office.open()
    done = html(clerk_client.get(f"/vending/purchases/{purchase.pk}/"))
    assert 'data-testid="print-count"' in done
    count = done.split('data-testid="print-count">')[1].split("<")[0]
    assert count == tr("Not printed yet")  # not “Printed 0 times”
    first = clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "58"})
    assert first["Location"] == f"/vending/purchases/{purchase.pk}/receipt/1/?paper=58&print=1"
    original = html(clerk_client.get(first["Location"]))
    assert 'data-testid="receipt"' in original and "paper-58" in original
    assert "REPRINT" not in original and "¥34.50" in original
    line = original.split('data-testid="receipt-line">')[1].split("</td>")[0]
    assert line == "10.00 m³ × ¥3.45/m³"  # a flat price: no "阶梯 1:" on the line
    second = clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "a4"})
    reprint = html(clerk_client.get(second["Location"]))
    assert "重印 / REPRINT 2" in reprint and "size: A4" in reprint
    assert AuditEntry.objects.filter(action="receipt.print").count() == 2
    assert clerk_client.get(f"/vending/purchases/{purchase.pk}/receipt/3/").status_code == 404
    done = html(clerk_client.get(f"/vending/purchases/{purchase.pk}/"))
    assert tr("Reprint receipt") in done
    assert done.split('data-testid="print-count">')[1].split("<")[0] == "已打印 2 次"
    bad_paper = clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "x"})
    assert "paper=80" in bad_paper["Location"]


def test_the_paper_last_printed_on_is_offered_again(clerk_client, office):
    """A station prints on one paper: after a 58 mm receipt (the page reloads to show the
    print), the reprint and the next sale's receipt are offered on 58 mm, not back on 80 mm."""
    selected = re.compile(r'<option value="([^"]+)" selected>')
    purchase = office.open()
    done = f"/vending/purchases/{purchase.pk}/"
    assert selected.findall(html(clerk_client.get(done))) == ["80"]
    clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "58"})
    assert selected.findall(html(clerk_client.get(done))) == ["58"]
    clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "a4"})
    assert selected.findall(html(clerk_client.get(done))) == ["a4"]


def test_unknown_purchase_is_404(clerk_client, office):
    assert clerk_client.get("/vending/purchases/4242/").status_code == 404
    assert clerk_client.post("/vending/purchases/4242/print/").status_code == 404


def test_a_customer_opened_on_every_account_is_offered_no_opening_in_the_lists(
    clerk_client, office
):
    """充值管理, 查找用户 and 开户's own list offer 开户 only to a customer with an account
    left to open; one opened everywhere is said to be, as on the customer's page."""
    from prepaid.customers.services import register_customer

    other = register_customer(office.admin, name="李四")
    opening = f'href="/vending/open/?customer={office.customer.user_number}"'
    assert opening in html(clerk_client.get("/vending/"))
    office.open()
    for path in ("/vending/", "/vending/?q=张三", "/customers/", "/vending/open/"):
        page = html(clerk_client.get(path))
        row = page.split(f'data-customer="{office.customer.user_number}"')[1].split("</tr>")[0]
        assert "/vending/open/?customer=" not in row, path
        assert tr("Opened on every account") in row, path
        if "?q=" not in path:  # the recently registered: 李四 has an account left to open
            assert f'href="/vending/open/?customer={other.user_number}"' in page, path


def test_vending_overview_finds_customers(clerk_client, office):
    page = html(clerk_client.get("/vending/?q=张三"))
    assert f'data-customer="{office.customer.user_number}"' in page
    assert "/vending/meter-change/" not in page.split("<main")[1]


def test_a_station_with_another_sites_secrets_is_refused_and_the_card_kept(clerk_client, office):
    from prepaid.home import SiteSecrets
    from prepaid.web import station

    office.open()  # the site's key: its fingerprint is recorded
    card = office.store.path("u1").read_bytes()
    office.home.secrets_file.write_text(SiteSecrets.generate().to_json())  # another site's
    station._secrets.cache_clear()
    for data in ({"action": "read"}, {"action": "write", "key": uuid.uuid4().hex, "quantity": "1"}):
        refused = clerk_client.post("/vending/sell/", {"basis": "quantity", **data})
        assert refused.status_code == 409 and "wrong_site_secrets" in codes(refused)
        assert "secrets.json" in html(refused)
    assert office.store.path("u1").read_bytes() == card
    assert Purchase.objects.count() == 1


def test_reissue_over_a_crashed_sales_pending_purchase_says_how_to_settle_it(
    clerk_client, office, monkeypatch
):
    from prepaid.vending import services as vending

    office.open()
    office.meter()
    office.swipe()

    def crash(*args, **kwargs):
        raise RuntimeError("station killed")

    write_and_complete = vending._write_and_complete
    monkeypatch.setattr(vending, "_write_and_complete", crash)
    with pytest.raises(RuntimeError):
        vending.sell(office.station(), quantity="1", key=uuid.uuid4().hex)
    monkeypatch.setattr(vending, "_write_and_complete", write_and_complete)
    pending = Purchase.objects.get(status="pending")
    office.new_card("u2")  # the old card is lost
    number = office.customer.user_number
    refused = clerk_client.post(
        "/vending/reissue/",
        {"customer": number, "key": uuid.uuid4().hex, "payment": "cash", "action": "write"},
    )
    assert "stale_pending_purchase" in codes(refused)
    assert f"prepaid reconcile --void {pending.pk}" in html(refused)
    assert "sale_in_progress" not in codes(refused)


def test_a_page_not_found_is_the_offices_page_in_its_language(clerk_client, office):
    """An unknown address or purchase: a page of the office, translated, with a way back."""
    for url in ("/no-such-page/", "/vending/purchases/4242/", "/vending/purchases/4242/receipt/1/"):
        page = clerk_client.get(url)
        assert page.status_code == 404
        assert 'data-testid="not-found"' in html(page) and tr("Not found") in html(page)
        assert "The requested resource was not found" not in html(page)
    assert tr("There is no such purchase.") in html(clerk_client.get("/vending/purchases/4242/"))
    assert tr("There is no such page. Check the address, or start again from the menu.") in html(
        clerk_client.get("/no-such-page/")
    )


def test_reissue_and_meter_change_forms_are_keyboard_ready(clerk_client, admin_client, office):
    """As on the sale: the cursor in the first field to type, Enter and Esc said on the page."""
    office.meter()
    office.open()
    office.swipe()
    form = html(clerk_client.get(f"/vending/reissue/?customer={office.customer.user_number}"))
    assert re.search(r'<input[^>]*name="fee"[^>]*autofocus', form)
    assert tr("Enter: confirm · Esc: cancel") in form
    change = html(admin_client.post("/vending/meter-change/", {"action": "read"}))
    assert re.search(r'<input[^>]*name="remaining"[^>]*autofocus', change)
    assert tr("Enter: confirm · Esc: cancel") in change


def test_confirming_a_sale_on_an_unswiped_card_says_so_once(clerk_client, office):
    office.meter()
    office.open()
    review = clerk_client.post(
        "/vending/sell/",
        {
            "action": "review",
            "key": uuid.uuid4().hex,
            "account": office.account.pk,
            "quantity": "1",
            "basis": "quantity",
            "payment": "cash",
        },
    )
    said = tr("This card has not been swiped on the meter; swipe it on the meter and try again.")
    assert html(review).count(said) == 1
    assert 'data-testid="confirm"' not in html(review)


def test_an_english_receipt_and_pages_show_the_time_unambiguously_on_the_24_hour_clock(
    clerk_client, clerk, office
):
    import datetime

    from django.utils import timezone

    from prepaid.operators.models import Operator

    # Today in the office (the price takes effect today), in the afternoon.
    today = timezone.localdate()
    afternoon = timezone.make_aware(datetime.datetime.combine(today, datetime.time(15, 5, 30)))
    shown = f"{today.isoformat()} 15:05"
    american = f"{today.month}/{today.day}/"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: afternoon)
        purchase = office.open()
    Operator.objects.filter(pk=clerk.pk).update(language="en")
    done = html(clerk_client.get(f"/vending/purchases/{purchase.pk}/"))
    assert shown in done and "p.m." not in done
    printed = clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "58"})
    receipt = html(clerk_client.get(printed["Location"]))
    assert '<html lang="en">' in receipt
    assert shown in receipt and "p.m." not in receipt and american not in receipt
    history = html(clerk_client.get(f"/customers/{office.customer.user_number}/"))
    assert shown in history and american not in history


def test_a_quantity_typed_in_full_width_is_read_as_typed(clerk_client, office):
    """A Chinese input method left in full-width mode types １０．５: the quote reads 10.5."""
    office.open()
    quote = clerk_client.post(
        "/vending/quote/",
        {
            "mode": "sale",
            "customer": office.customer.user_number,
            "account": office.account.pk,
            "quantity": "１０．５",
            "basis": "quantity",
        },
    )
    assert 'data-amount="36.23"' in html(quote)  # 10.5 × ¥3.45 = 36.225 → 36.23


def test_a_refused_opening_keeps_the_quantity_and_the_amount_computed(clerk_client, office):
    """A refusal (no new card in the reader) at the confirm step or at 写卡: the form comes
    back with 充值量 and the 充值金额 computed from it — also when the operator confirmed
    before the live quote filled the amount in — not with the amount cleared."""
    data = {
        "customer": office.customer.user_number,
        "account": office.account.pk,
        "price": office.price.pk,
        "quantity": "10",
        "amount": "",
        "basis": "quantity",
        "payment": "cash",
        "key": uuid.uuid4().hex,
    }
    for action, amount in (("review", ""), ("write", ""), ("write", "34.50")):
        response = clerk_client.post("/vending/open/", {**data, "amount": amount, "action": action})
        assert "no_card" in codes(response), action  # the confirm step checks the card too
        page = html(response)
        quantity = re.search(r'<input[^>]*name="quantity"[^>]*>', page).group(0)
        shown = re.search(r'<input[^>]*name="amount"[^>]*>', page).group(0)
        assert 'value="10"' in quantity and 'value="34.50"' in shown, (action, amount)
    by_amount = {**data, "quantity": "", "amount": "34.50", "basis": "amount"}
    page = html(clerk_client.post("/vending/open/", {**by_amount, "action": "review"}))
    assert re.search(r'<input[^>]*name="quantity"[^>]*value="10.00"', page)


def test_a_pending_purchase_a_read_settles_is_told_on_the_sale_screen_and_result_page(
    clerk_client, office, monkeypatch
):
    """Counter 1 dies before writing its sale: the clerk's 读卡 at the web station voids it
    (the card does not carry it) and the page says so, with where and by whom it was begun;
    again for a sale whose own read settles one, on the sale's result page."""
    from datetime import timedelta

    from prepaid.readers.virtual import VirtualReader
    from prepaid.vending import services as vending

    class Killed(BaseException):
        pass

    class KilledBeforeWrite(VirtualReader):
        def write(self, data, offset=0):
            raise Killed

    def crashed_sale() -> Purchase:
        counter_1 = vending.Station(
            operator=office.admin,
            reader=KilledBeforeWrite(office.store),
            site_key=office.site_key,
            name="counter-1",
        )
        with pytest.raises(Killed):
            vending.sell(counter_1, quantity="2", key=uuid.uuid4().hex)
        return Purchase.objects.get(status="pending")

    monkeypatch.setattr(vending, "IN_FLIGHT", timedelta(0))
    office.meter()
    office.open()
    office.swipe()
    pending = crashed_sale()
    read = clerk_client.post("/vending/sell/", {"action": "read"})
    page = html(read)
    assert f"第 {pending.pk} 号购买（序号 2，2.00 m³，¥6.90，工作站 counter-1，操作员 admin" in page
    assert (
        "没有写入卡片，已作废，没有记账。如果用户已为它付款，请在工作站 counter-1 退款或重新充值。"
        in page
    )
    assert Purchase.objects.get(pk=pending.pk).status == "voided"

    pending = crashed_sale()
    done = _sale(clerk_client, _key(read), account=office.account.pk, quantity="1")
    assert done.status_code == 302
    result = html(clerk_client.get(done["Location"]))
    assert f"第 {pending.pk} 号购买" in result and "已作废，没有记账" in result

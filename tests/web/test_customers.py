"""用户管理: register (optionally straight on to 开户), find, show; input refused inline."""

from __future__ import annotations

import re

import pytest
from web_helpers import codes, field_errors, html, tr

from prepaid.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_register_shows_the_customer(clerk_client, web_home):
    response = clerk_client.post(
        "/customers/register/", {"name": "李四", "phone": "138-0000 0001", "address": "人民路2号"}
    )
    customer = Customer.objects.get()
    assert response["Location"] == f"/customers/{customer.user_number}/"
    page = clerk_client.get(response["Location"])
    assert "李四" in html(page) and customer.user_number in html(page)
    assert tr(
        "Customer %(name)s registered with user number %(user_number)s.",
        name="李四",
        user_number=customer.user_number,
    ) in html(page)


def test_register_and_issue_a_card_goes_to_opening(clerk_client, web_home):
    response = clerk_client.post("/customers/register/", {"name": "王五", "open_now": "on"})
    customer = Customer.objects.get()
    assert response["Location"] == f"/vending/open/?customer={customer.user_number}"
    page = clerk_client.get(response["Location"])
    assert 'id="sale-form"' in html(page) and "王五" in html(page)


def test_the_open_option_is_offered_and_checked(clerk_client, web_home):
    import re

    page = html(clerk_client.get("/customers/register/"))
    assert re.search(r'<input type="checkbox" name="open_now"[^>]*checked', page)


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"name": ""}, "name", None),
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 65}, "name", "too_long"),
        ({"name": "ok", "phone": "call me"}, "phone", "bad_phone"),
        ({"name": "ok", "id_number": "110101199003077777"}, "id_number", "bad_id_number"),
        ({"name": "ok", "id_number": "AB-12"}, "id_number", "bad_id_number"),
        ({"name": "ok", "address": "a" * 201}, "address", None),
    ],
)
def test_register_bad_input_is_refused_inline(clerk_client, web_home, data, field, code):
    response = clerk_client.post("/customers/register/", data)
    assert response.status_code == 200
    assert field in field_errors(response)
    if code:
        assert code in codes(response)
    assert not Customer.objects.exists()


def test_every_bad_customer_field_is_shown_at_once(clerk_client, web_home):
    response = clerk_client.post(
        "/customers/register/",
        {"name": "", "phone": "call me", "id_number": "AB-12", "remarks": "a\x07b"},
    )
    errors = field_errors(response)
    assert set(errors) == {"name", "phone", "id_number", "remarks"}
    assert errors["phone"] == tr(
        "The phone number may contain only digits, “+”, “-” and spaces, not “%(value)s”.",
        value="call me",
    )
    assert {"bad_phone", "bad_id_number", "bad_text"} <= codes(response)
    assert not Customer.objects.exists()


def test_script_in_names_is_escaped_everywhere(clerk_client, web_home):
    evil = '<img src=x onerror="alert(1)">'
    clerk_client.post("/customers/register/", {"name": evil, "address": "<b>bold</b>"})
    customer = Customer.objects.get()
    for url in (
        f"/customers/{customer.user_number}/",
        "/customers/?q=img",
        "/customers/",
        "/vending/",
        f"/vending/open/?customer={customer.user_number}",
    ):
        page = html(clerk_client.get(url))
        assert evil not in page and "<b>bold</b>" not in page, url
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page, url


def test_find_by_number_name_and_phone(clerk_client, office):
    number = office.customer.user_number
    for query in (number, "1", "张", "13800"):
        page = html(clerk_client.get(f"/customers/?q={query}"))
        assert f'data-customer="{number}"' in page, query
    assert tr("No customer found.") in html(clerk_client.get("/customers/?q=nobody"))


def test_a_search_that_stops_at_the_most_it_lists_says_so(clerk_client, office):
    """A full office: “1” matches every customer; the list of the first 50 says it is cut."""
    from prepaid.customers.services import MAX_FOUND, register_customer

    for n in range(MAX_FOUND):
        register_customer(office.admin, name=f"王{n}", phone=f"1390000{n:04d}")
    page = html(clerk_client.get("/customers/?q=1"))
    assert page.count("data-customer=") == MAX_FOUND
    assert 'data-testid="search-cut-short"' in page
    assert (
        tr(
            "Only the first %(number)s customers found are listed: type more of the user number, "
            "name or phone.",
            number=MAX_FOUND,
        )
        in page
    )
    page = html(clerk_client.get(f"/customers/?q={office.customer.user_number}"))
    assert 'data-testid="search-cut-short"' not in page


def test_find_with_empty_text_is_refused_inline(clerk_client, office):
    response = clerk_client.get("/customers/?q=")
    assert "q" in field_errors(response)


def test_unknown_customer_is_404(clerk_client, office):
    assert clerk_client.get("/customers/99999999/").status_code == 404
    assert clerk_client.get("/vending/open/?customer=99999999").status_code == 404
    assert clerk_client.get("/vending/reissue/?customer=abc").status_code == 404


def test_customer_page_shows_accounts_cards_and_purchases(clerk_client, office):
    office.open()
    page = html(clerk_client.get(f"/customers/{office.customer.user_number}/"))
    assert "居民用水" in page and 'data-card-status="active"' in page
    assert "¥34.50" in page


def test_a_screen_reader_hears_which_fields_need_correcting(clerk_client, web_home):
    response = clerk_client.post("/customers/register/", {"name": "", "phone": "call me"})
    spoken = re.search(r'data-testid="errors-spoken">([^<]*)<', html(response)).group(1)
    assert spoken.startswith("有 2 项需要更正：")
    assert "用户名称：" in spoken and "联系电话：" in spoken

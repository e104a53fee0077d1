"""用户管理: register (optionally straight on to 开户), find, show; input refused inline."""

from __future__ import annotations

import re

import pytest
from web_helpers import codes, field_errors, html, session_now, session_read_as, tr

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


def _form_key(response):
    return re.search(r'name="key" value="([0-9a-f]{32})"', html(response)).group(1)


@pytest.mark.parametrize("open_now", [False, True])
def test_a_register_form_sent_twice_registers_the_customer_once(clerk_client, web_home, open_now):
    """A second click, or the browser's Back and Confirm again: the first result, said so,
    not a second customer with a user number of their own."""
    from prepaid.audit.models import AuditEntry

    key = _form_key(clerk_client.get("/customers/register/"))
    data = {"name": "王五", "phone": "13900000000", "key": key}
    if open_now:
        data["open_now"] = "on"
    first = clerk_client.post("/customers/register/", data)
    audited = AuditEntry.objects.count()
    again = clerk_client.post("/customers/register/", data)
    customer = Customer.objects.get()
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert customer.user_number in first["Location"]
    assert AuditEntry.objects.count() == audited
    said = tr(
        "This form was already sent: the customer was registered then. "
        "Nothing was registered again."
    )
    assert said in html(clerk_client.get(again["Location"]))
    # a new form is a new customer, even of the same name
    other = dict(data, key=_form_key(clerk_client.get("/customers/register/")))
    clerk_client.post("/customers/register/", other)
    assert Customer.objects.count() == 2


def test_a_register_form_sent_twice_at_once_registers_the_customer_once(clerk_client, web_home):
    """Two fast clicks that both reach the server: the second post, which read its session
    before the first was done, goes to the first result too, not to a second customer."""
    key = _form_key(clerk_client.get("/customers/register/"))
    data = {"name": "王五", "key": key, "open_now": "on"}
    before = session_now(clerk_client)
    first = clerk_client.post("/customers/register/", data)
    with session_read_as(before):
        again = clerk_client.post("/customers/register/", data)
    assert Customer.objects.count() == 1
    assert again.status_code == 302 and again["Location"] == first["Location"]


def test_a_register_form_refused_keeps_its_key_and_registers_once_corrected(clerk_client, web_home):
    key = _form_key(clerk_client.get("/customers/register/"))
    refused = clerk_client.post("/customers/register/", {"name": "", "key": key})
    assert "name" in field_errors(refused) and _form_key(refused) == key
    assert not Customer.objects.exists()
    clerk_client.post("/customers/register/", {"name": "王五", "key": key})
    assert Customer.objects.count() == 1


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


@pytest.mark.parametrize(
    ("phone", "message", "params"),
    [
        (
            "-1",
            "A phone number may have “+” only at its start and “-” or spaces only between "
            "digits, not “%(value)s”.",
            {"value": "-1"},
        ),
        (
            "1",
            "A phone number has %(minimum)s to %(maximum)s digits, not %(count)s: “%(value)s”.",
            {"value": "1", "count": 1, "minimum": 5, "maximum": 20},
        ),
        (
            "abc",
            "The phone number may contain only digits, “+”, “-” and spaces, not “%(value)s”.",
            {"value": "abc"},
        ),
    ],
)
def test_a_phone_that_is_no_phone_number_is_refused(clerk_client, web_home, phone, message, params):
    from prepaid.audit.models import AuditEntry

    response = clerk_client.post("/customers/register/", {"name": "李四", "phone": phone})
    assert response.status_code == 200
    assert field_errors(response)["phone"] == tr(message, **params)
    assert "bad_phone" in codes(response)
    assert f'value="{phone}"' in html(response)  # kept, to be corrected
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.filter(action="customer.register").exists()


def test_a_phone_typed_in_full_width_is_kept_in_plain_digits(clerk_client, web_home):
    clerk_client.post(
        "/customers/register/", {"name": "李四", "phone": "１３８－００００　１１１１"}
    )
    assert Customer.objects.get().phone == "138-0000 1111"


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


def _many_customers(office, count=120):
    """``count`` customers a search for “翻页” finds (and no other customer does)."""
    from prepaid.customers.services import register_customer

    return {
        register_customer(office.admin, name=f"翻页{n}", phone=f"1390000{n:04d}").user_number
        for n in range(count)
    }


def _listed(page):
    return re.findall(r'data-customer="([^"]+)"', page)


def _next_url(page):
    import html as markup

    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return markup.unescape(found.group(1)) if found else None


def _pages_line(page, pages, count):
    from django.utils import translation

    with translation.override("zh-hans"):
        text = translation.ngettext(
            "Page %(page)s of %(pages)s, %(counter)s customer found",
            "Page %(page)s of %(pages)s, %(counter)s customers found",
            count,
        )
    return text % {"page": page, "pages": pages, "counter": count}


@pytest.mark.parametrize("path", ["/customers/", "/vending/open/", "/vending/"])
def test_every_customer_a_search_finds_is_on_exactly_one_page(clerk_client, office, path):
    """120 customers match: three pages of 50, 50 and 20, by user number, the search kept
    from page to page; each customer is listed once."""
    numbers = _many_customers(office)
    url = f"{path}?q=翻页"
    seen = []
    pages = 0
    while url is not None:
        response = clerk_client.get(url if url.startswith("/") else path + url)
        assert response.status_code == 200
        page = html(response)
        pages += 1
        assert 'data-testid="bad-page"' not in page
        seen.extend(_listed(page))
        assert _pages_line(pages, 3, 120) in page
        url = _next_url(page)
        if url is not None:
            assert "q=%E7%BF%BB%E9%A1%B5" in url and f"page={pages + 1}" in url
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == numbers and seen == sorted(seen)


@pytest.mark.parametrize("asked", ["abc", "0", "-1", "4", "99999999999999999999999", "1.5"])
def test_a_page_that_is_not_there_shows_the_first_and_says_so(clerk_client, office, asked):
    numbers = sorted(_many_customers(office))
    response = clerk_client.get("/customers/", {"q": "翻页", "page": asked})
    assert response.status_code == 200
    page = html(response)
    assert _listed(page) == numbers[:50]
    assert 'data-testid="bad-page"' in page
    assert (
        tr(
            "There is no page “%(page)s” of these customers: the first page is shown.",
            page=asked[:20],
        )
        in page
    )


def test_a_search_on_one_page_shows_no_pages(clerk_client, office):
    page = html(clerk_client.get(f"/customers/?q={office.customer.user_number}"))
    assert _listed(page) == [office.customer.user_number]
    assert 'data-testid="customer-pages"' not in page and 'data-testid="bad-page"' not in page


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
    assert '<td class="num">10.00 m³</td>' in page  # the purchase's quantity, as sold


def test_a_screen_reader_hears_which_fields_need_correcting(clerk_client, web_home):
    response = clerk_client.post("/customers/register/", {"name": "", "phone": "call me"})
    spoken = re.search(r'data-testid="errors-spoken">([^<]*)<', html(response)).group(1)
    assert spoken.startswith("有 2 项需要更正：")
    assert "用户名称：" in spoken and "联系电话：" in spoken


# -- 修改用户信息 ----------------------------------------------------------------------------


def _details(customer):
    from prepaid.customers.services import customer_snapshot

    customer.refresh_from_db()
    return customer_snapshot(customer)


def _modifications():
    from prepaid.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(action="customer.modify"))


@pytest.mark.parametrize("who", ["clerk_client", "admin_client"])
def test_the_customer_page_leads_to_the_edit_page_prefilled(request, office, who):
    browser = request.getfixturevalue(who)
    number = office.customer.user_number
    shown = html(browser.get(f"/customers/{number}/"))
    url = f"/customers/{number}/modify/"
    assert f'href="{url}"' in shown and tr("Modify customer") in shown
    page = html(browser.get(url))
    assert tr("Modify customer") in page
    assert 'value="张三"' in page and 'value="13800000000"' in page
    assert 'value="幸福路1号"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="open_now"' not in page


def test_modifying_a_customer_is_called_so_in_english_as_in_the_audit_log(
    clerk_client, clerk, office
):
    """修改用户信息 is “Modify customer” on the customer's page and the page it leads to, as
    the audit log names the action and as 修改账户 and 修改价格 are “Modify account” and
    “Modify price”, not “Edit customer”."""
    from prepaid.audit.labels import ACTION_LABELS
    from prepaid.operators.models import Operator

    Operator.objects.filter(pk=clerk.pk).update(language="en")
    number = office.customer.user_number
    shown = html(clerk_client.get(f"/customers/{number}/"))
    page = html(clerk_client.get(f"/customers/{number}/modify/"))
    said = ACTION_LABELS["customer.modify"].english
    assert said == "Modify customer"
    assert f">{said}</a>" in shown and f'<h1 class="page-title">{said}</h1>' in page
    assert "Edit customer" not in shown + page


@pytest.mark.parametrize("who", ["clerk_client", "admin_client"])
def test_a_customer_who_moved_is_corrected(request, office, who):
    browser = request.getfixturevalue(who)
    number = office.customer.user_number
    response = browser.post(
        f"/customers/{number}/modify/",
        {
            "name": "张三",
            "phone": "１３９００００１１１１",  # full-width, as registering reads it
            "address": "人民路2号",
            "remarks": "搬家",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{number}/"
    assert _details(office.customer) == {
        "user_number": number,
        "name": "张三",
        "phone": "13900001111",
        "address": "人民路2号",
        "id_number": "",
        "remarks": "搬家",
    }
    [entry] = _modifications()
    assert entry.before == {"phone": "13800000000", "address": "幸福路1号", "remarks": ""}
    assert entry.after == {"phone": "13900001111", "address": "人民路2号", "remarks": "搬家"}
    page = html(browser.get(response["Location"]))
    said = tr(
        "Details of customer %(user_number)s %(name)s corrected.", user_number=number, name="张三"
    )
    assert said in page and "人民路2号" in page


def test_saving_the_details_unchanged_says_so_and_audits_nothing(clerk_client, office):
    number = office.customer.user_number
    response = clerk_client.post(
        f"/customers/{number}/modify/",
        {"name": "张三", "phone": "13800000000", "address": "幸福路1号"},
        follow=True,
    )
    assert tr(
        "Customer %(user_number)s %(name)s already has these details: nothing changed.",
        user_number=number,
        name="张三",
    ) in html(response)
    assert _modifications() == []


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"name": "", "phone": "13900001111"}, "name", None),
        ({"name": "   ", "phone": "13900001111"}, "name", "required"),
        ({"name": "张三", "phone": "call me", "address": "人民路2号"}, "phone", "bad_phone"),
        ({"name": "张三", "id_number": "110101199003077777"}, "id_number", "bad_id_number"),
        ({"name": "张三", "address": "a" * 201}, "address", None),
        ({"name": "张三", "remarks": "a\x07b"}, "remarks", "bad_text"),
    ],
)
def test_bad_details_are_refused_inline_and_kept(clerk_client, office, data, field, code):
    before = _details(office.customer)
    response = clerk_client.post(f"/customers/{office.customer.user_number}/modify/", data)
    assert response.status_code == 200
    assert field in field_errors(response)
    if code:
        assert code in codes(response)
    page = html(response)
    for name, value in data.items():
        if value.strip() and name != field:
            assert f'value="{value}"' in page, name  # what was typed stays, to be corrected
    assert _details(office.customer) == before
    assert _modifications() == []


def test_a_refused_phone_is_shown_next_to_it_with_what_was_typed(clerk_client, office):
    response = clerk_client.post(
        f"/customers/{office.customer.user_number}/modify/", {"name": "李四", "phone": "-1"}
    )
    assert field_errors(response)["phone"] == tr(
        "A phone number may have “+” only at its start and “-” or spaces only between "
        "digits, not “%(value)s”.",
        value="-1",
    )
    assert 'value="-1"' in html(response) and 'value="李四"' in html(response)
    assert _details(office.customer)["name"] == "张三"


def test_editing_an_unknown_customer_is_404(clerk_client, office):
    assert clerk_client.get("/customers/99999999/modify/").status_code == 404
    assert clerk_client.post("/customers/99999999/modify/", {"name": "x"}).status_code == 404


def test_editing_needs_a_login_and_the_csrf_token(client, office):
    from django.test import Client

    url = f"/customers/{office.customer.user_number}/modify/"
    assert client.post(url, {"name": "李四"}).status_code == 302  # to the login page
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(office.admin)
    assert browser.post(url, {"name": "李四"}).status_code == 403
    assert _details(office.customer)["name"] == "张三"
    assert _modifications() == []

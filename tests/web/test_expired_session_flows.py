"""A session that ends in the middle of a flow that moves money or writes a card.

The operator goes as far as the confirm step (写卡, 确定, the reader panel's buttons), leaves the
page open until the session is idle too long, then confirms. Nothing is done: no card written,
nothing in the ledger, no purchase, no audit entry of a change. The login page says so and,
after logging in, leads back to the page of the flow. The old page's form, sent again after
the login (which changed the form token), gets a page saying it was not done, in the
operator's language, with the way back to its page. Sent again from there, the form is done
once: its idempotency key answers a second send with the first result.

Every request carries the form token, as a browser does (``enforce_csrf_checks``).
"""

from __future__ import annotations

import html as htmlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.signing import get_cookie_signer
from django.test import Client
from web_helpers import codes, html, tr

pytestmark = pytest.mark.django_db

HOST = "http://testserver"
PASSWORDS = {"admin": "s3cret-admin", "clerk": "s3cret-clerk"}
UNSENT = (
    "Your session had ended (logged out, or idle too long), so what you sent was not "
    "done: nothing was charged and no card was written. Log in and start again."
)


# -- a browser: the form token on every post, the page it was on ----------


class Browser:
    """A test client that sends the form token as the page it was on gave it."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    def token(self) -> str:
        return self.client.cookies["csrftoken"].value

    def get(self, url: str, **headers: Any) -> Any:
        return self.client.get(url, **headers)

    def post(
        self, url: str, data: dict[str, Any], *, page: str, htmx: bool, token: str | None = None
    ) -> Any:
        token = token or self.token()
        if htmx:
            headers = {
                "HTTP_HX_REQUEST": "true",
                "HTTP_HX_CURRENT_URL": HOST + page,
                "HTTP_X_CSRFTOKEN": token,
            }
            return self.client.post(url, data, **headers)
        return self.client.post(
            url, {**data, "csrfmiddlewaretoken": token}, HTTP_REFERER=HOST + page
        )

    def log_in(self, username: str, next_url: str = "") -> Any:
        self.get("/login/")  # the form token
        data = {"username": username, "password": PASSWORDS[username], "next": next_url}
        response = self.post("/login/", data, page="/login/", htmx=False)
        assert response.status_code == 302, html(response)
        return response

    def idle_too_long(self) -> None:
        signer = get_cookie_signer(salt="prepaid_last_seen" * 2)
        self.client.cookies["prepaid_last_seen"] = signer.sign(str(int(time.time()) - 31 * 60))


def _key(response: Any, name: str = "key") -> str:
    found = re.search(rf'name="{name}" value="([0-9a-f]{{32}})"', html(response))
    assert found is not None, html(response)
    return found.group(1)


# -- what the office holds: every row of the project's tables, every card ----------


def office_state(office: Any) -> dict[str, Any]:
    """Every row of the project's apps' tables, and every file of the card store (the cards
    and which one is in the reader)."""
    from django.apps import apps

    rows = {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model.__module__.startswith("prepaid.")
    }
    cards = {
        str(path.relative_to(office.home.cards)): path.read_bytes()
        for path in sorted(office.home.cards.rglob("*"))
        if path.is_file()
    }
    return {"rows": rows, "cards": cards}


# -- the flows: each goes as far as its confirm step ----------


@dataclass
class Confirm:
    """The confirm step reached: the form to send, on its page."""

    url: str
    data: dict[str, Any]
    page: str
    marker: str  # what the page of the flow shows, once back on it
    htmx: bool = False


def _sale_like(browser: Browser, office: Any, url: str, quantity: str) -> Confirm:
    read = browser.post(url, {"action": "read"}, page=url, htmx=False)
    data = {
        "account": office.account.pk,
        "quantity": quantity,
        "amount": "",
        "basis": "quantity",
        "payment": "cash",
        "key": _key(read),
    }
    review = browser.post(url, {**data, "action": "review"}, page=url, htmx=False)
    assert 'data-testid="confirm"' in html(review), html(review)
    return Confirm(url, {**data, "action": "write"}, url, 'id="read-form"')


def sell(browser: Browser, office: Any) -> Confirm:
    office.meter()
    office.open()
    office.swipe()
    return _sale_like(browser, office, "/vending/sell/", "5")


def correct(browser: Browser, office: Any) -> Confirm:
    office.meter()
    office.open()
    return _sale_like(browser, office, "/vending/correct/", "2")


def open_account(browser: Browser, office: Any) -> Confirm:
    office.new_card("u1")
    number = office.customer.user_number
    page = f"/vending/open/?customer={number}"
    data = {
        "customer": number,
        "account": office.account.pk,
        "price": office.price.pk,
        "quantity": "10",
        "amount": "",
        "basis": "quantity",
        "payment": "cash",
        "key": _key(browser.get(page)),
    }
    review = browser.post(page, {**data, "action": "review"}, page=page, htmx=False)
    assert 'data-testid="confirm"' in html(review), html(review)
    return Confirm(page, {**data, "action": "write"}, page, 'id="sale-form"')


def reissue(browser: Browser, office: Any) -> Confirm:
    office.open()
    office.new_card("u2")
    number = office.customer.user_number
    page = f"/vending/reissue/?customer={number}"
    data = {"customer": number, "fee": "5", "payment": "cash", "key": _key(browser.get(page))}
    review = browser.post(page, {**data, "action": "review"}, page=page, htmx=False)
    assert 'data-testid="confirm"' in html(review), html(review)
    return Confirm(page, {**data, "action": "write"}, page, 'id="reissue-form"')


def meter_change(browser: Browser, office: Any) -> Confirm:
    office.meter()
    office.open(quantity="20")
    office.swipe()
    url = "/vending/meter-change/"
    read = browser.post(url, {"action": "read"}, page=url, htmx=False)
    data = {"key": _key(read), "account": office.account.pk, "remaining": "13", "reason": "坏表"}
    review = browser.post(url, {**data, "action": "review"}, page=url, htmx=False)
    assert 'data-testid="confirm"' in html(review), html(review)
    return Confirm(url, {**data, "action": "write"}, url, 'id="read-form"')


def _card_making(browser: Browser, data: dict[str, Any]) -> Confirm:
    """卡片制作: the key of the form of ``data["action"]`` on the page."""
    page = html(browser.get("/cards/"))
    form = {"make": "tool", "format": "format", "recycle": "recycle"}[data["action"]]
    found = re.search(rf'id="{form}-form".*?name="key" value="([0-9a-f]{{32}})"', page, re.S)
    assert found is not None, page
    return Confirm("/cards/", {**data, "key": found.group(1)}, "/cards/", 'id="tool-form"')


def tool_card(browser: Browser, office: Any) -> Confirm:
    office.blank("t1")
    office.insert("t1")
    return _card_making(
        browser, {"action": "make", "tool": "setting", "account": office.account.pk}
    )


def format_card(browser: Browser, office: Any) -> Confirm:
    office.blank("t1")
    office.insert("t1")
    return _card_making(browser, {"action": "format"})


def recycle_card(browser: Browser, office: Any) -> Confirm:
    office.meter()
    office.open()
    office.swipe()  # its purchase in the meter: the card may be recycled
    return _card_making(browser, {"action": "recycle"})


def _panel(url: str, data: dict[str, Any] | None = None) -> Confirm:
    """A button of the reader panel, on the sale page (htmx)."""
    return Confirm(url, data or {}, "/vending/sell/", 'id="read-form"', htmx=True)


def panel_format(browser: Browser, office: Any) -> Confirm:
    office.blank("t1")
    office.insert("t1")
    panel = browser.get("/reader/", HTTP_HX_REQUEST="true")
    return _panel("/reader/format/", {"key": _key(panel)})


def panel_record_reading(browser: Browser, office: Any) -> Confirm:
    from prepaid.cards.services import make_tool_card

    office.meter()
    office.open()
    office.swipe()
    office.blank("chk")
    office.insert("chk")
    make_tool_card(office.station(), "check", None)
    assert office.swipe().ok
    return _panel("/reader/record-reading/")


def panel_blank(browser: Browser, office: Any) -> Confirm:
    return _panel("/reader/blank/", {"name": "fresh"})


def panel_insert(browser: Browser, office: Any) -> Confirm:
    office.blank("other")
    return _panel("/reader/insert/", {"name": "other"})


def panel_eject(browser: Browser, office: Any) -> Confirm:
    office.open()
    return _panel("/reader/eject/")


def price_adjust(browser: Browser, office: Any) -> Confirm:
    page = f"/prices/{office.price.pk}/adjust/"
    data = {"kind": "flat", "unit_price": "3.80", "key": _key(browser.get(page))}
    return Confirm(page, data, page, 'name="unit_price"')


def register_customer(browser: Browser, office: Any) -> Confirm:
    page = "/customers/register/"
    data = {"name": "李四", "phone": "13800000001", "key": _key(browser.get(page))}
    return Confirm(page, data, page, 'name="name"')


FLOWS: dict[str, tuple[str, Callable[[Browser, Any], Confirm]]] = {
    "开户": ("clerk", open_account),
    "销售": ("clerk", sell),
    "充值修改": ("clerk", correct),
    "补卡": ("clerk", reissue),
    "换表卡调整": ("admin", meter_change),
    "工具卡": ("admin", tool_card),
    "格式化": ("admin", format_card),
    "回收": ("admin", recycle_card),
    "读卡器-格式化": ("admin", panel_format),
    "读卡器-记录表计读数": ("clerk", panel_record_reading),
    "读卡器-新空白卡": ("clerk", panel_blank),
    "读卡器-插卡": ("clerk", panel_insert),
    "读卡器-退卡": ("clerk", panel_eject),
    "价格调整": ("admin", price_adjust),
    "注册用户信息": ("clerk", register_customer),
}


def _location(response: Any, htmx: bool) -> str:
    if htmx:
        assert response.status_code == 204, response.status_code
        return str(response["HX-Redirect"])
    assert response.status_code == 302, response.status_code
    return str(response["Location"])


def _hidden_next(login_page: Any) -> str:
    found = re.search(r'name="next" value="([^"]*)"', html(login_page))
    assert found is not None
    return htmlib.unescape(found.group(1))


@pytest.mark.parametrize("flow", list(FLOWS))
def test_a_session_ended_before_the_confirm_does_nothing_and_leads_back(
    flow, office, clerk, web_home
):
    username, reach = FLOWS[flow]
    browser = Browser()
    browser.log_in(username)
    confirm = reach(browser, office)
    old_token = browser.token()  # the form token of the page left open
    before = office_state(office)

    browser.idle_too_long()
    sent = browser.post(confirm.url, confirm.data, page=confirm.page, htmx=confirm.htmx)
    login_url = _location(sent, confirm.htmx)
    query = parse_qs(urlsplit(login_url).query)
    assert urlsplit(login_url).path == "/login/"
    assert query.get("next") == [confirm.page] and "unsent" in query
    assert office_state(office) == before  # no card written, no row anywhere

    login = browser.get(login_url)
    assert login.status_code == 200
    assert "session_ended_unsent" in codes(login) and tr(UNSENT) in html(login)
    landed = browser.log_in(username, _hidden_next(login))
    assert landed["Location"] == confirm.page
    back = browser.get(confirm.page)
    assert back.status_code == 200 and confirm.marker in html(back)
    logged_in = office_state(office)  # the login is audited; nothing else

    # the page left open, sent again: its form token is no longer valid since the login
    stale = browser.post(
        confirm.url, confirm.data, page=confirm.page, htmx=confirm.htmx, token=old_token
    )
    assert office_state(office) == logged_in
    said = tr(
        "This form was opened before your last login, or not on this site, so it was not "
        "done: nothing was charged and no card was written. Open its page again and send it "
        "once more."
    )
    if confirm.htmx:  # htmx shows no error page: the page is opened again, saying so
        assert stale.status_code == 403 and stale["HX-Redirect"] == confirm.page
        assert said in html(browser.get(confirm.page))
    else:
        assert stale.status_code == 403 and "csrf" in codes(stale)
        assert said in html(stale)
        assert f'href="{htmlib.escape(confirm.page)}"' in html(stale)  # the way back

    # sent from its page again: done, and once only however often it is sent
    first = browser.post(confirm.url, confirm.data, page=confirm.page, htmx=confirm.htmx)
    assert first.status_code == (200 if confirm.htmx else 302), html(first)
    done = office_state(office)
    assert done != logged_in
    again = browser.post(confirm.url, confirm.data, page=confirm.page, htmx=confirm.htmx)
    assert again.status_code == first.status_code, html(again)
    if not confirm.htmx:  # the first result again
        assert again["Location"] == first["Location"]
    assert office_state(office) == done


def test_a_flow_page_opened_after_the_session_ended_comes_back_after_login(office, web_home):
    """A page (not a form) opened after the idle time: the login leads to it."""
    browser = Browser()
    browser.log_in("admin")
    page = f"/vending/reissue/?customer={office.customer.user_number}"
    browser.idle_too_long()
    response = browser.get(page)
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query.get("next") == [page] and "expired" in query and "unsent" not in query
    login = browser.get(response["Location"])
    assert "session_expired" in codes(login)
    assert browser.log_in("admin", _hidden_next(login))["Location"] == page


def test_the_reader_panel_refreshed_after_the_session_ended_leads_back_to_its_page(
    office, clerk, web_home
):
    """The panel reloads itself (htmx GET): the whole page goes to the login, then back."""
    browser = Browser()
    browser.log_in("clerk")
    browser.idle_too_long()
    response = browser.get(
        "/reader/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=HOST + "/vending/sell/"
    )
    query = parse_qs(urlsplit(_location(response, htmx=True)).query)
    assert query.get("next") == ["/vending/sell/"]


def test_a_next_address_of_another_site_is_not_followed(office, clerk, web_home):
    browser = Browser()
    browser.log_in("clerk")
    browser.idle_too_long()
    sent = browser.client.post(
        "/vending/sell/",
        {"action": "write", "key": uuid.uuid4().hex},
        HTTP_REFERER="http://evil.example/vending/sell/",
    )
    query = parse_qs(urlsplit(sent["Location"]).query)
    assert query.get("next") == ["/vending/sell/"]  # the address it was sent to


def test_the_live_quote_of_a_page_opened_before_the_login_opens_the_page_again(
    office, clerk, web_home
):
    """The live quote (htmx, on every key typed) from a page opened before the last login:
    the sale page opens again with a fresh form and says why, where htmx would show nothing."""
    office.meter()
    office.open()
    office.swipe()
    browser = Browser()
    browser.log_in("clerk")
    browser.get("/vending/sell/")
    old_token = browser.token()
    browser.post("/logout/", {}, page="/vending/sell/", htmx=False)
    browser.log_in("clerk")
    data = {"mode": "sale", "basis": "quantity", "quantity": "5", "account": office.account.pk}
    quote = browser.post("/vending/quote/", data, page="/vending/sell/", htmx=True, token=old_token)
    assert quote.status_code == 403 and quote["HX-Redirect"] == "/vending/sell/"
    page = html(browser.get("/vending/sell/"))
    assert (
        tr(
            "This form was opened before your last login, or not on this site, so it was not "
            "done: nothing was charged and no card was written. Open its page again and send it "
            "once more."
        )
        in page
    )


def test_a_form_from_another_site_leads_back_to_no_page_of_it(office, clerk, web_home):
    browser = Browser()
    browser.log_in("clerk")
    before = office_state(office)
    response = browser.client.post(
        "/customers/register/",
        {"name": "x", "csrfmiddlewaretoken": "x" * 32},
        HTTP_REFERER="http://evil.example/form/",
    )
    assert response.status_code == 403 and "csrf" in codes(response)
    assert "evil.example" not in html(response)
    assert 'href="/customers/register/"' in html(response)  # the address it was sent to
    assert office_state(office) == before

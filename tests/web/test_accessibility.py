"""Accessibility basics on every page: each form control has a label, pages have a language."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import pytest
from web_helpers import html

pytestmark = pytest.mark.django_db

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.depth_in_label = 0
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = dict(attrs)
        if tag == "label":
            self.depth_in_label += 1
            if data.get("for"):
                self.label_for.add(data["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and (data.get("type") or "text") in UNLABELLED_TYPES:
                return
            self.controls.append((tag, data, self.depth_in_label > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.depth_in_label:
            self.depth_in_label -= 1


def unlabelled(page: str) -> list[str]:
    parser = _Controls()
    parser.feed(page)
    missing = []
    for tag, attrs, wrapped in parser.controls:
        if wrapped or attrs.get("aria-label") or attrs.get("aria-labelledby"):
            continue
        if attrs.get("id") and attrs["id"] in parser.label_for:
            continue
        missing.append(f"<{tag} name={attrs.get('name')!r} id={attrs.get('id')!r}>")
    return missing


def _check(response, url: str) -> None:
    assert response.status_code in (200, 403, 409), (url, response.status_code)
    page = html(response)
    assert unlabelled(page) == [], url
    if "<html" in page:
        assert re.search(r'<html lang="(zh-hans|en)">', page), url


def _key(page) -> str:
    return re.search(r'name="key" value="([0-9a-f]{32})"', html(page)).group(1)


def test_every_page_labels_its_inputs(client, admin_client, clerk_client, office):
    _check(client.get("/login/"), "/login/")
    office.meter()
    purchase = office.open()
    office.swipe()
    number = office.customer.user_number
    gets = [
        "/",
        "/password/",
        "/accounts/",
        "/accounts/create/",
        f"/accounts/{office.account.pk}/created/",
        f"/accounts/{office.account.pk}/modify/",
        f"/accounts/{office.account.pk}/delete/",
        "/cards/",
        "/prices/",
        "/prices/?action=adjust",
        "/prices/add/",
        f"/prices/{office.price.pk}/adjust/",
        f"/prices/{office.price.pk}/modify/",
        f"/prices/{office.tiered.pk}/delete/",
        "/customers/",
        "/customers/?q=张",
        "/customers/register/",
        f"/customers/{number}/",
        "/vending/",
        "/vending/?q=1",
        "/vending/open/",
        f"/vending/open/?customer={number}",
        "/vending/sell/",
        "/vending/correct/",
        "/vending/reissue/",
        f"/vending/reissue/?customer={number}",
        "/vending/meter-change/",
        f"/vending/purchases/{purchase.pk}/",
        "/reader/",
        "/simulator/",
        "/simulator/M1/",
        "/operators/",
        "/operators/clerk/password/",
    ]
    for url in gets:
        _check(admin_client.get(url), url)
    _check(clerk_client.get("/accounts/"), "403")
    sale = admin_client.post("/vending/sell/", {"action": "read"})
    _check(sale, "sale form")
    review = admin_client.post(
        "/vending/sell/",
        {
            "action": "review",
            "key": _key(sale),
            "account": office.account.pk,
            "quantity": "2",
            "basis": "quantity",
            "payment": "cash",
        },
    )
    assert 'data-testid="confirm"' in html(review)
    _check(review, "sale review")
    _check(
        admin_client.post(
            "/vending/sell/", {"action": "review", "quantity": "-1", "key": uuid.uuid4().hex}
        ),
        "sale errors",
    )
    _check(admin_client.post("/vending/correct/", {"action": "read"}), "correction")
    _check(admin_client.post("/vending/meter-change/", {"action": "read"}), "meter change")
    office.new_card("spare")  # the confirm step of a reissue wants a new card in the reader
    reissue_review = admin_client.post(
        "/vending/reissue/",
        {"customer": number, "action": "review", "key": uuid.uuid4().hex, "payment": "cash"},
    )
    assert 'data-testid="confirm"' in html(reissue_review)
    _check(reissue_review, "reissue review")
    _check(
        admin_client.post(
            "/vending/open/",
            {
                "customer": number,
                "action": "review",
                "key": uuid.uuid4().hex,
                "payment": "cash",
                "account": office.account.pk,
                "price": office.price.pk,
                "quantity": "1",
                "basis": "quantity",
            },
        ),
        "open review",
    )
    printed = admin_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "80"})
    _check(admin_client.get(printed["Location"]), "receipt")
    _check(admin_client.post("/accounts/create/", {}), "account errors")
    _check(admin_client.post("/customers/register/", {}), "customer errors")


def test_the_checker_finds_an_unlabelled_input():
    assert unlabelled('<input name="x">') == ["<input name='x' id=None>"]
    assert unlabelled('<label for="a">A</label><input id="a">') == []
    assert unlabelled('<label>A <select name="s"></select></label>') == []
    assert unlabelled('<input type="hidden" name="k">') == []

"""Refusals asked for by htmx (the reader panel's buttons and its reload, the live quote) are
answered with the part of the page that asked, the refusal in it, and htmx is configured to
swap them in: a 403, 405, 409 or 503 there is never a button that seems dead, nor a whole page
(with its menus) nested inside the panel. The 403 page of a form sent says nothing was done.
No answer at all (the server down, the connection dropped) is said by the page itself, in the
operator's language, from words each page carries. The browser side is walked in
tests/web/test_browser.py (test_13, test_14)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from web_helpers import codes, html, tr

pytestmark = pytest.mark.django_db

FROM_THE_PANEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reader-panel"}
NOT_DONE = "What you sent was not done: nothing was charged and no card was written."


def _lowered(admin):
    from prepaid.operators.models import Operator, Role

    Operator.objects.filter(pk=admin.pk).update(role=Role.OPERATOR, is_staff=False)


def _format_key(panel: str) -> str:
    found = re.search(r'name="key" value="([0-9a-f]+)"', panel)
    assert found, panel
    return found.group(1)


def test_the_pages_htmx_swaps_refusals_in(admin_client, office):
    """htmx 2 leaves a 4xx or 5xx answer unswapped unless told: the page tells it."""
    page = html(admin_client.get("/"))
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)
    assert config, page
    handling = json.loads(config.group(1))["responseHandling"]
    swapped = {rule["code"]: rule["swap"] for rule in handling}
    assert swapped == {"204": False, "[23]..": True, "[45]..": True}
    assert [rule.get("error", False) for rule in handling] == [False, False, True]


def test_the_panels_format_by_an_administrator_lowered_meanwhile_shows_the_refusal(
    admin_client, office, admin
):
    """格式化 on the panel, the role lowered in the database since the panel was shown: the
    answer is the panel again (an operator's now: no 格式化), saying why and that nothing was
    done — not Django's whole 403 page, which htmx would not show."""
    from prepaid.cards.models import CardOperation

    office.blank("b1")
    office.insert("b1")
    shown = html(admin_client.get("/reader/", **FROM_THE_PANEL))
    assert 'data-testid="panel-format-card"' in shown
    _lowered(admin)
    before = office.store.path("b1").read_bytes()

    refused = admin_client.post("/reader/format/", {"key": _format_key(shown)}, **FROM_THE_PANEL)

    assert refused.status_code == 403
    panel = html(refused)
    assert "<html" not in panel and "navbar" not in panel  # the panel alone
    assert 'data-testid="reader-panel"' in panel and 'data-card-type="blank"' in panel
    assert 'data-testid="panel-format-card"' not in panel
    assert codes(refused) == {"permission_denied"}
    assert tr("Only an administrator may do this.") in panel
    assert tr(NOT_DONE) in panel
    assert office.store.path("b1").read_bytes() == before
    assert not CardOperation.objects.exists()


def test_a_refusal_to_htmx_elsewhere_is_the_refusal_alone(clerk_client, office):
    """Not asked by the panel (the panel's format posted by hand, say): the refusal alone, in
    English too for an operator who reads English."""
    from prepaid.operators.models import Operator

    office.blank("b1")
    office.insert("b1")
    refused = clerk_client.post(
        "/reader/format/", {"key": uuid.uuid4().hex}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403
    fragment = html(refused).strip()
    assert fragment.startswith('<div class="alert alert-danger"'), fragment
    assert codes(refused) == {"permission_denied"}
    assert tr(NOT_DONE) in fragment
    Operator.objects.filter(username="clerk").update(language="en")
    english = html(clerk_client.post("/reader/format/", HTTP_HX_REQUEST="true"))
    assert "Only an administrator may do this." in english and NOT_DONE in english


def test_a_refusal_escaping_the_panels_reload_shows_in_the_panel(clerk_client, office, monkeypatch):
    """The panel's reload meeting a refusal its view does not catch (the site's secrets not
    this database's): the refusal where the panel would be, not “Reading the card reader…”
    for ever. A GET: nothing was sent, so nothing to say about it."""
    from prepaid.core.errors import PrepaidError

    def wrong(_request):
        raise PrepaidError("wrong_site_secrets", "The site's secrets are not this database's.")

    monkeypatch.setattr("prepaid.web.station.station_for", wrong)
    response = clerk_client.get("/reader/", **FROM_THE_PANEL)
    assert response.status_code == 409
    fragment = html(response)
    assert "<html" not in fragment and codes(response) == {"wrong_site_secrets"}
    assert 'data-testid="not-done"' not in fragment


def test_a_storage_failure_of_the_live_quote_shows_in_the_quote(clerk_client, office, monkeypatch):
    from django.db import OperationalError

    def full(*_args, **_kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr("prepaid.customers.services.get_customer", full)
    data = {"customer": office.customer.user_number, "basis": "amount", "amount": "10"}
    response = clerk_client.post(
        "/vending/quote/", data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="quote"
    )
    assert response.status_code == 503
    assert "<html" not in html(response) and codes(response) == {"database_error"}


def test_a_form_only_address_or_an_admin_page_asked_by_htmx_is_the_refusal_alone(
    clerk_client, office
):
    """A GET sent nothing: the refusal does not say it was not done."""
    response = clerk_client.get("/vending/reissues/1/print/", HTTP_HX_REQUEST="true")
    assert response.status_code == 405 and "POST" in response["Allow"]
    assert "<html" not in html(response) and codes(response) == {"form_only"}
    response = clerk_client.get("/operators/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403 and "<html" not in html(response)
    assert codes(response) == {"permission_denied"}
    assert 'data-testid="not-done"' not in html(response)


@pytest.mark.parametrize("url", ["/cards/", "/accounts/create/"])
def test_the_403_page_of_a_form_sent_says_nothing_was_done(clerk_client, office, url):
    """The manual's words: nothing was charged and no card was written. A page only opened
    (GET) sent nothing, and its 403 page does not say so."""
    sent = clerk_client.post(url, {"action": "format", "key": uuid.uuid4().hex})
    assert sent.status_code == 403 and 'data-testid="forbidden"' in html(sent)
    assert tr(NOT_DONE) in html(sent)
    assert "刚才提交的操作未执行：没有收费，也没有写卡。" in html(sent)
    opened = clerk_client.get(url)
    assert opened.status_code == 403 and 'data-testid="not-done"' not in html(opened)


UNREACHABLE = {
    "nothing-done": (
        "The server could not be reached; nothing was done. Check the connection and try again."
    ),
    "card-write": (
        "The server could not be reached, so whether the card was written is not known. Check "
        "the connection, then read the card to see whether it was written before trying again."
    ),
    "maybe-done": (
        "The server could not be reached, so whether this was done is not known. Check the "
        "connection, then read the card to see where things stand before trying again."
    ),
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_page_carries_what_to_say_when_the_server_cannot_be_reached(
    admin_client, admin, office, language
):
    """htmx meeting no server gets no answer to swap in: web.js shows the page's own words
    (template#unreachable-…), in the operator's language, as a refusal is shown; the requests
    say which they need — the quote changes nothing, 格式化 writes a card."""
    admin.language = language
    admin.save(update_fields=["language"])
    page = html(admin_client.get(f"/vending/open/?customer={office.customer.user_number}"))
    for kind, words in UNREACHABLE.items():
        found = re.search(rf'<template id="unreachable-{kind}">(.*?)</template>', page, re.S)
        assert found is not None and found.group(1) == tr(words, language), kind
    assert "server_unreachable" not in codes(admin_client.get("/"))  # no refusal on a page
    assert re.search(r'<div id="quote"[^>]* data-changes-nothing', page)
    office.blank("b1")
    office.insert("b1")
    panel = html(admin_client.get("/reader/", **FROM_THE_PANEL))
    assert re.search(r'<form [^>]*hx-post="/reader/format/"[^>]* data-card-write', panel)
    assert "data-refusals" in panel

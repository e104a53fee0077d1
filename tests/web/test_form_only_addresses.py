"""Addresses that take a form only (POST), opened by their address: the page the form is on, or
a page saying what the address is for — never Django's blank 405 page, and nothing done."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from web_helpers import html, tr

pytestmark = pytest.mark.django_db


def _post_only(view: Any) -> bool:
    """Whether ``view`` is wrapped by ``require_POST`` (under any other decorators)."""
    while view is not None:
        code = getattr(view, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = view.__closure__[code.co_freevars.index("request_method_list")]
            return list(cell.cell_contents) == ["POST"]
        view = getattr(view, "__wrapped__", None)
    return False


def _patterns(resolver: URLResolver, namespace: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _patterns(entry, inner)
        elif entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


def post_only_addresses() -> list[tuple[str, str]]:
    addresses = []
    for name, pattern in _patterns(get_resolver()):
        if _post_only(pattern.callback):
            converters = pattern.pattern.converters
            # any value: the address refuses a GET before it looks anything up
            kwargs = {key: c.to_python("987654") for key, c in converters.items()}
            addresses.append((name, reverse(name, kwargs=kwargs)))
    return addresses


def test_every_form_only_address_is_found():
    names = {name for name, _url in post_only_addresses()}
    assert {"reports:shift_close", "web:logout", "web:reader_eject", "web:receipt_print"} <= names
    assert "web:sell" not in names and "reports:shifts" not in names


def test_closing_a_shift_by_its_address_gives_the_shift_page(admin_client):
    response = admin_client.get("/reports/shifts/close/")
    assert response.status_code == 302 and response["Location"] == reverse("reports:shifts")
    assert admin_client.get(response["Location"]).status_code == 200
    assert admin_client.head("/reports/shifts/close/").status_code == 302


@pytest.mark.parametrize(("name", "url"), post_only_addresses())
def test_a_form_only_address_opened_by_itself_is_a_page_not_a_blank_405(admin_client, name, url):
    from prepaid.audit.models import AuditEntry

    audited = AuditEntry.objects.count()
    response = admin_client.get(url)
    if response.status_code == 302:
        assert not response["Location"].startswith(url)
        # the page the form is on (a receipt or meter of that number may not exist: 404)
        assert admin_client.get(response["Location"]).status_code in (200, 404)
    else:
        assert response.status_code == 405 and "POST" in response["Allow"]
        page = html(response)
        assert 'data-testid="refused"' in page and 'data-code="form_only"' in page
        assert (
            tr(
                "This address takes a form sent from its page; opened by itself it does nothing. "
                "Go back to the page and use its button."
            )
            in page
        )
    assert AuditEntry.objects.count() == audited
    assert admin_client.get("/").status_code == 200  # still logged in (logout took no GET)

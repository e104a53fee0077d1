"""Admin-only pages are hidden from operators' menus and refused with a clear 403 page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from web_helpers import codes, html

pytestmark = pytest.mark.django_db

ADMIN_GETS = [
    "/accounts/",
    "/accounts/create/",
    "/cards/",
    "/prices/",
    "/prices/add/",
    "/operators/",
    "/operators/admin/password/",
    "/vending/meter-change/",
]
ADMIN_POSTS = {
    "/accounts/create/": {
        "meter_type": "water",
        "sub_meter": "2",
        "limit": "9",
        "prestore": "0",
        "alarm": "1",
        "overdraft": "0",
        "maintenance_code": "1",
    },
    "/cards/": {"action": "format", "key": "f" * 32},
    "/prices/add/": {"name": "x", "kind": "flat", "unit_price": "1"},
    "/operators/": {
        "username": "mallory",
        "role": "admin",
        "new": "Str0ng-pass!",
        "repeat": "Str0ng-pass!",
    },
    "/operators/admin/disable/": {},
    "/operators/admin/enable/": {},
    "/vending/meter-change/": {"action": "write", "remaining": "1", "key": "c" * 32},
}


@pytest.mark.parametrize("url", ADMIN_GETS)
def test_operator_is_refused_admin_pages(clerk_client, office, url):
    response = clerk_client.get(url)
    assert response.status_code == 403
    assert 'data-testid="forbidden"' in html(response)
    assert "permission_denied" in codes(response)


@pytest.mark.parametrize("url", sorted(ADMIN_POSTS))
def test_operator_cannot_post_to_admin_pages(clerk_client, office, url):
    from prepaid.accounts.models import Account
    from prepaid.cards.models import CardOperation
    from prepaid.operators.models import Operator

    before = (Account.objects.count(), CardOperation.objects.count(), Operator.objects.count())
    response = clerk_client.post(url, ADMIN_POSTS[url])
    assert response.status_code == 403
    after = (Account.objects.count(), CardOperation.objects.count(), Operator.objects.count())
    assert before == after
    assert Operator.objects.get(username="admin").is_active


@pytest.mark.parametrize(
    "url", [f"/prices/{{}}/{action}/" for action in ("adjust", "modify", "delete")]
)
def test_operator_cannot_change_prices(clerk_client, office, url):
    target = url.format(office.price.pk)
    assert clerk_client.get(target).status_code == 403
    assert (
        clerk_client.post(target, {"name": "x", "kind": "flat", "unit_price": "9"}).status_code
        == 403
    )
    office.price.refresh_from_db()
    assert office.price.name == "居民用水"


def test_operator_menus_hide_admin_items(clerk_client, office):
    page = html(clerk_client.get("/"))
    for hidden in (
        'data-menu="accounts"',
        'data-menu="prices"',
        'data-menu="operators"',
        "/vending/meter-change/",
        "/cards/",
        "/operators/",
    ):
        assert hidden not in page
    for shown in (
        'data-menu="customers"',
        'data-menu="vending"',
        'data-menu="queries"',
        'data-menu="simulator"',
        "/vending/sell/",
        "/vending/reissue/",
    ):
        assert shown in page


def test_admin_sees_every_menu(admin_client, office):
    page = html(admin_client.get("/"))
    for menu in ("accounts", "prices", "customers", "vending", "queries", "simulator", "operators"):
        assert f'data-menu="{menu}"' in page
    for url in (
        "/accounts/create/",
        "/cards/",
        "/prices/add/",
        "/prices/?action=adjust",
        "/prices/?action=modify",
        "/prices/?action=delete",
        "/vending/meter-change/",
    ):
        assert url in page


def test_operator_pages_are_open_to_operators(clerk_client, office):
    for url in (
        "/",
        "/customers/",
        "/customers/register/",
        "/vending/",
        "/vending/open/",
        "/vending/sell/",
        "/vending/correct/",
        "/vending/reissue/",
        "/simulator/",
        "/password/",
        "/reader/",
    ):
        assert clerk_client.get(url).status_code == 200, url


def test_queries_menu_links_to_the_reports(admin_client):
    expected = reverse("reports:index")
    page = html(admin_client.get("/"))
    assert f'data-menu="queries"><a class="nav-link" href="{expected}"' in page
    assert admin_client.get(expected).status_code == 200
    assert admin_client.get("/queries/").status_code == 404  # the old stand-in page is gone

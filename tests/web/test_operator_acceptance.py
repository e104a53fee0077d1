"""Operators on the web as an office lives them: admin-only actions an operator cannot post to,
a disabled operator's open session, the 15-minute lock on the office's clock, and the same
password rules as the command line."""

from __future__ import annotations

import datetime

import pytest
from web_helpers import codes, html

pytestmark = pytest.mark.django_db


def _changes():
    from prepaid.audit.models import AuditEntry

    # the station's first use of the site key is recorded whoever reads a card
    return list(
        AuditEntry.objects.exclude(action="site_key.record").values_list("action", flat=True)
    )


@pytest.mark.parametrize(
    "url, data",
    [
        ("/accounts/{account}/modify/", {"name": "x", "limit": "9"}),
        ("/accounts/{account}/delete/", {}),
        ("/reader/format/", {}),
        ("/operators/admin/password/", {"new": "Mallory-pw-1", "repeat": "Mallory-pw-1"}),
        ("/cards/", {"action": "recycle", "key": "r" * 32}),
        ("/cards/", {"action": "setting", "account": "{account}", "key": "s" * 32}),
    ],
)
def test_an_operator_cannot_post_to_the_other_admin_actions(clerk_client, office, url, data):
    from prepaid.accounts.models import Account
    from prepaid.core.card.codec import blank_image
    from prepaid.operators.models import Operator

    office.blank("c")
    office.insert("c")
    before = (_changes(), list(Account.objects.values_list("name", "limit_centi")))
    password = Operator.objects.get(username="admin").password
    target = url.format(account=office.account.pk)
    fields = {k: v.format(account=office.account.pk) for k, v in data.items()}
    response = clerk_client.post(target, fields)
    assert response.status_code == 403
    assert "permission_denied" in codes(response)
    assert (_changes(), list(Account.objects.values_list("name", "limit_centi"))) == before
    assert Operator.objects.get(username="admin").password == password
    assert office.store.path("c").read_bytes() == blank_image()  # the card is untouched


def test_a_disabled_operators_open_session_ends_at_the_next_request(admin, clerk_client, clerk):
    from prepaid.operators.services import disable_operator

    assert clerk_client.get("/vending/sell/").status_code == 200
    disable_operator(admin, "clerk")
    response = clerk_client.get("/vending/sell/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    sold = clerk_client.post("/vending/sell/", {"action": "write", "quantity": "1"})
    assert sold.status_code == 302 and "unsent=1" in sold["Location"]


def _login(client, password):
    return client.post("/login/", {"username": "clerk", "password": password})


def test_the_lock_lasts_fifteen_minutes_on_the_office_clock(client, clerk, web_home):
    from django.utils import timezone

    from prepaid.demo.clock import SimulatedClock, simulated_now

    clock = SimulatedClock(datetime.datetime(2026, 3, 2, 1, 0, tzinfo=datetime.UTC))
    with simulated_now(clock):
        for _ in range(4):
            assert "auth_failed" in codes(_login(client, "wrong"))
        fifth = _login(client, "wrong")
        assert "account_locked" in codes(fifth)
        assert "2026-03-02 09:15" in html(fifth)  # until when, on the office's (Beijing) clock
        clock.tick(15 * 60 - 1)
        assert "account_locked" in codes(_login(client, "s3cret-clerk"))
        clock.tick(1)
        assert _login(client, "s3cret-clerk").status_code == 302
        assert timezone.now() == clock.now()
    clerk.refresh_from_db()
    assert (clerk.failed_logins, clerk.locked_until) == (0, None)


def test_a_password_the_login_page_cannot_take_is_refused_on_every_interface(
    admin_client, admin, client
):
    """The login form takes 128 characters: a longer password set by the command line (or
    by the service) would lock its operator out of the web pages."""
    from prepaid.core.errors import PrepaidError
    from prepaid.operators import services
    from prepaid.operators.models import Operator

    longest = "Pw-1" + "x" * 124
    with pytest.raises(PrepaidError) as refused:
        services.add_operator(admin, "clerk2", "operator", longest + "y")
    assert refused.value.code == "password_too_long"
    assert "128" in refused.value.translate(lambda message: message)
    assert not Operator.objects.filter(username="clerk2").exists()
    page = admin_client.post(
        "/operators/",
        {"username": "clerk2", "role": "operator", "new": longest + "y", "repeat": longest + "y"},
    )
    assert page.status_code == 200 and not Operator.objects.filter(username="clerk2").exists()
    services.add_operator(admin, "clerk2", "operator", longest)
    response = client.post("/login/", {"username": "clerk2", "password": longest})
    assert response.status_code == 302 and response["Location"] == "/password/"

"""Operator management (admin): add, set a password, disable and enable again."""

from __future__ import annotations

import pytest
from web_helpers import codes, field_errors, html, tr

from prepaid.audit.models import AuditEntry
from prepaid.operators.models import Operator

pytestmark = pytest.mark.django_db

GOOD = {
    "username": "cashier1",
    "role": "operator",
    "new": "Cash-ier-2025",
    "repeat": "Cash-ier-2025",
}


def test_add_operator(admin_client, web_home):
    response = admin_client.post("/operators/", GOOD)
    assert response["Location"] == "/operators/"
    operator = Operator.objects.get(username="cashier1")
    assert operator.role == "operator" and operator.check_password("Cash-ier-2025")
    assert 'data-operator="cashier1"' in html(admin_client.get("/operators/"))


def _row(client, username: str) -> str:
    """The operators page's row of ``username``."""
    page = html(client.get("/operators/"))
    start = page.index(f'data-operator="{username}"')
    return page[start : page.index("</tr>", start)]


def test_a_new_operator_changes_the_given_password_at_first_login(admin_client):
    from django.test import Client

    page = html(admin_client.post("/operators/", GOOD, follow=True))
    added = "Operator %(name)s added: they must change the password at first use."
    assert tr(added, name="cashier1") in page
    assert Operator.objects.get(username="cashier1").must_change_password
    assert tr("must change password") in _row(admin_client, "cashier1")
    assert tr("must change password") not in _row(admin_client, "admin")
    cashier = Client()
    login = cashier.post("/login/", {"username": "cashier1", "password": "Cash-ier-2025"})
    assert login["Location"] == "/password/"
    assert cashier.get("/vending/sell/")["Location"] == "/password/"
    same = cashier.post(
        "/password/",
        {"current": "Cash-ier-2025", "new": "Cash-ier-2025", "repeat": "Cash-ier-2025"},
    )
    assert "weak_password" in codes(same)
    assert tr("The new password must differ from the current one.") in field_errors(same)["new"]
    changed = cashier.post(
        "/password/",
        {"current": "Cash-ier-2025", "new": "Own-pass-2025", "repeat": "Own-pass-2025"},
    )
    assert changed["Location"] == "/"
    assert cashier.get("/vending/sell/").status_code == 200
    assert tr("must change password") not in _row(admin_client, "cashier1")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"username": ""}, "username", None),
        ({"username": "two words"}, "username", "bad_name"),
        ({"username": "admin"}, "username", "operator_exists"),
        ({"new": "short", "repeat": "short"}, "new", "weak_password"),
        ({"new": "1111", "repeat": "1111"}, "new", "weak_password"),
        ({"repeat": "different-9876"}, "repeat", None),
        ({"role": "root"}, "role", None),
    ],
)
def test_add_operator_refusals(admin_client, admin, change, field, code):
    response = admin_client.post("/operators/", {**GOOD, **change})
    assert response.status_code == 200 and field in field_errors(response)
    if code:
        assert code in codes(response)
    assert Operator.objects.count() == 1


def test_admin_sets_a_password(admin_client, clerk):
    response = admin_client.post(
        "/operators/clerk/password/", {"new": "New-pass-777", "repeat": "New-pass-777"}
    )
    assert response["Location"] == "/operators/"
    clerk.refresh_from_db()
    assert clerk.check_password("New-pass-777")
    assert clerk.must_change_password  # the clerk changes it at the next login
    page = html(admin_client.get("/operators/"))
    assert tr("Password of %(name)s set: they must change it at first use.", name="clerk") in page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_password_page_of_an_unknown_operator_is_not_found(admin_client, admin, language):
    """A stale link (the name mistyped, or an operator's page bookmarked): no form to fill in
    for nobody, on the page or when it is sent; nothing changed."""
    admin.language = language
    admin.save(update_fields=["language"])
    audited = AuditEntry.objects.count()
    said = tr("There is no operator named %(name)s.", language, name="nobody")
    for response in (
        admin_client.get("/operators/nobody/password/"),
        admin_client.post(
            "/operators/nobody/password/", {"new": "New-pass-777", "repeat": "New-pass-777"}
        ),
    ):
        assert response.status_code == 404
        assert said in html(response) and 'name="new"' not in html(response)
    assert AuditEntry.objects.count() == audited


def test_disable_operator_but_not_yourself(admin_client, clerk):
    admin_client.post("/operators/clerk/disable/")
    clerk.refresh_from_db()
    assert not clerk.is_active
    page = html(admin_client.post("/operators/admin/disable/", follow=True))
    assert tr("You cannot disable yourself.") in page
    assert Operator.objects.get(username="admin").is_active
    opened = admin_client.get("/operators/clerk/disable/")  # POST only: the list, nothing done
    assert opened["Location"] == "/operators/"


def test_the_list_shows_a_lock_with_its_end_and_languages_by_name(admin_client, clerk):
    from datetime import timedelta

    from django.utils import timezone

    until = timezone.now() + timedelta(minutes=15)
    Operator.objects.filter(pk=clerk.pk).update(locked_until=until, language="en")
    page = html(admin_client.get("/operators/"))
    shown = timezone.localtime(until).strftime("%H:%M")
    assert tr("locked until %(time)s", time=shown) in page
    assert "<td>English</td>" in page and "<td>en</td>" not in page
    Operator.objects.filter(pk=clerk.pk).update(locked_until=until - timedelta(hours=1))
    assert 'data-testid="locked"' not in html(admin_client.get("/operators/"))  # run out


def test_admins_own_password_set_on_the_operators_page_is_not_to_be_changed(admin_client, admin):
    admin_client.post("/operators/admin/password/", {"new": "Own-new-88", "repeat": "Own-new-88"})
    admin.refresh_from_db()
    assert admin.check_password("Own-new-88") and not admin.must_change_password


def test_a_disabled_operator_is_enabled_again(admin_client, clerk):
    admin_client.post("/operators/clerk/disable/")
    row = _row(admin_client, "clerk")
    assert "/operators/clerk/enable/" in row and "/operators/clerk/disable/" not in row
    assert tr("Enable operator %(name)s again?", name="clerk") in row  # confirmed first
    response = admin_client.post("/operators/clerk/enable/")
    assert response["Location"] == "/operators/"
    clerk.refresh_from_db()
    assert clerk.is_active
    assert tr("Operator %(name)s enabled.", name="clerk") in html(admin_client.get("/operators/"))
    entry = AuditEntry.objects.get(action="operator.enable")
    assert entry.object_id == str(clerk.pk)
    row = _row(admin_client, "clerk")
    assert "/operators/clerk/disable/" in row and "/operators/clerk/enable/" not in row
    opened = admin_client.get("/operators/clerk/enable/")  # POST only: the list, nothing done
    assert opened["Location"] == "/operators/"


def test_enabling_or_disabling_twice_says_so_and_audits_nothing(admin_client, clerk):
    before = AuditEntry.objects.count()
    page = html(admin_client.post("/operators/clerk/enable/", follow=True))
    assert tr("Operator %(name)s is already enabled: nothing changed.", name="clerk") in page
    assert 'data-message="info"' in page
    assert AuditEntry.objects.count() == before
    admin_client.post("/operators/clerk/disable/")
    before = AuditEntry.objects.count()
    page = html(admin_client.post("/operators/clerk/disable/", follow=True))
    assert tr("Operator %(name)s is already disabled: nothing changed.", name="clerk") in page
    assert AuditEntry.objects.count() == before
    unknown = html(admin_client.post("/operators/nobody/enable/", follow=True))
    assert tr("There is no operator named %(name)s.", name="nobody") in unknown


def test_enabling_needs_an_administrator_and_the_csrf_token(clerk_client, clerk, admin):
    from django.test import Client

    Operator.objects.filter(pk=admin.pk).update(is_active=False)
    assert clerk_client.post("/operators/admin/enable/").status_code == 403
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(Operator.objects.create(username="boss", role="admin", is_staff=True))
    assert browser.post("/operators/admin/enable/").status_code == 403
    assert not Operator.objects.get(pk=admin.pk).is_active
    assert not AuditEntry.objects.filter(action="operator.enable").exists()


def test_an_operator_named_with_a_slash_has_a_row_and_its_actions(admin_client):
    """Operator names may hold “/” (only white space is refused, on the CLI too): the list
    still renders, and the password and disable actions reach that operator."""
    response = admin_client.post("/operators/", {**GOOD, "username": "<b>x</b>/1"})
    assert response["Location"] == "/operators/"
    listing = admin_client.get("/operators/")
    assert listing.status_code == 200
    assert 'data-operator="&lt;b&gt;x&lt;/b&gt;/1"' in html(listing)
    set_password = admin_client.post(
        "/operators/<b>x</b>/1/password/", {"new": "New-pass-777", "repeat": "New-pass-777"}
    )
    assert set_password["Location"] == "/operators/"
    assert Operator.objects.get(username="<b>x</b>/1").check_password("New-pass-777")
    admin_client.post("/operators/<b>x</b>/1/disable/")
    assert not Operator.objects.get(username="<b>x</b>/1").is_active

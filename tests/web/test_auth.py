"""Login with throttling, the forced password change, logout, idle expiry, language, CSRF."""

from __future__ import annotations

import re
import time

import pytest
from django.core.signing import get_cookie_signer
from django.test import Client
from django.utils import timezone
from web_helpers import codes, field_errors, html, tr

from prepaid.audit.models import AuditEntry
from prepaid.core.errors import InvalidInput
from prepaid.operators.models import Operator, Role
from prepaid.operators.services import set_language

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_admin(web_home):
    """The admin of a fresh install: password 1111, to be changed at first login."""
    from prepaid.operators.services import ensure_admin

    admin, _ = ensure_admin(None)
    return admin


def test_login_page_is_chinese_by_default_whatever_the_browser_says(client, web_home):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html(response)
    assert response["Content-Language"] == "zh-hans"


def test_anonymous_is_sent_to_login_with_next(client, web_home):
    response = client.get("/vending/sell/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fvending%2Fsell%2F"


def test_anonymous_htmx_gets_a_whole_page_redirect(client, web_home):
    response = client.get("/reader/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/")


def test_wrong_password_is_refused_inline(client, admin, web_home):
    response = client.post("/login/", {"username": "admin", "password": "wrong"})
    assert response.status_code == 200
    assert "auth_failed" in codes(response)
    assert "_auth_user_id" not in client.session


def test_empty_login_fields_are_refused_inline(client, web_home):
    response = client.post("/login/", {"username": "", "password": ""})
    assert response.status_code == 200
    assert html(response).count('data-field-error="') == 2


def test_five_failures_lock_the_operator(client, admin, web_home):
    for _ in range(4):
        response = client.post("/login/", {"username": "admin", "password": "wrong"})
        assert codes(response) == {"auth_failed"}
    response = client.post("/login/", {"username": "admin", "password": "wrong"})
    assert "account_locked" in codes(response)  # the fifth failure says the lock at once
    assert "请届时再试，或请管理员重设密码。" in html(response)  # and the way out
    response = client.post("/login/", {"username": "admin", "password": "s3cret-admin"})
    assert "account_locked" in codes(response)
    assert "_auth_user_id" not in client.session


def test_login_goes_to_next(client, admin, web_home):
    response = client.post(
        "/login/?next=/vending/sell/",
        {"username": "admin", "password": "s3cret-admin", "next": "/vending/sell/"},
    )
    assert response.status_code == 302 and response["Location"] == "/vending/sell/"


def test_login_never_redirects_off_site(client, admin, web_home):
    response = client.post(
        "/login/",
        {"username": "admin", "password": "s3cret-admin", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_first_login_forces_the_password_change(client, fresh_admin):
    response = client.post("/login/", {"username": "admin", "password": "1111"})
    assert response.status_code == 302 and response["Location"] == "/password/"
    for url in ("/", "/vending/sell/", "/accounts/", "/customers/register/", "/simulator/"):
        blocked = client.get(url)
        assert blocked.status_code == 302 and blocked["Location"] == "/password/", url
    assert client.post("/customers/register/", {"name": "x"})["Location"] == "/password/"
    htmx = client.get("/reader/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/password/"
    page = client.get("/password/")
    assert page.status_code == 200 and "password_change_required" in codes(page)
    # no menus that all lead back here; the language and logout stay
    assert 'data-menu="vending"' not in html(page) and "/vending/sell/" not in html(page)
    assert 'href="/"' not in html(page)
    assert 'data-testid="logout"' in html(page) and 'data-testid="language-switch"' in html(page)
    client.post("/password/", {"current": "1111", "new": "Good-pass-42", "repeat": "Good-pass-42"})
    menus = html(client.get("/password/"))
    assert 'data-menu="vending"' in menus and "/vending/sell/" in menus and 'href="/"' in menus


def test_the_forced_password_change_can_switch_the_language_first(client, fresh_admin):
    """A new operator who reads English switches the page before changing the password: the
    switch is not sent back to the password page unheard."""
    client.post("/login/", {"username": "admin", "password": "1111"})
    response = client.post("/language/", {"language": "en", "next": "/password/"})
    assert response.status_code == 302 and response["Location"] == "/password/"
    fresh_admin.refresh_from_db()
    assert fresh_admin.language == "en"
    page = client.get("/password/")
    assert '<html lang="en">' in html(page)
    assert tr("You must change your password before you can do anything else.", "en") in html(page)


def test_password_change_refusals(client, fresh_admin):
    client.post("/login/", {"username": "admin", "password": "1111"})
    wrong = client.post(
        "/password/", {"current": "nope", "new": "Good-pass-42", "repeat": "Good-pass-42"}
    )
    assert "auth_failed" in codes(wrong)
    # no operator name was typed here: the message names the current password
    assert field_errors(wrong)["current"] == tr("The current password is wrong.")
    assert tr("Wrong operator name or password.") not in html(wrong)
    differ = client.post(
        "/password/", {"current": "1111", "new": "Good-pass-42", "repeat": "Good-pass-43"}
    )
    assert 'data-field-error="repeat"' in html(differ)
    default = client.post("/password/", {"current": "1111", "new": "1111", "repeat": "1111"})
    assert "weak_password" in codes(default)
    short = client.post("/password/", {"current": "1111", "new": "abc", "repeat": "abc"})
    assert "weak_password" in codes(short)
    fresh_admin.refresh_from_db()
    assert fresh_admin.must_change_password


def test_password_change_unlocks_everything_and_keeps_the_session(client, fresh_admin):
    client.post("/login/", {"username": "admin", "password": "1111"})
    response = client.post(
        "/password/", {"current": "1111", "new": "Good-pass-42", "repeat": "Good-pass-42"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    fresh_admin.refresh_from_db()
    assert not fresh_admin.must_change_password
    assert fresh_admin.check_password("Good-pass-42")
    assert client.get("/").status_code == 200


def test_wrong_current_passwords_that_lock_the_operator_end_the_session(client, admin, web_home):
    """The password page counts wrong current passwords as failed logins; the one that locks
    the operator logs them out and the login page says until when, as after failed logins."""
    client.post("/login/", {"username": "admin", "password": "s3cret-admin"})
    wrong = {"current": "wrong", "new": "Good-pass-42", "repeat": "Good-pass-42"}
    for _ in range(4):
        response = client.post("/password/", wrong)
        assert codes(response) == {"auth_failed"}
    assert client.get("/").status_code == 200  # not yet locked: still at work
    response = client.post("/password/", wrong)
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    admin.refresh_from_db()
    assert admin.locked_until is not None and admin.check_password("s3cret-admin")
    page = client.get("/login/")
    until = timezone.localtime(admin.locked_until).strftime("%Y-%m-%d %H:%M")
    assert tr(
        "Too many failed logins: operator %(name)s is locked until %(until)s. Try again "
        "then, or ask an administrator to set a new password.",
        name="admin",
        until=until,
    ) in html(page)
    assert 'class="alert alert-danger account_locked"' in html(page)
    home = client.get("/")
    assert home.status_code == 302 and home["Location"].startswith("/login/")
    response = client.post("/login/", {"username": "admin", "password": "s3cret-admin"})
    assert "account_locked" in codes(response)


def test_logout_needs_post(admin_client):
    opened = admin_client.get("/logout/")  # by its address: the start page, still logged in
    assert opened.status_code == 302 and opened["Location"] == "/"
    assert admin_client.get("/").status_code == 200
    response = admin_client.post("/logout/")
    assert response["Location"] == "/login/"
    assert admin_client.get("/")["Location"].startswith("/login/")


def test_idle_session_expires(admin_client, monkeypatch):
    monkeypatch.setenv("PREPAID_WEB_IDLE_MINUTES", "30")
    assert admin_client.get("/").status_code == 200
    assert "prepaid_last_seen" in admin_client.cookies  # a signed cookie, no session write
    signer = get_cookie_signer(salt="prepaid_last_seen" * 2)
    admin_client.cookies["prepaid_last_seen"] = signer.sign(str(int(time.time()) - 31 * 60))
    response = admin_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?expired=1&next=%2F"
    assert "session_expired" in codes(admin_client.get(response["Location"]))
    assert admin_client.get("/")["Location"].startswith("/login/")


def test_a_sale_confirmed_after_a_logout_elsewhere_says_nothing_was_done(clerk_client, clerk):
    """Logged out in another tab, then 写卡 on the confirm page: the login page says the sale
    was not done (nothing charged, nothing written), not a bare login form."""
    elsewhere = Client()
    elsewhere.cookies = clerk_client.cookies
    elsewhere.post("/logout/")
    response = clerk_client.post("/vending/sell/", {"action": "write", "key": "a" * 32})
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fvending%2Fsell%2F&unsent=1"
    login = clerk_client.get(response["Location"])
    assert "session_ended_unsent" in codes(login)
    assert tr(
        "Your session had ended (logged out, or idle too long), so what you sent was not "
        "done: nothing was charged and no card was written. Log in and start again."
    ) in html(login)


def test_a_live_quote_after_a_logout_goes_back_to_the_sale_page_after_login(client, clerk):
    """An htmx request (the live quote, POST only) after the session ended: the login page
    leads back to the page the operator was on, not to the quote's address."""
    response = client.post(
        "/vending/quote/",
        {"amount": "10"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/vending/sell/",
    )
    assert response["HX-Redirect"] == "/login/?next=%2Fvending%2Fsell%2F&unsent=1"
    foreign = client.post(
        "/vending/quote/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://evil.example/x/"
    )
    assert foreign["HX-Redirect"] == "/login/?next=%2Fvending%2Fquote%2F&unsent=1"


def test_idle_session_expiry_on_a_post_says_nothing_was_done(admin_client, monkeypatch):
    monkeypatch.setenv("PREPAID_WEB_IDLE_MINUTES", "30")
    signer = get_cookie_signer(salt="prepaid_last_seen" * 2)
    admin_client.cookies["prepaid_last_seen"] = signer.sign(str(int(time.time()) - 31 * 60))
    response = admin_client.post("/vending/sell/", {"action": "write"})
    assert response["Location"] == "/login/?expired=1&next=%2Fvending%2Fsell%2F&unsent=1"
    assert "session_ended_unsent" in codes(admin_client.get(response["Location"]))


def test_logging_out_of_an_idle_session_is_no_form_left_undone(admin_client, monkeypatch):
    """退出 after the idle time: logged out, as asked; the login page does not say that what
    was sent was not done, nor lead back to the page."""
    monkeypatch.setenv("PREPAID_WEB_IDLE_MINUTES", "30")
    signer = get_cookie_signer(salt="prepaid_last_seen" * 2)
    admin_client.cookies["prepaid_last_seen"] = signer.sign(str(int(time.time()) - 31 * 60))
    response = admin_client.post("/logout/", HTTP_REFERER="http://testserver/vending/sell/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert admin_client.get("/")["Location"].startswith("/login/")


def test_a_forged_last_seen_cookie_is_ignored(admin_client, monkeypatch):
    monkeypatch.setenv("PREPAID_WEB_IDLE_MINUTES", "30")
    admin_client.cookies["prepaid_last_seen"] = "1:forged"
    assert admin_client.get("/").status_code == 200


def test_operator_switches_to_english_and_back(admin_client, admin):
    assert '<html lang="zh-hans">' in html(admin_client.get("/"))
    response = admin_client.post("/language/", {"language": "en", "next": "/vending/"})
    assert response["Location"] == "/vending/"
    admin.refresh_from_db()
    assert admin.language == "en"
    page = admin_client.get("/")
    assert '<html lang="en">' in html(page) and "Welcome, admin" in html(page)
    admin_client.post("/language/", {"language": "zh-hans"})
    admin.refresh_from_db()
    assert admin.language == "zh-hans"
    changes = AuditEntry.objects.filter(action="operator.language", object_id=str(admin.pk))
    assert [(e.before, e.after) for e in changes.order_by("id")] == [
        ({"language": "zh-hans"}, {"language": "en"}),
        ({"language": "en"}, {"language": "zh-hans"}),
    ]


def test_unknown_language_changes_nothing(admin_client, admin):
    admin_client.post("/language/", {"language": "fr"})
    admin.refresh_from_db()
    assert admin.language == "zh-hans"
    assert not AuditEntry.objects.filter(action="operator.language").exists()


def test_the_language_service_refuses_an_unknown_language_and_audits_only_changes(admin):
    with pytest.raises(InvalidInput) as refused:
        set_language(admin, "fr")
    assert refused.value.code == "bad_language"
    set_language(admin, "zh-hans")  # already so: nothing changes, nothing audited
    assert not AuditEntry.objects.filter(action="operator.language").exists()


def test_language_is_per_operator(admin_client, clerk_client, admin, clerk):
    admin_client.post("/language/", {"language": "en"})
    assert '<html lang="en">' in html(admin_client.get("/"))
    assert '<html lang="zh-hans">' in html(clerk_client.get("/"))


def test_login_page_remembers_the_last_operators_language(client, admin, web_home):
    Operator.objects.filter(pk=admin.pk).update(language="en")
    client.post("/login/", {"username": "admin", "password": "s3cret-admin"})
    client.post("/logout/")
    assert '<html lang="en">' in html(client.get("/login/"))


def test_a_new_operator_reads_the_login_page_in_english_and_keeps_it(client, fresh_admin):
    """The login page offers English; a first login keeps it (the password page and what
    follows are in English), where the operator's stored language would have been Chinese."""
    login = html(client.get("/login/"))
    assert '<html lang="zh-hans">' in login and 'value="en"' in login
    switched = client.post("/language/", {"language": "en", "next": "/login/?next=%2F"})
    assert switched.status_code == 302 and switched["Location"] == "/login/?next=%2F"
    assert '<html lang="en">' in html(client.get("/login/"))
    fresh_admin.refresh_from_db()
    assert fresh_admin.language == "zh-hans"  # nobody logged in: nothing stored yet
    client.post("/login/", {"username": "admin", "password": "1111"})
    assert '<html lang="en">' in html(client.get("/password/"))
    fresh_admin.refresh_from_db()
    assert fresh_admin.language == "en"
    assert AuditEntry.objects.filter(action="operator.language").count() == 1


def test_a_later_login_keeps_the_operators_own_language(client, admin, web_home):
    client.post("/language/", {"language": "en", "next": "/login/"})
    client.post("/login/", {"username": "admin", "password": "s3cret-admin"})
    admin.refresh_from_db()
    assert admin.language == "zh-hans" and '<html lang="zh-hans">' in html(client.get("/"))


def test_csrf_is_enforced(admin, web_home):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/login/", {"username": "admin", "password": "s3cret-admin"})
    assert response.status_code == 403
    assert "csrf" in codes(response)
    browser.force_login(admin)
    assert browser.post("/customers/register/", {"name": "x"}).status_code == 403
    assert browser.post("/vending/sell/", {"action": "read"}).status_code == 403


def test_csrf_token_round_trip_works(admin, web_home):
    import re

    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(page)).group(1)
    response = browser.post(
        "/login/", {"username": "admin", "password": "s3cret-admin", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


# -- a disabled operator -------------------------------------------------------------------


def _disabled_operator(name="gone", password="whatever-123"):
    operator = Operator(username=name, role=Role.OPERATOR, is_active=False)
    operator.set_password(password)
    operator.save()
    return operator


def test_a_disabled_operator_with_the_right_password_is_told_to_ask_an_administrator(
    client, web_home
):
    _disabled_operator()
    response = client.post("/login/", {"username": "gone", "password": "whatever-123"})
    assert codes(response) == {"operator_disabled"}
    said = "操作员 gone 已被停用，请联系管理员重新启用。"
    assert said == tr(
        "Operator %(name)s has been disabled. Ask an administrator to enable it again.",
        name="gone",
    )
    assert said in html(response)
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_does_not_tell_a_disabled_operator_from_a_name_nobody_has(
    client, web_home
):
    """Only who knows the password learns that the operator is disabled: with a wrong one the
    page is the one a name nobody has gets, word for word."""
    _disabled_operator()
    disabled = client.post("/login/", {"username": "gone", "password": "wrong-pass"})
    nobody = client.post("/login/", {"username": "nobody", "password": "wrong-pass"})
    assert codes(disabled) == codes(nobody) == {"auth_failed"}
    assert "停用" not in html(disabled)
    assert _without_tokens(disabled).replace("gone", "nobody") == _without_tokens(nobody)


def _without_tokens(response):
    return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", html(response))  # CSRF tokens differ per page


def test_wrong_passwords_lock_a_disabled_operator_too_audited(client, web_home):
    """The password of a disabled operator cannot be guessed without limit (the right one
    would say “disabled”): five failures lock them as any operator, each audited."""
    operator = _disabled_operator()
    for _ in range(4):
        response = client.post("/login/", {"username": "gone", "password": "wrong"})
        assert codes(response) == {"auth_failed"}
    response = client.post("/login/", {"username": "gone", "password": "wrong"})
    assert codes(response) == {"account_locked"}
    response = client.post("/login/", {"username": "gone", "password": "whatever-123"})
    assert codes(response) == {"account_locked"}  # locked: the right password says no more
    actions = list(
        AuditEntry.objects.filter(object_id=str(operator.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["operator.lock"] + ["operator.login_failed"] * 4
    operator.refresh_from_db()
    assert operator.locked_until is not None and not operator.is_active


DISABLED_SAID = (
    "Operator %(name)s has been disabled by an administrator and logged out. Ask an "
    "administrator to enable it again."
)
DISABLED_UNSENT = (
    "Operator %(name)s has been disabled by an administrator and logged out, so what you sent "
    "was not done: nothing was charged and no card was written. Ask an administrator to "
    "enable it again."
)


def test_a_disabled_operators_open_session_is_told_why_it_ended(admin, clerk_client, clerk):
    from prepaid.operators.services import disable_operator, enable_operator

    assert clerk_client.get("/vending/sell/").status_code == 200
    disable_operator(admin, "clerk")
    response = clerk_client.get("/vending/sell/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fvending%2Fsell%2F"
    assert "_auth_user_id" not in clerk_client.session  # ended, not only forgotten
    page = clerk_client.get(response["Location"])
    assert codes(page) == {"operator_disabled"}
    assert tr(DISABLED_SAID, name="clerk") in html(page)
    assert "操作员 clerk 已被管理员停用，已退出登录。请联系管理员重新启用。" in html(page)
    assert "session_ended" not in html(page) and "session_expired" not in html(page)
    assert codes(clerk_client.get("/login/")) == set()  # said once
    # enabled again, the old session does not come back to life: the operator logs in
    enable_operator(admin, "clerk")
    assert clerk_client.get("/vending/sell/").status_code == 302


def test_a_disabled_operators_form_says_it_was_not_done_and_why(admin, clerk_client, clerk):
    from prepaid.operators.services import disable_operator

    disable_operator(admin, "clerk")
    sent = clerk_client.post("/vending/sell/", {"action": "write", "quantity": "1"})
    assert sent.status_code == 302 and "unsent=1" in sent["Location"]
    page = clerk_client.get(sent["Location"])
    assert codes(page) == {"operator_disabled"}
    assert tr(DISABLED_UNSENT, name="clerk") in html(page)


def test_a_disabled_operators_htmx_request_takes_the_whole_page_to_the_login(
    admin, clerk_client, clerk
):
    from prepaid.operators.services import disable_operator

    disable_operator(admin, "clerk")
    response = clerk_client.get("/reader/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"].startswith("/login/")
    assert codes(clerk_client.get(response["HX-Redirect"])) == {"operator_disabled"}


def test_a_disabled_operator_who_logs_out_or_opens_the_login_page_is_told_too(
    admin, clerk_client, clerk, settings
):
    from prepaid.operators.services import disable_operator

    disable_operator(admin, "clerk")
    logged_out = clerk_client.post("/logout/")
    assert logged_out.status_code == 302 and logged_out["Location"] == "/login/"
    assert codes(clerk_client.get("/login/")) == {"operator_disabled"}

    other = Client()
    other.force_login(clerk)  # an English-speaking operator's browser, straight to the login
    other.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = other.get("/login/")
    assert codes(page) == {"operator_disabled"}
    assert tr(DISABLED_SAID, "en", name="clerk") in html(page)


def test_another_operator_logs_in_over_a_disabled_operators_session(admin, clerk, web_home):
    """A counter's browser still holding a disabled operator's session: the next operator's
    login is done, not sent back to the login page."""
    from prepaid.operators.services import disable_operator

    browser = Client()
    browser.force_login(clerk)
    disable_operator(admin, "clerk")
    response = browser.post("/login/", {"username": "admin", "password": "s3cret-admin"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert browser.get("/").status_code == 200

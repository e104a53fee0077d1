"""Per-request language, idle session expiry and the forced password change.

* The operator's language (``Operator.language``) is activated for every request after login;
  before login the language chosen on the login page or of the last operator on this browser
  (the language cookie), else the site default (zh-hans) — not the browser's Accept-Language:
  the office decides. A first login keeps the login page's language.
* A session idle for ``PREPAID_WEB_IDLE_MINUTES`` (default 30) is logged out: the request goes
  to the login page, which leads back to the page the operator was on; a form it sent (写卡, a
  reader button…) is not done, and the login page says so.
* An operator an administrator disabled while logged in is logged out at the next request: the
  login page says the operator was disabled (and, for a form sent, that it was not done) —
  Django's authentication only forgets a disabled operator, whose page would then say nothing
  or that the session had ended.
* An operator who must change the password (``must_change_password``) reaches nothing but the
  password page, the language switch (to read that page in their own language) and logout until
  it is changed.
* An address that takes a form only (POST: closing a shift, the card reader's buttons, a
  receipt's print…) opened by its address, from a bookmark or the browser's history, goes to the
  page that form is on (``FORM_PAGES``), or says what the address is for: never Django's blank
  405 page.
* A service refusal that escapes a page (no card reader connected, say) is shown as a page
  with its message (409), never as a server error; so is a database or data-directory file
  that could not be written (a full disk, a dropped database connection: 503). Asked by htmx
  (the reader panel, the live quote), the answer is the part of the page that asked, with the
  refusal in it (``views.common.refused``): htmx swaps it in (``responseHandling`` in
  base.html), where a whole page would have nested the menus in the panel.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext

from prepaid.append_only import append_only_refusal
from prepaid.core.errors import PrepaidError
from prepaid.web.errors import message, storage_failure
from prepaid.web.http import login_again, redirect_to, redirect_whole_page
from prepaid.web.views.common import refused

log = logging.getLogger("prepaid.web")
LANGUAGES = {code for code, _name in settings.LANGUAGES}
LAST_SEEN = "prepaid_last_seen"
DISABLED = "prepaid_disabled"  # the name of the operator logged out as disabled, for the login page
PASSWORD_EXEMPT = {"web:password", "web:language", "web:logout", "web:login", "web:favicon"}
# The page whose form posts to a POST-only address, by the address's view name: where a GET of
# that address goes (with the address's own parameters, when the page takes the same ones).
FORM_PAGES = {
    "web:logout": "web:home",
    "web:language": "web:home",
    "web:quote": "web:vending",
    "web:reader_insert": "web:vending",
    "web:reader_eject": "web:vending",
    "web:reader_blank": "web:vending",
    "web:reader_format": "web:vending",
    "web:reader_record_reading": "web:vending",
    "web:receipt_print": "web:purchase",
    "web:meter_swipe": "web:meter",
    "web:meter_use": "web:meter",
    "web:operator_disable": "web:operators",
    "web:operator_enable": "web:operators",
    "reports:shift_close": "reports:shifts",
}


def idle_seconds() -> int:
    return int(os.environ.get("PREPAID_WEB_IDLE_MINUTES", "30")) * 60


def operator_language(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.language in LANGUAGES:
        language: str = user.language
        return language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return cookie if cookie in LANGUAGES else settings.LANGUAGE_CODE


def form_page(request: HttpRequest, not_allowed: HttpResponse) -> HttpResponse:
    """A GET of an address that takes a form only: the page the form is on, else a page
    saying so (405, with its ``Allow``) — nothing is done either way."""
    match = request.resolver_match
    target = FORM_PAGES.get(match.view_name) if match is not None else None
    if match is not None and target is not None:
        try:
            url = reverse(target, kwargs=match.kwargs)
        except NoReverseMatch:
            url = reverse(target)
        return redirect_whole_page(request, url)
    error = {
        "code": "form_only",
        "message": gettext(
            "This address takes a form sent from its page; opened by itself it does nothing. "
            "Go back to the page and use its button."
        ),
    }
    response = refused(request, error, 405)
    if "Allow" in not_allowed:
        response["Allow"] = not_allowed["Allow"]
    return response


class OperatorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        expired = self._expire_idle(request)
        disabled = self._end_disabled(request)
        language = operator_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        if expired and request.path == reverse("web:logout"):
            response = redirect_to(request, "web:login")  # logged out, as asked
        elif expired:
            response = login_again(request, expired=True)
        elif disabled and request.path == reverse("web:logout"):
            response = redirect_to(request, "web:login")  # the login page says why
        elif disabled and request.path != reverse("web:login"):
            response = login_again(request)
        else:
            response = self.get_response(request)
            if response.status_code == 405 and request.method in ("GET", "HEAD"):
                response = form_page(request, response)
        response.headers.setdefault("Content-Language", language)
        if request.user.is_authenticated and not expired:
            # the last-seen time lives in a signed cookie: no database write per request
            response.set_signed_cookie(
                LAST_SEEN, str(int(time.time())), salt=LAST_SEEN, httponly=True, samesite="Lax"
            )
        return response

    def _expire_idle(self, request: HttpRequest) -> bool:
        if not request.user.is_authenticated:
            return False
        seen = request.get_signed_cookie(LAST_SEEN, default="", salt=LAST_SEEN)
        if seen.isdigit() and int(time.time()) - int(seen) > idle_seconds():
            logout(request)
            return True
        return False

    def _end_disabled(self, request: HttpRequest) -> bool:
        """A session of an operator disabled since it began: Django's authentication takes
        the request for an anonymous one but keeps the session, which would come back to life
        were the operator enabled again. It ends here, and the new session keeps the
        operator's name for the login page (only this browser's page says who was disabled)."""
        if request.user.is_authenticated or SESSION_KEY not in request.session:
            return False
        from prepaid.operators.models import Operator

        try:
            pk = Operator._meta.pk.to_python(request.session[SESSION_KEY])
        except ValidationError:
            return False
        operator = Operator.objects.filter(pk=pk, is_active=False).first()
        if operator is None:
            return False
        logout(request)
        request.session[DISABLED] = operator.username
        return True

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or not getattr(user, "must_change_password", False):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in PASSWORD_EXEMPT:
            return None
        return redirect_to(request, "web:password")

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A refusal no page caught (the card reader missing, say) is shown, not a 500; so is a
        full disk or a lost database connection (503), and the database's refusal to change a
        ledger or audit entry (409: ``ledger_append_only``, ``audit_append_only``)."""
        status = 409
        if not isinstance(exception, PrepaidError):
            append_only = append_only_refusal(exception)
            failure = append_only or storage_failure(exception)
            if failure is None:
                return None
            log.error("%s: %s", request.path, exception, exc_info=exception)
            exception, status = failure, 409 if append_only else 503
        if exception.code == "permission_denied":
            raise PermissionDenied(message(exception)) from exception
        return refused(request, {"code": exception.code, "message": message(exception)}, status)

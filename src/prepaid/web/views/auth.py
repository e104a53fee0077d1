"""Login, logout, password change (forced after the first login), the operator's language."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from prepaid.core.errors import PrepaidError
from prepaid.operators import services as operators
from prepaid.operators.models import Operator
from prepaid.web.decorators import operator_required
from prepaid.web.errors import message
from prepaid.web.forms import LanguageForm, LoginForm, PasswordChangeForm
from prepaid.web.middleware import DISABLED
from prepaid.web.views.common import page

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("web:home")


def _remember_language(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
    )
    return response


def login_view(request: HttpRequest) -> HttpResponse:
    # the operator whose session ended because an administrator disabled them (middleware)
    disabled = request.session.pop(DISABLED, None)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            operator = operators.authenticate(
                form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except PrepaidError as exc:
            form.add_service_error(exc)
        else:
            if operator.must_change_password:
                # a first login (or after a reset) keeps the language the login page was read
                # in: the new operator who chose English there does not land in Chinese
                operators.set_language(operator, request.LANGUAGE_CODE)
            login(request, operator, backend=BACKEND)
            target = "web:password" if operator.must_change_password else None
            response = redirect(target) if target else HttpResponseRedirect(_next_url(request))
            return _remember_language(response, operator.language)
    return page(
        request,
        "login.html",
        {
            "form": form,
            "expired": "expired" in request.GET,
            "disabled": disabled if request.method != "POST" else None,
            "unsent": "unsent" in request.GET,
            "next": request.GET.get("next", ""),
        },
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


@operator_required
def password_view(request: HttpRequest) -> HttpResponse:
    operator: Operator = request.user  # type: ignore[assignment]
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            operators.authenticate(operator.username, form.cleaned_data["current"])
            operators.change_password(operator, operator.username, form.cleaned_data["new"])
        except PrepaidError as exc:
            if exc.code == "account_locked":
                return _locked_out(request, exc)
            if exc.code == "auth_failed":  # the operator typed no name: say which is wrong
                exc = PrepaidError("auth_failed", gettext_noop("The current password is wrong."))
            form.add_service_error(exc)
        else:
            operator.refresh_from_db()
            update_session_auth_hash(request, operator)
            messages.success(request, _("Password changed."))
            return redirect("web:home")
    return page(request, "password.html", {"form": form, "forced": operator.must_change_password})


def _locked_out(request: HttpRequest, exc: PrepaidError) -> HttpResponse:
    """Wrong current passwords count towards the lock as failed logins do: the one that locks
    the operator ends the session too (a locked operator does not go on working), and the
    login page says until when, as it does after failed logins."""
    logout(request)
    messages.error(request, message(exc), extra_tags=exc.code)
    return redirect("web:login")


@require_POST
def language_view(request: HttpRequest) -> HttpResponse:
    """The operator's language (a preference of the operator, kept on ``Operator``); before
    login, the login page's language on this browser only."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return redirect("web:home")
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        operators.set_language(request.user, language)  # type: ignore[arg-type]
    target = _next_url(request)
    return _remember_language(HttpResponseRedirect(target), language)

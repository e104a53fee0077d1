"""Operator management (admin): add operators, set a password, disable and enable.

A password set here for someone else must be changed by that operator at first login."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepaid.core.errors import PrepaidError
from prepaid.operators import services as operators
from prepaid.web.decorators import admin_required
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.forms import OperatorAddForm, SetPasswordForm
from prepaid.web.views.common import or_404, page, refusal


@admin_required
def operator_list(request: HttpRequest) -> HttpResponse:
    form = OperatorAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            operator = operators.add_operator(
                request.user, data["username"], data["role"], data["new"]
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Operator %(name)s added: they must change the password at first use.")
                % {"name": operator.username},
            )
            return redirect("web:operators")
    listed = operators.list_operators(request.user)
    return page(request, "operators/list.html", {"form": form, "operators": listed})


@admin_required
def operator_password(request: HttpRequest, username: str) -> HttpResponse:
    or_404(operators.get_operator, request.user, username)  # a stale link: no form to fill in
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            operator = operators.change_password(request.user, username, form.cleaned_data["new"])
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            if operator.must_change_password:
                done = _("Password of %(name)s set: they must change it at first use.")
            else:
                done = _("Password of %(name)s changed.")
            messages.success(request, done % {"name": username})
            return redirect("web:operators")
    return page(request, "operators/password.html", {"form": form, "username": username})


@require_POST
@admin_required
def operator_disable(request: HttpRequest, username: str) -> HttpResponse:
    return _switch(
        request,
        username,
        operators.disable_operator,
        _("Operator %(name)s disabled."),
        _("Operator %(name)s is already disabled: nothing changed."),
    )


@require_POST
@admin_required
def operator_enable(request: HttpRequest, username: str) -> HttpResponse:
    return _switch(
        request,
        username,
        operators.enable_operator,
        _("Operator %(name)s enabled."),
        _("Operator %(name)s is already enabled: nothing changed."),
    )


def _switch(
    request: HttpRequest, username: str, service: Any, done: str, unchanged: str
) -> HttpResponse:
    """Disable or enable an operator; doing it twice changes nothing and says so."""
    try:
        _operator, changed = service(request.user, username)
    except PrepaidError as exc:
        messages.error(request, refusal(exc)["message"])
    else:
        if changed:
            messages.success(request, done % {"name": username})
        else:
            messages.info(request, unchanged % {"name": username})
    return redirect("web:operators")

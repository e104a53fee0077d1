"""账户管理: create an account (then offer to add a price), list, modify and delete accounts."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from prepaid.accounts import services as accounts
from prepaid.accounts.models import Account
from prepaid.core.errors import PrepaidError
from prepaid.core.money import format_centi
from prepaid.web.decorators import admin_required
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.forms import AccountForm, AccountModifyForm
from prepaid.web.views.common import delete_page, or_404, page


@admin_required
def account_list(request: HttpRequest) -> HttpResponse:
    rows = [
        {"account": a, "unit": accounts.meter_unit(a), "prices": list(a.prices.all())}
        for a in accounts.list_accounts()
    ]
    return page(
        request, "accounts/list.html", {"rows": rows, "full": len(rows) >= accounts.MAX_ACCOUNTS}
    )


@admin_required
def account_create(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = accounts.create_account(
                request.user,
                meter_type=data["meter_type"],
                sub_meter=data["sub_meter"],
                limit=data["limit"],
                prestore=data["prestore"],
                alarm=data["alarm"],
                overdraft=data["overdraft"],
                maintenance_code=data["maintenance_code"],
                name=data["name"],
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            return redirect("web:account_created", account.pk)
    return page(request, "accounts/create.html", {"form": form})


@admin_required
def account_created(request: HttpRequest, account_id: int) -> HttpResponse:
    """The manual's dialog after 创建账户: 您要为该帐户添加一个价格吗？"""
    account = or_404(accounts.get_account, account_id)
    return page(
        request, "accounts/created.html", {"account": account, "unit": accounts.meter_unit(account)}
    )


def _initial(account: Account) -> dict[str, str]:
    return {
        "name": account.name,
        "limit": format_centi(account.limit_centi),
        "prestore": format_centi(account.prestore_centi),
        "alarm": format_centi(account.alarm_centi),
        "overdraft": format_centi(account.overdraft_centi),
        "maintenance_code": str(account.maintenance_code),
    }


@admin_required
def account_modify(request: HttpRequest, account_id: int) -> HttpResponse:
    account = or_404(accounts.get_account, account_id)
    form = AccountModifyForm(request.POST or None, initial=_initial(account))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            modified = accounts.modify_account(
                request.user,
                account.pk,
                name=data["name"],
                limit=data["limit"],
                prestore=data["prestore"],
                alarm=data["alarm"],
                overdraft=data["overdraft"],
                maintenance_code=data["maintenance_code"],
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            messages.success(request, _("Account %(name)s modified.") % {"name": modified.name})
            return redirect("web:accounts")
    return page(
        request,
        "accounts/modify.html",
        {
            "form": form,
            "account": account,
            "unit": accounts.meter_unit(account),
            "in_field": accounts.account_in_field(account),
        },
    )


@admin_required
def account_delete(request: HttpRequest, account_id: int) -> HttpResponse:
    account = or_404(accounts.get_account, account_id)
    return delete_page(
        request,
        lambda: accounts.delete_account(request.user, account.pk),
        _("Account %(name)s deleted."),
        "web:accounts",
        "accounts/delete.html",
        lambda: {
            "account": account,
            "unit": accounts.meter_unit(account),
            "prices": list(account.prices.all()),
        },
    )

"""账户管理: create an account (then offer to add a price), list the accounts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from prepaid.accounts import services as accounts
from prepaid.core.errors import PrepaidError
from prepaid.web.decorators import admin_required
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.forms import AccountForm
from prepaid.web.views.common import page


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
    account = accounts.get_account(account_id)
    return page(
        request, "accounts/created.html", {"account": account, "unit": accounts.meter_unit(account)}
    )

"""价格管理: add, adjust (调整, a new version from a date on), modify (修改), delete prices."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from prepaid.accounts import services as accounts
from prepaid.core.errors import PrepaidError
from prepaid.web.decorators import admin_required
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.forms import PriceAddForm, PriceAdjustForm, PriceModifyForm
from prepaid.web.presenters import price_view, tariff_initial
from prepaid.web.views.common import (
    delete_page,
    done_before,
    or_404,
    page,
    remember_done,
    sent_once,
)

ACTIONS = ("adjust", "modify", "delete")


@admin_required
def price_list(request: HttpRequest) -> HttpResponse:
    action = request.GET.get("action")
    rows = [price_view(p) for p in accounts.list_prices()]
    return page(
        request,
        "prices/list.html",
        {
            "rows": rows,
            "action": action if action in ACTIONS else None,
        },
    )


@admin_required
def price_add(request: HttpRequest) -> HttpResponse:
    account_list = accounts.list_accounts()
    initial = {"account": request.GET.get("account", "")}
    form = PriceAddForm(request.POST or None, accounts=account_list, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            price = accounts.add_price(
                request.user,
                account_id=data["account"],
                name=data["name"],
                remarks=data["remarks"],
                effective_from=form.text("effective_from"),
                **form.tariff(),
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            messages.success(request, _("Price %(name)s added.") % {"name": price.name})
            return redirect("web:prices")
    return page(request, "prices/add.html", {"form": form, "accounts": account_list})


@admin_required
def price_adjust(request: HttpRequest, price_id: int) -> HttpResponse:
    with sent_once(request.POST.get("key") if request.method == "POST" else None):
        return _price_adjust(request, price_id)


def _price_adjust(request: HttpRequest, price_id: int) -> HttpResponse:
    price = or_404(accounts.get_price, price_id)
    if request.method == "POST":
        replay = done_before(request, request.POST.get("key"))
        if replay is not None:
            messages.warning(
                request,
                _(
                    "This form was already sent: the price was adjusted then. "
                    "Nothing was adjusted again."
                ),
            )
            return replay
    latest = accounts.latest_version(price)
    form = PriceAdjustForm(request.POST or None, initial=tariff_initial(latest))
    if request.method == "POST" and form.is_valid():
        try:
            version = accounts.adjust_price(
                request.user, price.pk, effective_from=form.text("effective_from"), **form.tariff()
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Price %(name)s adjusted: version %(number)s from %(date)s.")
                % {
                    "name": price.name,
                    "number": version.number,
                    "date": formats.date_format(version.effective_from, "SHORT_DATE_FORMAT"),
                },
            )
            return remember_done(request, form.cleaned_data["key"], reverse("web:prices"))
    return page(request, "prices/adjust.html", {"form": form, "row": price_view(price)})


@admin_required
def price_modify(request: HttpRequest, price_id: int) -> HttpResponse:
    price = or_404(accounts.get_price, price_id)
    initial = {"name": price.name, "remarks": price.remarks}
    form = PriceModifyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            accounts.modify_price(
                request.user,
                price.pk,
                name=data["name"],
                remarks=data["remarks"],
                **form.tariff(keep_blank=True),
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            messages.success(request, _("Price %(name)s modified.") % {"name": data["name"]})
            return redirect("web:prices")
    return page(request, "prices/modify.html", {"form": form, "row": price_view(price)})


@admin_required
def price_delete(request: HttpRequest, price_id: int) -> HttpResponse:
    price = or_404(accounts.get_price, price_id)
    return delete_page(
        request,
        lambda: accounts.delete_price(request.user, price.pk),
        _("Price %(name)s deleted."),
        "web:prices",
        "prices/delete.html",
        lambda: {"row": price_view(price)},
    )

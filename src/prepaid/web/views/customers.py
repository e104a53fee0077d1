"""用户管理: register a customer (optionally going straight on to 开户), find, show."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from prepaid.core.errors import PrepaidError
from prepaid.customers import services as customers
from prepaid.customers.models import Customer
from prepaid.web.decorators import operator_required
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.forms import CustomerForm, SearchForm
from prepaid.web.views.common import or_404, page

RECENT = 20


@operator_required
def register(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, initial={"open_now": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = customers.register_customer(
                request.user,
                name=data["name"],
                phone=data["phone"],
                address=data["address"],
                id_number=data["id_number"],
                remarks=data["remarks"],
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Customer %(name)s registered with user number %(user_number)s.")
                % {"name": customer.name, "user_number": customer.user_number},
            )
            if data["open_now"]:
                query = urlencode({"customer": customer.user_number})
                return HttpResponseRedirect(f"{reverse('web:open')}?{query}")
            return redirect("web:customer", customer.user_number)
    return page(request, "customers/register.html", {"form": form})


def search(request: HttpRequest) -> tuple[SearchForm, list[Customer] | None]:
    """The search box of the customer pages: by user number, name or phone."""
    form = SearchForm(request.GET if "q" in request.GET else None)
    if not form.is_bound:
        return form, None
    if not form.is_valid():
        return form, []
    try:
        return form, customers.find_customers(form.cleaned_data["q"])
    except PrepaidError as exc:
        form.add_service_error(exc)
        return form, []


def recent_customers() -> list[Customer]:
    return list(Customer.objects.order_by("-id")[:RECENT])


@operator_required
def find(request: HttpRequest) -> HttpResponse:
    form, found = search(request)
    return page(
        request,
        "customers/find.html",
        {"form": form, "found": found, "recent": recent_customers() if found is None else None},
    )


@operator_required
def show(request: HttpRequest, user_number: str) -> HttpResponse:
    overview = or_404(customers.customer_overview, user_number)
    return page(request, "customers/show.html", {"o": overview})

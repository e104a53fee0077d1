"""用户管理: register a customer (optionally going straight on to 开户), correct a customer's
details (修改用户信息), find, show."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from prepaid.core.errors import PrepaidError
from prepaid.customers import services as customers
from prepaid.customers.models import Customer
from prepaid.web.decorators import operator_required
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.forms import CustomerForm, CustomerModifyForm, SearchForm
from prepaid.web.views.common import done_before, or_404, page, remember_done, sent_once

RECENT = 20
CUSTOMERS_PER_PAGE = 50  # customers a search lists on one page


def _details(data: dict[str, Any]) -> dict[str, Any]:
    """A customer's details as the register and modify forms give them to the service."""
    return {field: data[field] for field in ("name", "phone", "address", "id_number", "remarks")}


@operator_required
def register(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _register(request)
    with sent_once(request.POST.get("key")):
        return _register(request)


def _register(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        replay = done_before(request, request.POST.get("key"))
        if replay is not None:
            messages.warning(
                request,
                _(
                    "This form was already sent: the customer was registered then. "
                    "Nothing was registered again."
                ),
            )
            return replay
    form = CustomerForm(request.POST or None, initial={"open_now": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = customers.register_customer(request.user, **_details(data))
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Customer %(name)s registered with user number %(user_number)s.")
                % {"name": customer.name, "user_number": customer.user_number},
            )
            url = reverse("web:customer", args=[customer.user_number])
            if data["open_now"]:
                query = urlencode({"customer": customer.user_number})
                url = f"{reverse('web:open')}?{query}"
            return remember_done(request, data["key"], url)
    return page(request, "customers/register.html", {"form": form})


@operator_required
def modify(request: HttpRequest, user_number: str) -> HttpResponse:
    customer = or_404(customers.get_customer, user_number)
    initial = customers.customer_snapshot(customer)
    form = CustomerModifyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            modified = customers.modify_customer(
                request.user, customer.user_number, **_details(data)
            )
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            form.add_service_error(exc)
        else:
            _say_modified(request, modified)
            return redirect("web:customer", customer.user_number)
    return page(request, "customers/modify.html", {"form": form, "customer": customer})


def _say_modified(request: HttpRequest, modified: customers.CustomerModification) -> None:
    said = {"name": modified.customer.name, "user_number": modified.customer.user_number}
    if modified.changed:
        messages.success(
            request, _("Details of customer %(user_number)s %(name)s corrected.") % said
        )
    else:
        text = _("Customer %(user_number)s %(name)s already has these details: nothing changed.")
        messages.info(request, text % said)


@dataclass
class FoundCustomers:
    """One page of the customers a search found; the template iterates it like a list."""

    page: Page[Customer]
    previous_url: str | None = None
    next_url: str | None = None
    bad_page: str | None = None  # the page asked for when there is no such page

    def __iter__(self) -> Iterator[Customer]:
        return iter(self.page)

    def __len__(self) -> int:
        return len(self.page)


def _page_url(request: HttpRequest, number: int) -> str:
    params = request.GET.copy()
    params["page"] = str(number)
    return "?" + params.urlencode()


def found_page(request: HttpRequest, matches: QuerySet[Customer]) -> FoundCustomers:
    """The page ``?page=`` asks for; a page that is not one of them (“abc”, 0, past the
    last) shows the first page and says so."""
    paginator = Paginator(matches, CUSTOMERS_PER_PAGE)
    asked = request.GET.get("page", "1")
    bad_page = None
    try:
        page_of = paginator.page(asked)
    except InvalidPage:
        page_of = paginator.page(1)
        bad_page = asked[:20]
    return FoundCustomers(
        page_of,
        previous_url=_page_url(request, page_of.number - 1) if page_of.has_previous() else None,
        next_url=_page_url(request, page_of.number + 1) if page_of.has_next() else None,
        bad_page=bad_page,
    )


def search(request: HttpRequest) -> tuple[SearchForm, FoundCustomers | list[Customer] | None]:
    """The search box of the customer pages: by user number, name or phone, a page at a time."""
    form = SearchForm(request.GET if "q" in request.GET else None)
    if not form.is_bound:
        return form, None
    if not form.is_valid():
        return form, []
    try:
        return form, found_page(request, customers.matching_customers(form.cleaned_data["q"]))
    except PrepaidError as exc:
        form.add_service_error(exc)
        return form, []


def recent_customers() -> list[Customer]:
    return list(Customer.objects.order_by("-id")[:RECENT])


def opened_everywhere(rows: Iterable[Customer]) -> set[str]:
    """The user numbers, among ``rows``, of customers opened on every account: a list offers
    them no 开户 (the customer's page says the same), in one query for the whole list."""
    from prepaid.accounts.services import list_accounts
    from prepaid.vending.models import CustomerAccount

    accounts = len(list_accounts())
    customers = [row.pk for row in rows]
    if not accounts or not customers:
        return set()
    opened = (
        CustomerAccount.objects.filter(customer__in=customers, last_serial__gt=0)
        .values("customer__user_number")
        .annotate(accounts=Count("account", distinct=True))
    )
    return {row["customer__user_number"] for row in opened if row["accounts"] >= accounts}


def customer_rows(found: FoundCustomers | list[Customer] | None) -> dict[str, object]:
    """What the customer list template (``customers/_results.html``) shows: the customers a
    search found, else the recently registered ones."""
    recent = recent_customers() if found is None else None
    rows = recent if found is None else found
    return {"found": found, "recent": recent, "opened_everywhere": opened_everywhere(rows or [])}


@operator_required
def find(request: HttpRequest) -> HttpResponse:
    form, found = search(request)
    return page(
        request,
        "customers/find.html",
        {"form": form, **customer_rows(found)},
    )


@operator_required
def show(request: HttpRequest, user_number: str) -> HttpResponse:
    overview = or_404(customers.customer_overview, user_number)
    # 开户 is offered while an account is left to open
    all_open = bool(overview.accounts) and not customers.accounts_to_open(overview)
    return page(request, "customers/show.html", {"o": overview, "all_open": all_open})

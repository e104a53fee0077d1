"""The start page's 首次使用 checklist: the manual's order from an empty office to a first sale.

Each step is done once the office has what it leaves behind (an account, a price, a setting
card issued, …); the start page lists the steps until the last one is done, each with its page
and, for the administrators' steps, who may do it. Read only: one ``EXISTS`` per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from prepaid.accounts.models import Account, Price
from prepaid.cards.models import CardOperation
from prepaid.customers.models import Customer
from prepaid.vending.models import CustomerAccount, Purchase


@dataclass(frozen=True)
class Step:
    title: str | Promise
    hint: str | Promise
    url_name: str
    admin_only: bool
    done: Callable[[], bool]


STEPS = (
    Step(
        _("Create an account"),
        _("Account management › Create account: the meter type, sub-meter number and limits."),
        "web:account_create",
        True,
        lambda: Account.objects.exists(),
    ),
    Step(
        _("Add a price"),
        _("Price management › Add price: flat or tiered, for the account."),
        "web:price_add",
        True,
        lambda: Price.objects.exists(),
    ),
    Step(
        _("Make a setting card and set the meter"),
        _(
            "Account management › Card making: a setting card from the account's parameters; "
            "swipe it on the meter (Meter simulator) to set it."
        ),
        "web:cards",
        True,
        lambda: CardOperation.objects.filter(
            kind=CardOperation.Kind.TOOL_CARD, tool_type="setting"
        ).exists(),
    ),
    Step(
        _("Register a customer"),
        _("Customer management › Register customer: name, phone, address."),
        "web:customer_register",
        False,
        lambda: Customer.objects.exists(),
    ),
    Step(
        _("Open the customer's account"),
        _(
            "Vending › Open account: a new card in the reader (a blank card formatted by an "
            "administrator on the reader panel or in Card making), the account, the price, a "
            "first purchase."
        ),
        "web:open",
        False,
        lambda: CustomerAccount.objects.exists(),
    ),
    Step(
        _("Sell"),
        _(
            "Meter simulator: the customer swipes the card on the meter first; then Vending › "
            "Sale: read the card, the quantity or the amount, confirm, write the card."
        ),
        "web:sell",
        False,
        lambda: Purchase.objects.filter(serial__gt=1).exists(),
    ),
)


def checklist(is_admin: bool) -> list[dict[str, object]] | None:
    """The steps with their state, or ``None`` once the office has made a sale after an
    opening (the last step): the start page then shows no checklist."""
    if STEPS[-1].done():
        return None
    rows: list[dict[str, object]] = []
    for number, step in enumerate(STEPS, start=1):
        rows.append(
            {
                "number": number,
                "title": step.title,
                "hint": step.hint,
                "url": reverse(step.url_name) if is_admin or not step.admin_only else None,
                "admin_only": step.admin_only,
                "done": step.done(),
            }
        )
    return rows

"""Finding the objects a command names, with clear refusals for unknown ones."""

from __future__ import annotations

from prepaid.accounts.models import Account, Price
from prepaid.core.errors import InvalidInput, _
from prepaid.customers.models import Customer


def customer(user_number: str) -> Customer:
    found = Customer.objects.filter(user_number=user_number.strip()).first()
    if found is None:
        raise InvalidInput(
            "unknown_customer",
            _("There is no customer with user number %(number)s."),
            number=user_number,
        )
    return found


def account(account_id: int) -> Account:
    found = Account.objects.filter(pk=account_id).first()
    if found is None:
        raise InvalidInput("unknown_account", _("There is no account %(id)s."), id=account_id)
    return found


def price(price_id: int) -> Price:
    found = Price.objects.filter(pk=price_id).first()
    if found is None:
        raise InvalidInput("unknown_price", _("There is no price %(id)s."), id=price_id)
    return found

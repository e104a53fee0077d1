"""Finding the objects a command names, with clear refusals for unknown ones."""

from __future__ import annotations

from prepaid.accounts.models import Account, Price
from prepaid.core.errors import InvalidInput, _
from prepaid.customers.models import Customer


def customer(user_number: str) -> Customer:
    """The customer a command names, found as everywhere else (``123`` finds ``00000123``)."""
    from prepaid.customers.services import get_customer

    return get_customer(user_number)


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

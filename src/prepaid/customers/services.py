"""Customers (用户): register, correct, look up, find. Any logged-in operator; every change
audited.

User numbers (用户编号) are 8 digits, zero-padded, issued in order: the largest existing
8-digit number plus one. Registrations take their numbers one at a time (SQLite's write
transaction; on PostgreSQL a transaction-level advisory lock), so stations registering at the
same moment get consecutive numbers; the unique constraint remains the last word (a number
written by other means is skipped).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from prepaid.accounts.services import clean_text
from prepaid.audit.services import log_action
from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.core.full_width import read_full_width
from prepaid.customers.models import Customer
from prepaid.operators.services import permission_denied

USER_NUMBER_DIGITS = 8
MAX_USER_NUMBER = 10**USER_NUMBER_DIGITS - 1
MAX_NAME_LENGTH = 64
MAX_PHONE_LENGTH = 32
MAX_ADDRESS_LENGTH = 200
MAX_ID_NUMBER_LENGTH = 32
MAX_REMARKS_LENGTH = 200
MAX_FOUND = 50  # customers listed by one search
NUMBERING_LOCK = 0x50524550_4E554D  # PostgreSQL advisory lock key of user numbering
HISTORY_LENGTH = 50  # purchases and ledger entries shown with a customer
NUMBER_ATTEMPTS = 5  # tries to take a user number while other stations take them too

MIN_PHONE_DIGITS = 5  # a short number such as 95598 (a utility's own service line)
MAX_PHONE_DIGITS = 20  # more than any international number with an extension
_PHONE_CHARACTERS = re.compile(r"[0-9+\- ]+")
# Digits, “+” only first, spaces and hyphens only between digits: +86 138-0000-0000.
_PHONE = re.compile(r"\+?[0-9]+(?:[ -]+[0-9]+)*")
# A Chinese input method left in full-width mode types １３８－００００ for 138-0000 (as it
# does for money): read as what it is (prepaid.core.full_width). Other scripts' digits stay
# refused.
_PHONE_FULL_WIDTH_ALSO = "+- "
_ID_NUMBER = re.compile(r"[0-9A-Za-z]+")
# Chinese resident identity number (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2
# check character.
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(d) * w for d, w in zip(first17, _RESIDENT_ID_WEIGHTS, strict=True))
    return _RESIDENT_ID_CHECK[total % 11]


def clean_phone(value: str | None) -> str:
    """A customer's phone number as stored: empty, or 5–20 digits with an optional leading
    “+” and spaces or hyphens between digits; full-width digits read as ASCII ones."""
    typed = clean_text(value, field="phone", max_length=MAX_PHONE_LENGTH)
    phone = read_full_width(typed, _PHONE_FULL_WIDTH_ALSO)
    if not phone:
        return ""
    if not _PHONE_CHARACTERS.fullmatch(phone):
        raise InvalidInput(
            "bad_phone",
            _("The phone number may contain only digits, “+”, “-” and spaces, not “%(value)s”."),
            value=typed,
        )
    if not _PHONE.fullmatch(phone):
        raise InvalidInput(
            "bad_phone",
            _(
                "A phone number may have “+” only at its start and “-” or spaces only between "
                "digits, not “%(value)s”."
            ),
            value=typed,
        )
    digits = sum(char.isdigit() for char in phone)
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        raise InvalidInput(
            "bad_phone",
            _("A phone number has %(minimum)s to %(maximum)s digits, not %(count)s: “%(value)s”."),
            value=typed,
            count=digits,
            minimum=MIN_PHONE_DIGITS,
            maximum=MAX_PHONE_DIGITS,
        )
    return phone


# A resident ID typed in full-width mode (１１０１０５…１２３Ｘ), as a phone number can be:
# its digits and its check character ｘ/Ｘ read as what they are.
_ID_NUMBER_FULL_WIDTH_ALSO = "xX"


def clean_id_number(value: str | None) -> str:
    typed = clean_text(value, field="ID number", max_length=MAX_ID_NUMBER_LENGTH)
    number = read_full_width(typed, _ID_NUMBER_FULL_WIDTH_ALSO)
    if not number:
        return ""
    if not _ID_NUMBER.fullmatch(number) or not number.isascii():
        raise InvalidInput(
            "bad_id_number",
            _("The ID number may contain only letters and digits, not “%(value)s”."),
            value=typed,
        )
    if len(number) == 18 and number[:17].isdigit():
        number = number.upper()
        if not _RESIDENT_ID.fullmatch(number) or resident_id_check_char(number[:17]) != number[17]:
            raise InvalidInput(
                "bad_id_number",
                _("The resident ID number %(value)s is wrong: its check digit does not match."),
                value=number,
            )
    return number


def _require_operator(operator: Any) -> None:
    if operator is None or not getattr(operator, "pk", None) or not operator.is_active:
        raise permission_denied()


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "user_number": customer.user_number,
        "name": customer.name,
        "phone": customer.phone,
        "address": customer.address,
        "id_number": customer.id_number,
        "remarks": customer.remarks,
    }


def _number_one_at_a_time() -> None:
    """Hold user numbering until the transaction ends: the largest number read next is then
    the largest there will be when this one is inserted. Taken before any row lock and the
    audit chain's head, and released at commit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [NUMBERING_LOCK])


def _next_user_number() -> str:
    last = (
        Customer.objects.filter(user_number__regex=rf"^[0-9]{{{USER_NUMBER_DIGITS}}}$")
        .order_by("-user_number")
        .values_list("user_number", flat=True)
        .first()
    )
    number = int(last) + 1 if last else 1
    if number > MAX_USER_NUMBER:
        raise PrepaidError("user_numbers_exhausted", _("No user numbers are left."))
    return f"{number:0{USER_NUMBER_DIGITS}d}"


def _cleaned_details(
    *,
    name: str | None,
    phone: str | None,
    address: str | None,
    id_number: str | None,
    remarks: str | None,
) -> dict[str, str]:
    """The details given (not ``None``) as they are stored, each refused as registering
    refuses it."""
    cleaners: dict[str, tuple[str | None, Callable[[str | None], str]]] = {
        "name": (
            name,
            lambda v: clean_text(v, field="name", max_length=MAX_NAME_LENGTH, required=True),
        ),
        "phone": (phone, clean_phone),
        "address": (
            address,
            lambda v: clean_text(v, field="address", max_length=MAX_ADDRESS_LENGTH),
        ),
        "id_number": (id_number, clean_id_number),
        "remarks": (
            remarks,
            lambda v: clean_text(v, field="remarks", max_length=MAX_REMARKS_LENGTH),
        ),
    }
    return {key: clean(value) for key, (value, clean) in cleaners.items() if value is not None}


@transaction.atomic
def register_customer(
    operator: Any,
    *,
    name: str,
    phone: str | None = "",
    address: str | None = "",
    id_number: str | None = "",
    remarks: str | None = "",
) -> Customer:
    """Register a customer (注册用户) with the next user number. Any logged-in operator."""
    _require_operator(operator)
    details = _cleaned_details(
        name=name or "",
        phone=phone or "",
        address=address or "",
        id_number=id_number or "",
        remarks=remarks or "",
    )
    customer = Customer(**details, created_at=timezone.now())
    _number_one_at_a_time()
    for attempt in range(NUMBER_ATTEMPTS):
        customer.user_number = _next_user_number()
        try:
            with transaction.atomic():  # a savepoint: another station may take the number
                customer.save(force_insert=True)
            break
        except IntegrityError:
            customer.pk = None
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
    log_action(operator, "customer.register", customer, after=customer_snapshot(customer))
    return customer


@dataclass(frozen=True)
class CustomerModification:
    """A customer after :func:`modify_customer`, and which of its details changed."""

    customer: Customer
    changed: tuple[str, ...]


@transaction.atomic
def modify_customer(
    operator: Any,
    user_number: str,
    *,
    name: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    id_number: str | None = None,
    remarks: str | None = None,
) -> CustomerModification:
    """Correct a customer's details (修改用户信息): a move, a new phone number, a misspelt
    name. Any logged-in operator, as registering. Details left ``None`` are not changed; the
    user number never changes. Details given as they already are change nothing and are not
    audited."""
    _require_operator(operator)
    given = _cleaned_details(
        name=name, phone=phone, address=address, id_number=id_number, remarks=remarks
    )
    customer = get_customer(user_number)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes = {key: value for key, value in given.items() if getattr(customer, key) != value}
    if not changes:
        return CustomerModification(customer, ())
    before = {key: getattr(customer, key) for key in changes}
    for key, value in changes.items():
        setattr(customer, key, value)
    customer.save(update_fields=list(changes))
    log_action(operator, "customer.modify", customer, before=before, after=changes)
    return CustomerModification(customer, tuple(changes))


def _unknown_customer(number: str) -> InvalidInput:
    return InvalidInput(
        "unknown_customer", _("There is no customer with user number %(number)s."), number=number
    )


def get_customer(user_number: str) -> Customer:
    """The customer with this user number; ``123`` finds ``00000123``."""
    number = str(user_number).strip()
    if not number:
        raise InvalidInput("user_number_required", _("Give the customer's user number."))
    if len(number) > 12:
        raise _unknown_customer(number)
    customer = Customer.objects.filter(user_number=number).first()
    if customer is None and number.isdigit() and len(number) < USER_NUMBER_DIGITS:
        customer = Customer.objects.filter(user_number=number.zfill(USER_NUMBER_DIGITS)).first()
    if customer is None:
        raise _unknown_customer(number)
    return customer


def matching_customers(text: str) -> QuerySet[Customer]:
    """Every customer whose user number starts with ``text`` or whose name or phone contains
    it, by user number (unique: a stable order, so that pages of it neither repeat nor skip)."""
    query = clean_text(text, field="search text", max_length=MAX_NAME_LENGTH, required=True)
    matches = Q(user_number__startswith=query) | Q(name__icontains=query)
    matches |= Q(phone__contains=query)
    return Customer.objects.filter(matches).order_by("user_number", "pk")


def find_customers(text: str, *, limit: int = MAX_FOUND) -> list[Customer]:
    """The first customers ``matching_customers`` finds (at most ``MAX_FOUND``)."""
    return list(matching_customers(text)[: min(limit, MAX_FOUND)])


@dataclass
class CustomerOverview:
    """A customer with the accounts opened, the cards and the latest history (newest first)."""

    customer: Customer
    accounts: list[Any] = field(default_factory=list)  # vending.CustomerAccount
    cards: list[Any] = field(default_factory=list)  # vending.CustomerCard
    purchases: list[Any] = field(default_factory=list)  # vending.Purchase
    ledger: list[Any] = field(default_factory=list)  # vending.LedgerEntry
    # Serials of the cards a reissue (补卡) issued: each has its reissue's receipt.
    reissued: set[str] = field(default_factory=set)


def accounts_to_open(overview: CustomerOverview) -> list[Any]:
    """The accounts (accounts.Account) the customer is not opened on yet: what 开户 offers."""
    from prepaid.accounts.services import list_accounts

    opened = {ca.account_id for ca in overview.accounts if ca.last_serial}
    return [account for account in list_accounts() if account.pk not in opened]


def customer_overview(user_number: str, *, history: int = HISTORY_LENGTH) -> CustomerOverview:
    """What the office shows for a customer looked up by user number (用户资料)."""
    from prepaid.cards.models import CardOperation
    from prepaid.vending.models import CustomerAccount, CustomerCard, LedgerEntry, Purchase

    customer = get_customer(user_number)
    accounts = CustomerAccount.objects.filter(customer=customer).select_related("account", "price")
    purchases = (
        Purchase.objects.filter(customer_account__customer=customer)
        .select_related("customer_account__account", "price_version", "operator")
        .order_by("-id")
    )
    ledger = (
        LedgerEntry.objects.filter(customer=customer)
        .select_related("account", "operator")
        .order_by("-id")
    )
    return CustomerOverview(
        customer=customer,
        accounts=list(accounts.order_by("account__sub_meter")),
        cards=list(CustomerCard.objects.filter(customer=customer).order_by("id")),
        purchases=list(purchases[:history]),
        ledger=list(ledger[:history]),
        reissued=set(
            CardOperation.objects.filter(
                kind=CardOperation.Kind.REISSUE, customer=customer
            ).values_list("card_serial", flat=True)
        ),
    )

"""Accounts (账户) and their prices (价格): create, adjust, modify, delete — admin only, audited.

Use cases are plain functions taking the acting operator first. They validate everything before
writing, raise :class:`~prepaid.core.errors.InvalidInput` (bad input) or
:class:`~prepaid.core.errors.PrepaidError` (refused by a rule), write an audit entry inside
their transaction, and never commit half-way: a refusal leaves nothing behind.

Prices keep their history as versions (:class:`~prepaid.accounts.models.PriceVersion`):
"adjust" (调整) adds a version from a date on; "modify" (修改) corrects the name, the remarks,
or a mistaken tariff of the latest version as long as no purchase used it. The vending code
asks :func:`current_version` which version applies on a day and :func:`tariff_of` for its
tariff.

Locking: every change of a price or an account locks its row first, so two stations adjusting,
correcting or deleting the same one run one after the other. A change that keeps the row
takes it ``FOR NO KEY UPDATE`` (PostgreSQL), which leaves alone the key-share locks that sales
and openings take on the rows they reference: a change and an opening that both append to the
audit log cannot deadlock over the account row. Only a delete takes it ``FOR UPDATE``.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from prepaid.accounts.models import Account, MeterTypeChoice, Price, PriceVersion
from prepaid.audit.services import log_action
from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.core.money import format_centi, parse_quantity, parse_unit_price
from prepaid.operators.services import require_admin
from prepaid.rows import table

if TYPE_CHECKING:
    # imported by the functions that make tariffs: the lists of accounts and customers and
    # the reports, which make none, start without the pricing model
    from prepaid.core.pricing import Tariff

MAX_ACCOUNTS = 4  # one per sub-meter number of a card (一卡通)
SUB_METERS = range(1, MAX_ACCOUNTS + 1)
MAX_NAME_LENGTH = 64
MAX_REMARKS_LENGTH = 200
MAX_MAINTENANCE_CODE_DIGITS = 8
MAX_TIERS_TEXT_LENGTH = 400  # PriceVersion.tiers
# An effective date further than this from today is a typing mistake (2205 for 2025).
MAX_EFFECTIVE_YEARS = 10
# Largest primary key a database accepts: larger ids cannot exist (and overflow SQLite).
MAX_ID = 2**63 - 1

VERSIONS = table(PriceVersion)

Quantity = str | Decimal | int

METER_TYPES: dict[str, MeterTypeChoice] = {
    "water": MeterTypeChoice.WATER,
    "electricity": MeterTypeChoice.ELECTRICITY,
    "gas": MeterTypeChoice.GAS,
    "heat": MeterTypeChoice.HEAT,
}
# The unit a meter type is sold in: it fixes what a "quantity" means on the account.
METER_UNITS: dict[MeterTypeChoice, str] = {
    MeterTypeChoice.WATER: "m³",
    MeterTypeChoice.ELECTRICITY: "kWh",
    MeterTypeChoice.GAS: "m³",
    MeterTypeChoice.HEAT: "GJ",
}


# --- text and identifiers ----------------------------------------------------------------------


def clean_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> str:
    """Operator-typed text, NFC-normalised and stripped: any script, no control characters.

    Refuses (``InvalidInput`` naming ``field``) a missing required value, control characters
    (a newline in a name breaks every list and receipt) and more than ``max_length``
    characters.
    """
    text = unicodedata.normalize("NFC", value or "").strip()
    if not text and required:
        raise InvalidInput("required", _("%(field)s is required."), field=field)
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        raise InvalidInput(
            "bad_text", _("%(field)s must not contain control characters."), field=field
        )
    if len(text) > max_length:
        raise InvalidInput(
            "too_long",
            _("%(field)s is too long: %(length)s characters, at most %(maximum)s."),
            field=field,
            length=len(text),
            maximum=max_length,
        )
    return text


def clean_id(value: int | str, *, code: str, message: str) -> int:
    """A primary key as typed; anything that cannot be one is refused like an unknown id."""
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,19}", text) or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(code, message, id=text)
    return int(text)


def _unknown_account() -> str:
    return _("There is no account %(id)s.")


def _unknown_price() -> str:
    return _("There is no price %(id)s.")


def get_account(account_id: int | str, *, lock: bool = False, deleting: bool = False) -> Account:
    pk = clean_id(account_id, code="unknown_account", message=_unknown_account())
    found = Account.objects.select_for_update(no_key=not deleting) if lock else Account.objects
    account = found.filter(pk=pk).first()
    if account is None:
        raise InvalidInput("unknown_account", _unknown_account(), id=pk)
    return account


def get_price(price_id: int | str, *, lock: bool = False, deleting: bool = False) -> Price:
    pk = clean_id(price_id, code="unknown_price", message=_unknown_price())
    prices = Price.objects.select_related("account")
    if lock:  # the price's row only, not its account's (joined for its name)
        prices = prices.select_for_update(no_key=not deleting, of=("self",))
    price = prices.filter(pk=pk).first()
    if price is None:
        raise InvalidInput("unknown_price", _unknown_price(), id=pk)
    return price


# --- accounts ----------------------------------------------------------------------------------


def meter_type_code(account: Account) -> str:
    """``water``, ``electricity``, ``gas`` or ``heat``: the stable name of the meter type."""
    return MeterTypeChoice(account.meter_type).name.lower()


def meter_unit(account: Account) -> str:
    return METER_UNITS[MeterTypeChoice(account.meter_type)]


def account_snapshot(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "meter_type": meter_type_code(account),
        "sub_meter": account.sub_meter,
        "limit": format_centi(account.limit_centi),
        "prestore": format_centi(account.prestore_centi),
        "alarm": format_centi(account.alarm_centi),
        "overdraft": format_centi(account.overdraft_centi),
        "maintenance_code": account.maintenance_code,
    }


def parse_meter_type(value: str | int | MeterTypeChoice) -> MeterTypeChoice:
    if isinstance(value, MeterTypeChoice):
        return value
    found = METER_TYPES.get(str(value).strip().lower())
    if found is None:
        raise InvalidInput(
            "bad_meter_type",
            _("The meter type must be water, electricity, gas or heat, not “%(value)s”."),
            value=value,
        )
    return found


def parse_sub_meter(value: str | int) -> int:
    text = str(value).strip()
    if text not in {str(n) for n in SUB_METERS}:
        raise InvalidInput(
            "bad_sub_meter",
            _("The sub-meter number must be 1, 2, 3 or 4, not “%(value)s”."),
            value=text,
        )
    return int(text)


def parse_maintenance_code(value: str | int) -> int:
    text = str(value).strip()
    if not re.fullmatch(rf"[0-9]{{1,{MAX_MAINTENANCE_CODE_DIGITS}}}", text):
        raise InvalidInput(
            "bad_maintenance_code",
            _("The maintenance code must be 1 to 8 digits, not “%(value)s”."),
            value=text,
        )
    code = int(text)
    if code == 0:
        raise InvalidInput(
            "bad_maintenance_code",
            _(
                "The maintenance code 0 is kept for the site's clear-all and zero cards that work "
                "on every meter: choose another."
            ),
        )
    return code


def check_account_limits(limit_centi: int, prestore_centi: int, alarm_centi: int) -> None:
    """The parameters a setting card loads into a meter must make sense together."""
    if prestore_centi > limit_centi:
        raise InvalidInput(
            "prestore_over_limit",
            _(
                "The pre-stored quantity (%(prestore)s) must not exceed the purchase limit "
                "(%(limit)s)."
            ),
            prestore=format_centi(prestore_centi),
            limit=format_centi(limit_centi),
        )
    if alarm_centi >= limit_centi:
        raise InvalidInput(
            "alarm_not_below_limit",
            _("The alarm level (%(alarm)s) must be below the purchase limit (%(limit)s)."),
            alarm=format_centi(alarm_centi),
            limit=format_centi(limit_centi),
        )


def _sub_meter_taken(sub_meter: int) -> PrepaidError:
    return PrepaidError(
        "sub_meter_taken",
        _("Sub-meter number %(sub_meter)s is already used by another account."),
        sub_meter=sub_meter,
    )


def _check_sub_meter_free(sub_meter: int) -> None:
    if Account.objects.filter(sub_meter=sub_meter).exists():
        raise _sub_meter_taken(sub_meter)


def _too_many_accounts() -> PrepaidError:
    return PrepaidError(
        "too_many_accounts",
        _("There are already %(maximum)s accounts: no more can be created."),
        maximum=MAX_ACCOUNTS,
    )


def check_room_for_account(sub_meter: int) -> None:
    """Refuse a fifth account and a sub-meter number another account already uses."""
    if Account.objects.count() >= MAX_ACCOUNTS:
        raise _too_many_accounts()
    _check_sub_meter_free(sub_meter)


@transaction.atomic
def create_account(
    operator: Any,
    *,
    meter_type: str | int | MeterTypeChoice,
    sub_meter: str | int,
    limit: Quantity,
    prestore: Quantity,
    alarm: Quantity,
    overdraft: Quantity,
    maintenance_code: str | int,
    name: str | None = None,
) -> Account:
    """Create an account (创建账户). Admin only. At most 4, one per sub-meter number."""
    require_admin(operator)
    kind = parse_meter_type(meter_type)
    number = parse_sub_meter(sub_meter)
    limit_centi = parse_quantity(limit, field="purchase limit")
    prestore_centi = parse_quantity(prestore, field="pre-stored quantity", allow_zero=True)
    alarm_centi = parse_quantity(alarm, field="alarm level", allow_zero=True)
    overdraft_centi = parse_quantity(overdraft, field="overdraft", allow_zero=True)
    check_account_limits(limit_centi, prestore_centi, alarm_centi)
    code = parse_maintenance_code(maintenance_code)
    label = clean_text(name, field="name", max_length=MAX_NAME_LENGTH)
    label = label or default_account_name(kind, number)
    check_room_for_account(number)
    account = Account(
        name=label,
        meter_type=kind,
        sub_meter=number,
        limit_centi=limit_centi,
        prestore_centi=prestore_centi,
        alarm_centi=alarm_centi,
        overdraft_centi=overdraft_centi,
        maintenance_code=code,
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():  # a savepoint: a racing station may take the sub-meter
            account.save()
    except IntegrityError:
        raise _sub_meter_taken(number) from None
    log_action(operator, "account.create", account, after=account_snapshot(account))
    return account


def default_account_name(kind: MeterTypeChoice, sub_meter: int) -> str:
    """The name an account gets when none is given (水表 1): stored, and shown to everyone,
    so in the office's language (``LANGUAGE_CODE``), not in that of whoever created it."""
    with translation.override(settings.LANGUAGE_CODE):
        return f"{kind.label} {sub_meter}"[:MAX_NAME_LENGTH]


def list_accounts() -> list[Account]:
    return list(Account.objects.order_by("sub_meter"))


def account_in_field(account: Account) -> bool:
    """Whether meters may already carry the account's parameters: a tool card was made on it
    (setting, clear-all and zero cards carry them or its maintenance code) or a customer was
    opened on it (sales are checked against its limit)."""
    from prepaid.cards.models import CardOperation
    from prepaid.vending.models import CustomerAccount

    carriers = CardOperation.objects.filter(kind=CardOperation.Kind.TOOL_CARD, account=account)
    return (
        carriers.exclude(tool_type="check").exists()  # a check card carries nothing of it
        or CustomerAccount.objects.filter(account=account).exists()
    )


def account_in_use(account: Account) -> bool:
    """Whether anything refers to the account: a customer, a card, a ledger entry, a meter's
    write-back, or a price in use."""
    from prepaid.cards.models import CardOperation
    from prepaid.reports.models import WriteBackObservation
    from prepaid.vending.models import CustomerAccount, LedgerEntry

    return (
        CustomerAccount.objects.filter(account=account).exists()
        or CardOperation.objects.filter(account=account).exists()
        or LedgerEntry.objects.filter(account=account).exists()
        or WriteBackObservation.objects.filter(account=account).exists()
        or any(price_in_use(price) for price in Price.objects.filter(account=account))
    )


# What a setting card loads into a meter: changed only while no meter can carry it yet.
METER_PARAMETERS = ("limit", "prestore", "alarm", "overdraft", "maintenance_code")


def _account_fixed() -> PrepaidError:
    return PrepaidError(
        "account_fixed",
        _(
            "The meter type and sub-meter number of an account cannot be changed: create "
            "another account instead."
        ),
    )


def _check_fixed(
    account: Account, meter_type: str | int | MeterTypeChoice | None, sub_meter: str | int | None
) -> None:
    if meter_type is not None and parse_meter_type(meter_type) != account.meter_type:
        raise _account_fixed()
    if sub_meter is not None and parse_sub_meter(sub_meter) != account.sub_meter:
        raise _account_fixed()


def _parsed_changes(
    account: Account,
    *,
    name: str | None,
    limit: Quantity | None,
    prestore: Quantity | None,
    alarm: Quantity | None,
    overdraft: Quantity | None,
    maintenance_code: str | int | None,
) -> dict[str, Any]:
    """The fields given, parsed as at creation, that differ from the account's."""
    given: dict[str, Any] = {}
    if name is not None:
        given["name"] = clean_text(name, field="name", max_length=MAX_NAME_LENGTH, required=True)
    if limit is not None:
        given["limit_centi"] = parse_quantity(limit, field="purchase limit")
    for key, value, field in (
        ("prestore_centi", prestore, "pre-stored quantity"),
        ("alarm_centi", alarm, "alarm level"),
        ("overdraft_centi", overdraft, "overdraft"),
    ):
        if value is not None:
            given[key] = parse_quantity(value, field=field, allow_zero=True)
    if maintenance_code is not None:
        given["maintenance_code"] = parse_maintenance_code(maintenance_code)
    return {key: value for key, value in given.items() if getattr(account, key) != value}


@transaction.atomic
def modify_account(
    operator: Any,
    account_id: int | str,
    *,
    name: str | None = None,
    limit: Quantity | None = None,
    prestore: Quantity | None = None,
    alarm: Quantity | None = None,
    overdraft: Quantity | None = None,
    maintenance_code: str | int | None = None,
    meter_type: str | int | MeterTypeChoice | None = None,
    sub_meter: str | int | None = None,
) -> Account:
    """Modify an account (修改账户): correct its name, or its meter parameters while no meter
    can carry them yet (:func:`account_in_field`). Arguments left ``None`` are not changed;
    the meter type and sub-meter number never change."""
    require_admin(operator)
    account = get_account(account_id, lock=True)
    _check_fixed(account, meter_type, sub_meter)
    changes = _parsed_changes(
        account,
        name=name,
        limit=limit,
        prestore=prestore,
        alarm=alarm,
        overdraft=overdraft,
        maintenance_code=maintenance_code,
    )
    if not changes:
        raise InvalidInput(
            "nothing_to_change",
            _(
                "Nothing to change: give a new name, purchase limit, pre-stored quantity, alarm "
                "level, overdraft or maintenance code."
            ),
        )
    merged = {
        key: changes.get(key, getattr(account, key))
        for key in ("limit_centi", "prestore_centi", "alarm_centi")
    }
    check_account_limits(merged["limit_centi"], merged["prestore_centi"], merged["alarm_centi"])
    if set(changes) - {"name"} and account_in_field(account):
        raise PrepaidError(
            "account_in_field",
            _(
                "Account %(name)s is already in use: setting cards have been made for it or "
                "customers opened on it, and the meters carry its present values. Only its name "
                "can be corrected."
            ),
            name=account.name,
        )
    before = account_snapshot(account)
    for key, value in changes.items():
        setattr(account, key, value)
    account.save(update_fields=list(changes))
    log_action(operator, "account.modify", account, before=before, after=account_snapshot(account))
    return account


def _account_in_use_error() -> PrepaidError:
    return PrepaidError(
        "account_in_use",
        _("This account has been used (customers, cards or sales) and cannot be deleted."),
    )


@transaction.atomic
def delete_account(operator: Any, account_id: int | str) -> dict[str, Any]:
    """Delete an account (删除账户) never used, with its unused prices and their versions;
    returns what was deleted (as audited)."""
    require_admin(operator)
    account = get_account(account_id, lock=True, deleting=True)
    if account_in_use(account):
        raise _account_in_use_error()
    pk = account.pk
    prices = list(Price.objects.filter(account=account).order_by("id"))
    before = {
        **account_snapshot(account),
        "prices": [
            {
                "id": price.pk,
                "name": price.name,
                "remarks": price.remarks,
                "versions": [version_snapshot(v) for v in versions_of(price)],
            }
            for price in prices
        ],
    }
    try:
        with transaction.atomic():  # something refers to it meanwhile: the FKs refuse
            for price in prices:
                price.delete()  # its versions go with it (CASCADE)
            account.delete()
    except IntegrityError:  # includes ProtectedError
        raise _account_in_use_error() from None
    log_action(
        operator, "account.delete", object_type="accounts.account", object_id=str(pk), before=before
    )
    return {"id": pk, **before}


# --- tariffs and versions ----------------------------------------------------------------------


def tariff_of(version: PriceVersion) -> Tariff:
    """The tariff a price version stands for (what quotes are computed with)."""
    from prepaid.core.pricing import Tariff

    return Tariff.parsed(version.tiers, version.period)


def flat_unit_price_hao(version: PriceVersion) -> int | None:
    """The unit price of a flat version, ``None`` for a tiered one."""
    tariff = tariff_of(version)
    return None if tariff.is_tiered else tariff.tiers[0].unit_price_hao


def build_tariff(
    *,
    unit_price: Quantity | None = None,
    tiers: str | None = None,
    period: str | None = None,
    base: PriceVersion | None = None,
) -> Tariff:
    """The tariff an operator typed: a unit price, or tiers with a period.

    With ``base`` (the version being adjusted or corrected), what was not typed is taken from
    it: new tiers keep its period, a new period keeps its tiers.
    """
    from prepaid.core.pricing import Period, Tariff

    if unit_price is not None and tiers is not None:
        raise InvalidInput("bad_tariff", _("Give either a unit price or tiers, not both."))
    if unit_price is not None:
        if period is not None and period.strip().lower() != Period.NONE.value:
            raise InvalidInput(
                "bad_period",
                _("A flat unit price has no period: give tiers for a tiered price."),
            )
        return Tariff.flat(parse_unit_price(unit_price))
    if tiers is None:
        if period is None or base is None:
            raise InvalidInput("bad_tariff", _("Give a unit price or tiers."))
        tiers = base.tiers
    if period is None:
        period = base.period if base is not None else Period.NONE.value
    tariff = Tariff.parse_tiers(tiers, period)
    if len(tariff.format_tiers()) > MAX_TIERS_TEXT_LENGTH:
        raise InvalidInput(
            "bad_tiers",
            _("The tier table is too long (at most %(maximum)s characters)."),
            maximum=MAX_TIERS_TEXT_LENGTH,
        )
    return tariff


def parse_effective_date(value: datetime.date | str | None) -> datetime.date:
    """The day a price version takes effect: an ISO date (``2025-07-01``), default today."""
    today = timezone.localdate()
    if value is None:
        return today
    if isinstance(value, datetime.datetime):
        raise TypeError("an effective date is a date, not a datetime")
    if isinstance(value, datetime.date):
        day = value
    else:
        text = str(value).strip()
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError(text)
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                "bad_date",
                _("The effective date must be a date like 2025-07-01, not “%(value)s”."),
                value=text,
            ) from None
    if abs(day.year - today.year) > MAX_EFFECTIVE_YEARS:
        raise InvalidInput(
            "bad_date",
            _("The effective date %(date)s is more than %(years)s years from today."),
            date=day.isoformat(),
            years=MAX_EFFECTIVE_YEARS,
        )
    return day


def version_snapshot(version: PriceVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "effective_from": version.effective_from.isoformat(),
        "period": version.period,
        "tiers": version.tiers,
    }


def price_snapshot(price: Price) -> dict[str, Any]:
    return {"account": price.account_id, "name": price.name, "remarks": price.remarks}


def versions_of(price: Price) -> list[PriceVersion]:
    return list(PriceVersion.objects.filter(price=price).order_by("number"))


def latest_version(price: Price) -> PriceVersion:
    version = PriceVersion.objects.filter(price=price).order_by("-number").first()
    assert version is not None, "a price always has a version"
    return version


def upcoming_versions(price: Price, day: datetime.date | None = None) -> list[PriceVersion]:
    """The versions of ``price`` announced for after ``day`` (default: today, local time), in
    the order they take effect: one a date, the last adjusted for it (the one sales will use)."""
    day = timezone.localdate() if day is None else day
    announced = PriceVersion.objects.filter(price=price, effective_from__gt=day)
    by_date = {v.effective_from: v for v in announced.order_by("effective_from", "number")}
    return list(by_date.values())


def current_version(price: Price, day: datetime.date | None = None) -> PriceVersion:
    """The version of ``price`` in effect on ``day`` (default: today, local time).

    Refuses ``price_not_in_effect`` when the price only takes effect after ``day``.
    """
    day = timezone.localdate() if day is None else day
    version = VERSIONS.first(  # every sale asks: a plain statement (prepaid.rows)
        "price_id = %s AND effective_from <= %s",
        [price.pk, connection.ops.adapt_datefield_value(day)],
        order="effective_from DESC, number DESC",
    )
    if version is None:
        first = PriceVersion.objects.filter(price=price).order_by("number").first()
        raise PrepaidError(
            "price_not_in_effect",
            _("The price %(name)s takes effect only on %(date)s."),
            name=price.name,
            date=first.effective_from.isoformat() if first else "?",
        )
    return version


def current_version_or_none(price: Price, day: datetime.date | None = None) -> PriceVersion | None:
    try:
        return current_version(price, day)
    except PrepaidError:
        return None


def version_in_use(version: PriceVersion) -> bool:
    """Whether a purchase (or a ledger entry) was priced with this version."""
    from prepaid.vending.models import LedgerEntry, Purchase

    return (
        Purchase.objects.filter(price_version=version).exists()
        or LedgerEntry.objects.filter(price_version=version).exists()
    )


def price_in_use(price: Price) -> bool:
    """Whether a customer is opened on the price or a purchase used one of its versions."""
    from prepaid.vending.models import CustomerAccount, LedgerEntry, Purchase

    return (
        CustomerAccount.objects.filter(price=price).exists()
        or Purchase.objects.filter(price_version__price=price).exists()
        or LedgerEntry.objects.filter(price_version__price=price).exists()
    )


# --- prices ------------------------------------------------------------------------------------


def _check_price_name_free(account: Account, name: str, *, exclude: Price | None = None) -> None:
    others = Price.objects.filter(account=account, name=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise PrepaidError(
            "price_name_taken",
            _("Account %(account)s already has a price named %(name)s."),
            account=account.name,
            name=name,
        )


def _new_version(
    operator: Any, price: Price, number: int, tariff: Tariff, effective_from: datetime.date
) -> PriceVersion:
    return PriceVersion.objects.create(
        price=price,
        number=number,
        effective_from=effective_from,
        period=tariff.period.value,
        tiers=tariff.format_tiers(),
        created_at=timezone.now(),
        created_by=operator,
    )


@transaction.atomic
def add_price(
    operator: Any,
    *,
    account_id: int | str,
    name: str,
    unit_price: Quantity | None = None,
    tiers: str | None = None,
    period: str | None = None,
    remarks: str | None = "",
    effective_from: datetime.date | str | None = None,
) -> Price:
    """Add a price type (添加价格) to an account, with version 1 from ``effective_from`` on."""
    require_admin(operator)
    account = get_account(account_id)
    label = clean_text(name, field="name", max_length=MAX_NAME_LENGTH, required=True)
    note = clean_text(remarks, field="remarks", max_length=MAX_REMARKS_LENGTH)
    tariff = build_tariff(unit_price=unit_price, tiers=tiers, period=period)
    day = parse_effective_date(effective_from)
    _check_price_name_free(account, label)
    price = Price.objects.create(
        account=account, name=label, remarks=note, created_at=timezone.now()
    )
    version = _new_version(operator, price, 1, tariff, day)
    log_action(
        operator,
        "price.create",
        price,
        after={**price_snapshot(price), "version": version_snapshot(version)},
    )
    return price


@transaction.atomic
def adjust_price(
    operator: Any,
    price_id: int | str,
    *,
    unit_price: Quantity | None = None,
    tiers: str | None = None,
    period: str | None = None,
    effective_from: datetime.date | str | None = None,
) -> PriceVersion:
    """Adjust a price (调整价格): a new tariff from a date on; earlier versions stay.

    The new version may not take effect before the latest one does, nor before the day of
    the last sale made at this price: that sale keeps the version it used, and the history
    would say the new price applied on a day it did not.
    """
    require_admin(operator)
    price = get_price(price_id, lock=True)
    latest = latest_version(price)
    tariff = build_tariff(unit_price=unit_price, tiers=tiers, period=period, base=latest)
    day = parse_effective_date(effective_from)
    if day < latest.effective_from:
        raise PrepaidError(
            "effective_date_too_early",
            _(
                "The new price cannot take effect on %(date)s: version %(number)s already takes "
                "effect on %(latest)s."
            ),
            date=day.isoformat(),
            number=latest.number,
            latest=latest.effective_from.isoformat(),
        )
    _check_no_sale_since(price, day)
    version = _new_version(operator, price, latest.number + 1, tariff, day)
    log_action(
        operator,
        "price.adjust",
        price,
        before={"version": version_snapshot(latest)},
        after={"version": version_snapshot(version)},
    )
    return version


def _last_sale_day(price: Price) -> datetime.date | None:
    """The office's local day of the last purchase priced with any version of ``price``."""
    from prepaid.vending.models import Purchase

    last = (
        Purchase.objects.filter(price_version__price=price)
        .exclude(status=Purchase.Status.VOIDED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return None if last is None else timezone.localdate(last)


def _check_no_sale_since(price: Price, day: datetime.date) -> None:
    """Refuse a version taking effect before a sale already made at the price's old one."""
    if day >= timezone.localdate():
        return  # no sale is made after today
    last_sale = _last_sale_day(price)
    if last_sale is not None and day < last_sale:
        raise PrepaidError(  # the date is a day, refused by the sales made: exit 1
            "effective_date_before_sales",
            _(
                "The new price cannot take effect on %(date)s: price %(name)s was already used "
                "for a sale on %(last)s, which keeps the old price. Choose %(last)s or a later "
                "day."
            ),
            date=day.isoformat(),
            name=price.name,
            last=last_sale.isoformat(),
        )


def _correct_tariff(price: Price, tariff: Tariff) -> tuple[PriceVersion, dict[str, Any]]:
    """Rewrite the latest version's tariff in place — only while no purchase used it."""
    version = latest_version(price)
    before = version_snapshot(version)
    if version_in_use(version):
        raise PrepaidError(
            "price_version_used",
            _(
                "Version %(number)s of price %(name)s has already been used for sales and cannot "
                "be corrected: adjust the price instead (a new version from a date on)."
            ),
            number=version.number,
            name=price.name,
        )
    version.period = tariff.period.value
    version.tiers = tariff.format_tiers()
    version.save(update_fields=["period", "tiers"])
    return version, before


@transaction.atomic
def modify_price(
    operator: Any,
    price_id: int | str,
    *,
    name: str | None = None,
    remarks: str | None = None,
    unit_price: Quantity | None = None,
    tiers: str | None = None,
    period: str | None = None,
) -> Price:
    """Modify a price (修改价格): correct its name, remarks or a mistaken tariff.

    A tariff is corrected in its latest version (the one now in effect, or one announced for
    a later date), and only while no purchase used that version: otherwise ``adjust_price``.
    Arguments left ``None`` are not changed.
    """
    require_admin(operator)
    price = get_price(price_id, lock=True)
    new_name = (
        None
        if name is None
        else clean_text(name, field="name", max_length=MAX_NAME_LENGTH, required=True)
    )
    new_remarks = (
        None
        if remarks is None
        else clean_text(remarks, field="remarks", max_length=MAX_REMARKS_LENGTH)
    )
    retariff = unit_price is not None or tiers is not None or period is not None
    tariff = None
    if retariff:
        base = latest_version(price)
        tariff = build_tariff(unit_price=unit_price, tiers=tiers, period=period, base=base)
    if new_name is None and new_remarks is None and tariff is None:
        raise InvalidInput(
            "nothing_to_change", _("Nothing to change: give a name, remarks or a tariff.")
        )
    before: dict[str, Any] = price_snapshot(price)
    if new_name is not None:
        _check_price_name_free(price.account, new_name, exclude=price)
        price.name = new_name
    if new_remarks is not None:
        price.remarks = new_remarks
    after: dict[str, Any] = price_snapshot(price)
    if tariff is not None:
        version, before["version"] = _correct_tariff(price, tariff)
        after["version"] = version_snapshot(version)
    price.save(update_fields=["name", "remarks"])
    log_action(operator, "price.modify", price, before=before, after=after)
    return price


def _price_in_use_error() -> PrepaidError:
    return PrepaidError("price_in_use", _("This price is used by customers and cannot be deleted."))


@transaction.atomic
def delete_price(operator: Any, price_id: int | str) -> dict[str, Any]:
    """Delete a price (删除价格) no customer uses; returns what was deleted (as audited)."""
    require_admin(operator)
    price = get_price(price_id, lock=True, deleting=True)
    if price_in_use(price):
        raise _price_in_use_error()
    pk = price.pk
    before = {
        **price_snapshot(price),
        "versions": [version_snapshot(v) for v in versions_of(price)],
    }
    try:
        with transaction.atomic():  # a customer opened on it meanwhile: the FK refuses
            price.delete()
    except IntegrityError:  # includes ProtectedError
        raise _price_in_use_error() from None
    log_action(
        operator, "price.delete", object_type="accounts.price", object_id=str(pk), before=before
    )
    return {"id": pk, **before}


def list_prices(account_id: int | str | None = None) -> list[Price]:
    prices = Price.objects.select_related("account").order_by("account__sub_meter", "id")
    if account_id is not None:
        prices = prices.filter(account=get_account(account_id))
    return list(prices)

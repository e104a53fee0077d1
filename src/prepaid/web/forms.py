"""Forms of the operator UI.

They only parse what was typed: numbers stay text (``"19.99"``) and go to the services, which
validate and refuse with a :class:`~prepaid.core.errors.PrepaidError`; :meth:`ServiceForm.
add_service_error` shows that refusal inline, next to the field it concerns. No ``float``.

A service refuses its first bad argument only. So that an operator sees every bad field at
once, a form may run the services' own checks on each field first (:meth:`ServiceForm.check`,
in ``check_fields``): the same functions, so the same localized messages. The service is
called only when they all pass, and checks everything again.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from prepaid.accounts import services as accounts
from prepaid.accounts.models import MeterTypeChoice
from prepaid.accounts.services import meter_unit
from prepaid.core.errors import InvalidInput, PrepaidError
from prepaid.core.money import parse_quantity
from prepaid.customers import services as customers
from prepaid.vending.confirmed import Confirmed
from prepaid.web.errors import field_of, message

PAYMENT_CHOICES = (
    ("cash", _("Cash")),
    ("wechat", _("WeChat Pay")),
    ("alipay", _("Alipay")),
    ("bank_card", _("Bank card")),
    ("other", _("Other")),
)
METER_TYPE_CHOICES = tuple((choice.name.lower(), choice.label) for choice in MeterTypeChoice)
SUB_METER_CHOICES = tuple((str(n), str(n)) for n in range(1, 5))
PERIOD_CHOICES = (("year", _("Year")), ("month", _("Month")))
TARIFF_KINDS = (("flat", _("Flat unit price")), ("tiered", _("Tiered")))
TOOL_CHOICES = (
    ("setting", _("Setting card")),
    ("clear-all", _("Clear-all card")),
    ("zero", _("Zero card")),
    ("check", _("Check card")),
)
BASIS_CHOICES = (("quantity", _("Quantity")), ("amount", _("Amount")))

TEXT = 200  # longest text a field accepts before the service sees it (services check exactly)


def _text(label: Any, *, required: bool = False, max_length: int = TEXT, **attrs: Any) -> Any:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        strip=False,
        widget=forms.TextInput(attrs=attrs),
    )


def _decimal(label: Any, *, required: bool = False, **attrs: Any) -> Any:
    """A number typed as text (``inputmode=decimal``); the service parses it exactly."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=40,
        strip=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs}),
    )


def new_key() -> str:
    """An idempotency key made when a money form is rendered (a resubmit is charged once)."""
    return uuid.uuid4().hex


# The keys new_key makes: 32 lowercase hexadecimal characters. A page sends back the key it
# was given; any other value (typed into a forged request) keys nothing and does nothing.
_KEY = re.compile(r"[0-9a-f]{32}")


def is_key(value: object) -> bool:
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


def damaged_form() -> InvalidInput:
    """The refusal of a form whose hidden fields were not the ones the page sent."""
    return InvalidInput(
        "damaged_form",
        gettext_noop(
            "The form arrived incomplete or altered. Check what it shows and send it again."
        ),
    )


def posted_key(data: Any) -> str:
    """The idempotency key a page posted; refused as a damaged form unless it is one that
    ``new_key`` makes."""
    key = data.get("key", "")
    if not is_key(key):
        raise damaged_form()
    return str(key)


def posted_confirmation(data: Any) -> Confirmed | None:
    """What the confirm step showed, as its 写卡 posted it back (None: posted without one,
    compared with nothing); refused as a damaged form unless it is one that a confirm step
    makes."""
    text = data.get("confirmed", "")
    if not text:
        return None
    confirmed = Confirmed.parse(text)
    if confirmed is None:
        raise damaged_form()
    return confirmed


class ServiceForm(forms.Form):
    """A form whose refusals come from a service."""

    # error code or the service's field name → form field; anything else is a form-wide error
    error_fields: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_codes: list[str] = []
        for bound in self.fields.values():
            css = "form-select" if isinstance(bound.widget, forms.Select) else "form-control"
            if isinstance(bound.widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            bound.widget.attrs.setdefault("class", css)

    def full_clean(self) -> None:
        super().full_clean()
        self._say_hidden_errors()
        self._mark_invalid()

    def _say_hidden_errors(self) -> None:
        """A hidden field refused (the idempotency key, which of quantity and amount was typed
        last) is nowhere on the page and the operator cannot correct it: the form says it was
        sent damaged, above the fields, and carries a fresh key for sending it again."""
        errors = getattr(self, "_errors", None) or {}
        hidden = [
            name for name in errors if name in self.fields and self.fields[name].widget.is_hidden
        ]
        if not hidden:
            return
        for name in hidden:
            del errors[name]
        if "key" in hidden:
            self.data = self.data.copy()
            self.data["key"] = new_key()
        self.error_codes.append("damaged_form")
        self.add_error(
            None,
            _("The form arrived incomplete or altered. Check what it shows and send it again."),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_fields()
        return data

    def check_fields(self) -> None:
        """Run the services' checks on the fields (see :meth:`check`); none by default."""

    def check(
        self, name: str | None, function: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """``function(cleaned value of name, *args, **kwargs)`` (``function(*args, **kwargs)``
        when ``name`` is None): its result, or None when it refuses — the refusal is then shown
        next to the field it concerns. Not run on a field that already has an error."""
        if name is not None:
            if name not in self.cleaned_data or name in self.errors:
                return None
            args = (self.cleaned_data[name], *args)
        try:
            return function(*args, **kwargs)
        except PrepaidError as exc:
            self.add_service_error(exc)
            return None

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self._mark_invalid()

    def _mark_invalid(self) -> None:
        """Bootstrap's ``is-invalid`` and ``aria-invalid`` on the fields with errors."""
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = (attrs.get("class", "") + " is-invalid").strip()
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"id_{name}-error"

    def add_service_error(self, exc: PrepaidError) -> None:
        self.error_codes.append(exc.code)
        field = field_of(exc, self.error_fields)
        self.add_error(field if field in self.fields else None, message(exc))

    def text(self, name: str) -> str | None:
        """A cleaned optional value: ``None`` when left empty."""
        value = self.cleaned_data.get(name)
        return value if value not in (None, "") else None


class KeyedForm(ServiceForm):
    """A form that moves money or writes a card: carries its idempotency key."""

    key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        validators=[RegexValidator(rf"\A{_KEY.pattern}\Z")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("key", new_key())


class SentOnceForm(ServiceForm):
    """A form that stores something once: a resubmit of its key (a second click, the browser's
    Back and Confirm again) goes to the first result instead of storing it twice
    (``views.common.done_before``). The key is made when the form is rendered; a post without
    one is done as before."""

    key = forms.CharField(
        widget=forms.HiddenInput,
        required=False,
        max_length=64,
        validators=[RegexValidator(rf"\A{_KEY.pattern}\Z")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("key", new_key())


# -- operators ------------------------------------------------------------------------------


class LoginForm(ServiceForm):
    username = _text(
        _("Operator"), required=True, max_length=150, autofocus=True, autocomplete="username"
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_fields = {"auth_failed": "password"}


class PasswordChangeForm(ServiceForm):
    current = forms.CharField(
        label=_("Current password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new = forms.CharField(
        label=_("New password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    repeat = forms.CharField(
        label=_("New password again"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    error_fields = {"auth_failed": "current", "weak_password": "new", "password_too_long": "new"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new") and data.get("repeat") and data["new"] != data["repeat"]:
            self.add_error("repeat", _("The two passwords differ."))
        return data


class SetPasswordForm(ServiceForm):
    new = forms.CharField(
        label=_("New password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    repeat = forms.CharField(
        label=_("New password again"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    error_fields = {"weak_password": "new", "password_too_long": "new"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new") and data.get("repeat") and data["new"] != data["repeat"]:
            self.add_error("repeat", _("The two passwords differ."))
        return data


class OperatorAddForm(SetPasswordForm):
    username = _text(_("Operator name"), required=True, max_length=150, autocomplete="off")
    role = forms.ChoiceField(
        label=_("Role"), choices=(("operator", _("Operator")), ("admin", _("Administrator")))
    )
    field_order = ["username", "role", "new", "repeat"]
    error_fields = {
        "bad_name": "username",
        "operator_exists": "username",
        "bad_role": "role",
        "weak_password": "new",
        "password_too_long": "new",
    }


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"), choices=(("zh-hans", "简体中文"), ("en", "English"))
    )


# -- accounts and prices ------------------------------------------------------------------


class AccountForm(ServiceForm):
    meter_type = forms.ChoiceField(label=_("Meter type"), choices=METER_TYPE_CHOICES)
    sub_meter = forms.ChoiceField(label=_("Sub-meter number"), choices=SUB_METER_CHOICES)
    name = _text(_("Account name"), max_length=100)
    limit = _decimal(_("Purchase limit"), required=True)
    prestore = _decimal(_("Pre-stored quantity"), required=True)
    alarm = _decimal(_("Alarm level"), required=True)
    overdraft = _decimal(_("Overdraft"), required=True)
    maintenance_code = _text(
        _("Maintenance code"), required=True, max_length=20, inputmode="numeric", autocomplete="off"
    )
    error_fields = {
        "bad_meter_type": "meter_type",
        "bad_sub_meter": "sub_meter",
        "sub_meter_taken": "sub_meter",
        "bad_maintenance_code": "maintenance_code",
        "prestore_over_limit": "prestore",
        "alarm_not_below_limit": "alarm",
        "purchase limit": "limit",
        "pre-stored quantity": "prestore",
        "alarm level": "alarm",
        "overdraft": "overdraft",
        "name": "name",
    }

    def check_fields(self) -> None:
        self.check("meter_type", accounts.parse_meter_type)
        sub_meter = self.check("sub_meter", accounts.parse_sub_meter)
        _check_meter_parameters(self)
        self.check("name", accounts.clean_text, field="name", max_length=accounts.MAX_NAME_LENGTH)
        if sub_meter is not None:
            self.check(None, accounts.check_room_for_account, sub_meter)


class AccountModifyForm(ServiceForm):
    """修改账户: the name, and the meter parameters (the service refuses them in the field)."""

    name = _text(_("Account name"), required=True, max_length=100)
    limit = _decimal(_("Purchase limit"), required=True)
    prestore = _decimal(_("Pre-stored quantity"), required=True)
    alarm = _decimal(_("Alarm level"), required=True)
    overdraft = _decimal(_("Overdraft"), required=True)
    maintenance_code = _text(
        _("Maintenance code"), required=True, max_length=20, inputmode="numeric", autocomplete="off"
    )
    error_fields = AccountForm.error_fields

    def check_fields(self) -> None:
        _check_meter_parameters(self)
        self.check(
            "name",
            accounts.clean_text,
            field="name",
            max_length=accounts.MAX_NAME_LENGTH,
            required=True,
        )


def _check_meter_parameters(form: ServiceForm) -> None:
    """The limits and maintenance code of an account (created or modified), each refused next
    to its field, then how they stand to each other (pre-stored ≤ limit, alarm < limit)."""
    limit = form.check("limit", parse_quantity, field="purchase limit")
    prestore, alarm, _overdraft = (
        form.check(name, parse_quantity, field=field, allow_zero=True)
        for name, field in (
            ("prestore", "pre-stored quantity"),
            ("alarm", "alarm level"),
            ("overdraft", "overdraft"),
        )
    )
    form.check("maintenance_code", accounts.parse_maintenance_code)
    if limit is not None and prestore is not None and alarm is not None:
        form.check(None, accounts.check_account_limits, limit, prestore, alarm)


class TariffFields(ServiceForm):
    """A flat unit price or a tier table with its period."""

    kind = forms.ChoiceField(
        label=_("Price kind"), choices=TARIFF_KINDS, widget=forms.RadioSelect, initial="flat"
    )
    unit_price = _decimal(_("Unit price (yuan)"))
    tiers = _text(_("Tiers"), max_length=400, placeholder="0-180:5.00,180-260:7.00,260-:9.00")
    period = forms.ChoiceField(label=_("Tier period"), choices=PERIOD_CHOICES, required=False)
    error_fields = {
        "unit price": "unit_price",
        "bad_tiers": "tiers",
        "bad_tariff": "tiers",
        "bad_period": "period",
        "bad_date": "effective_from",
        "effective_date_too_early": "effective_from",
        "effective_date_before_sales": "effective_from",
        "name": "name",
        "remarks": "remarks",
        "price_name_taken": "name",
        "unknown_account": "account",
    }

    def check_fields(self) -> None:
        if "name" in self.fields:
            self.check(
                "name",
                accounts.clean_text,
                field="name",
                max_length=accounts.MAX_NAME_LENGTH,
                required=True,
            )
        if "remarks" in self.fields:
            self.check(
                "remarks",
                accounts.clean_text,
                field="remarks",
                max_length=accounts.MAX_REMARKS_LENGTH,
            )
        if "effective_from" in self.fields:
            self.check(None, accounts.parse_effective_date, self.text("effective_from"))
        if "kind" in self.cleaned_data:
            tariff = self.tariff(keep_blank=not self.fields["kind"].required)
            if tariff.get("unit_price") == "":  # required, not “must be a number, not “””
                self.add_error("unit_price", self.fields["unit_price"].error_messages["required"])
            elif tariff:
                self.check(None, accounts.build_tariff, **tariff)

    def tariff(self, *, keep_blank: bool = False) -> dict[str, str | None]:
        """The tariff arguments of the services: a unit price, or tiers and a period."""
        if self.cleaned_data.get("kind") == "tiered":
            tiers = self.text("tiers")
            if tiers is None and keep_blank:
                return {}
            return {"tiers": tiers or "", "period": self.text("period") or "year"}
        unit_price = self.text("unit_price")
        if unit_price is None and keep_blank:
            return {}
        return {"unit_price": unit_price or ""}


class PriceAddForm(TariffFields):
    account = forms.ChoiceField(label=_("Account"), choices=())
    name = _text(_("Price name"), required=True, max_length=100)
    remarks = _text(_("Remarks"))
    effective_from = forms.CharField(
        label=_("Effective from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    field_order = [
        "account",
        "name",
        "kind",
        "unit_price",
        "tiers",
        "period",
        "effective_from",
        "remarks",
    ]

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [
            (str(a.pk), f"[{a.sub_meter}] {a.name}") for a in accounts
        ]


class PriceAdjustForm(TariffFields, SentOnceForm):
    effective_from = forms.CharField(
        label=_("Effective from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class PriceModifyForm(TariffFields):
    name = _text(_("Price name"), required=True, max_length=100)
    remarks = _text(_("Remarks"))
    field_order = ["name", "remarks", "kind", "unit_price", "tiers", "period"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].required = False
        self.fields["unit_price"].help_text = _("Leave the tariff empty to keep it.")


# -- customers -----------------------------------------------------------------------------


class CustomerForm(SentOnceForm):
    name = _text(_("Customer name"), required=True, max_length=100, autofocus=True)
    phone = _text(_("Phone"), max_length=40, inputmode="tel")
    address = _text(_("Address"))
    id_number = _text(_("ID number"), max_length=40)
    remarks = _text(_("Remarks"))
    open_now = forms.BooleanField(label=_("Issue a card (open an account) now"), required=False)
    error_fields = {
        "name": "name",
        "phone": "phone",
        "bad_phone": "phone",
        "address": "address",
        "ID number": "id_number",
        "bad_id_number": "id_number",
        "remarks": "remarks",
    }

    def check_fields(self) -> None:
        self.check(
            "name",
            accounts.clean_text,
            field="name",
            max_length=customers.MAX_NAME_LENGTH,
            required=True,
        )
        self.check("phone", customers.clean_phone)
        self.check(
            "address", accounts.clean_text, field="address", max_length=customers.MAX_ADDRESS_LENGTH
        )
        self.check("id_number", customers.clean_id_number)
        self.check(
            "remarks", accounts.clean_text, field="remarks", max_length=customers.MAX_REMARKS_LENGTH
        )


class CustomerModifyForm(CustomerForm):
    """修改用户信息: the details of registering, prefilled; the user number is not among them."""

    open_now = None  # type: ignore[assignment]
    key = None  # type: ignore[assignment]  # correcting the same details twice changes nothing


class SearchForm(ServiceForm):
    q = _text(
        _("User number, name or phone"),
        required=True,
        max_length=100,
        autofocus=True,
        type="search",
    )
    error_fields = {"search text": "q"}


# -- vending -------------------------------------------------------------------------------


class QuantityAmountFields(KeyedForm):
    """Quantity or amount: the one typed last (``basis``) is sold, the other is computed."""

    quantity = _decimal(_("Quantity"))
    amount = _decimal(_("Amount (yuan)"), autofocus=True)
    basis = forms.ChoiceField(choices=BASIS_CHOICES, required=False, widget=forms.HiddenInput)
    error_fields = {
        "quantity": "quantity",
        "amount": "amount",
        "over_limit": "quantity",
        "amount_too_small": "quantity",
        "quantity_or_amount": "amount",
        "bad_payment_method": "payment",
    }

    def check_fields(self) -> None:
        """Nothing typed: say what to type (the services' refusal speaks of giving both)."""
        if "quantity" in self.errors or "amount" in self.errors:
            return
        if self.text("quantity") is None and self.text("amount") is None:
            self.add_service_error(
                PrepaidError("quantity_or_amount", gettext_noop("Type a quantity or an amount."))
            )

    def quantity_or_amount(self) -> dict[str, str | None]:
        quantity, amount = self.text("quantity"), self.text("amount")
        basis = self.cleaned_data.get("basis")
        if basis == "quantity" and quantity is not None:
            return {"quantity": quantity, "amount": None}
        if basis == "amount" and amount is not None:
            return {"quantity": None, "amount": amount}
        return {"quantity": quantity, "amount": amount}


def units_of_accounts(form: forms.Form, field: str, units: dict[str, str]) -> None:
    """The quantity ``field`` says its unit (m³, kWh) beside the input, the chosen account's:
    ``form.quantity_unit`` for the page, and every account's unit on the input for the script
    that follows the account select."""
    form.fields[field].widget.attrs["data-units"] = json.dumps(units, ensure_ascii=False)
    chosen = form.data.get("account") if form.is_bound else form.initial.get("account")
    first = next(iter(units.values()), "")
    form.quantity_unit = units.get(str(chosen or ""), first)  # type: ignore[attr-defined]


class OpenForm(QuantityAmountFields):
    account = forms.ChoiceField(label=_("Account"), choices=())
    price = forms.ChoiceField(label=_("Price type"), choices=())
    payment = forms.ChoiceField(label=_("Payment method"), choices=PAYMENT_CHOICES)
    field_order = ["account", "price", "quantity", "amount", "payment"]

    def __init__(self, *args: Any, accounts: list[Any], prices: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [
            (str(a.pk), f"[{a.sub_meter}] {a.name}") for a in accounts
        ]
        groups: dict[str, list[tuple[str, str]]] = {}
        for price in prices:
            label = f"[{price.account.sub_meter}] {price.account.name}"
            groups.setdefault(label, []).append((str(price.pk), price.name))
        self.fields["price"].choices = list(groups.items())
        units_of_accounts(self, "quantity", {str(a.pk): meter_unit(a) for a in accounts})
        self.error_fields = {
            **self.error_fields,
            "price_not_of_account": "price",
            "price_not_in_effect": "price",
            "already_open": "account",
        }


class SaleForm(QuantityAmountFields):
    account = forms.ChoiceField(label=_("Account"), choices=(), widget=forms.Select)
    payment = forms.ChoiceField(label=_("Payment method"), choices=PAYMENT_CHOICES)
    field_order = ["account", "quantity", "amount", "payment"]

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [
            (str(ca.account_id), f"[{ca.account.sub_meter}] {ca.account.name} — {ca.price.name}")
            for ca in accounts
        ]
        units = {str(ca.account_id): meter_unit(ca.account) for ca in accounts}
        units_of_accounts(self, "quantity", units)


class WriteSaleForm(QuantityAmountFields):
    """The confirmed sale or correction as posted by 写卡: the service checks everything, so
    no field here drops what was posted (a value dropped for its length would sell the other
    of quantity and amount, or on the card's only account, or for cash)."""

    quantity = forms.CharField(required=False)
    amount = forms.CharField(required=False)
    account = forms.CharField(required=False, strip=True)
    payment = forms.CharField(required=False, strip=True)

    def account_id(self) -> int | None:
        return posted_account_id(self.data.get("account"))


def posted_account_id(text: Any) -> int | None:
    """The account a 写卡 names: None when none is named (a card of one account needs none);
    anything but an id is refused, not taken for “none named”."""
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise PrepaidError(
            "account_not_open",
            gettext_noop("This customer has no account opened on that utility."),
        )
    return int(text)


class ReissueForm(KeyedForm):
    fee = _decimal(_("Reissue fee (yuan)"), autofocus=True)
    payment = forms.ChoiceField(label=_("Payment method"), choices=PAYMENT_CHOICES)
    error_fields = {"fee": "fee", "bad_payment_method": "payment"}


class MeterChangeForm(KeyedForm):
    account = forms.ChoiceField(label=_("Account"), choices=())
    remaining = _decimal(_("Remaining quantity on the old meter"), required=True, autofocus=True)
    # Asked only when the office cannot tell whether the old meter took the last purchase
    # (written on a card reissued since): the service refuses without an answer.
    last_taken = forms.ChoiceField(
        label=_("Did the old meter take the last purchase?"),
        choices=(),
        widget=forms.RadioSelect,
        required=False,
    )
    reason = _text(_("Reason"))
    error_fields = {
        "remaining": "remaining",
        "reason": "reason",
        "too_long": "reason",
        "over_limit": "remaining",
        "below_overdraft": "remaining",
        "remaining_above_meter": "remaining",
        "last_purchase_unknown": "last_taken",
    }

    def __init__(
        self, *args: Any, accounts: list[Any], asked: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """``asked``: account id → the last purchase the office cannot tell whether the old
        meter took (:func:`prepaid.vending.services.meter_change_question`)."""
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [
            (str(ca.account_id), f"[{ca.account.sub_meter}] {ca.account.name}") for ca in accounts
        ]
        units = {str(ca.account_id): meter_unit(ca.account) for ca in accounts}
        units_of_accounts(self, "remaining", units)
        self.asked = asked or {}
        if not self.asked:
            del self.fields["last_taken"]
            return
        serials = {purchase.serial for purchase in self.asked.values()}
        if len(serials) == 1:
            serial = {"serial": serials.pop()}
            took = gettext("The old meter took purchase #%(serial)s") % serial
            not_taken = gettext("The old meter did not take purchase #%(serial)s") % serial
        else:  # several accounts asked: the purchase of the account chosen
            took = gettext("The old meter took the last purchase")
            not_taken = gettext("The old meter did not take the last purchase")
        self.fields["last_taken"].choices = [("yes", took), ("no", not_taken)]

    def taken_answer(self) -> bool | None:
        """The admin's answer (None when not asked or not given)."""
        return last_taken_answer(self.data.get("last_taken") if self.is_bound else None)


def last_taken_answer(text: Any) -> bool | None:
    """“yes”/“no” of the meter-change question as the service takes it (else None)."""
    return {"yes": True, "no": False}.get(text) if isinstance(text, str) else None


# -- cards, reader and meters -----------------------------------------------------------------


class ToolCardForm(KeyedForm):
    tool = forms.ChoiceField(label=_("Tool card"), choices=TOOL_CHOICES)
    account = forms.ChoiceField(label=_("Account"), choices=(), required=False)
    error_fields = {"bad_tool_card": "tool", "account_required": "account"}

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [("", "—")] + [
            (str(a.pk), f"[{a.sub_meter}] {a.name}") for a in accounts
        ]
        if len(accounts) == 1:  # the only account: what a setting card is made from
            self.initial.setdefault("account", str(accounts[0].pk))


class BlankCardForm(ServiceForm):
    name = _text(_("Card name"), max_length=64, autocomplete="off")
    error_fields = {"bad_card_name": "name", "card_exists": "name"}


class MeterAddForm(ServiceForm):
    meter_id = _text(_("Meter id"), required=True, max_length=32, autocomplete="off")
    error_fields = {"bad_meter_id": "meter_id", "meter_exists": "meter_id"}


class MeterUseForm(ServiceForm):
    quantity = _decimal(_("Quantity to use"), required=True)
    error_fields = {"quantity": "quantity"}

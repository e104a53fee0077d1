"""The filter bar of the report pages: what the operator narrows a report to."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prepaid.accounts.models import Account, Price
from prepaid.audit.log import AuditFilters
from prepaid.core import days
from prepaid.operators.models import Operator
from prepaid.reports.labels import PAYMENT_LABELS
from prepaid.reports.services import Filters


class DateInput(forms.DateInput):
    """A date picker: its value is always ISO (2026-10-29), whatever the language, or the
    browser shows the field empty (zh-Hans formats dates as 2026/10/29)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def _choices(labels: dict[str, Any], *, blank: bool = True) -> list[tuple[str, str]]:
    items = [(key, label.text()) for key, label in labels.items() if key]
    return ([("", "—")] if blank else []) + items


# A day a report can hold (see prepaid.core.days), refused on its field otherwise.
DAY_RANGE = [
    MinValueValidator(days.FIRST_DAY, _("Give a day from 1900 to 2999.")),
    MaxValueValidator(days.LAST_DAY, _("Give a day from 1900 to 2999.")),
]


class FilterForm(forms.Form):
    """Every filter a report may offer; each page shows the ones it uses (``fields``)."""

    date_from = forms.DateField(
        label=_("From"), required=False, widget=DateInput, validators=DAY_RANGE
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput, validators=DAY_RANGE)
    operator = forms.ModelChoiceField(
        label=_("Operator"),
        required=False,
        queryset=Operator.objects.order_by("username"),
        to_field_name="username",
    )
    account = forms.ModelChoiceField(
        label=_("Account"), required=False, queryset=Account.objects.order_by("sub_meter")
    )
    price = forms.ModelChoiceField(
        label=_("Price"), required=False, queryset=Price.objects.select_related("account")
    )
    payment = forms.ChoiceField(label=_("Payment method"), required=False)
    customer = forms.CharField(label=_("Customer"), required=False, max_length=64)
    station = forms.CharField(label=_("Station"), required=False, max_length=64)
    kind = forms.MultipleChoiceField(label=_("Kind"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(
        self,
        data: Any,
        *,
        fields: tuple[str, ...],
        kinds: list[tuple[str, str]] | None = None,
        statuses: list[tuple[str, str]] | None = None,
        default_days: int | None = None,
    ) -> None:
        super().__init__(data)
        for name in list(self.fields):
            if name not in fields:
                del self.fields[name]
        if "payment" in self.fields:
            self.fields["payment"].choices = _choices(PAYMENT_LABELS)
        if "kind" in self.fields:
            self.fields["kind"].choices = kinds or []
        if "status" in self.fields:
            self.fields["status"].choices = [("", "—"), *(statuses or [])]
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select | forms.SelectMultiple)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)
        self.default_days = default_days
        if default_days and not self.is_bound and "date_from" in self.fields:
            self.initial["date_from"] = self._default_start()
        for name in ("operator", "account", "price"):
            if name in self.fields:
                self.fields[name].empty_label = "—"

    def _default_start(self) -> datetime.date:
        assert self.default_days is not None
        return timezone.localdate() - datetime.timedelta(days=self.default_days - 1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def filters(self) -> Filters:
        """The filters (valid form), with the default period when no date was given."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        start, end = data.get("date_from"), data.get("date_to")
        if self.default_days and not (start or end or data.get("customer")):
            start = self._default_start()
        operator = data.get("operator")
        account = data.get("account")
        price = data.get("price")
        status = data.get("status")
        return Filters(
            date_from=start,
            date_to=end,
            operator_id=operator.pk if operator else None,
            account_id=account.pk if account else None,
            price_id=price.pk if price else None,
            payment=data.get("payment") or None,
            customer=(data.get("customer") or "").strip() or None,
            station=(data.get("station") or "").strip() or None,
            kinds=tuple(data.get("kind") or ()),
            statuses=(status,) if status else (),
        )


class AuditFilterForm(FilterForm):
    """The filter bar of 审计日志: days, operator and station as the reports have them, the
    action code (or its start) and the object as the entries name it."""

    action = forms.CharField(label=_("Action"), required=False, max_length=64)
    object = forms.CharField(label=_("Object"), required=False, max_length=130)

    def __init__(self, data: Any) -> None:
        super().__init__(
            data, fields=("date_from", "date_to", "operator", "station", "action", "object")
        )
        self.fields["action"].widget.attrs["placeholder"] = "sale, customer."
        self.fields["object"].widget.attrs["placeholder"] = "vending.purchase:12"

    def audit_filters(self) -> AuditFilters:
        """The filters (a valid form; none otherwise, its errors shown beside the fields)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        operator = data.get("operator")
        return AuditFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            operator=operator.username if operator else None,
            action=(data.get("action") or "").strip() or None,
            object=(data.get("object") or "").strip() or None,
            station=(data.get("station") or "").strip() or None,
        )

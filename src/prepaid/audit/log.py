"""Reading the audit log (审计日志), for administrators: the entries by operator, time, action
and object (:func:`audit_log`), each with its action, object and changes in words. Writing
and verifying the log is :mod:`prepaid.audit.services`."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext, gettext_noop, pgettext

from prepaid.audit.labels import (
    ACTION_LABELS,
    FIELD_LABELS,
    METER_READING_FIELDS,
    OBJECT_FIELD_LABELS,
    OBJECT_LABELS,
    TARIFF_FIELDS,
    VALUE_LABELS,
)
from prepaid.audit.models import AuditEntry
from prepaid.core import days
from prepaid.core.card.model import MeterType, meter_status
from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.core.money import format_centi, format_hao
from prepaid.core.pricing import Period, Tariff
from prepaid.reports import tables as t
from prepaid.reports.labels import METER_FLAG_LABELS, L, Label

AUDIT_TITLE = L(gettext_noop("Audit log"), "审计日志")
AUDIT_COLUMNS = [
    t.Column("id", L(gettext_noop("Entry no."), "记录号"), t.INT),
    t.Column("time", L(gettext_noop("Time"), "时间"), t.DATETIME),
    t.Column("operator", L(gettext_noop("Operator"), "操作员")),
    t.Column("station", L(gettext_noop("Station"), "工作站")),
    # named for people; the rows (and the JSON) keep the codes too: action, object, changes
    t.Column("action_label", L(gettext_noop("Action"), "操作")),
    t.Column("object_label", L(gettext_noop("Object"), "对象")),
    t.Column("changes_label", L(gettext_noop("Changes"), "变更内容")),
]
F_ACTION = L(gettext_noop("Action"), "操作")
F_OBJECT = L(gettext_noop("Object"), "对象")
# What a field had before it was set, or has after it is gone.
NO_VALUE = "—"
# The system's own entries (no operator logged in) carry this name (see log_action).
SYSTEM = "system"


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log is narrowed to. Days are the office's, inclusive."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    operator: str | None = None  # an operator's name, as the entries carry it
    action: str | None = None  # a code (``sale.complete``) or its start (``sale``, ``customer.``)
    object: str | None = None  # ``TYPE:ID`` (``vending.purchase:12``), or a type or an id alone
    station: str | None = None

    def describe(self) -> list[tuple[Label, str]]:
        """For the header of the page and of exports: which filters were applied."""
        from prepaid.reports.services import F_FROM, F_OPERATOR, F_STATION, F_TO

        described: list[tuple[Label, str]] = []
        for label, value in (
            (F_FROM, self.date_from.isoformat() if self.date_from else None),
            (F_TO, self.date_to.isoformat() if self.date_to else None),
            (F_OPERATOR, self.operator),
            (F_ACTION, self.action),
            (F_OBJECT, self.object),
            (F_STATION, self.station),
        ):
            if value:
                described.append((label, value))
        return described


def audit_log(
    operator: Any,
    filters: AuditFilters | None = None,
    *,
    page: int = 1,
    page_size: int | None = t.DEFAULT_PAGE_SIZE,
) -> t.Table:
    """审计日志: the entries, newest first (the chain's order), narrowed by ``filters``, one
    page of them (every one, lazily, without a page size). Administrators only."""
    from prepaid.operators.services import require_admin
    from prepaid.reports.services import _paged

    require_admin(operator)
    filters = filters or AuditFilters()
    names = _ObjectNames()
    queryset = AuditEntry.objects.filter(_audit_q(filters))
    table = t.Table(
        AUDIT_TITLE,
        AUDIT_COLUMNS,
        [],
        count=queryset.count(),
        sort="-id",
        filters=filters.describe(),
    )
    return _paged(table, queryset.order_by("-id"), page, page_size, lambda e: _audit_row(e, names))


def _audit_q(filters: AuditFilters) -> Q:
    from prepaid.reports.services import _time_q

    for day in (filters.date_from, filters.date_to):
        if day is not None and not days.in_range(day):
            raise InvalidInput(
                "bad_date", _("%(day)s is not a day from 1900 to 2999."), day=day.isoformat()
            )
    condition = _time_q("time", filters)
    if filters.operator:
        condition &= Q(operator_name=_known_operator(filters.operator))
    if filters.action:
        condition &= _action_q(filters.action.strip())
    if filters.object:
        condition &= _object_q(filters.object.strip())
    if filters.station:
        condition &= Q(station=filters.station.strip())
    return condition


def _known_operator(name: str) -> str:
    """An operator the log can name: one on file, or the system itself. Another name is bad
    input, as in the reports, not an empty log that reads as "did nothing"."""
    from prepaid.operators.models import Operator

    name = name.strip()
    if name != SYSTEM and not Operator.objects.filter(username=name).exists():
        raise InvalidInput("unknown_operator", _("There is no operator named %(name)s."), name=name)
    return name


def _action_q(code: str) -> Q:
    """``sale`` is the code ``sale`` and every ``sale.…``; ``customer.`` every ``customer.…``
    (not ``customer_account.open``); ``sale.complete`` that code alone and its own ``.…``.
    A label (销售, Sale) is the codes it names."""
    labelled = [
        action
        for action, label in ACTION_LABELS.items()
        if code in (label.text(), label.english, label.chinese)
    ]
    if labelled:
        return Q(action__in=labelled)
    if code.endswith("."):
        return Q(action__startswith=code)
    return Q(action=code) | Q(action__startswith=code + ".")


def _object_q(text: str) -> Q:
    """``TYPE:ID`` names one object; a text without a colon is a type (``vending.purchase``)
    or an id (``12``, the entries' own: a purchase's or a customer's id)."""
    kind, colon, object_id = text.partition(":")
    if not colon:
        return Q(object_type=text) | Q(object_id=text)
    condition = Q()
    if kind.strip():
        condition &= Q(object_type=kind.strip())
    if object_id.strip():
        condition &= Q(object_id=object_id.strip())
    return condition


def object_text(object_type: str, object_id: str) -> str:
    """An entry's object as the filter takes it: ``vending.purchase:12``."""
    return f"{object_type}:{object_id}" if object_id else object_type


def changes_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """What an entry changed, a line a field: ``name: old → new`` for each field that
    differs; a new object's fields as ``name: value``; a deleted one's as ``name: value → —``."""
    old, new = before or {}, after or {}
    lines = []
    for key in dict.fromkeys([*old, *new]):
        if before is None:
            lines.append(f"{key}: {_value_text(new.get(key))}")
        elif key not in old or key not in new or old[key] != new[key]:
            lines.append(f"{key}: {_value_text(old.get(key))} → {_value_text(new.get(key))}")
    return "\n".join(lines)


def _value_text(value: Any) -> str:
    if value is None:
        return NO_VALUE
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def action_label(code: str) -> str:
    """An action as people read it, its code beside it: 销售（sale.complete）; a code
    without a label as it is."""
    label = ACTION_LABELS.get(code)
    if label is None:
        return code
    return gettext("%(label)s (%(code)s)") % {"label": label.text(), "code": code}


class _ObjectNames:
    """The names the office gives customers (user number) and operators (name), read once
    each for a page or a file."""

    LOOKUPS = {
        "customers.customer": ("customers", "Customer", "user_number"),
        "operators.operator": ("operators", "Operator", "username"),
    }

    def __init__(self) -> None:
        self.known: dict[tuple[str, str], str] = {}

    def unit(self, object_type: str, object_id: str) -> str:
        """The unit of an account's meter type, or of a price's account; of one deleted since,
        as the entry that created it recorded it; none for another object."""
        if object_type not in ("accounts.account", "accounts.price") or not object_id.isdigit():
            return ""
        key = ("unit", f"{object_type}:{object_id}")
        if key not in self.known:
            self.known[key] = self._unit(object_type, int(object_id))
        return self.known[key]

    def _unit(self, object_type: str, pk: int) -> str:
        from prepaid.accounts.models import Account, Price

        if object_type == "accounts.price":
            account = Price.objects.filter(pk=pk).values_list("account_id", flat=True).first()
            if account is None:
                account = self._created("price.create", object_type, pk).get("account")
            if not isinstance(account, int):
                return ""
            return self.unit("accounts.account", str(account))
        meter_type = Account.objects.filter(pk=pk).values_list("meter_type", flat=True).first()
        if meter_type is not None:
            return MeterType(meter_type).unit
        code = self._created("account.create", object_type, pk).get("meter_type")
        return MeterType[code.upper()].unit if code in METER_TYPE_CODES else ""

    @staticmethod
    def _created(action: str, object_type: str, pk: int) -> dict[str, Any]:
        """What the entry that created an object recorded of it."""
        after = (
            AuditEntry.objects.filter(action=action, object_type=object_type, object_id=str(pk))
            .values_list("after", flat=True)
            .first()
        )
        return after if isinstance(after, dict) else {}

    def name(self, object_type: str, object_id: str) -> str:
        lookup = self.LOOKUPS.get(object_type)
        if lookup is None or not object_id.isdigit():
            return object_id
        key = (object_type, object_id)
        if key not in self.known:
            from django.apps import apps

            app, model, field = lookup
            found = (
                apps.get_model(app, model)
                .objects.filter(pk=int(object_id))
                .values_list(field, flat=True)
                .first()
            )
            self.known[key] = str(found) if found is not None else object_id
        return self.known[key]


def object_label(object_type: str, object_id: str, names: _ObjectNames | None = None) -> str:
    """An entry's object as the office names it: 购买 12, 用户 00000001, 账户 3; an object
    the log has no name for as the filter takes it (``thing:1``)."""
    label = OBJECT_LABELS.get(object_type)
    if label is None:
        return object_text(object_type, object_id)
    name = (names or _ObjectNames()).name(object_type, object_id)
    return f"{label.text()} {name}" if name else label.text()


def changes_label(
    object_type: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    object_id: str = "",
    names: _ObjectNames | None = None,
) -> str:
    """:func:`changes_text` as people read it: for the product's objects, each field named as
    its form names it (限购量：999.00 → 500.00), coded values by their labels (现金) and times
    as the report pages write them; a sale's tiers and a price's versions as its pages give
    them, with the unit of the account the entry names (or its object, a price); an object
    of another kind as :func:`changes_text`."""
    if object_type not in OBJECT_LABELS:
        return changes_text(before, after)
    separator = pgettext("label separator", ": ")
    old, new = before or {}, after or {}
    unit = ""
    if TARIFF_FIELDS.intersection(old) or TARIFF_FIELDS.intersection(new):
        unit = _entry_unit(object_type, object_id, old, new, names or _ObjectNames())
    lines = []
    for key in dict.fromkeys([*old, *new]):
        field = OBJECT_FIELD_LABELS.get((object_type, key)) or FIELD_LABELS.get(key)
        name = field.text() if field is not None else key
        shown_new = _value_label(key, new.get(key), unit)
        if before is None:
            lines.append(f"{name}{separator}{shown_new}")
        elif key not in old or key not in new or old[key] != new[key]:
            shown_old = _value_label(key, old.get(key), unit)
            lines.append(f"{name}{separator}{shown_old} → {shown_new}")
    return "\n".join(lines)


def _entry_unit(
    object_type: str, object_id: str, old: dict[str, Any], new: dict[str, Any], names: _ObjectNames
) -> str:
    """The unit of what an entry sold or priced: of the meter type it names (an account), of
    the account it names (a purchase, a price added or deleted), else of its object's account
    (a price adjusted); none when it names none of them."""
    for values in (new, old):
        meter_type = values.get("meter_type")
        if meter_type in METER_TYPE_CODES:
            return MeterType[meter_type.upper()].unit
    account = new.get("account", old.get("account"))
    if isinstance(account, int) and not isinstance(account, bool):
        return names.unit("accounts.account", str(account))
    return names.unit(object_type, object_id)


def _value_label(key: str, value: Any, unit: str = "") -> str:
    if value is None or value == "" or value == []:
        return NO_VALUE  # not given, or not for this entry (a transfer's payment method, tiers)
    if key in METER_READING_FIELDS:
        records = value if isinstance(value, list) else [value]
        if all(isinstance(record, dict) for record in records):
            return pgettext("list separator", "; ").join(map(_meter_reading_label, records))
    if key in AT_RISK_FIELDS and isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return pgettext("list separator", "; ").join(map(_at_risk_label, value))
    shown = _tariff_value_label(key, value, unit)
    if shown is not None:
        return shown
    labels = VALUE_LABELS.get(key)
    if isinstance(value, str) and labels is not None and value in labels:
        return labels[value].text()
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return _moment_label(value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return _value_text(value)


# Fields holding a revoked or reissued card's purchases no meter is known to have taken, as
# ``vending.services.reissue_risks`` records them: sub-meter, serial and quantity.
AT_RISK_FIELDS = frozenset({"transfers_at_risk", "first_purchases_at_risk"})


def _at_risk_label(item: dict[str, Any]) -> str:
    return gettext("sub-meter %(sub_meter)s: purchase serial %(serial)s, %(quantity)s") % {
        "sub_meter": item.get("sub_meter", NO_VALUE),
        "serial": item.get("serial", NO_VALUE),
        "quantity": item.get("quantity", NO_VALUE),
    }


def _moment_label(value: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    return formats.date_format(t.local(moment), "SHORT_DATETIME_FORMAT")


def _meter_reading_label(record: dict[str, Any]) -> str:
    """What a meter wrote back, as a person reads it: 子表号 1：余量 17.00 m³，累计用量
    3.00 m³，购买序号 2，表计时间 … (the unit when the entry names the meter type, which
    entries written before it did not)."""
    meter_type = record.get("meter_type")
    unit = MeterType[meter_type.upper()].unit if meter_type in METER_TYPE_CODES else ""

    def quantity(centi: Any) -> str:
        if not isinstance(centi, int) or isinstance(centi, bool):
            return NO_VALUE
        return f"{format_centi(centi)} {unit}".rstrip()

    time = record.get("meter_time")
    text = gettext(
        "sub-meter %(sub_meter)s: balance %(balance)s, total used %(cumulative)s, "
        "purchase serial %(serial)s, meter time %(time)s"
    ) % {
        "sub_meter": record.get("sub_meter", NO_VALUE),
        "balance": quantity(record.get("balance_centi")),
        "cumulative": quantity(record.get("cumulative_centi")),
        "serial": record.get("last_serial", NO_VALUE),
        "time": _moment_label(time) if isinstance(time, str) else NO_VALUE,
    }
    status = record.get("status")
    flags = meter_status(status).codes if isinstance(status, int) and status > 0 else []
    if flags:
        names = pgettext("list separator", ", ").join(
            METER_FLAG_LABELS[flag].text() if flag in METER_FLAG_LABELS else flag for flag in flags
        )
        text += gettext(", status: %(status)s") % {"status": names}
    return text


METER_TYPE_CODES = frozenset(meter_type.code for meter_type in MeterType)


def _tariff_value_label(key: str, value: Any, unit: str) -> str | None:
    """A sale's tier lines, a price's version or versions, a deleted account's prices, as
    people read them; None for another field, or a value not of the shape recorded."""
    items = value if isinstance(value, list) else [value]
    if key not in TARIFF_FIELDS or not all(isinstance(item, dict) for item in items):
        return None
    try:
        if key == "tiers":
            return pgettext("list separator", "; ").join(_tier_line_label(i, unit) for i in items)
        if key == "prices":
            return pgettext("list separator", "; ").join(_price_label(i, unit) for i in items)
        return pgettext("list separator", "; ").join(_version_label(i, unit) for i in items)
    except (KeyError, TypeError, ValueError, PrepaidError):
        return None  # not as recorded by this version: as JSON


def _tier_line_label(line: dict[str, Any], unit: str) -> str:
    """One tier of a sale: 第 1 阶梯：10.00 m³ × 5.00 = 50.00."""
    return gettext("tier %(tier)s: %(quantity)s × %(unit_price)s = %(amount)s") % {
        "tier": line["tier"],
        "quantity": f"{line['quantity']} {unit}".rstrip(),
        "unit_price": line["unit_price"],
        "amount": line["amount"],
    }


def _version_label(version: dict[str, Any], unit: str) -> str:
    """A price version (version_snapshot) as the price list gives it: 版本 2，2026-01-01 起：
    3.45/m³, or its tiers and the period they count over."""
    tariff = Tariff.parse_tiers(version["tiers"], version["period"])
    per_unit = f"/{unit}" if unit else ""
    if tariff.is_tiered:
        tiers = pgettext("list separator", ", ").join(
            f"{format_centi(tier.start_centi)}–"
            f"{'∞' if tier.end_centi is None else format_centi(tier.end_centi)} {unit}".rstrip()
            + f"{pgettext('label separator', ': ')}{format_hao(tier.unit_price_hao)}{per_unit}"
            for tier in tariff.tiers
        )
        over_year = tariff.period is Period.YEAR
        text = tiers + (
            gettext(" (cumulative over the year)")
            if over_year
            else gettext(" (cumulative over the month)")
        )
    else:
        text = f"{format_hao(tariff.tiers[0].unit_price_hao)}{per_unit}"
    effective = datetime.date.fromisoformat(version["effective_from"])
    return gettext("version %(number)s from %(date)s: %(tariff)s") % {
        "number": version["number"],
        "date": formats.date_format(effective, "SHORT_DATE_FORMAT"),
        "tariff": text,
    }


def _price_label(price: dict[str, Any], unit: str) -> str:
    """A price deleted with its account: its name and its versions."""
    versions = pgettext("list separator", "; ").join(
        _version_label(version, unit) for version in price["versions"]
    )
    return f"{price['name']}{pgettext('label separator', ': ')}{versions}"


ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _audit_row(entry: AuditEntry, names: _ObjectNames | None = None) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "time": entry.time,
        "operator": entry.operator_name,
        "station": entry.station,
        "action": entry.action,
        "action_label": action_label(entry.action),
        "object": object_text(entry.object_type, entry.object_id),
        "object_label": object_label(entry.object_type, entry.object_id, names),
        "changes": changes_text(entry.before, entry.after),
        "changes_label": changes_label(
            entry.object_type, entry.before, entry.after, object_id=entry.object_id, names=names
        ),
        "before": entry.before,
        "after": entry.after,
    }


def audit_document(table: t.Table) -> dict[str, Any]:
    """The page as one JSON document: the table's, each row with the codes for machines
    (action, object, changes as recorded) beside the labels people read, and the entry's
    state before and after as it was recorded."""
    rows = list(table.rows)
    table.rows = rows
    document = t.json_document(table)
    for written, row in zip(document["rows"], rows, strict=True):
        for key in ("action", "object", "changes", "before", "after"):
            written[key] = row[key]
    return document

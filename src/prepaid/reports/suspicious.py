"""Suspicious customers (可疑用户): a worklist for inspectors, each flag with its reason.

The manual: “根据购买次数、购买频率、月平均使用用量等信息，查询出购买或使用情况异常的可疑用户”.
Each rule looks at one customer account (one utility of one customer) and, when it fires,
gives a :class:`Reason` with the numbers and the period it looked at. A customer's score is the
sum of the weights of the rules that fired; the worklist is sorted by score.

Rules (thresholds in :data:`DEFAULT_RULES`, all integers; overridable in the settings
``PREPAID_SUSPICIOUS_RULES``, by an administrator (:func:`save_rules`), or for one run):

``no_purchase``
    a regular buyer (at least ``no_purchase_min_purchases`` purchases in the last
    ``no_purchase_lookback_months``) has not bought for ``no_purchase_days`` days and for
    ``no_purchase_interval_pct`` % of the
    customer's usual interval between purchases;
``own_drop``
    the monthly quantity of the recent months is below ``drop_ratio_pct`` % of the customer's
    own average of the trailing months, after dividing by the same ratio of the peers on the
    same price (so that the season — more water in summer — does not raise flags);
``peer_low``
    the recent quantity is among the lowest ``peer_percentile`` % of what the peers on the same
    price bought (those who bought anything; nothing at all is lowest) and below
    ``peer_median_pct`` % of their median;
``small_purchases``
    many purchases (at least ``small_min_purchases``, and ``small_count_factor_pct`` % of the
    peers' median count) of small quantities (at most ``small_quantity_pct`` % of the peers'
    median quantity per purchase);
``use_vs_purchases``
    the use a meter reports does not match the credit the office wrote and the balance
    change: ``use = credit − (balance after − balance before)`` holds exactly for an honest
    meter between two of its readings (write-backs seen on the card); each reading stores what
    it leaves unexplained, and the period's sum must stay within the tolerance;
``tamper``, ``valve_forced``, ``wrong_meter``
    the meter reported these status flags in the recent months;
``transfer_at_risk``
    a reissue in the trailing or recent months revoked a card that still carried a
    meter-change transfer no meter was known to have taken (recorded with the reissue), and
    that card has not been recycled or formatted since: a set, not yet bound meter takes the
    transfer from the lost card too (DESIGN §4), so an inspector checks the customer's meters;
``first_purchase_at_risk``
    a reissue in the trailing or recent months wrote the customer's first purchase (the
    opening) on the new card unmarked, as it must when no meter write-back the office read
    showed it taken, and none read since shows it taken: a set, not yet bound meter of the
    account (a spare) would credit the first purchase too, so an inspector checks the meters;
    also, with its own reason, when the card the reissue revoked still carries the first
    purchase unmarked as far as the office knows (written unmarked, and no write-back read
    from that card before the reissue showed it taken) and has not been recycled or formatted
    since — after the new card's copy is seen taken as well, for a spare would credit the
    lost card's.

Months are local calendar months: the *recent* window is the ``recent_months`` complete
months before the month of the analysis date, the *trailing* window the ``trailing_months``
before those. Customers without an active card (cards recycled: moved away) are left out.

Everything is computed on integers and exact fractions; reasons show two-decimal figures.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_noop, pgettext

from prepaid.accounts.models import Account, MeterTypeChoice, Price
from prepaid.accounts.services import METER_UNITS
from prepaid.audit.services import log_action
from prepaid.cards.models import CardOperation
from prepaid.core.card.model import MeterStatus
from prepaid.core.errors import InvalidInput, _
from prepaid.core.money import format_centi, round_half_up
from prepaid.customers.models import Customer
from prepaid.operators.services import require_admin
from prepaid.reports import tables as t
from prepaid.reports.aggregates import (
    add_months,
    day_range,
    month_start,
    refresh_aggregates,
)
from prepaid.reports.labels import L, Label
from prepaid.reports.models import MonthlyPurchase, SuspicionRules, WriteBackObservation
from prepaid.reports.tables import Column, Table
from prepaid.vending.models import CustomerAccount, CustomerCard, LedgerEntry, Purchase

DEFAULT_RULES: dict[str, int] = {
    "recent_months": 3,
    "trailing_months": 6,
    "no_purchase_days": 60,
    "no_purchase_interval_pct": 250,
    "no_purchase_min_purchases": 3,
    "no_purchase_lookback_months": 12,
    "drop_ratio_pct": 35,
    "drop_min_trailing_centi": 200,  # 2.00 units a month: too little to judge below that
    "drop_min_open_months": 3,
    "peer_percentile": 10,
    "peer_median_pct": 35,
    "peer_min_customers": 8,
    "small_min_purchases": 10,
    "small_count_factor_pct": 300,
    "small_quantity_pct": 35,
    "use_tolerance_centi": 100,
    "use_tolerance_pct": 5,
    "weight_no_purchase": 3,
    "weight_own_drop": 2,
    "weight_peer_low": 2,
    "weight_small_purchases": 2,
    "weight_use_vs_purchases": 4,
    "weight_tamper": 4,
    "weight_valve_forced": 4,
    "weight_wrong_meter": 2,
    "weight_transfer_at_risk": 3,
    "weight_first_purchase_at_risk": 3,
    "min_score": 1,
}
RULES = (
    "no_purchase",
    "own_drop",
    "peer_low",
    "small_purchases",
    "use_vs_purchases",
    "tamper",
    "valve_forced",
    "wrong_meter",
    "transfer_at_risk",
    "first_purchase_at_risk",
)
RULE_LABELS = {
    "no_purchase": L(gettext_noop("No purchase for a long time"), "长期未购买"),
    "own_drop": L(gettext_noop("Far below own average"), "远低于自身历史平均"),
    "peer_low": L(gettext_noop("Far below peers on the same price"), "远低于同价格用户"),
    "small_purchases": L(gettext_noop("Many small purchases"), "频繁小额购买"),
    "use_vs_purchases": L(
        gettext_noop("Meter use does not match purchases"), "表计用量与购买量不符"
    ),
    "tamper": L(gettext_noop("Meter tamper flag"), "表计防拆/磁干扰报警"),
    "valve_forced": L(gettext_noop("Valve forced open"), "强制开阀"),
    "wrong_meter": L(gettext_noop("Wrong-meter swipes"), "混刷/错表刷卡"),
    "transfer_at_risk": L(
        gettext_noop("Reissued card carried a meter-change transfer"), "补卡时旧卡带有换表转移"
    ),
    "first_purchase_at_risk": L(
        gettext_noop("Reissued card carries a first purchase not seen taken"),
        "补卡时首次购买未见表计充入",
    ),
}
FLAG_RULES = {
    "tamper": MeterStatus.TAMPER,
    "valve_forced": MeterStatus.VALVE_FORCED,
    "wrong_meter": MeterStatus.WRONG_METER,
}


# -- configuration -----------------------------------------------------------------------------


def _validated(changes: dict[str, Any]) -> dict[str, int]:
    clean: dict[str, int] = {}
    for key, value in changes.items():
        if key not in DEFAULT_RULES:
            raise InvalidInput("bad_rule", _("Unknown rule setting “%(key)s”."), key=key)
        text = str(value).strip()
        if not text.isdigit() or len(text) > 9:
            raise InvalidInput(
                "bad_rule_value",
                _("The rule setting %(key)s must be a whole number ≥ 0, not “%(value)s”."),
                key=key,
                value=text,
            )
        clean[key] = int(text)
    for key in ("recent_months", "trailing_months", "no_purchase_lookback_months"):
        if key in clean and not 1 <= clean[key] <= 24:
            raise InvalidInput(
                "bad_rule_value", _("The rule setting %(key)s must be between 1 and 24."), key=key
            )
    return clean


def effective_rules(overrides: dict[str, Any] | None = None) -> dict[str, int]:
    """Defaults ← settings ``PREPAID_SUSPICIOUS_RULES`` ← stored overrides ← ``overrides``."""
    rules = dict(DEFAULT_RULES)
    rules.update(_validated(getattr(settings, "PREPAID_SUSPICIOUS_RULES", {}) or {}))
    stored = SuspicionRules.objects.order_by("pk").first()
    if stored is not None:
        rules.update(_validated(stored.overrides))
    rules.update(_validated(overrides or {}))
    return rules


@transaction.atomic
def save_rules(operator: Any, changes: dict[str, Any]) -> dict[str, int]:
    """An administrator changes the stored thresholds (audited); returns the effective set."""
    require_admin(operator)
    clean = _validated(changes)
    stored = SuspicionRules.objects.select_for_update(no_key=True).order_by("pk").first()
    if stored is None:
        stored = SuspicionRules(overrides={})
    before = dict(stored.overrides)
    stored.overrides = {**before, **clean}
    stored.updated_by = operator
    stored.updated_at = timezone.now()
    stored.save()
    log_action(operator, "suspicious.rules", stored, before=before, after=stored.overrides)
    return effective_rules()


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    rule: str
    weight: int
    account: str
    period_from: datetime.date
    period_to: datetime.date
    template: str  # English msgid, translated when shown
    params: dict[str, Any]  # numbers, names, dates (``datetime.date``) and labels (``Label``)
    unit: str = ""  # the account's unit (m³, kWh, GJ): the reason's quantities are in it

    def text(self) -> str:
        """The reason in the operator's language, dates as that language writes them in a
        sentence (2026年3月31日 in Chinese, 2026-03-31 in English); the same text on the
        worklist page, in the terminal and in the exported files."""
        params = {key: _in_words(value) for key, value in self.params.items()}
        return (REASON_TEXT_UNIT if self.unit else REASON_TEXT).text() % {
            "account": self.account,
            "unit": self.unit,
            "message": gettext(self.template) % params,
            "start": date_text(self.period_from),
            "end": date_text(self.period_to),
        }

    def label(self) -> str:
        return RULE_LABELS[self.rule].text()

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "label": self.label(),
            "weight": self.weight,
            "account": self.account,
            "unit": self.unit,
            "period_from": self.period_from.isoformat(),
            "period_to": self.period_to.isoformat(),
            "numbers": {key: _in_json(value) for key, value in self.params.items()},
            "message": self.text(),
        }


REASON_TEXT = L(
    gettext_noop("[%(account)s] %(message)s (%(start)s – %(end)s)"),
    "【%(account)s】%(message)s（%(start)s 至 %(end)s）",
)
# The quantities in a reason are in its account's unit, named beside the account.
REASON_TEXT_UNIT = L(
    gettext_noop("[%(account)s (%(unit)s)] %(message)s (%(start)s – %(end)s)"),
    "【%(account)s（%(unit)s）】%(message)s（%(start)s 至 %(end)s）",
)


def date_text(value: datetime.date) -> str:
    """A date inside a sentence of a reason, in the active language."""
    # Translators: a Django date format for dates inside the suspicious-customer reasons;
    # Chinese writes them as the rest of its pages do (Y年n月j日).
    return formats.date_format(value, pgettext("date in a sentence", "Y-m-d"))


def _in_words(value: Any) -> Any:
    if isinstance(value, Label):  # a rule's name, in the language the reason is shown in
        return value.text()
    return date_text(value) if isinstance(value, datetime.date) else value


def _in_json(value: Any) -> Any:
    if isinstance(value, Label):
        return value.text()
    return value.isoformat() if isinstance(value, datetime.date) else value


@dataclass
class Suspect:
    customer_id: int
    user_number: str = ""
    name: str = ""
    phone: str = ""
    address: str = ""
    reasons: list[Reason] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(r.weight for r in self.reasons)

    @property
    def rules(self) -> list[str]:
        return sorted({r.rule for r in self.reasons}, key=RULES.index)


@dataclass
class Analysis:
    as_of: datetime.date
    rules: dict[str, int]
    recent: tuple[datetime.date, datetime.date]
    trailing: tuple[datetime.date, datetime.date]
    suspects: list[Suspect]
    accounts_checked: int


# -- the analysis ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Account:
    """What the rules know of one customer account."""

    id: int
    customer_id: int
    account_id: int
    price_id: int
    before_trailing: bool  # opened before the trailing window: a full history
    before_recent: bool  # opened before the recent window
    trailing_open: int  # months of the trailing window the account was open
    recent_qty: int = 0
    recent_count: int = 0
    trailing_qty: int = 0
    window_count: int = 0
    first_sale: Any = None  # datetime (or the database's text for it)
    last_sale: Any = None
    reasons: list[Reason] = field(default_factory=list)
    unit: str = ""  # of the account's meter type


def analyse(
    as_of: datetime.date | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    refresh: bool = True,
) -> Analysis:
    """Run every rule over every customer account with an active card."""
    rules = effective_rules(overrides)
    as_of = as_of or timezone.localdate()
    if refresh:
        refresh_aggregates()
    current = month_start(as_of)
    recent_start = add_months(current, -rules["recent_months"])
    trailing_start = add_months(recent_start, -rules["trailing_months"])
    gap_day = as_of - datetime.timedelta(days=rules["no_purchase_days"])
    windows = _Windows(
        as_of,
        current,
        recent_start,
        trailing_start,
        rules,
        day_range(as_of)[1],
        timezone.get_current_timezone(),
        _adapt(day_range(gap_day)[1]),
    )
    accounts = _load_accounts(windows)
    _load_purchases(accounts, windows)
    names = dict(Account.objects.values_list("id", "name"))
    units = {
        pk: METER_UNITS[MeterTypeChoice(meter_type)]
        for pk, meter_type in Account.objects.values_list("id", "meter_type")
    }
    price_names = dict(Price.objects.values_list("id", "name"))
    peers = _peer_statistics(accounts.values(), windows)
    for account in accounts.values():
        account.unit = units.get(account.account_id, "")
        label = names.get(account.account_id, str(account.account_id))
        price_peers = peers.get(account.price_id)
        _rule_no_purchase(account, windows, label)
        _rule_own_drop(account, windows, label, price_peers)
        _rule_peer_low(account, windows, label, price_peers, price_names.get(account.price_id, ""))
        _rule_small_purchases(account, windows, label, price_peers)
    _rule_use_vs_purchases(accounts, windows, names)
    _rule_flags(accounts, windows, names)
    _rule_transfer_at_risk(accounts, windows, names)
    _rule_first_purchase_at_risk(accounts, windows, names)
    _rule_revoked_opening(accounts, windows, names)
    suspects = _suspects(accounts.values(), rules["min_score"])
    return Analysis(
        as_of,
        rules,
        (recent_start, windows.recent_end),
        (trailing_start, windows.trailing_end),
        suspects,
        len(accounts),
    )


@dataclass(frozen=True)
class _Windows:
    as_of: datetime.date
    current: datetime.date  # first day of the as-of month
    recent_start: datetime.date
    trailing_start: datetime.date
    rules: dict[str, int]
    end_time: datetime.datetime  # the end of the as-of day
    zone: Any
    gap_since: Any  # last purchases at or after this (database value) are not a long gap

    @property
    def recent_end(self) -> datetime.date:
        return self.current - datetime.timedelta(days=1)

    @property
    def trailing_end(self) -> datetime.date:
        return self.recent_start - datetime.timedelta(days=1)

    def local_date(self, value: Any) -> datetime.date:
        return _datetime(value).astimezone(self.zone).date()


def _start(day: datetime.date) -> Any:
    return _adapt(day_range(day)[0])


def _load_accounts(windows: _Windows) -> dict[int, _Account]:
    """Customer accounts with an active card, with what the windows need of their opening
    (compared in the database: no date arithmetic per row here)."""
    months = windows.rules["trailing_months"]
    open_in = " + ".join(["CASE WHEN ca.opened_at < %s THEN 1 ELSE 0 END"] * months)
    sql = (
        "SELECT ca.id, ca.customer_id, ca.account_id, ca.price_id, "
        "CASE WHEN ca.opened_at < %s THEN 1 ELSE 0 END, "
        "CASE WHEN ca.opened_at < %s THEN 1 ELSE 0 END, "
        f"{open_in} "
        f"FROM {CustomerAccount._meta.db_table} ca "
        "WHERE ca.opened_at < %s AND ca.customer_id IN "
        f"(SELECT customer_id FROM {CustomerCard._meta.db_table} WHERE status = %s)"
    )
    month_ends = [_start(add_months(windows.trailing_start, n + 1)) for n in range(months)]
    params = [
        _start(windows.trailing_start),
        _start(windows.recent_start),
        *month_ends,
        _adapt(windows.end_time),
        CustomerCard.Status.ACTIVE.value,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        pk: _Account(pk, customer, account, price, bool(full), bool(before), int(opened))
        for pk, customer, account, price, full, before, opened in rows
    }


def _load_purchases(accounts: dict[int, _Account], windows: _Windows) -> None:
    table = MonthlyPurchase._meta.db_table
    date = connection.ops.adapt_datefield_value
    sql = (
        "SELECT customer_id, account_id, "
        "SUM(CASE WHEN month >= %s AND month < %s THEN quantity_centi ELSE 0 END), "
        "SUM(CASE WHEN month >= %s AND month < %s THEN sale_count - reversal_count ELSE 0 "
        "END), "
        "SUM(CASE WHEN month >= %s AND month < %s THEN quantity_centi ELSE 0 END), "
        "SUM(sale_count - reversal_count), MIN(first_sale_at), MAX(last_sale_at) "
        f"FROM {table} WHERE month >= %s AND month <= %s GROUP BY customer_id, account_id"
    )
    recent = [date(windows.recent_start), date(windows.current)]
    trailing = [date(windows.trailing_start), date(windows.recent_start)]
    lookback = min(
        windows.trailing_start,
        add_months(windows.current, -windows.rules["no_purchase_lookback_months"]),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*recent, *recent, *trailing, date(lookback), date(windows.current)])
        rows = cursor.fetchall()
    by_key = {(a.customer_id, a.account_id): a for a in accounts.values()}
    end = _adapt(windows.end_time)  # compared with the database's own values, unparsed
    for customer_id, account_id, recent_qty, recent_count, trailing_qty, count, first, last in rows:
        account = by_key.get((customer_id, account_id))
        if account is None:
            continue
        account.recent_qty = int(recent_qty or 0)
        account.recent_count = int(recent_count or 0)
        account.trailing_qty = int(trailing_qty or 0)
        account.window_count = int(count or 0)
        account.first_sale, account.last_sale = first, last
        if last is not None and last >= end:
            # Bought after the analysis date (an as-of in the past): ask the ledger.
            found = LedgerEntry.objects.filter(
                customer_id=customer_id,
                account_id=account_id,
                kind="sale",
                time__lt=end,
            ).aggregate(last=Max("time"))["last"]
            account.last_sale = None if found is None else _adapt(found)


@dataclass
class _Peers:
    customers: int
    seasonal: Fraction  # median of recent/trailing monthly-average ratios
    low: int  # the peer_percentile of the recent quantities of the peers who bought
    median_qty: Fraction
    median_count: Fraction
    median_average: Fraction  # median quantity per purchase


PPM = 1_000_000  # ratios are ranked in millionths: integers sort fast


def _percentile(values: list[Any], percent: int) -> Any:
    """Nearest-rank percentile of sorted ``values`` (exact, no interpolation)."""
    rank = max(1, (percent * len(values) + 99) // 100)
    return values[min(rank, len(values)) - 1]


def _median(values: list[int]) -> Fraction:
    middle = len(values) // 2
    if len(values) % 2:
        return Fraction(values[middle])
    return Fraction(values[middle - 1] + values[middle], 2)


def _ratio(account: _Account, windows: _Windows) -> Fraction | None:
    if account.trailing_qty <= 0 or account.trailing_open <= 0:
        return None
    return Fraction(
        account.recent_qty * account.trailing_open,
        windows.rules["recent_months"] * account.trailing_qty,
    )


def _ratio_ppm(account: _Account, windows: _Windows) -> int | None:
    if account.trailing_qty <= 0 or account.trailing_open <= 0:
        return None
    return (
        account.recent_qty
        * account.trailing_open
        * PPM
        // (windows.rules["recent_months"] * account.trailing_qty)
    )


def _peer_statistics(accounts: Any, windows: _Windows) -> dict[int, _Peers]:
    groups: dict[int, list[_Account]] = defaultdict(list)
    for account in accounts:
        if account.before_recent:
            groups[account.price_id].append(account)
    minimum = max(1, windows.rules["peer_min_customers"])
    statistics = {}
    for price_id, members in groups.items():
        if len(members) < minimum:
            continue
        quantities = sorted(a.recent_qty for a in members)
        bought = [q for q in quantities if q > 0] or [0]
        ratios = sorted(
            r for a in members if a.before_trailing and (r := _ratio_ppm(a, windows)) is not None
        )
        buyers = [a for a in members if a.recent_count > 0]
        counts = sorted(a.recent_count for a in buyers)
        averages = sorted(a.recent_qty * 1000 // a.recent_count for a in buyers)
        statistics[price_id] = _Peers(
            customers=len(members),
            seasonal=_median(ratios) / PPM if len(ratios) >= minimum else Fraction(1),
            low=_percentile(bought, windows.rules["peer_percentile"]),
            median_qty=_median(quantities),
            median_count=_median(counts) if counts else Fraction(0),
            median_average=_median(averages) / 1000 if averages else Fraction(0),
        )
    return statistics


def _q(value: Fraction | int) -> str:
    """A quantity in centi-units (exact fraction) as a two-decimal text."""
    value = Fraction(value)
    return format_centi(round_half_up(value.numerator, value.denominator))


def _pct(value: Fraction) -> str:
    """A ratio as a whole percentage, rounded half up as every figure is (12.5 % is 13)."""
    return str(round_half_up(value.numerator * 100, value.denominator))


def _days(value: Fraction) -> str:
    """A number of days (or purchases) with one decimal, rounded half up (12.25 is 12.3)."""
    return str(Decimal(round_half_up(value.numerator * 10, value.denominator)).scaleb(-1))


def _reason(
    account: _Account,
    rule: str,
    label: str,
    period: tuple[datetime.date, datetime.date],
    template: str,
    rules: dict[str, int],
    **params: Any,
) -> None:
    account.reasons.append(
        Reason(
            rule,
            rules[f"weight_{rule}"],
            label,
            period[0],
            period[1],
            template,
            params,
            account.unit,
        )
    )


def _rule_no_purchase(account: _Account, windows: _Windows, label: str) -> None:
    rules = windows.rules
    if (
        account.last_sale is None
        or account.first_sale is None
        or account.window_count < max(2, rules["no_purchase_min_purchases"])
        or account.last_sale >= windows.gap_since  # bought recently: nothing to parse
    ):
        return
    last = windows.local_date(account.last_sale)
    days = (windows.as_of - last).days
    span = _datetime(account.last_sale) - _datetime(account.first_sale)
    interval = Fraction(span.days, account.window_count - 1)
    if (
        days < rules["no_purchase_days"]
        or days * 100 < rules["no_purchase_interval_pct"] * interval
    ):
        return
    _reason(
        account,
        "no_purchase",
        label,
        (last, windows.as_of),
        gettext_noop(
            "No purchase for %(days)s days since %(last)s, after %(count)s purchases about "
            "every %(interval)s days."
        ),
        rules,
        days=days,
        last=last,
        count=account.window_count,
        interval=_days(interval),
    )


def _rule_own_drop(account: _Account, windows: _Windows, label: str, peers: _Peers | None) -> None:
    rules = windows.rules
    opened = account.trailing_open
    if (
        account.trailing_qty <= 0
        or opened < max(1, rules["drop_min_open_months"])
        or not account.before_recent
        or account.trailing_qty < rules["drop_min_trailing_centi"] * opened
    ):
        return
    seasonal = peers.seasonal if peers is not None and peers.seasonal > 0 else Fraction(1)
    # recent/trailing averages ÷ seasonal < pct/100, in integers:
    if (
        account.recent_qty * opened * 100 * seasonal.denominator
        >= rules["drop_ratio_pct"]
        * seasonal.numerator
        * rules["recent_months"]
        * account.trailing_qty
    ):
        return
    ratio = _ratio(account, windows)
    assert ratio is not None
    adjusted = ratio / seasonal
    trailing_average = Fraction(account.trailing_qty, opened)
    _reason(
        account,
        "own_drop",
        label,
        (windows.recent_start, windows.recent_end),
        gettext_noop(
            "Bought %(recent)s a month in the recent months, %(pct)s%% of the customer's own "
            "%(trailing)s a month from %(trailing_from)s to %(trailing_to)s (peers on the "
            "same price bought %(season)s%% of their own average: the season)."
        ),
        rules,
        recent=_q(Fraction(account.recent_qty, rules["recent_months"])),
        pct=_pct(adjusted),
        trailing=_q(trailing_average),
        trailing_from=windows.trailing_start,
        trailing_to=windows.trailing_end,
        season=_pct(seasonal),
    )


def _rule_peer_low(
    account: _Account, windows: _Windows, label: str, peers: _Peers | None, price: str
) -> None:
    rules = windows.rules
    if peers is None or not account.before_recent:
        return
    if account.recent_qty > peers.low:
        return
    if account.recent_qty * 100 >= rules["peer_median_pct"] * peers.median_qty:
        return
    _reason(
        account,
        "peer_low",
        label,
        (windows.recent_start, windows.recent_end),
        gettext_noop(
            "Bought %(recent)s in the recent months; the %(peers)s customers on the price "
            "%(price)s bought %(median)s (median); the lowest %(percentile)s%% of those "
            "who bought, at most %(low)s."
        ),
        rules,
        recent=_q(account.recent_qty),
        peers=peers.customers,
        price=price,
        median=_q(peers.median_qty),
        percentile=rules["peer_percentile"],
        low=_q(peers.low),
    )


def _rule_small_purchases(
    account: _Account, windows: _Windows, label: str, peers: _Peers | None
) -> None:
    rules = windows.rules
    if peers is None or account.recent_count < rules["small_min_purchases"]:
        return
    if account.recent_count * 100 < rules["small_count_factor_pct"] * peers.median_count:
        return
    average = Fraction(account.recent_qty, account.recent_count)
    if average * 100 > rules["small_quantity_pct"] * peers.median_average:
        return
    _reason(
        account,
        "small_purchases",
        label,
        (windows.recent_start, windows.recent_end),
        gettext_noop(
            "%(count)s purchases of %(average)s on average in the recent months; peers on "
            "the same price made %(peer_count)s purchases of %(peer_average)s (medians)."
        ),
        rules,
        count=account.recent_count,
        average=_q(average),
        peer_count=_days(peers.median_count),
        peer_average=_q(peers.median_average),
    )


# -- rules on the meters' write-backs ---------------------------------------------------------

_UNEXPLAINED = """
SELECT customer_account_id, SUM(unexplained_centi)
FROM {table}
WHERE unexplained_centi <> 0 AND meter_time >= %s AND meter_time < %s
  AND customer_account_id IS NOT NULL
GROUP BY customer_account_id
"""

_READINGS = """
SELECT customer_account_id, COUNT(*), SUM(use_centi), MIN(meter_time), MAX(meter_time)
FROM {table}
WHERE meter_time >= %s AND meter_time < %s AND customer_account_id IN ({ids})
GROUP BY customer_account_id
"""

_FLAGS = """
SELECT customer_account_id,
       SUM(CASE WHEN (status & {tamper}) <> 0 THEN 1 ELSE 0 END),
       MIN(CASE WHEN (status & {tamper}) <> 0 THEN meter_time END),
       SUM(CASE WHEN (status & {valve}) <> 0 THEN 1 ELSE 0 END),
       MIN(CASE WHEN (status & {valve}) <> 0 THEN meter_time END),
       SUM(CASE WHEN (status & {wrong}) <> 0 THEN 1 ELSE 0 END),
       MIN(CASE WHEN (status & {wrong}) <> 0 THEN meter_time END)
FROM {table}
WHERE meter_time >= %s AND meter_time < %s AND customer_account_id IS NOT NULL
  AND (status & {any}) <> 0
GROUP BY customer_account_id
"""


def _datetime(value: Any) -> datetime.datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None, value
        value = parsed
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return value


def _adapt(value: datetime.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _rule_use_vs_purchases(
    accounts: dict[int, _Account], windows: _Windows, names: dict[int, str]
) -> None:
    """Sum the differences each reading left unexplained (stored when it was read); only
    the meters with any are looked at further (a partial index finds them)."""
    rules = windows.rules
    table = WriteBackObservation._meta.db_table
    bounds = [_adapt(day_range(windows.trailing_start)[0]), _adapt(windows.end_time)]
    with connection.cursor() as cursor:
        cursor.execute(_UNEXPLAINED.format(table=table), bounds)
        totals = {pk: int(total) for pk, total in cursor.fetchall() if pk in accounts and total}
        ids = sorted(totals)
        readings = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor.execute(
                _READINGS.format(table=table, ids=", ".join(["%s"] * len(chunk))), [*bounds, *chunk]
            )
            readings.extend(cursor.fetchall())
    for pk, count, use, first, last in readings:
        unexplained = totals[pk]
        use = int(use or 0)
        tolerance = max(
            rules["use_tolerance_centi"],
            round_half_up(rules["use_tolerance_pct"] * max(use, 0), 100),
        )
        if abs(unexplained) <= tolerance:
            continue
        account = accounts[pk]
        _reason(
            account,
            "use_vs_purchases",
            names.get(account.account_id, ""),
            (windows.local_date(first), windows.local_date(last)),
            gettext_noop(
                "Over %(readings)s readings the meter reported %(use)s used; "
                "%(unexplained)s of it is explained neither by the credit written "
                "to the card nor by the change of the meter's balance."
            ),
            rules,
            readings=count,
            use=format_centi(use),
            unexplained=format_centi(unexplained),
        )


def _rule_flags(accounts: dict[int, _Account], windows: _Windows, names: dict[int, str]) -> None:
    rules = windows.rules
    start = day_range(windows.recent_start)[0]
    sql = _FLAGS.format(
        table=WriteBackObservation._meta.db_table,
        tamper=int(MeterStatus.TAMPER),
        valve=int(MeterStatus.VALVE_FORCED),
        wrong=int(MeterStatus.WRONG_METER),
        any=int(MeterStatus.TAMPER | MeterStatus.VALVE_FORCED | MeterStatus.WRONG_METER),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_adapt(start), _adapt(windows.end_time)])
        rows = cursor.fetchall()
    for pk, *counts in rows:
        account = accounts.get(pk)
        if account is None:
            continue
        for index, rule in enumerate(("tamper", "valve_forced", "wrong_meter")):
            count, first = counts[2 * index], counts[2 * index + 1]
            if not count:
                continue
            since = windows.local_date(first)
            _reason(
                account,
                rule,
                names.get(account.account_id, ""),
                (since, windows.as_of),
                gettext_noop(
                    "The meter reported “%(flag)s” on %(count)s readings since %(since)s."
                ),
                rules,
                flag=RULE_LABELS[rule],
                count=count,
                since=since,
            )


def _recycled_since(card: str, time: Any, end: Any) -> bool:
    """Whether the card ``card`` was recycled or formatted from ``time`` on (before ``end``):
    what it carried is gone."""
    return CardOperation.objects.filter(
        kind__in=(CardOperation.Kind.RECYCLE, CardOperation.Kind.FORMAT),
        details__previous_serial=card,  # formatting gives the card a new serial
        time__gte=time,
        time__lt=end,
    ).exists()


def _rule_transfer_at_risk(
    accounts: dict[int, _Account], windows: _Windows, names: dict[int, str]
) -> None:
    """Reissues that left a meter-change transfer on the revoked card, that card not
    recycled or formatted since (a reissue records its transfers at risk: few rows)."""
    start, end = day_range(windows.trailing_start)[0], windows.end_time
    reissues = CardOperation.objects.filter(
        kind=CardOperation.Kind.REISSUE, time__gte=start, time__lt=end
    ).values_list("customer_id", "time", "details")
    by_key = {(a.customer_id, a.account_id): a for a in accounts.values()}
    sub_meters = dict(Account.objects.values_list("sub_meter", "id"))
    for customer_id, time, details in reissues:
        revoked = details.get("revoked")
        if not details.get("transfers_at_risk") or not revoked:
            continue
        if _recycled_since(revoked, time, end):
            continue
        day = windows.local_date(time)
        for transfer in details["transfers_at_risk"]:
            account = by_key.get((customer_id, sub_meters.get(transfer["sub_meter"])))
            if account is None:
                continue
            _reason(
                account,
                "transfer_at_risk",
                names.get(account.account_id, ""),
                (day, windows.as_of),
                gettext_noop(
                    "Reissued on %(day)s: the revoked card %(card)s still carried "
                    "meter-change transfer %(serial)s of %(quantity)s, which no meter was known "
                    "to have taken, and it has not been recycled since; a second new meter "
                    "would take the transfer from it too."
                ),
                windows.rules,
                day=day,
                card=revoked,
                serial=transfer["serial"],
                quantity=transfer["quantity"],
            )


# A customer account's purchase 1 or 2 as written: serial, kind, status, quantity, written at.
_Early = tuple[int, str, str, int, datetime.datetime]


def _early_purchases(ids: list[int]) -> dict[int, list[_Early]]:
    """Purchases 1 and 2 of these customer accounts, completed or corrected: whether a card
    written at some moment carried the first purchase, and which quantity."""
    written: dict[int, list[_Early]] = defaultdict(list)
    for pk, *row in Purchase.objects.filter(
        customer_account_id__in=ids,
        serial__lte=2,
        status__in=(Purchase.Status.COMPLETED, Purchase.Status.CORRECTED),
    ).values_list(
        "customer_account_id", "serial", "kind", "status", "quantity_centi", "created_at"
    ):
        written[pk].append(tuple(row))  # type: ignore[arg-type]
    return written


def _opening_carried(written: list[_Early], time: Any) -> int | None:
    """The quantity of the first purchase (the opening) a card written at ``time`` carried as
    the account's last purchase; None when it carried none, or a later one."""
    before = [row for row in written if row[4] < time]
    if {serial for serial, *_rest in before} != {1}:
        return None  # opened after that moment, or a later purchase on the card
    # the opening as the card carried it (corrected before then: the correction)
    opening = [row for row in before if row[2] == Purchase.Status.COMPLETED]
    if not opening or opening[0][1] != Purchase.Kind.PURCHASE:
        return None
    return opening[0][3]


def _rule_first_purchase_at_risk(
    accounts: dict[int, _Account], windows: _Windows, names: dict[int, str]
) -> None:
    """Reissues whose new card carries the customer's first purchase unmarked (a reissue
    marks a slot taken only when a write-back it read shows it applied:
    ``vending.services._taken_on_earlier_cards``), and no write-back or check-card reading
    read up to the analysis's end shows it applied. A first purchase, like a transfer, is
    credited by any set, not yet bound meter of the account (DESIGN §4): a spare meter would
    credit it too. One reason per customer account, for the customer's latest reissue in the
    windows (reissues are few). The card the reissue revoked: :func:`_rule_revoked_opening`."""
    start, end = day_range(windows.trailing_start)[0], windows.end_time
    reissued = {
        customer_id: (time, card)  # the latest in the windows
        for customer_id, time, card in CardOperation.objects.filter(
            kind=CardOperation.Kind.REISSUE, time__gte=start, time__lt=end
        )
        .order_by("time", "pk")
        .values_list("customer_id", "time", "card_serial")
    }
    candidates = [a for a in accounts.values() if a.customer_id in reissued]
    if not candidates:
        return
    ids = [a.id for a in candidates]
    seen = set(
        WriteBackObservation.objects.filter(
            customer_account_id__in=ids, last_serial__gte=1, observed_at__lt=end
        ).values_list("customer_account_id", flat=True)
    )
    written = _early_purchases([pk for pk in ids if pk not in seen])
    for account in candidates:
        time, card = reissued[account.customer_id]
        quantity = _opening_carried(written.get(account.id, []), time)
        if quantity is None:
            continue  # seen taken, or not the opening the new card carries
        day = windows.local_date(time)
        _reason(
            account,
            "first_purchase_at_risk",
            names.get(account.account_id, ""),
            (day, windows.as_of),
            gettext_noop(
                "Reissued on %(day)s: the new card %(card)s carries first purchase %(serial)s "
                "of %(quantity)s, which no meter was known to have taken, and no meter "
                "write-back read since shows it taken; a spare meter that is set and not yet "
                "bound would credit it too."
            ),
            windows.rules,
            day=day,
            card=card,
            serial=1,
            quantity=format_centi(quantity),
        )


def _rule_revoked_opening(
    accounts: dict[int, _Account], windows: _Windows, names: dict[int, str]
) -> None:
    """``first_purchase_at_risk`` of the card a reissue revoked: it carried the customer's
    first purchase as its last, in a slot unmarked as far as the office knows — written
    unmarked (by the opening, or by a reissue that had seen no meter take it: that reissue's
    ``details.taken``), and no meter write-back read from that card before the reissue showed
    it taken (a meter's record on the card makes a spare refuse it, E12) — and the card has
    not been recycled or formatted since. A spare meter, set and not yet bound, would credit
    it from that card; seeing the new card's copy taken changes nothing for it. One reason per
    such reissue and customer account (reissues are few)."""
    end = windows.end_time
    reissues = _revoked_cards(accounts, windows)
    if not reissues:
        return
    cards = {card for _customer, _time, card in reissues}
    customers = {customer_id for customer_id, _time, _card in reissues}
    candidates = [a for a in accounts.values() if a.customer_id in customers]
    written = _early_purchases([a.id for a in candidates])
    marked = {  # (card, sub-meter, serial) written marked taken by the reissue that made it
        (card, mark["sub_meter"], mark["serial"])
        for card, details in CardOperation.objects.filter(
            kind=CardOperation.Kind.REISSUE, card_serial__in=cards
        ).values_list("card_serial", "details")
        for mark in details.get("taken", [])
    }
    first_seen: dict[tuple[str, int], Any] = {}  # (card, customer account): first read taken
    for card, pk, observed in WriteBackObservation.objects.filter(
        source=WriteBackObservation.Source.USER_CARD,
        card_serial__in=cards,
        customer_account_id__in=[a.id for a in candidates],
        last_serial__gte=1,
        observed_at__lt=end,
    ).values_list("card_serial", "customer_account_id", "observed_at"):
        first_seen[card, pk] = min(first_seen.get((card, pk), observed), observed)
    sub_meters = dict(Account.objects.values_list("id", "sub_meter"))
    for customer_id, time, card in reissues:
        for account in (a for a in candidates if a.customer_id == customer_id):
            quantity = _opening_carried(written.get(account.id, []), time)
            seen = first_seen.get((card, account.id))
            if (
                quantity is None
                or (card, sub_meters.get(account.account_id), 1) in marked
                or (seen is not None and seen < time)
            ):
                continue
            day = windows.local_date(time)
            _reason(
                account,
                "first_purchase_at_risk",
                names.get(account.account_id, ""),
                (day, windows.as_of),
                gettext_noop(
                    "Reissued on %(day)s: the revoked card %(card)s still carries first "
                    "purchase %(serial)s of %(quantity)s, which no meter write-back read from "
                    "that card before the reissue showed taken, and it has not been recycled "
                    "since; a spare meter that is set and not yet bound would credit it from "
                    "that card too."
                ),
                windows.rules,
                day=day,
                card=card,
                serial=1,
                quantity=format_centi(quantity),
            )


def _revoked_cards(accounts: dict[int, _Account], windows: _Windows) -> list[tuple[int, Any, str]]:
    """The reissues in the windows of customers with an active card that revoked a card not
    recycled or formatted since: customer, time, revoked card (reissues are few)."""
    start, end = day_range(windows.trailing_start)[0], windows.end_time
    customers = {a.customer_id for a in accounts.values()}
    reissues = [
        (customer_id, time, details["revoked"])
        for customer_id, time, details in CardOperation.objects.filter(
            kind=CardOperation.Kind.REISSUE, time__gte=start, time__lt=end
        ).values_list("customer_id", "time", "details")
        if customer_id in customers and details.get("revoked")
    ]
    emptied: dict[str, list[Any]] = defaultdict(list)  # card: when it was recycled or formatted
    for card, time in CardOperation.objects.filter(
        kind__in=(CardOperation.Kind.RECYCLE, CardOperation.Kind.FORMAT),
        details__previous_serial__in=sorted({card for _c, _t, card in reissues}),
        time__gte=start,
        time__lt=end,
    ).values_list("details__previous_serial", "time"):
        emptied[card].append(time)
    return [
        (customer_id, time, card)
        for customer_id, time, card in reissues
        if not any(moment >= time for moment in emptied.get(card, ()))
    ]


def _suspects(accounts: Any, min_score: int) -> list[Suspect]:
    by_customer: dict[int, Suspect] = {}
    for account in accounts:
        if account.reasons:
            suspect = by_customer.setdefault(account.customer_id, Suspect(account.customer_id))
            suspect.reasons.extend(account.reasons)
    suspects = [s for s in by_customer.values() if s.score >= max(1, min_score)]
    ids = [s.customer_id for s in suspects]
    for start in range(0, len(ids), 5000):  # stay under the database's parameter limit
        details = Customer.objects.filter(pk__in=ids[start : start + 5000]).values_list(
            "id", "user_number", "name", "phone", "address"
        )
        for pk, number, name, phone, address in details:
            suspect = by_customer[pk]
            suspect.user_number, suspect.name, suspect.phone, suspect.address = (
                number,
                name,
                phone,
                address,
            )
    for suspect in suspects:
        suspect.reasons.sort(key=lambda r: (-r.weight, RULES.index(r.rule)))
    suspects.sort(key=lambda s: (-s.score, -len(s.reasons), s.user_number))
    return suspects


# -- the worklist as a report ---------------------------------------------------------------

TITLE = L(gettext_noop("Suspicious customers"), "可疑用户")
COLUMNS = [
    Column("rank", L(gettext_noop("Rank"), "序号"), t.INT),
    Column("score", L(gettext_noop("Score"), "可疑分值"), t.INT),
    Column("user_number", L(gettext_noop("User number"), "用户编号")),
    Column("customer", L(gettext_noop("Customer"), "用户名称")),
    Column("phone", L(gettext_noop("Phone"), "联系电话")),
    Column("address", L(gettext_noop("Address"), "地址")),
    Column("rules", L(gettext_noop("Rules"), "可疑类型")),
    Column("reasons", L(gettext_noop("Reasons"), "原因及数据")),
]
F_AS_OF = L(gettext_noop("As of"), "分析日期")
F_RECENT = L(gettext_noop("Recent months"), "近期")
F_TRAILING = L(gettext_noop("Trailing months"), "对比期")
F_RULES = L(gettext_noop("Thresholds"), "阈值")


def thresholds_text(rules: dict[str, int]) -> str:
    """The thresholds a run used, as the report's header says them: the ones that differ
    from the defaults (``no_purchase_days=90``, as ``--rule`` takes them), or "defaults"."""
    changed = [f"{k}={v}" for k, v in sorted(rules.items()) if DEFAULT_RULES.get(k) != v]
    if not changed:
        return gettext("defaults")
    return gettext("defaults, but %(changed)s") % {
        "changed": pgettext("list separator", ", ").join(changed)
    }


def worklist(
    analysis: Analysis, *, page: int = 1, page_size: int | None = t.DEFAULT_PAGE_SIZE
) -> Table:
    """The analysis as a report table: one row per customer, reasons in one cell."""
    rows = [
        {
            "rank": rank,
            "score": s.score,
            "user_number": s.user_number,
            "customer": s.name,
            "phone": s.phone,
            "address": s.address,
            "rules": pgettext("list separator", ", ").join(RULE_LABELS[r].text() for r in s.rules),
            "reasons": "\n".join(r.text() for r in s.reasons),
            "suspect": s,
        }
        for rank, s in enumerate(analysis.suspects, start=1)
    ]
    filters: list[tuple[Label, str]] = [
        (F_AS_OF, analysis.as_of.isoformat()),
        (F_RECENT, f"{analysis.recent[0]} – {analysis.recent[1]}"),
        (F_TRAILING, f"{analysis.trailing[0]} – {analysis.trailing[1]}"),
        (F_RULES, thresholds_text(analysis.rules)),
    ]
    page, size = t.page_bounds(page, page_size)
    if size is not None:
        rows_page = rows[(page - 1) * size : page * size]
    else:
        rows_page = rows
    return Table(
        TITLE,
        COLUMNS,
        rows_page,
        count=len(rows),
        page=page,
        page_size=size,
        filters=filters,
        extra={"analysis": analysis},
    )


def analysis_document(analysis: Analysis) -> dict[str, Any]:
    return {
        "as_of": analysis.as_of.isoformat(),
        "recent": [d.isoformat() for d in analysis.recent],
        "trailing": [d.isoformat() for d in analysis.trailing],
        "rules": analysis.rules,
        "accounts_checked": analysis.accounts_checked,
        "count": len(analysis.suspects),
        "customers": [
            {
                "rank": rank,
                "user_number": s.user_number,
                "name": s.name,
                "phone": s.phone,
                "address": s.address,
                "score": s.score,
                "rules": s.rules,
                "reasons": [r.to_json() for r in s.reasons],
            }
            for rank, s in enumerate(analysis.suspects, start=1)
        ],
    }

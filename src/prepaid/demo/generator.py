"""``prepaid demo``: months of an office's life, played through the real services.

Households register, get cards, buy water, electricity and gas at several stations from
several operators, swipe their cards on simulated meters (``prepaid.core.meter``) that use
what the season and the household size say, and come back when the meter's alarm closes the
valve. Along the way: price adjustments, corrections, cards pulled out mid-write (voided or
restored), lost cards reissued, broken meters changed, households moving away (cards
recycled), shifts closed every evening with the cash counted — and a few planted anomalies,
listed in the result (and in the ``--anomalies`` file) for the suspicious-customer tests.

Every sale goes through ``prepaid.vending.services``; cards live in a temporary virtual card
store (on ``/dev/shm`` when there is one: thousands of card writes, each one fsynced);
time is the simulated clock of :mod:`prepaid.demo.clock`. The generator keeps its own record
of the money it took (:class:`DemoRecord`), independent of the ledger, for the tests.

Randomness is integer-only (``random.Random`` seeded; ``randint``/``choice``), so the same
seed gives the same history; quantities and money are integers of centi-units and fen.
"""

from __future__ import annotations

import datetime
import random
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from prepaid.accounts.models import Account, Price
from prepaid.core.errors import PrepaidError, _
from prepaid.core.meter import Meter
from prepaid.core.money import format_fen
from prepaid.customers.models import Customer
from prepaid.demo.clock import SimulatedClock, simulated_now
from prepaid.operators.models import Operator
from prepaid.readers.virtual import CardStore

PROGRESS = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PricePlan:
    name: str
    unit_price: str | None = None
    tiers: str | None = None
    period: str | None = None
    business: bool = False
    share_pct: int = 100  # of the households (of its kind) that take this price


@dataclass(frozen=True)
class Utility:
    key: str
    sub_meter: int
    name: str
    limit: str
    prestore: str
    alarm: str
    overdraft: str
    maintenance_code: str
    daily_centi: int  # what a household of three uses a day
    season: tuple[int, ...]  # per mille of the daily use, January … December
    estimate_hao: int  # a unit price to turn quantities into round amounts
    share_pct: int  # of the households that have this utility
    prices: tuple[PricePlan, ...]


UTILITIES = (
    Utility(
        "water",
        1,
        "自来水",
        "100",
        "5",
        "5",
        "3",
        "1234",
        36,
        (900, 900, 950, 1000, 1100, 1200, 1300, 1300, 1100, 1000, 950, 900),
        34500,
        100,
        (
            PricePlan("居民用水", unit_price="3.45", share_pct=75),
            PricePlan(
                "阶梯水价", tiers="0-180:3.45,180-260:4.83,260-:5.83", period="year", share_pct=25
            ),
            PricePlan("商业用水", unit_price="5.80", business=True),
        ),
    ),
    Utility(
        "electricity",
        2,
        "电",
        "2000",
        "10",
        "20",
        "10",
        "5678",
        900,
        (1200, 1100, 950, 900, 950, 1200, 1400, 1400, 1100, 900, 950, 1150),
        5383,
        65,
        (
            PricePlan(
                "居民阶梯电价", tiers="0-2160:0.4883,2160-4200:0.5383,4200-:0.7883", period="year"
            ),
            PricePlan("商业用电", unit_price="0.8000", business=True),
        ),
    ),
    Utility(
        "gas",
        3,
        "天然气",
        "300",
        "5",
        "5",
        "3",
        "2468",
        80,
        (1500, 1400, 1200, 1000, 800, 650, 600, 600, 700, 900, 1200, 1400),
        25300,
        25,
        (
            PricePlan("居民用气", unit_price="2.53"),
            PricePlan("商业用气", unit_price="3.10", business=True),
        ),
    ),
)
WATER = 1
ELECTRICITY = 2
PAYMENTS = (("cash", 55), ("wechat", 25), ("alipay", 15), ("bank_card", 5))
REISSUE_FEE = "10.00"
ADJUSTED_WATER_PRICE = "3.65"  # 居民用水 from the middle of the history on

# Planted anomalies: kind → the suspicious-customer rules expected to find it.
ANOMALY_RULES: dict[str, tuple[str, ...]] = {
    "stopped_buying": ("no_purchase",),
    "usage_drop": ("own_drop",),
    "low_use": ("peer_low",),
    "small_purchases": ("small_purchases",),
    "meter_tamper": ("tamper",),
    "valve_forced": ("valve_forced",),
    "wrong_meter": ("wrong_meter",),
    "unexplained_credit": ("use_vs_purchases",),
}
# Days before the end of the history at which each anomaly starts (None: from the start).
ANOMALY_START_DAYS = {
    "stopped_buying": 150,
    "usage_drop": 150,
    "low_use": None,
    "small_purchases": 130,
    "meter_tamper": 110,
    "valve_forced": 110,
    "wrong_meter": 105,
    "unexplained_credit": 120,
}


@dataclass(frozen=True)
class DemoConfig:
    customers: int = 60
    months: int = 12
    seed: int = 1
    stations: int = 3
    end: datetime.date | None = None  # last day played (default: yesterday)
    anomaly_pct: int = 12  # of the households, at least one of each kind when possible
    card_root: Path | None = None  # where the temporary card store goes
    # The data directory's card store and meters, given the households' cards (named by user
    # number) and meters (user number and sub-meter number) at the end, so that the office can
    # go on selling to them (the demo itself works on a temporary store).
    cards_to: Path | None = None
    meters_to: Path | None = None


@dataclass
class DemoRecord:
    """What the demo did, counted by the demo itself (not read back from the ledger)."""

    money_fen: int = 0
    sales: int = 0  # purchases completed (openings and sales), corrections not counted
    quantity_by_account: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    takings_by_day: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    takings_by_operator: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    takings_by_payment: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reissues: list[dict[str, Any]] = field(default_factory=list)
    meter_changes: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    voided: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    variances: list[dict[str, Any]] = field(default_factory=list)
    recycled: list[str] = field(default_factory=list)
    swipes: int = 0
    write_backs: int = 0

    def take(
        self,
        when: datetime.datetime,
        operator: str,
        payment: str,
        amount_fen: int,
        account_id: int | None = None,
        quantity_centi: int = 0,
    ) -> None:
        self.money_fen += amount_fen
        self.takings_by_day[timezone.localtime(when).date().isoformat()] += amount_fen
        self.takings_by_operator[operator] += amount_fen
        self.takings_by_payment[payment] += amount_fen
        if account_id is not None:
            self.quantity_by_account[account_id] += quantity_centi


@dataclass
class DemoResult:
    start: datetime.date
    end: datetime.date
    as_of: datetime.date  # the day after the history: analyse as of this day
    seed: int
    customers: int
    record: DemoRecord
    anomalies: list[dict[str, Any]]
    operators: list[str]
    stations: list[str]

    def to_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "operators": self.operators,
            "stations": self.stations,
            "anomalies": self.anomalies,
            "record": {
                "money": format_fen(record.money_fen),
                "money_fen": record.money_fen,
                "sales": record.sales,
                "swipes": record.swipes,
                "write_backs": record.write_backs,
                "quantity_by_account": {
                    str(k): v for k, v in sorted(record.quantity_by_account.items())
                },
                "takings_by_day": dict(sorted(record.takings_by_day.items())),
                "takings_by_operator": dict(sorted(record.takings_by_operator.items())),
                "takings_by_payment": dict(sorted(record.takings_by_payment.items())),
                "reissues": record.reissues,
                "meter_changes": record.meter_changes,
                "corrections": record.corrections,
                "voided": record.voided,
                "restored": record.restored,
                "pending": record.pending,
                "variances": record.variances,
                "recycled": record.recycled,
            },
        }


@dataclass
class Home:
    """One utility of a household: its account, price and meter."""

    utility: Utility
    account: Account
    price: Price
    meter: Meter
    daily_centi: int
    purchase_days: int
    habit: str  # quantity | amount
    factor_pct: int = 100
    unswiped: bool = False
    swipe_on: datetime.date | None = None
    visit_on: datetime.date | None = None
    changes: int = 0


@dataclass
class Household:
    index: int
    name: str
    phone: str
    address: str
    size: int
    business: bool
    joins: datetime.date
    station: int
    payment: str
    utilities: tuple[int, ...]
    customer: Customer | None = None
    card: str | None = None
    homes: dict[int, Home] = field(default_factory=dict)
    anomaly: str | None = None
    anomaly_from: datetime.date | None = None
    vacation: tuple[datetime.date, datetime.date] | None = None
    leaves: datetime.date | None = None
    reissue_on: datetime.date | None = None
    meter_change_on: datetime.date | None = None
    small_next: datetime.date | None = None
    gone: bool = False

    @property
    def user_number(self) -> str:
        return self.customer.user_number if self.customer else ""


class DemoError(PrepaidError):
    """The demo cannot run here."""


def generate(
    admin: Operator, site_key: bytes, config: DemoConfig, progress: PROGRESS | None = None
) -> DemoResult:
    """Play the history. The database should hold no customers yet (see ``check_empty``)."""
    from prepaid.demo.office import Office

    check_empty()
    end = config.end or (timezone.localdate() - datetime.timedelta(days=1))
    start = _months_before(end, config.months) + datetime.timedelta(days=1)
    root = Path(tempfile.mkdtemp(prefix="prepaid-demo-", dir=_card_dir(config)))
    try:
        store = CardStore(root / "cards")
        store.root.mkdir()
        clock = SimulatedClock(_at(start, 8, 0))
        with simulated_now(clock):
            office = Office(admin, site_key, config, store, clock, start, end)
            office.run(progress)
            office.hand_over(config.cards_to, config.meters_to)
            return office.result()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def check_empty() -> None:
    if Customer.objects.exists() or Account.objects.exists():
        raise DemoError(
            "demo_needs_empty_database",
            _(
                "The demo builds a whole office and needs a database without "
                "customers or accounts: run it on a fresh data directory "
                "(prepaid init)."
            ),
        )


def _card_dir(config: DemoConfig) -> str | None:
    if config.card_root is not None:
        return str(config.card_root)
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and _writable(shm) else None


def _writable(path: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def _months_before(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    last = (datetime.date(year + (month == 12), month % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(
        datetime.datetime(day.year, day.month, day.day, hour, minute),
        timezone.get_current_timezone(),
    )


def weighted(rng: random.Random, choices: tuple[tuple[Any, int], ...]) -> Any:
    total = sum(weight for _, weight in choices)
    pick = rng.randint(1, total)
    for value, weight in choices:
        pick -= weight
        if pick <= 0:
            return value
    return choices[-1][0]


def key_maker(seed: int) -> Callable[[str], str]:
    counter = iter(range(1, 10**9))

    def make(kind: str) -> str:
        return f"demo{seed}-{kind}-{next(counter)}"

    return make

"""The simulated office of the demo: households, stations, operators, meters, one day at a time.

A day: scheduled events in the morning (registrations, reissues, meter changes, households
moving away, anomalies starting), then the visits of households whose meter closed its valve
at the alarm level, each at its usual station; shifts closed in the late afternoon with the
cash counted; cards swiped at home in the evening (the meter writes back); the night's
consumption. See :mod:`prepaid.demo.generator` for the whole picture.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Any

from prepaid.accounts import services as accounts
from prepaid.cards.services import format_card, make_tool_card, recycle_card
from prepaid.core.card import codec
from prepaid.core.card.model import MeterStatus
from prepaid.core.errors import PrepaidError, ReaderError
from prepaid.core.meter import Meter, new_meter
from prepaid.core.money import format_centi, format_fen
from prepaid.customers.services import register_customer
from prepaid.demo import people
from prepaid.demo.clock import SimulatedClock
from prepaid.demo.generator import (
    ADJUSTED_WATER_PRICE,
    ANOMALY_RULES,
    ANOMALY_START_DAYS,
    ELECTRICITY,
    PAYMENTS,
    PROGRESS,
    REISSUE_FEE,
    UTILITIES,
    WATER,
    DemoConfig,
    DemoRecord,
    DemoResult,
    Home,
    Household,
    PricePlan,
    Utility,
    _at,
    key_maker,
    weighted,
)
from prepaid.operators.models import Operator
from prepaid.operators.services import add_operator, change_password
from prepaid.readers.virtual import CardStore, VirtualReader
from prepaid.reports.models import WriteBackObservation
from prepaid.reports.shifts import close_shift
from prepaid.simulator.meter_store import MeterStore
from prepaid.vending import cardio
from prepaid.vending import services as vending
from prepaid.vending.models import Purchase, Shift
from prepaid.vending.services import Station

DAY = datetime.timedelta(days=1)
CORRECTION_PER_MILLE = 20
CUT_PER_MILLE = 4
VACATION_PCT = 5
VARIANCES_FEN = (-1000, -5000, 500, -200)


def _demo_password() -> str:
    """A password nobody knows: an administrator sets a clerk's to log in as that clerk."""
    return "Demo-" + secrets.token_urlsafe(12)


class Office:
    def __init__(
        self,
        admin: Operator,
        site_key: bytes,
        config: DemoConfig,
        store: CardStore,
        clock: SimulatedClock,
        start: datetime.date,
        end: datetime.date,
    ) -> None:
        self.admin = admin
        self.site_key = site_key
        self.config = config
        self.store = store
        self.clock = clock
        self.start = start
        self.end = end
        self.rng = random.Random(config.seed)
        self.key = key_maker(config.seed)
        self.reader = VirtualReader(store)
        self.record = DemoRecord()
        self.households: list[Household] = []
        self.accounts: dict[int, Any] = {}
        self.prices: dict[tuple[int, str], Any] = {}
        self.tools: dict[str, str] = {}
        self.stock: list[str] = []
        self.cards_made = 0
        self.meters_made = 0
        self.clerks: list[Operator] = []
        self.station_names = [f"counter-{n + 1}" for n in range(max(1, config.stations))]
        self.anomalies: list[dict[str, Any]] = []
        self.price_adjusted = False
        # Cash in each drawer (operator, station) since its shift was last closed: what the
        # demo counts at the close, kept by the demo itself and not read from the ledger.
        self.drawers: dict[tuple[str, str], int] = defaultdict(int)

    # -- set-up --------------------------------------------------------------------------------

    def run(self, progress: PROGRESS | None) -> None:
        self._set_up()
        days = (self.end - self.start).days + 1
        for n in range(days):
            self._play_day(self.start + n * DAY)
            if progress is not None:
                progress(n + 1, days, f"{self.record.sales}")

    def _set_up(self) -> None:
        self._operators()
        self._accounts()
        self._tool_cards()
        self._households()
        self._plant_anomalies()
        self._schedule_life_events()

    def _operators(self) -> None:
        count = len(self.station_names) + 1
        for n in range(count):
            name = f"clerk{n + 1}"
            clerk = Operator.objects.filter(username=name).first()
            if clerk is None:
                clerk = add_operator(self.admin, name, "operator", _demo_password())
                # the clerk's first login: the password the administrator gave is changed
                clerk = change_password(clerk, name, _demo_password())
            self.clerks.append(clerk)

    def _accounts(self) -> None:
        for utility in UTILITIES:
            account = accounts.create_account(
                self.admin,
                meter_type=utility.key,
                sub_meter=utility.sub_meter,
                limit=utility.limit,
                prestore=utility.prestore,
                alarm=utility.alarm,
                overdraft=utility.overdraft,
                maintenance_code=utility.maintenance_code,
                name=utility.name,
            )
            self.accounts[utility.sub_meter] = account
            for plan in utility.prices:
                self.prices[(utility.sub_meter, plan.name)] = accounts.add_price(
                    self.admin,
                    account_id=account.pk,
                    name=plan.name,
                    unit_price=plan.unit_price,
                    tiers=plan.tiers,
                    period=plan.period,
                )

    def _tool_cards(self) -> None:
        station = self._admin_station()
        for utility in UTILITIES:
            for tool in ("setting", "zero"):
                name = f"{tool}-{utility.sub_meter}"
                self.store.create(name, codec.blank_image())
                self.store.insert(name)
                make_tool_card(station, tool, self.accounts[utility.sub_meter])
                self.tools[name] = name
        self.store.create("check-1", codec.blank_image())
        self.store.insert("check-1")
        make_tool_card(station, "check", None)

    def _households(self) -> None:
        rng = self.rng
        days = (self.end - self.start).days + 1
        for index in range(self.config.customers):
            business = rng.randint(1, 100) <= 10
            early = rng.randint(1, 100) <= 75 or days < 60
            joins = (
                self.start
                + (rng.randint(0, 6) if early else rng.randint(7, max(7, days - 45))) * DAY
            )
            utilities = tuple(
                u.sub_meter
                for u in UTILITIES
                if u.sub_meter == WATER or rng.randint(1, 100) <= u.share_pct
            )
            self.households.append(
                Household(
                    index=index,
                    name=people.business_name(rng) if business else people.person_name(rng),
                    phone=people.phone(rng),
                    address=people.address(rng),
                    size=weighted(rng, ((1, 10), (2, 25), (3, 35), (4, 20), (5, 10))),
                    business=business,
                    joins=min(joins, self.end),
                    station=index % len(self.station_names),
                    payment=weighted(rng, PAYMENTS),
                    utilities=utilities,
                )
            )

    def _plant_anomalies(self) -> None:
        """Give some early, ordinary households an anomaly (the list goes to the result)."""
        kinds = list(ANOMALY_RULES)
        wanted = max(len(kinds), self.config.customers * self.config.anomaly_pct // 100)
        candidates = [
            h for h in self.households if h.joins <= self.start + 6 * DAY and not h.business
        ]
        self.rng.shuffle(candidates)
        # Anomalies seen through write-backs need visits: prefer households with electricity.
        candidates.sort(key=lambda h: ELECTRICITY not in h.utilities)
        flagged = {"meter_tamper", "valve_forced", "wrong_meter", "unexplained_credit"}
        order = sorted(range(wanted), key=lambda n: kinds[n % len(kinds)] not in flagged)
        for n in order:
            if not candidates:
                break
            kind = kinds[n % len(kinds)]
            household = candidates.pop(0)
            household.anomaly = kind
            days = ANOMALY_START_DAYS[kind]
            # In a history shorter than the offset, the anomaly starts the day after the
            # household joins: a start before it would never come, and the anomaly be
            # listed as planted without having been.
            household.anomaly_from = (
                self.start if days is None else max(self.end - days * DAY, household.joins + DAY)
            )

    def _schedule_life_events(self) -> None:
        rng = self.rng
        days = (self.end - self.start).days
        ordinary = [h for h in self.households if h.anomaly is None]
        years = max(1, self.config.months // 12)
        if days < 60 or not ordinary:
            return
        for household in ordinary:
            if rng.randint(1, 100) <= VACATION_PCT:
                first = self.start + rng.randint(30, days - 30) * DAY
                household.vacation = (first, first + rng.randint(20, 35) * DAY)
        picks = rng.sample(ordinary, k=min(len(ordinary), max(2, len(ordinary) // 12 * years)))
        for n, household in enumerate(picks):
            day = self.start + rng.randint(40, days - 15) * DAY
            if n % 4 == 0:
                household.meter_change_on = day
            elif n % 4 == 3:
                household.leaves = day
            else:
                household.reissue_on = day

    # -- stations and cards --------------------------------------------------------------------

    def _clerk_for(self, station: int, day: datetime.date) -> Operator:
        week = (day - self.start).days // 7
        return self.clerks[(station + week) % len(self.clerks)]

    def _station(self, index: int, day: datetime.date, reader: Any = None) -> Station:
        return Station(
            operator=self._clerk_for(index, day),
            reader=reader or self.reader,
            site_key=self.site_key,
            name=self.station_names[index],
        )

    def _admin_station(self) -> Station:
        return Station(
            operator=self.admin,
            reader=self.reader,
            site_key=self.site_key,
            name=self.station_names[0],
        )

    def _tick(self, low: int = 20, high: int = 180) -> None:
        self.clock.tick(self.rng.randint(low, high))

    def _new_card(self) -> str:
        if not self.stock:
            station = self._admin_station()
            for _ in range(10):
                self.cards_made += 1
                name = f"card-{self.cards_made:05d}"
                self.store.create(name, codec.blank_image())
                self.store.insert(name)
                format_card(station)
                self.stock.append(name)
                self.clock.tick(5)
        return self.stock.pop(0)

    def _look_at_card(self, household: Household, station: Station) -> Any:
        """What the operator sees on the card before selling (the meters' last balances).
        Vending's own read of the card in the sale records the write-backs for the reports
        (``user_card_read`` → ``record_write_backs``)."""
        read = cardio.read(station.reader, self.site_key)
        if read.card is None or household.customer is None:
            return None
        return read.card

    def _new_meter(self, household: Household, sub_meter: int) -> Meter:
        """A factory-new meter, cleared with the zero card and set with the setting card."""
        self.meters_made += 1
        meter = new_meter(f"M{self.meters_made:06d}", self.clock.unix())
        for tool in ("zero", "setting"):
            image = self.store.path(f"{tool}-{sub_meter}").read_bytes()
            outcome = meter.swipe(image, self.site_key, self.clock.unix())
            assert outcome.ok, outcome.result
        return meter

    def _swipe(self, household: Household, home: Home) -> None:
        assert household.card is not None
        self.store.insert(household.card)
        outcome = home.meter.swipe(self.reader.read(), self.site_key, self.clock.unix())
        if outcome.meter_area is not None:
            self.reader.write(outcome.meter_area, codec.METER_AREA.start)
        self.record.swipes += 1
        if outcome.ok:
            home.unswiped = False
            home.swipe_on = None

    # -- a day ---------------------------------------------------------------------------------

    def _play_day(self, day: datetime.date) -> None:
        self.clock.set(_at(day, 8, 30))
        self._adjust_price(day)
        for household in self.households:
            self._morning(household, day)
        visitors = [h for h in self.households if self._visiting(h, day)]
        self.rng.shuffle(visitors)
        gap = 8 * 3600 // (len(visitors) + 1)  # the stations' working day, shared out
        for household in visitors:
            self._tick(gap // 2, gap)
            self._visit(household, day)
        if day == self.end:
            self._leave_pending(day)
        self.clock.set(_at(day, 17, 30))
        self._close_shifts(day)
        self.clock.set(_at(day, 19, 0))
        self._evening(day)
        self.clock.set(_at(day, 23, 0))
        self._night(day)

    def _adjust_price(self, day: datetime.date) -> None:
        middle = self.start + (self.end - self.start) // 2
        if self.price_adjusted or day < middle or day.day != 1:
            return
        price = self.prices[(WATER, "居民用水")]
        accounts.adjust_price(
            self.admin, price.pk, unit_price=ADJUSTED_WATER_PRICE, effective_from=day
        )
        self.price_adjusted = True

    def _morning(self, household: Household, day: datetime.date) -> None:
        if household.gone:
            return
        if household.customer is None:
            if household.joins == day:
                self._tick()
                self._register(household, day)
            return
        if household.anomaly_from == day:
            self._anomaly_starts(household, day)
        if household.anomaly == "wrong_meter" and household.anomaly_from is not None:
            if day >= household.anomaly_from and (day - household.anomaly_from).days % 15 == 0:
                self._wrong_meter_swipe(household)
        if household.reissue_on == day:
            self._tick()
            self._reissue(household, day)
        if household.meter_change_on == day:
            self._tick()
            self._meter_change(household, day)
        if household.leaves == day:
            self._tick()
            self._move_away(household, day)

    def _visiting(self, household: Household, day: datetime.date) -> bool:
        if household.gone or household.customer is None or household.joins == day:
            return False
        if household.small_next is not None and day >= household.small_next:
            return True
        return any(
            home.visit_on is not None and home.visit_on <= day and not home.unswiped
            for home in household.homes.values()
        )

    # -- registering and opening ---------------------------------------------------------------

    def _register(self, household: Household, day: datetime.date) -> None:
        station = self._station(household.station, day)
        household.customer = register_customer(
            station.operator, name=household.name, phone=household.phone, address=household.address
        )
        for sub_meter in household.utilities:
            self._tick(20, 90)
            self._open(household, station, UTILITIES[sub_meter - 1])

    def _plan_for(self, household: Household, utility: Utility) -> PricePlan:
        if household.anomaly is not None:  # on the main price, among many peers
            return utility.prices[0]
        plans = [p for p in utility.prices if p.business == household.business]
        if not plans:
            plans = list(utility.prices)
        return weighted(self.rng, tuple((p, p.share_pct) for p in plans))

    def _open(self, household: Household, station: Station, utility: Utility) -> None:
        plan = self._plan_for(household, utility)
        price = self.prices[(utility.sub_meter, plan.name)]
        account = self.accounts[utility.sub_meter]
        if household.card is None:
            household.card = self._new_card()
        self.store.insert(household.card)
        daily = utility.daily_centi * (household.size + 2) // 5 * (3 if household.business else 1)
        home = Home(
            utility=utility,
            account=account,
            price=price,
            meter=self._new_meter(household, utility.sub_meter),
            daily_centi=daily,
            purchase_days=self.rng.randint(30, 55),
            habit="amount" if self.rng.randint(0, 1) else "quantity",
        )
        if household.anomaly == "low_use" and utility.sub_meter == WATER:
            home.factor_pct = 12
        household.homes[utility.sub_meter] = home
        quantity = self._want(home, self.clock.now().date(), account.prestore_centi)
        purchase = vending.open_account(
            station,
            household.customer,
            account,
            price,
            quantity=format_centi(quantity),
            payment=household.payment,
            key=self.key("open"),
        )
        self._took(purchase, station)
        home.unswiped = True
        home.swipe_on = self.clock.now().date()

    # -- buying --------------------------------------------------------------------------------

    def _daily_use(self, home: Home, day: datetime.date) -> int:
        return home.daily_centi * home.utility.season[day.month - 1] // 1000

    def _want(self, home: Home, day: datetime.date, balance_centi: int) -> int:
        """What the household asks for: some weeks of its use, within the purchase limit."""
        room = home.account.limit_centi - max(balance_centi, 0) - 100
        use = self._daily_use(home, day) * max(home.factor_pct, 10) // 100
        want = max(100, use * home.purchase_days // 100 * 100)
        return max(0, min(want, room))

    def _visit(self, household: Household, day: datetime.date) -> None:
        index = household.station
        if self.rng.randint(1, 100) > 80:
            index = self.rng.randrange(len(self.station_names))
        station = self._station(index, day)
        assert household.card is not None
        self.store.insert(household.card)
        card = self._look_at_card(household, station)
        if card is None:
            return
        small = household.small_next is not None and day >= household.small_next
        for sub_meter, home in sorted(household.homes.items()):
            due = home.visit_on is not None and home.visit_on <= day
            if home.unswiped or not (due or (small and sub_meter == WATER)):
                continue
            self._tick(30, 120)
            write_back = card.write_back(sub_meter)
            balance = write_back.balance_centi if write_back else home.account.prestore_centi
            if small and sub_meter == WATER:
                quantity = self.rng.randint(1, 3) * 50
                self._sell(household, home, station, quantity, None)
            else:
                self._buy(household, home, station, day, balance)
            home.visit_on = None
        if small:
            household.small_next = day + self.rng.randint(2, 4) * DAY

    def _buy(
        self,
        household: Household,
        home: Home,
        station: Station,
        day: datetime.date,
        balance_centi: int,
    ) -> None:
        quantity = self._want(home, day, balance_centi)
        if quantity < 100:
            return
        amount = None
        if home.habit == "amount":
            fen = quantity * home.utility.estimate_hao // 10000 // 1000 * 1000
            if fen >= 1000:
                amount, quantity = fen, None
        purchase = self._sell(household, home, station, quantity, amount)
        if purchase is not None and self.rng.randint(1, 1000) <= CORRECTION_PER_MILLE:
            self._correct(household, home, station, purchase)

    def _sell(
        self,
        household: Household,
        home: Home,
        station: Station,
        quantity: int | None,
        amount: int | None,
    ) -> Purchase | None:
        cut = self.rng.randint(1, 1000) <= CUT_PER_MILLE
        if cut:
            return self._sell_cut(household, home, station, quantity, amount)
        try:
            purchase = vending.sell(
                station,
                account_id=home.account.pk,
                quantity=format_centi(quantity) if quantity is not None else None,
                amount=format_fen(amount) if amount is not None else None,
                payment=household.payment,
                key=self.key("sale"),
            )
        except PrepaidError as exc:
            if exc.code != "over_limit":
                raise
            # The price bought more than the room left: ask for half the quantity instead.
            smaller = (quantity or home.account.limit_centi) // 200 * 100
            if smaller < 100:
                return None
            return self._sell(household, home, station, smaller, None)
        self._took(purchase, station)
        self._bought(household, home)
        return purchase

    def _sell_cut(
        self,
        household: Household,
        home: Home,
        station: Station,
        quantity: int | None,
        amount: int | None,
    ) -> Purchase | None:
        """The card is pulled out during the write: the next read settles the purchase."""
        cut_after = self.rng.choice((0, 40))
        cutting = Station(
            station.operator,
            VirtualReader(self.store, cut_after=cut_after),
            self.site_key,
            station.name,
        )
        key = self.key("sale")
        try:
            vending.sell(
                cutting,
                account_id=home.account.pk,
                quantity=format_centi(quantity) if quantity is not None else None,
                amount=format_fen(amount) if amount is not None else None,
                payment=household.payment,
                key=key,
            )
        except ReaderError:
            pass
        self._tick(10, 40)
        assert household.card is not None
        self.store.insert(household.card)
        vending.read_user_card(station)  # restores a torn card, settles the purchase
        purchase = Purchase.objects.select_related("customer_account").get(idempotency_key=key)
        if purchase.status == Purchase.Status.COMPLETED:
            self.record.restored.append(purchase.pk)
            self._took(purchase, station)
            self._bought(household, home)
            return purchase
        self.record.voided.append(purchase.pk)
        return self._sell(household, home, station, quantity, amount)

    def _bought(self, household: Household, home: Home) -> None:
        home.unswiped = True
        late = self.rng.randint(1, 100) <= 10
        home.swipe_on = self.clock.now().date() + (DAY if late else datetime.timedelta())

    def _correct(
        self, household: Household, home: Home, station: Station, original: Purchase
    ) -> None:
        """The operator typed the wrong quantity; corrected before the card left the desk."""
        self._tick(20, 60)
        new_quantity = max(100, original.quantity_centi * self.rng.randint(5, 9) // 10 // 100 * 100)
        corrected = vending.correct(
            station,
            account_id=home.account.pk,
            quantity=format_centi(new_quantity),
            key=self.key("fix"),
        )
        self._take(
            station,
            original.payment_method,
            -original.amount_fen,
            home.account.pk,
            -original.quantity_centi,
        )
        self._take(
            station,
            corrected.payment_method,
            corrected.amount_fen,
            home.account.pk,
            corrected.quantity_centi,
        )
        self.record.corrections.append(
            {
                "user_number": household.user_number,
                "original": original.pk,
                "correction": corrected.pk,
            }
        )

    def _took(self, purchase: Purchase, station: Station) -> None:
        self.record.sales += 1
        self._take(
            station,
            purchase.payment_method,
            purchase.amount_fen,
            purchase.customer_account.account_id,
            purchase.quantity_centi,
        )

    def _take(
        self,
        station: Station,
        payment: str,
        amount_fen: int,
        account_id: int | None = None,
        quantity_centi: int = 0,
    ) -> None:
        self.record.take(
            self.clock.now(),
            station.operator.username,
            payment,
            amount_fen,
            account_id,
            quantity_centi,
        )
        if payment == "cash":
            self.drawers[(station.operator.username, station.name)] += amount_fen

    def _leave_pending(self, day: datetime.date) -> None:
        """On the last day two cards leave mid-write and are not seen again: still pending."""
        left = 0
        for household in self.households:
            if left == 2:
                return
            home = household.homes.get(WATER)
            if (
                household.gone
                or household.customer is None
                or household.anomaly
                or home is None
                or home.unswiped
            ):
                continue
            station = self._station(household.station, day)
            self._tick()
            assert household.card is not None
            self.store.insert(household.card)
            cutting = Station(
                station.operator,
                VirtualReader(self.store, cut_after=0),
                self.site_key,
                station.name,
            )
            key = self.key("sale")
            try:
                vending.sell(
                    cutting,
                    account_id=home.account.pk,
                    quantity="5.00",
                    payment=household.payment,
                    key=key,
                )
            except (ReaderError, PrepaidError):
                pass
            purchase = Purchase.objects.filter(idempotency_key=key).first()
            if purchase is not None and purchase.status == Purchase.Status.PENDING:
                self.record.pending.append(purchase.pk)
                left += 1

    # -- shifts --------------------------------------------------------------------------------

    def _close_shifts(self, day: datetime.date) -> None:
        for shift in Shift.objects.filter(closed_at__isnull=True).select_related("operator"):
            expected = self.drawers.pop((shift.operator.username, shift.station), 0)
            variance = 0
            if expected >= 10000 and self.rng.randint(1, 100) <= 3:
                variance = self.rng.choice(VARIANCES_FEN)
            self._tick(30, 120)
            close_shift(shift.operator, shift.station, counted_cash=format_fen(expected + variance))
            if variance:
                self.record.variances.append(
                    {
                        "shift": shift.pk,
                        "day": day.isoformat(),
                        "variance_fen": variance,
                    }
                )

    # -- evening and night ---------------------------------------------------------------------

    def _evening(self, day: datetime.date) -> None:
        for household in self.households:
            if household.gone or household.card is None:
                continue
            for home in household.homes.values():
                if home.unswiped and home.swipe_on is not None and home.swipe_on <= day:
                    self._tick(5, 60)
                    self._swipe(household, home)

    def _night(self, day: datetime.date) -> None:
        for household in self.households:
            if household.gone or household.customer is None:
                continue
            away = household.vacation is not None and (
                household.vacation[0] <= day <= household.vacation[1]
            )
            for home in household.homes.values():
                self._consume(household, home, day, away)

    def _consume(self, household: Household, home: Home, day: datetime.date, away: bool) -> None:
        use = self._daily_use(home, day) * home.factor_pct // 100
        use = use * self.rng.randint(70, 130) // 100
        if away:
            use = use * 5 // 100
        self.clock.tick(1)
        home.meter.use(use, self.clock.unix())
        waiting = home.unswiped  # bought already; the card is not in the meter yet
        if home.meter.alarm and not home.meter.valve_open and home.visit_on is None and not waiting:
            wait = self.rng.randint(1, 2)
            if away and household.vacation is not None:
                wait = (household.vacation[1] - day).days + 1
            home.visit_on = day + wait * DAY

    # -- life events ---------------------------------------------------------------------------

    def _reissue(self, household: Household, day: datetime.date) -> None:
        """A lost card: a new card carrying the last purchases, the old one revoked."""
        if household.gone or household.customer is None:
            return
        station = self._station(household.station, day)
        new = self._new_card()
        self.store.insert(new)
        result = vending.reissue(
            station,
            household.customer,
            fee=REISSUE_FEE,
            payment=household.payment,
            key=self.key("reissue"),
        )
        if result.fee is not None:
            self._take(station, result.fee.payment_method, result.fee.amount_fen)
        household.card = new
        for home in household.homes.values():
            home.unswiped = True
            home.swipe_on = day
        self.record.reissues.append(
            {
                "user_number": household.user_number,
                "day": day.isoformat(),
                "generation": result.record.generation,
            }
        )

    def _meter_change(self, household: Household, day: datetime.date) -> None:
        """A broken meter replaced: its remaining credit moves to a new one (admin)."""
        home = household.homes.get(WATER) or next(iter(household.homes.values()), None)
        if household.gone or household.customer is None or home is None:
            return
        if home.unswiped:
            self._swipe(household, home)
        station = self._admin_station()
        assert household.card is not None
        self.store.insert(household.card)
        remaining = max(home.meter.balance_centi, 0)
        # What the admin reads on the old meter's display, asked when the office cannot tell
        # (the last purchase written on a card reissued since): whether it took that purchase.
        slot = codec.decode(self.reader.read(), self.site_key).slot(home.utility.sub_meter)
        last_taken = slot is not None and home.meter.last_serial >= slot.serial
        try:
            transfer, _change = vending.meter_change(
                station,
                remaining=format_centi(remaining),
                account_id=home.account.pk,
                reason="表计故障",
                last_taken=last_taken,
                key=self.key("meter-change"),
            )
        except PrepaidError:
            return  # e.g. over the limit with a purchase carried: try another day
        home.meter = self._new_meter(household, home.utility.sub_meter)
        home.unswiped = True
        home.swipe_on = day
        home.visit_on = None
        home.changes += 1
        self.record.meter_changes.append(
            {
                "user_number": household.user_number,
                "day": day.isoformat(),
                "purchase": transfer.pk,
                "transfer_centi": transfer.quantity_centi,
            }
        )

    def _move_away(self, household: Household, day: datetime.date) -> None:
        """The household leaves: its meters are read out and its card recycled."""
        if household.gone or household.customer is None:
            return
        for home in household.homes.values():
            if home.unswiped:
                self._swipe(household, home)
        assert household.card is not None
        self.store.insert(household.card)
        recycle_card(self._admin_station())
        household.gone = True
        self.record.recycled.append(household.user_number)

    # -- anomalies -----------------------------------------------------------------------------

    def _anomaly_starts(self, household: Household, day: datetime.date) -> None:
        home = household.homes.get(WATER)
        if home is None:
            return
        kind = household.anomaly
        meter = home.meter
        if kind == "stopped_buying":
            home.factor_pct = 0  # the meter is bypassed
        elif kind == "usage_drop":
            home.factor_pct = 10
        elif kind == "small_purchases":
            household.small_next = day
        elif kind == "meter_tamper":
            meter.tamper(self.clock.unix())
        elif kind == "valve_forced":
            meter.flags |= MeterStatus.VALVE_FORCED
            meter.check_invariants()
        elif kind == "unexplained_credit":
            meter.balance_centi += 1500  # credit from no purchase: a doctored meter
            meter.check_invariants()

    def _wrong_meter_swipe(self, household: Household) -> None:
        """A neighbour's card is inserted into this household's water meter (refused, E04)."""
        home = household.homes.get(WATER)
        neighbours = [
            h
            for h in self.households
            if h is not household and h.card and not h.gone and WATER in h.homes
        ]
        if home is None or not neighbours:
            return
        neighbour = neighbours[household.index % len(neighbours)]
        assert neighbour.card is not None
        image = self.store.path(neighbour.card).read_bytes()
        self.clock.tick(30)
        home.meter.swipe(image, self.site_key, self.clock.unix())

    # -- the result ----------------------------------------------------------------------------

    def hand_over(self, cards: Path | None, meters: Path | None) -> None:
        """Copy the cards and meters of the households still served to the data directory:
        card “00000007”, meters “00000007-1”, “00000007-2”…, and the new cards left in stock
        (the reader is left empty)."""
        served = [h for h in self.households if not h.gone and h.customer is not None]
        if cards is not None:  # the new cards left in stock: 开户 and 补卡 need one
            for name in self.stock:
                if not CardStore(cards).exists(name):
                    CardStore(cards).create(name, self.store.path(name).read_bytes())
        for household in served:
            if cards is not None and household.card is not None:
                store = CardStore(cards)
                if not store.exists(household.user_number):
                    store.create(
                        household.user_number, self.store.path(household.card).read_bytes()
                    )
            if meters is not None:
                for sub_meter, home in sorted(household.homes.items()):
                    meter_id = f"{household.user_number}-{sub_meter}"
                    if not MeterStore(meters).exists(meter_id):
                        meter = dataclasses.replace(home.meter, meter_id=meter_id)
                        MeterStore(meters).save(meter)

    def result(self) -> DemoResult:
        self.record.write_backs = WriteBackObservation.objects.count()  # seen by the office
        anomalies = [
            {
                "user_number": h.user_number,
                "name": h.name,
                "kind": h.anomaly,
                "rules": list(ANOMALY_RULES[h.anomaly]),
                "sub_meter": WATER,
                "since": h.anomaly_from.isoformat() if h.anomaly_from else None,
            }
            for h in self.households
            if h.anomaly and h.customer is not None
        ]
        return DemoResult(
            start=self.start,
            end=self.end,
            as_of=self.end + DAY,
            seed=self.config.seed,
            customers=sum(1 for h in self.households if h.customer is not None),
            record=self.record,
            anomalies=anomalies,
            operators=[o.username for o in self.clerks],
            stations=self.station_names,
        )

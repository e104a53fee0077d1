"""Vending use cases: open account, sale, correction, reissue, meter change, reconcile.

Every purchase is two-phase. Phase one commits a *pending* purchase with its serial; the card
is then written and read back; phase two completes the purchase and books it in the ledger.
If the card write fails, the purchase stays pending until the card is seen again: a card that
carries it completes it, a card that does not voids it, and a torn card is first restored from
the database (with the pending purchase on it). So no sale is ever charged without credit on
the card, nor credited without a charge.

Services take explicit arguments (operator, reader, site key, station) and own their
transactions; views and CLI commands call one of them and render the result. A use case that
writes a card is refused inside a caller's transaction (:func:`outside_transactions`): its
transactions around the card write are durable, committed when they end.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from prepaid.accounts.models import Account, Price, PriceVersion
from prepaid.audit.services import appended_together, log_action
from prepaid.cards.models import CardOperation
from prepaid.core import pricing
from prepaid.core.card.model import Card, CardType, WriteBack
from prepaid.core.errors import CardError, InvalidInput, Label, PrepaidError, ReaderError, _
from prepaid.core.meter import SwipeResult
from prepaid.core.money import format_centi, format_fen, parse_money, parse_quantity
from prepaid.customers.models import Customer
from prepaid.moments import office_moment
from prepaid.operators.models import Operator
from prepaid.operators.services import require_admin
from prepaid.readers.base import CardReader
from prepaid.readers.lock import at_the_reader
from prepaid.rows import execute, scalar, table
from prepaid.vending import cardio
from prepaid.vending import confirmed as confirm
from prepaid.vending.confirmed import Confirmed
from prepaid.vending.models import (
    CustomerAccount,
    CustomerCard,
    LedgerEntry,
    MeterChange,
    Purchase,
)
from prepaid.vending.settled import settled_of, tell
from prepaid.vending.shifts import current_shift, still_open
from prepaid.vending.signals import user_card_read

P = ParamSpec("P")
R = TypeVar("R")

# The sale's own statements, plain (see prepaid.rows): the counter's hot path.
CARDS = table(CustomerCard)
CUSTOMERS = table(Customer)
PRICES = table(Price)
VERSIONS = table(PriceVersion)
PURCHASES = cardio.PURCHASES
LEDGER = table(LedgerEntry)

# A pending purchase younger than this belongs to a sale still running at some station:
# reading the card elsewhere must not void it under that station's feet.
IN_FLIGHT = timedelta(seconds=60)
PAYMENT_METHODS = tuple(LedgerEntry.Payment.values)


@dataclass(frozen=True)
class Station:
    """Who acts, where, with which reader."""

    operator: Operator
    reader: CardReader
    site_key: bytes
    name: str


def outside_transactions(use_case: Callable[P, R]) -> Callable[P, R]:
    """A use case that writes a card, refused (``RuntimeError``) when called inside the
    caller's transaction, before it reads or writes anything (docs/decisions/0012): its own
    transactions must commit before and after the card write, not become savepoints of the
    caller's that a crash or a rollback would take back while the card keeps what was
    written. Its transactions are durable too (``transaction.atomic(durable=True)``); this
    checks by the same rule up front, as soon as the use case is called — before it restores
    a torn card, settles a pending purchase, or writes a card and records it afterwards (a
    format, a recycling, a tool card). Like Django's durable blocks, it lets through the
    transactions Django's ``TestCase`` (and pytest-django's ``db`` fixture) wrap each test in."""

    @functools.wraps(use_case)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            try:
                # Django's own rule, at no cost: nested, an empty block without a savepoint
                # runs no statement; it raises inside any atomic block but a test's.
                with transaction.atomic(savepoint=False, durable=True):
                    pass
            except RuntimeError as exc:
                raise RuntimeError(
                    f"{use_case.__qualname__} writes a card and owns its transactions: call it "
                    "outside transaction.atomic() (docs/decisions/0012)"
                ) from exc
        return use_case(*args, **kwargs)

    return run


# -- refusals ----------------------------------------------------------------------------


def card_not_swiped(refused: WriteBack | None = None) -> PrepaidError:
    """The manual's refusal (该卡没有刷表，请刷表后再进行操作); with ``refused``, the meter's
    write-back of a swipe it refused, what the meter showed then and what to do."""
    plain = PrepaidError(
        "card_not_swiped",
        _("This card has not been swiped on the meter; swipe it on the meter and try again."),
    )
    if refused is None:
        return plain
    result = SwipeResult(refused.result)
    swiped_at = datetime.datetime.fromtimestamp(refused.time, tz=datetime.UTC)
    return PrepaidError(
        "card_not_swiped",
        _(
            "%(not_swiped)s The meter refused the card when it was last swiped (%(time)s) and "
            "showed %(result)s: %(reason)s %(advice)s"
        ),
        not_swiped=plain,
        time=timezone.localtime(swiped_at).strftime("%Y-%m-%d %H:%M"),
        result=result.code,
        reason=Label(result.message),
        advice=Label(METER_REFUSAL_ADVICE[result]),
    )


def meter_record_damaged() -> PrepaidError:
    """The manual's refusal for a card whose meter record fails its check (the card pulled
    while a meter wrote back): the card cannot show what the meter took, swiped or not. A
    swipe writes the record again."""
    return PrepaidError(
        "card_not_swiped",
        _(
            "%(not_swiped)s What the meter wrote back on this card is damaged (the card was "
            "pulled while the meter wrote), so the card cannot show whether the meter has "
            "taken what it carries. Swipe the card on the meter: it writes back again."
        ),
        not_swiped=card_not_swiped(),
    )


# What to do about a refusal the meter writes back onto its customer's card (docs/vending.md,
# the meter's display codes): it writes back only these and ``ok``.
METER_REFUSAL_ADVICE = {
    SwipeResult.E06: _(
        "Correct the purchase down, or let the customer use some first; then swipe the card "
        "on the meter again."
    ),
    SwipeResult.E07: _(
        "The card's purchases were applied by another meter: a new meter takes the credit "
        "only by a meter change. If the office was restored to an earlier backup, see “After "
        "a restore” in docs/backup.md."
    ),
}


def not_swiped(
    card: Card, customer_account: CustomerAccount, last: Purchase | None
) -> PrepaidError:
    """The refusal of a sale on an account whose ``last`` purchase the card says is not
    swiped: with what the meter showed when its write-back says it refused the card since
    that purchase was written, or that the meter's record on the card is damaged, else the
    manual's message alone."""
    if card.write_back_damaged:
        return meter_record_damaged()
    return card_not_swiped(_meter_refusal(card, customer_account.account.sub_meter, last))


def _meter_refusal(card: Card, sub_meter: int, last: Purchase | None) -> WriteBack | None:
    """The card's write-back for ``sub_meter`` when it records a refusal of ``last`` as the
    card carries it now. A refusal the office had already read off the card when it wrote
    ``last`` (a correction or a meter change after the meter refused) is of the earlier
    content: the meter has not seen this one yet."""
    write_back = card.write_back(sub_meter)
    if write_back is None or last is None:
        return None
    if write_back.result not in {int(result) for result in METER_REFUSAL_ADVICE}:
        return None
    # Recorded by the reports app from every card read (user_card_read).
    from prepaid.reports.models import WriteBackObservation

    seen_before = WriteBackObservation.objects.filter(
        card_serial=card.serial,
        sub_meter=sub_meter,
        meter_time=datetime.datetime.fromtimestamp(write_back.time, tz=datetime.UTC),
        last_serial=write_back.last_serial,
        balance_centi=write_back.balance_centi,
        cumulative_centi=write_back.cumulative_centi,
        result=write_back.result,
        observed_at__lte=last.created_at,
    ).exists()
    return None if seen_before else write_back


def sale_in_progress(purchase: Purchase | None = None, *, reissue: bool = False) -> PrepaidError:
    """Another station's purchase that may still be being written. Named, the refusal says
    where and until when: a station that died mid-sale never finishes, and the operator is
    not left waiting for it (it is settled by a reading of the card after ``IN_FLIGHT``).
    ``reissue``: refusing a reissue, whose card is lost — no reading of it settles anything;
    after ``IN_FLIGHT`` the reissue itself says how to settle the purchase."""
    if purchase is None:
        return PrepaidError(
            "sale_in_progress",
            _(
                "A purchase for this customer is still being written at another "
                "station; wait for it to finish and read the card again."
            ),
        )
    if reissue:
        message = _(
            "Purchase No. %(id)s of this customer is still being written at station "
            "%(station)s (begun %(time)s); wait for it to finish and reissue the card "
            "again. If that station has stopped, reissue again after %(until)s: you are "
            "then told how to settle the purchase."
        )
    else:
        message = _(
            "Purchase No. %(id)s of this customer is still being written at station "
            "%(station)s (begun %(time)s); wait for it to finish and read the card again. If "
            "that station has stopped, read the card again after %(until)s: the purchase is "
            "then settled by what the card carries."
        )
    return PrepaidError(
        "sale_in_progress",
        message,
        id=purchase.pk,
        station=purchase.station or "-",
        time=timezone.localtime(purchase.created_at).strftime("%H:%M:%S"),
        until=timezone.localtime(purchase.created_at + IN_FLIGHT).strftime("%H:%M:%S"),
    )


def stale_pending_purchase(purchase: Purchase) -> PrepaidError:
    """A purchase left pending by a sale that did not finish (a crash, a pulled card) and
    that no reading of its card has settled since: nobody is writing it any more."""
    return PrepaidError(
        "stale_pending_purchase",
        _(
            "Purchase No. %(id)s of this customer (serial %(serial)s, at %(station)s, "
            "%(time)s) was left pending: its sale did not finish writing the card. Read the "
            "old card to settle it (“prepaid reconcile” with the card in the reader); if the "
            "card is lost, an administrator settles it with “prepaid reconcile --void "
            "%(id)s” (the card did not get it) or “prepaid reconcile --complete %(id)s” "
            "(it did). Then try again."
        ),
        id=purchase.pk,
        serial=purchase.serial,
        station=purchase.station or "-",
        time=timezone.localtime(purchase.created_at).strftime("%Y-%m-%d %H:%M"),
    )


def _in_flight(purchase: Purchase, station: Station) -> bool:
    """Whether a pending purchase may still be being written: by another station, lately."""
    return purchase.station != station.name and timezone.now() - purchase.created_at < IN_FLIGHT


def _over_limit(limit_centi: int, room_centi: int) -> PrepaidError:
    return PrepaidError(
        "over_limit",
        _(
            "This purchase would exceed the purchase limit of %(limit)s; at most %(room)s can "
            "be bought now."
        ),
        limit=format_centi(limit_centi),
        room=format_centi(max(room_centi, 0)),
    )


def _check_payment(payment: str) -> str:
    if payment not in PAYMENT_METHODS:
        raise InvalidInput(
            "bad_payment_method",
            _("Unknown payment method “%(method)s”: use cash, wechat, alipay, bank_card or other."),
            method=payment,
        )
    return payment


# -- reading the card --------------------------------------------------------------------


@dataclass(frozen=True)
class UserCard:
    record: CustomerCard
    card: Card

    @property
    def customer(self) -> Customer:
        return self.record.customer


@outside_transactions
@at_the_reader
def read_user_card(station: Station, *, observe: bool = True) -> UserCard:
    """读卡 for vending: identify the customer's card, restore it if a write was torn, and
    settle purchases left pending on it. The meters' write-backs on it are recorded
    (``user_card_read``), unless ``observe`` is false: then the caller records them
    (:class:`_WriteBacks`)."""
    read = cardio.read(station.reader, station.site_key)
    record = _registered_card(read.serial)
    if read.card is None or read.card.type == CardType.NEW:
        if record is None or record.status != CustomerCard.Status.ACTIVE:
            if read.card is None:
                raise cardio.damaged(read, record)
            raise cardio.not_a_user_card(read.card.type.code)
        card = restore_card(station, record, read.card)
    else:
        card = read.card
    if card.type != CardType.USER:
        raise cardio.not_a_user_card(card.type.code)
    if record is None:
        raise cardio.unknown_card()
    if record.status == CustomerCard.Status.REVOKED or card.generation < record.generation:
        raise cardio.card_revoked()
    if record.status != CustomerCard.Status.ACTIVE:
        raise cardio.unknown_card()
    if getattr(record, "has_pending", True):  # as read with the card's record
        _settle_pending(station, record, card)
    user_card = UserCard(record, card)
    if observe:
        _WriteBacks(station, user_card).record()
    return user_card


class _WriteBacks:
    """What the meters wrote back on a card just read, recorded once: within the sale's first
    transaction (one commit less at the counter), or on its own when the sale stops before
    that transaction commits — a refused sale still records what the card showed."""

    def __init__(
        self,
        station: Station,
        user_card: UserCard,
        accounts: list[CustomerAccount] | None = None,
    ) -> None:
        self.station = station
        self.user_card = user_card
        self.accounts = accounts  # the customer's, when the use case has read them
        self.recorded = False

    def record(self) -> None:
        user_card_read.send(
            CustomerCard,
            card_record=self.user_card.record,
            card=self.user_card.card,
            operator=self.station.operator,
            station=self.station.name,
            accounts=self.accounts,
        )

    def __enter__(self) -> _WriteBacks:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.recorded:
            return
        if exc_type is None:
            self.record()
            return
        # The sale's own error matters more; the next read records them.
        with contextlib.suppress(Exception):
            self.record()


def _is_card_in_use(record: CustomerCard | None, customer: Customer) -> bool:
    return record is not None and record.customer_id == customer.pk and record.status == "active"


def _registered_card(serial: str | None) -> CustomerCard | None:
    if not serial:
        return None
    found = CARDS.select(
        "t.serial = %s",
        [serial],
        related=["customer"],
        annotate=[("has_pending", _HAS_PENDING)],
    )
    return found[0] if found else None


# Whether the card's customer has a purchase pending (most reads have none to settle).
_HAS_PENDING = (
    "EXISTS (SELECT 1 FROM vending_purchase p JOIN vending_customeraccount a "
    "ON a.id = p.customer_account_id WHERE a.customer_id = t.customer_id "
    "AND p.status = 'pending')"
)


def restore_card(station: Station, record: CustomerCard, damaged: Card | None) -> Card:
    """Write the card back as the database knows it (a torn or unwritten card)."""
    expected = cardio.expected_card(record, write_backs=damaged)
    written = cardio.write_office_area(station.reader, expected, station.site_key)
    with transaction.atomic(durable=True):
        CardOperation.objects.create(
            kind=CardOperation.Kind.RESTORE,
            card_serial=record.serial,
            customer=record.customer,
            operator=station.operator,
            station=station.name,
            time=timezone.now(),
            details={"generation": record.generation},
        )
        log_action(
            station.operator,
            "card.restore",
            record,
            station=station.name,
            after={"serial": record.serial, "generation": record.generation},
        )
    return written


def _settle_pending(station: Station, record: CustomerCard, card: Card) -> None:
    """Settle the customer's pending purchases by what ``card`` carries; each one settled is
    told as it is (:func:`prepaid.vending.settled.tell`: a later one still in flight raises)."""
    pendings = PURCHASES.select(
        "status = 'pending' AND customer_account_id IN "
        "(SELECT id FROM vending_customeraccount WHERE customer_id = %s)",
        [record.customer_id],
    )
    for purchase in pendings:
        purchase.customer_account = cardio.with_account(
            cardio.CUSTOMER_ACCOUNTS.get(purchase.customer_account_id)
        )
        if cardio.carries(card, purchase):
            done = complete_purchase(station, purchase.pk, reason=SETTLED_BY_READ)
        elif _in_flight(purchase, station):
            raise sale_in_progress(purchase)
        else:
            done = void_purchase(station, purchase.pk, reason="card does not carry it")
        done.customer_account = purchase.customer_account
        tell(settled_of(done))


# The reason a completion settled by a read of the card gives in its audit entry.
SETTLED_BY_READ = "card carries it"


# -- the customer's account on the card ---------------------------------------------------


def customer_accounts(customer: Customer) -> list[CustomerAccount]:
    """The customer's accounts (four at most) with their customer, account and price at hand,
    by sub-meter."""
    found = cardio.accounts_of(customer.pk)
    for customer_account in found:
        customer_account.customer = customer
    return found


def _customer_account(
    customer: Customer,
    account_id: int | None,
    accounts: list[CustomerAccount] | None = None,
) -> CustomerAccount:
    """The account to sell on: the one asked for, else the customer's only one. ``accounts``:
    the customer's accounts as :func:`customer_accounts` gave them (else read). Only accounts
    opened count: an opening whose card write was voided leaves its row without a purchase,
    and the card no slot for it."""
    if accounts is None:
        accounts = customer_accounts(customer)
    found = [
        ca
        for ca in accounts
        if ca.last_serial and (account_id is None or ca.account_id == account_id)
    ]
    if not found and account_id is not None and not Account.objects.filter(pk=account_id).exists():
        raise InvalidInput("unknown_account", _("There is no account %(id)s."), id=account_id)
    if not found:
        raise PrepaidError(
            "account_not_open", _("This customer has no account opened on that utility.")
        )
    if len(found) > 1:
        raise InvalidInput(
            "account_required",
            _("This card carries several accounts: choose one (%(accounts)s)."),
            # as ``prepaid account list`` shows them: the id to choose by, [sub-meter] name
            accounts=" / ".join(
                f"{ca.account_id} [{ca.account.sub_meter}] {ca.account.name}" for ca in found
            ),
        )
    return found[0]


_RELATED = (CustomerAccount.customer, CustomerAccount.account, CustomerAccount.price)


def _attached(
    customer_account: CustomerAccount, known: CustomerAccount | None = None
) -> CustomerAccount:
    """The customer account with its customer, account and price at hand: those of ``known``
    (the same account as this use case loaded it before) when it has them, else read."""
    if (
        known is not None
        and known.pk == customer_account.pk
        and known.price_id == customer_account.price_id
        and all(field.is_cached(known) for field in _RELATED)
    ):
        customer_account.customer = known.customer
        customer_account.account = known.account
        customer_account.price = known.price
        return customer_account
    customer_account.customer = CUSTOMERS.get(customer_account.customer_id)
    customer_account.price = PRICES.get(customer_account.price_id)
    return cardio.with_account(customer_account)


def check_card_against_office(user_card: UserCard) -> None:
    """Every account on the customer's card holds the office's last purchase (what a sale
    checks, for ``prepaid reconcile``): refuses a stale copy, or a card written after the
    backup the office was restored from (``card_mismatch``)."""
    for customer_account in customer_accounts(user_card.customer):
        _check_card_matches(user_card, customer_account)


def _check_card_matches(user_card: UserCard, customer_account: CustomerAccount) -> None:
    """The card's slot must hold the office's last purchase: anything else is a stale copy."""
    slot = user_card.card.slot(customer_account.account.sub_meter)
    expected = customer_account.last_serial
    on_card = slot.serial if slot else 0
    if on_card > expected:
        raise card_ahead(expected, on_card)
    if on_card != expected:
        raise card_mismatch(expected)


def card_mismatch(expected: int) -> PrepaidError:
    return PrepaidError(
        "card_mismatch",
        _(
            "The card does not carry the office's last purchase (%(expected)s); it may be an "
            "old copy. Read the customer's current card."
        ),
        expected=expected,
    )


def card_ahead(expected: int, on_card: int) -> PrepaidError:
    """The card carries a purchase the office does not know: written after the backup the
    database was restored from (or a lost card's purchase voided, and the card found)."""
    return PrepaidError(
        "card_mismatch",
        _(
            "The card carries purchase %(on_card)s, which the office does not know (its last "
            "is %(expected)s): the card was written after the backup this database was "
            "restored from, or that purchase was voided as lost. Nothing was done; ask an "
            "administrator to bring the customer back (the backup guide, docs/backup.md, "
            "“After a restore”)."
        ),
        expected=expected,
        on_card=on_card,
    )


# -- pricing -------------------------------------------------------------------------------


def _tariff(price: Price, day: datetime.date) -> tuple[PriceVersion, pricing.Tariff]:
    from prepaid.accounts.services import current_version, tariff_of

    version = current_version(price, day)
    return version, tariff_of(version)


def _period_quantity(
    customer_account: CustomerAccount, start: datetime.date | None, exclude: Purchase | None = None
) -> int:
    """What the customer bought on this account since a tariff period began (its first day,
    office time): every completed purchase of the period bought at a tiered price counts,
    tiered by month or by year (DESIGN §3: the cumulative quantity bought on that account
    within the period). Purchases at a flat price before tiers applied do not: a price that
    becomes tiered part-way through a period starts its tiers then, never charging the
    customer's earlier flat purchases again."""
    if start is None:
        return 0
    since = datetime.datetime.combine(start, datetime.time(), timezone.get_current_timezone())
    # "serial > 0" (every serial is) lets SQLite seek the account's completed purchases in
    # their covering index, not every purchase of the office since the period began.
    total = scalar(
        "SELECT SUM(quantity_centi) FROM vending_purchase WHERE customer_account_id = %s "
        "AND serial > 0 AND status = 'completed' AND kind = 'purchase' AND created_at >= %s "
        "AND period_start IS NOT NULL AND id <> %s",
        [
            customer_account.pk,
            connection.ops.adapt_datetimefield_value(since),
            exclude.pk if exclude is not None else 0,
        ],
    )
    return int(total or 0)


@dataclass(frozen=True)
class Priced:
    version: PriceVersion
    quote: pricing.Quote
    period_start: datetime.date | None
    tendered_fen: int


def price_purchase(
    price: Price,
    quantity: Any,
    amount: Any,
    customer_account: CustomerAccount | None = None,
    exclude: Purchase | None = None,
) -> Priced:
    """Quantity → amount or amount → quantity at today's price, tiers split by what the
    customer bought on that account in the period (nothing yet for a new account)."""
    if (quantity is None) == (amount is None):
        raise InvalidInput(
            "quantity_or_amount", _("Give either a quantity or an amount, not both.")
        )
    today = timezone.localdate()
    version, tariff = _tariff(price, today)
    start = pricing.period_start(today, tariff.period)
    prior = _period_quantity(customer_account, start, exclude) if customer_account else 0
    if quantity is not None:
        quote = pricing.quote_quantity(tariff, parse_quantity(quantity), prior)
        tendered = quote.amount_fen
    else:
        tendered = parse_money(amount)
        quote = pricing.quote_amount(tariff, tendered, prior)
    if quote.amount_fen <= 0:
        raise InvalidInput(
            "amount_too_small", _("This quantity costs nothing at this price: buy more.")
        )
    return Priced(version, quote, start, tendered)


def check_quantity_or_amount(quantity: Any, amount: Any) -> None:
    """Refuse bad input before the card is read or anything else happens."""
    if (quantity is None) == (amount is None):
        raise InvalidInput(
            "quantity_or_amount", _("Give either a quantity or an amount, not both.")
        )
    if quantity is not None:
        parse_quantity(quantity)
    else:
        parse_money(amount)


def _tier_lines(quote: pricing.Quote) -> list[dict[str, Any]]:
    from prepaid.core.money import format_hao

    return [
        {
            "tier": line.tier_index + 1,
            "quantity": format_centi(line.quantity_centi),
            "unit_price": format_hao(line.unit_price_hao),
            "amount": format_fen(line.amount_fen),
        }
        for line in quote.lines
    ]


# -- what the confirm step showed (prepaid.vending.confirmed) -----------------------------


def _serial_written(
    customer_account: CustomerAccount | None, replaces: Purchase | None = None
) -> int:
    """The purchase serial a purchase is written under: an opening's 1 (no customer account
    yet), a correction's that of the purchase it ``replaces``, else the account's next."""
    if replaces is not None:
        return replaces.serial
    return 1 if customer_account is None else customer_account.last_serial + 1


def purchase_confirmation(
    station: Station,
    card_serial: str,
    priced: Priced,
    customer_account: CustomerAccount | None = None,
    replaces: Purchase | None = None,
) -> Confirmed:
    """What a confirm step shows of a purchase — an opening (no ``customer_account`` yet), a
    sale, or a correction of ``replaces`` — for its 写卡 to post back."""
    return confirm.confirmation(
        station.operator,
        station.name,
        card_serial,
        serial=_serial_written(customer_account, replaces),
        replaces=replaces.pk if replaces is not None else 0,
        quantity_centi=priced.quote.quantity_centi,
        amount_fen=priced.quote.amount_fen,
    )


def _check_confirmed(
    station: Station,
    confirmed: Confirmed | None,
    priced: Priced,
    account: Account,
    customer_account: CustomerAccount | None = None,
    replaces: Purchase | None = None,
) -> None:
    """The purchase about to be written is the one confirmed: on the purchase serial shown
    (nothing written on the customer's card since; ``customer_account`` None for an opening,
    always serial 1), replacing the purchase shown, for the quantity and amount shown, in
    the shift then open."""
    if confirmed is None:
        return
    from prepaid.accounts.services import meter_unit

    if customer_account is not None:
        serial = _serial_written(customer_account, replaces)
        replaced = replaces.pk if replaces is not None else 0
        confirm.check_purchase(confirmed, customer_account, serial=serial, replaces=replaced)
    quote = priced.quote
    confirm.check_quote(confirmed, meter_unit(account), quote.quantity_centi, quote.amount_fen)
    confirm.check_shift(confirmed, station.operator, station.name)


# -- phase one: a pending purchase --------------------------------------------------------


def tendered_fen(priced: Priced | None, payment: str) -> int:
    """What the customer handed over: cash for an amount may leave change; any other payment
    (WeChat, Alipay, a bank card…) is charged the purchase's amount exactly."""
    if priced is None:
        return 0
    return priced.tendered_fen if payment == "cash" else priced.quote.amount_fen


def _new_purchase(
    station: Station,
    customer_account: CustomerAccount,
    *,
    serial: int,
    kind: str,
    quantity_centi: int,
    priced: Priced | None,
    payment: str,
    card: CustomerCard,
    key: str,
    supersedes: Purchase | None = None,
) -> Purchase:
    """Phase one's purchase, pending. The caller holds the account's and the card's row locks
    (:func:`_lock_for_purchase`, then :func:`_lock_active_card`)."""
    assert transaction.get_connection().in_atomic_block
    purchase = PURCHASES.new(
        customer_account=customer_account,
        serial=serial,
        kind=kind,
        status=Purchase.Status.PENDING,
        quantity_centi=quantity_centi,
        amount_fen=priced.quote.amount_fen if priced else 0,
        tendered_fen=tendered_fen(priced, payment),
        price_version=priced.version if priced else None,
        tier_lines=_tier_lines(priced.quote) if priced else [],
        period_start=priced.period_start if priced else None,
        payment_method=payment,
        card_serial=card.serial,
        card_generation=card.generation,
        supersedes=supersedes,
        idempotency_key=key,
        operator=station.operator,
        shift=current_shift(station.operator, station.name),
        station=station.name,
        created_at=timezone.now(),
    )
    PURCHASES.insert(purchase)
    log_action(
        station.operator,
        f"{_action(purchase)}.begin",
        purchase,
        station=station.name,
        after=purchase_document(purchase),
    )
    return purchase


def _lock_active_card(card: CustomerCard) -> None:
    """Lock the card's row, refusing a revoked card. Locked after the account: a reissue
    (which locks the card first) waits for this sale, and a sale never books on a card a
    reissue has just revoked."""
    if not CARDS.select(
        "id = %s AND status = %s", [card.pk, CustomerCard.Status.ACTIVE], for_update=True
    ):
        raise cardio.card_revoked()


class _KeyAlreadyUsed(Exception):
    """A concurrent request with the same key got the lock first (a double click)."""


def _lock_for_purchase(known: CustomerAccount, key: str) -> CustomerAccount:
    """The customer account locked for a new purchase, as it is now in the database."""
    customer_account_id = known.pk
    customer_account = cardio.CUSTOMER_ACCOUNTS.get(customer_account_id, for_update=True)
    key_used, pending = execute(
        "SELECT EXISTS (SELECT 1 FROM vending_purchase WHERE idempotency_key = %s), "
        "EXISTS (SELECT 1 FROM vending_purchase WHERE customer_account_id = %s "
        "AND status = 'pending')",
        [key, customer_account_id],
    ).fetchone()
    if key_used:
        raise _KeyAlreadyUsed
    if pending:
        raise sale_in_progress()
    return _attached(customer_account, known)


def _once_per_key(service: Callable[P, R]) -> Callable[P, R]:
    """When a request with the same key won the race, answer as a retry would: with the
    first result (its own ``_replay`` at the start finds it now)."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except _KeyAlreadyUsed:
            return service(*args, **kwargs)

    return run


def _replay(station: Station, key: str) -> Purchase | None:
    """A retried request (same idempotency key) gets the first result, charged once; one
    still pending is finished first, with its card in the reader (:func:`_finish_pending`)."""
    purchase = PURCHASES.first("idempotency_key = %s", [key])
    if purchase is None:
        return None
    if purchase.status == Purchase.Status.PENDING:
        purchase = _finish_pending(station, _with_relations(purchase))
    if purchase.status == Purchase.Status.VOIDED:
        raise PrepaidError(
            "purchase_voided",
            _("This request was voided because the card was not written; start a new one."),
        )
    return _with_relations(purchase)


def _finish_pending(station: Station, purchase: Purchase) -> Purchase:
    """A request retried while its purchase is still pending: its station stopped after phase
    one (killed, the card pulled, the reply lost) before, during or after the card write. With
    that card in the reader the purchase is finished as the request would have finished it,
    never voided: a card that carries it completes it; a card torn mid-write is restored with
    it (as any read of the card does) and completes it; a card still as it was before the
    purchase is written now, read back, and completes it. Another card, or none, is refused
    and nothing changes."""
    if _in_flight(purchase, station):
        raise sale_in_progress(purchase)
    try:
        read = cardio.read(station.reader, station.site_key)
    except ReaderError as exc:
        if exc.code != "no_card":
            raise
        raise _pending_card_elsewhere(purchase) from None
    if read.serial != purchase.card_serial:
        raise _pending_card_elsewhere(purchase)
    record = _registered_card(read.serial)
    if (
        record is None
        or record.status != CustomerCard.Status.ACTIVE
        or record.generation != purchase.card_generation
    ):
        raise _pending_card_unfit(purchase)
    card = read.card
    if card is not None and card.type == CardType.USER and not cardio.carries(card, purchase):
        if card != _card_before(record, card, purchase):
            raise _pending_card_unfit(purchase)
        _WriteBacks(station, UserCard(record, card)).record()
        return _write_and_complete(station, purchase, record, card)
    read_user_card(station)  # carrying it: completed; torn (or an opening's new card): restored
    return PURCHASES.get(purchase.pk)


def _card_before(record: CustomerCard, card: Card, purchase: Purchase) -> Card:
    """The card as the office wrote it before ``purchase``: in the purchase's slot, the
    account's last completed purchase (the one a correction replaces; none for an opening);
    the card's own write-backs."""
    customer_account = purchase.customer_account
    written = cardio.expected_card(record, write_backs=card, known=purchase)
    sub_meter = customer_account.account.sub_meter
    slots = [slot for slot in written.slots if slot.sub_meter != sub_meter]
    previous = PURCHASES.first(
        "customer_account_id = %s AND status = 'completed'",
        [customer_account.pk],
        order="serial DESC",
    )
    if previous is not None:
        previous.customer_account = customer_account
        slots.extend(cardio.slots_for(record, [previous]))
    return replace(written, slots=tuple(sorted(slots, key=lambda slot: slot.sub_meter)))


def _pending_card_elsewhere(purchase: Purchase) -> PrepaidError:
    customer = purchase.customer_account.customer
    return PrepaidError(
        "purchase_pending",
        _(
            "This request is still pending: its purchase No. %(id)s was being written onto "
            "card %(serial)s of user %(user_number)s %(name)s, which is not in the reader. Put "
            "that card in the reader and send the request again to finish it (it is charged "
            "once). If that card is lost, an administrator settles the purchase with "
            "“prepaid reconcile --void %(id)s”."
        ),
        id=purchase.pk,
        serial=purchase.card_serial,
        user_number=customer.user_number,
        name=customer.name,
    )


def _pending_card_unfit(purchase: Purchase) -> PrepaidError:
    customer = purchase.customer_account.customer
    return PrepaidError(
        "purchase_pending",
        _(
            "This request is still pending, and card %(serial)s in the reader holds neither "
            "its purchase No. %(id)s nor what the office wrote on it before (an old copy of "
            "the card?): nothing was written. Put the current card of user %(user_number)s "
            "%(name)s in the reader and send the request again to finish it."
        ),
        id=purchase.pk,
        serial=purchase.card_serial,
        user_number=customer.user_number,
        name=customer.name,
    )


def _with_relations(
    purchase: Purchase,
    customer_account: CustomerAccount | None = None,
    known: Purchase | None = None,
) -> Purchase:
    """The purchase with what its document shows at hand: account, customer, price…, from
    ``known`` (the same purchase as this station wrote it) where it has them."""
    if known is not None and known.pk != purchase.pk:
        known = None
    purchase.customer_account = _attached(
        customer_account or cardio.CUSTOMER_ACCOUNTS.get(purchase.customer_account_id),
        known.customer_account if known is not None else None,
    )
    if known is not None and known.price_version_id == purchase.price_version_id:
        purchase.price_version = known.price_version
    elif purchase.price_version_id is not None:
        purchase.price_version = VERSIONS.get(purchase.price_version_id)
    if known is not None and known.supersedes_id == purchase.supersedes_id:
        purchase.supersedes = known.supersedes
    elif purchase.supersedes_id is not None:
        purchase.supersedes = PURCHASES.get(purchase.supersedes_id)
    return purchase


def _check_key(key: str) -> str:
    if not key or len(key) > 64:
        raise InvalidInput("bad_idempotency_key", _("The request key must be 1–64 characters."))
    return key


# -- phase two: write the card, complete or void -------------------------------------------


def _write_and_complete(
    station: Station,
    purchase: Purchase,
    card_record: CustomerCard,
    current: Card | None,
    accounts: list[CustomerAccount] | None = None,
) -> Purchase:
    expected = cardio.expected_card(
        card_record, write_backs=current, known=purchase, accounts=accounts
    )
    try:
        cardio.write_office_area(station.reader, expected, station.site_key)
    except (ReaderError, CardError):
        _after_failed_write(station, purchase)
        raise
    return complete_purchase(station, purchase.pk, known=purchase)


def _after_failed_write(station: Station, purchase: Purchase) -> None:
    """Settle at once when the card can still be read; otherwise leave it pending."""
    try:
        read = cardio.read(station.reader, station.site_key)
    except ReaderError:
        return  # card gone: the next read of it settles the purchase
    if read.card is None or read.card.serial != purchase.card_serial:
        return  # torn: the next read restores it and completes
    if cardio.carries(read.card, purchase):
        complete_purchase(station, purchase.pk)
    elif read.card.type == CardType.USER:
        void_purchase(station, purchase.pk, reason="card write failed")


def complete_purchase(
    station: Station, purchase_id: int, known: Purchase | None = None, reason: str = ""
) -> Purchase:
    """Phase two: the card carries the purchase, so it is booked, in a transaction of its own
    (durable: committed when this returns). ``known`` is the purchase as this station wrote
    it, with its relations at hand; ``reason``, for the audit, when another read than the
    sale's own settles it."""
    with transaction.atomic(durable=True), appended_together():
        return _complete(station, purchase_id, known, reason)


def _complete(
    station: Station, purchase_id: int, known: Purchase | None, reason: str = ""
) -> Purchase:
    booking = None
    if known is not None and known.pk == purchase_id and _completed_as_known(known):
        purchase, customer_account = known, known.customer_account
    else:
        purchase = _locked_purchase(purchase_id)
        if purchase.status == Purchase.Status.COMPLETED:
            return _with_relations(purchase)
        if purchase.status != Purchase.Status.PENDING:
            raise PrepaidError(
                "purchase_voided", _("This purchase was voided and cannot be completed.")
            )
        customer_account = cardio.CUSTOMER_ACCOUNTS.get(
            purchase.customer_account_id, for_update=True
        )
        _with_relations(purchase, customer_account, known)
        original = purchase.supersedes
        if original is not None:
            booking = _booking(station, purchase)
            original.status = Purchase.Status.CORRECTED
            original.resolved_at = timezone.now()
            PURCHASES.update(original, "status", "resolved_at")
            _book_reversal(station, original, purchase, booking)
        purchase.status = Purchase.Status.COMPLETED
        purchase.resolved_at = timezone.now()
        PURCHASES.update(purchase, "status", "resolved_at")
    customer_account.last_serial = purchase.serial
    cardio.CUSTOMER_ACCOUNTS.update(customer_account, "last_serial")
    _book(station, purchase, booking or _booking(station, purchase))
    log_action(
        station.operator,
        f"{_action(purchase)}.complete",
        purchase,
        station=station.name,
        before={"status": "pending"},
        after={
            "status": "completed",
            "serial": purchase.serial,
            **({"reason": reason} if reason else {}),
        },
    )
    return purchase


def _completed_as_known(known: Purchase) -> bool:
    """Complete a purchase this station wrote, by one conditional statement, when it is still
    pending (nobody voided it since) and corrects nothing: it is then exactly as the station
    knows it, relations included, and need not be read again."""
    if known.supersedes_id is not None or not Purchase.customer_account.is_cached(known):
        return False
    if not all(field.is_cached(known.customer_account) for field in _RELATED):
        return False
    resolved_at = timezone.now()
    changed = execute(
        "UPDATE vending_purchase SET status = 'completed', resolved_at = %s "
        "WHERE id = %s AND status = 'pending'",
        [connection.ops.adapt_datetimefield_value(resolved_at), known.pk],
    ).rowcount
    if changed != 1:
        return False
    known.status = Purchase.Status.COMPLETED
    known.resolved_at = resolved_at
    return True


def _locked_purchase(purchase_id: int) -> Purchase:
    """The purchase, locked. Gone from the database while its card was being written: the
    database was restored from a backup meanwhile (stations still running)."""
    try:
        return PURCHASES.get(purchase_id, for_update=True)
    except Purchase.DoesNotExist:
        raise PrepaidError(
            "purchase_gone",
            _(
                "Purchase No. %(id)s is no longer in the database: it was restored from a "
                "backup while this purchase was being written to the card. The card carries a "
                "purchase the office does not know; docs/backup.md (“After a restore”) says "
                "how to bring the customer back."
            ),
            id=purchase_id,
        ) from None


@transaction.atomic
def void_purchase(station: Station, purchase_id: int, reason: str) -> Purchase:
    purchase = _locked_purchase(purchase_id)
    if purchase.status != Purchase.Status.PENDING:
        return purchase
    purchase.status = Purchase.Status.VOIDED
    purchase.resolved_at = timezone.now()
    PURCHASES.update(purchase, "status", "resolved_at")
    log_action(
        station.operator,
        f"{_action(purchase)}.void",
        purchase,
        station=station.name,
        before={"status": "pending"},
        after={"status": "voided", "reason": reason},
    )
    return purchase


def _action(purchase: Purchase) -> str:
    if purchase.kind == Purchase.Kind.TRANSFER:
        return "transfer"
    return "correction" if purchase.supersedes_id else "sale"


# -- the ledger: money moves only here -----------------------------------------------------


@dataclass(frozen=True)
class _Booking:
    """The shift a ledger entry goes into, with that shift's operator and station."""

    shift_id: int
    operator_id: int
    station: str


def _booking(station: Station, purchase: Purchase) -> _Booking:
    """Where a completed purchase's entries go (see ``vending.shifts``): the shift it was sold
    in while that is open, whoever completes it and wherever (the money was taken there);
    else the completing operator's current shift at this station."""
    if still_open(purchase.shift_id):
        return _Booking(purchase.shift_id, purchase.operator_id, purchase.station)
    shift = current_shift(station.operator, station.name)
    return _Booking(shift.pk, station.operator.pk, station.name)


def _entry(
    station: Station,
    purchase: Purchase | None,
    *,
    booking: _Booking | None = None,
    kind: str,
    amount_fen: int,
    quantity_centi: int,
    customer: Customer,
    account: Account | None,
    payment: str,
    key: str,
    reverses: LedgerEntry | None = None,
    remarks: str = "",
) -> LedgerEntry:
    assert transaction.get_connection().in_atomic_block
    if booking is None:  # not a purchase's (a fee): taken now, by this operator, here
        shift = current_shift(station.operator, station.name)
        booking = _Booking(shift.pk, station.operator.pk, station.name)
    entry = LEDGER.new(
        kind=kind,
        time=timezone.now(),
        customer=customer,
        account=account,
        purchase=purchase,
        reverses=reverses,
        serial=purchase.serial if purchase else None,
        quantity_centi=quantity_centi,
        amount_fen=amount_fen,
        payment_method=payment,
        price_version_id=purchase.price_version_id if purchase else None,
        operator_id=booking.operator_id,
        shift_id=booking.shift_id,
        station=booking.station,
        idempotency_key=key,
        remarks=remarks,
    )
    LEDGER.insert(entry)
    log_action(
        station.operator,
        f"ledger.{kind}",
        entry,
        station=station.name,
        after={
            "amount": format_fen(amount_fen),
            "quantity": format_centi(quantity_centi),
            "serial": entry.serial,
            "payment": payment,
        },
    )
    return entry


def _book(station: Station, purchase: Purchase, booking: _Booking) -> LedgerEntry:
    customer_account = purchase.customer_account
    transfer = purchase.kind == Purchase.Kind.TRANSFER
    return _entry(
        station,
        purchase,
        booking=booking,
        kind=LedgerEntry.Kind.TRANSFER if transfer else LedgerEntry.Kind.SALE,
        amount_fen=purchase.amount_fen,
        quantity_centi=purchase.quantity_centi,
        customer=customer_account.customer,
        account=customer_account.account,
        payment=purchase.payment_method,
        key=f"{purchase.idempotency_key}:book",
    )


def _book_reversal(
    station: Station, original: Purchase, correction: Purchase, booking: _Booking
) -> LedgerEntry:
    """The original sale reversed where the correction's money was handled (its booking)."""
    sale = LedgerEntry.objects.get(purchase=original, kind=LedgerEntry.Kind.SALE)
    return _entry(
        station,
        original,
        booking=booking,
        kind=LedgerEntry.Kind.REVERSAL,
        amount_fen=-sale.amount_fen,
        quantity_centi=-sale.quantity_centi,
        customer=sale.customer,
        account=sale.account,
        payment=sale.payment_method,
        key=f"{correction.idempotency_key}:reverse",
        reverses=sale,
        remarks=f"correction of purchase {original.serial}",
    )


# -- documents -----------------------------------------------------------------------------


def purchase_document(purchase: Purchase) -> dict[str, Any]:
    """A purchase as the CLI's JSON and the audit give it.

    ``tendered`` and ``change`` are what a sale by amount was paid and what it hands back;
    a correction has neither (``null``): its customer paid for the purchase it replaces, and
    the money that changes hands is its ``difference`` alone. Nor has a meter-change
    transfer, which no one pays for."""
    customer_account = purchase.customer_account
    correction = purchase.supersedes_id is not None
    unpaid = correction or purchase.kind == Purchase.Kind.TRANSFER
    return {
        "purchase_id": purchase.pk,
        "user_number": customer_account.customer.user_number,
        "customer": customer_account.customer.name,
        "account": customer_account.account_id,
        "sub_meter": customer_account.account.sub_meter,
        "serial": purchase.serial,
        "kind": purchase.kind,
        "status": purchase.status,
        "quantity": format_centi(purchase.quantity_centi),
        "amount": format_fen(purchase.amount_fen),
        "tendered": None if unpaid else format_fen(purchase.tendered_fen),
        "change": None if unpaid else format_fen(purchase.tendered_fen - purchase.amount_fen),
        "price": customer_account.price.name,
        "price_version": purchase.price_version.number if purchase.price_version else None,
        "tiers": purchase.tier_lines,
        "payment": purchase.payment_method,
        "card_serial": purchase.card_serial,
        "generation": purchase.card_generation,
        "corrects": purchase.supersedes.serial if purchase.supersedes_id else None,
        # a correction: what the purchase it replaces cost, and the money that changes hands
        # (negative: given back to the customer)
        "corrects_amount": format_fen(purchase.supersedes.amount_fen)
        if purchase.supersedes_id
        else None,
        "difference": format_fen(purchase.amount_fen - purchase.supersedes.amount_fen)
        if purchase.supersedes_id
        else None,
    }


# -- 开户 open account -------------------------------------------------------------------------


@outside_transactions
@at_the_reader
@_once_per_key
def open_account(
    station: Station,
    customer: Customer,
    account: Account,
    price: Price,
    *,
    quantity: Any = None,
    amount: Any = None,
    payment: str = "cash",
    key: str,
    confirmed: Confirmed | None = None,
) -> Purchase:
    """Give a registered customer a card on an account, with a first purchase.

    The card in the reader is a new card, or the customer's own card to which another
    account (sub-meter) is added. ``confirmed``: what the confirm step showed (refused,
    nothing done, when anything else would be written; :mod:`prepaid.vending.confirmed`)."""
    _check_key(key)
    check_quantity_or_amount(quantity, amount)
    _check_payment(payment)
    replayed = _replay(station, key)
    if replayed is not None:
        return replayed
    _check_price_of(account, price)
    card_record, card = _card_for_opening(station, customer)
    confirm.check_card(confirmed, card.serial)
    priced = check_opening(customer, account, price, quantity, amount)
    _check_confirmed(station, confirmed, priced, account)
    with transaction.atomic(durable=True):
        customer_account = _open_customer_account(station, customer, account, price)
        customer_account = _lock_for_purchase(customer_account, key)
        if customer_account.last_serial:
            raise PrepaidError(
                "already_open",
                _("This customer already has an account on %(account)s."),
                account=account.name,
            )
        card_record = _register_card(station, customer, card_record, card)
        _lock_active_card(card_record)
        purchase = _new_purchase(
            station,
            customer_account,
            serial=1,
            kind=Purchase.Kind.PURCHASE,
            quantity_centi=priced.quote.quantity_centi,
            priced=priced,
            payment=payment,
            card=card_record,
            key=key,
        )
        CardOperation.objects.create(
            kind=CardOperation.Kind.OPEN,
            card_serial=card_record.serial,
            account=account,
            customer=customer,
            operator=station.operator,
            station=station.name,
            time=timezone.now(),
            details={"purchase": purchase.pk},
        )
    return _write_and_complete(station, purchase, card_record, card)


def _check_price_of(account: Account, price: Price) -> None:
    if price.account_id != account.pk:
        raise InvalidInput("price_not_of_account", _("That price belongs to another account."))


def check_opening(
    customer: Customer, account: Account, price: Price, quantity: Any, amount: Any
) -> Priced:
    """Everything :func:`open_account` checks but the card (:func:`check_open` checks it
    too): the price of that account, the customer not open on it yet, the price, the meter's
    limit after its pre-stored quantity."""
    _check_price_of(account, price)
    existing = CustomerAccount.objects.filter(customer=customer, account=account).first()
    if existing is not None and existing.last_serial:
        raise PrepaidError(
            "already_open",
            _("This customer already has an account on %(account)s."),
            account=account.name,
        )
    priced = price_purchase(price, quantity, amount, existing)
    room = account.limit_centi - account.prestore_centi
    if priced.quote.quantity_centi > room:
        raise _over_limit(account.limit_centi, room)
    return priced


@at_the_reader
def check_open(
    station: Station, customer: Customer, account: Account, price: Price, quantity: Any, amount: Any
) -> tuple[Priced, Confirmed]:
    """Everything :func:`open_account` checks before it writes, the card in the reader
    included: a new card, or the customer's own card to add an account to. The opening
    screen's confirm step shows these refusals before the operator confirms; its 写卡 posts
    back the confirmation."""
    _check_price_of(account, price)
    _record, card = _card_for_opening(station, customer)
    priced = check_opening(customer, account, price, quantity, amount)
    return priced, purchase_confirmation(station, card.serial, priced)


def _card_for_opening(station: Station, customer: Customer) -> tuple[CustomerCard | None, Card]:
    active = customer.cards.filter(status=CustomerCard.Status.ACTIVE).first()
    read = cardio.read(station.reader, station.site_key)
    if active is not None and read.serial == active.serial:
        user_card = read_user_card(station)
        return user_card.record, user_card.card
    if read.card is None:
        raise cardio.damaged(read)
    if active is not None:  # the account goes on that card: a new card would not do either
        raise PrepaidError(
            "customer_has_card",
            _(
                "This customer already has card %(serial)s: put that card in the reader to add "
                "an account, or reissue it if it is lost."
            ),
            serial=active.serial,
        )
    if read.card.type != CardType.NEW:
        raise cardio.not_a_new_card(read.card.type.code)
    if CustomerCard.objects.filter(serial=read.card.serial).exists():
        raise cardio.not_a_new_card("user")
    return None, read.card


def _open_customer_account(
    station: Station, customer: Customer, account: Account, price: Price
) -> CustomerAccount:
    """The customer's account row (an earlier opening that was voided leaves one behind)."""
    customer_account, created = CustomerAccount.objects.get_or_create(
        customer=customer, account=account, defaults={"price": price, "opened_at": timezone.now()}
    )
    if created:
        log_action(
            station.operator,
            "customer_account.open",
            customer_account,
            station=station.name,
            after={"customer": customer.user_number, "account": account.pk, "price": price.pk},
        )
    elif customer_account.price_id != price.pk and not customer_account.last_serial:
        customer_account.price = price
        customer_account.save(update_fields=["price"])
        log_action(
            station.operator,
            "customer_account.price",
            customer_account,
            station=station.name,
            after={"price": price.pk},
        )
    return customer_account


def _register_card(
    station: Station, customer: Customer, record: CustomerCard | None, card: Card
) -> CustomerCard:
    if record is not None:
        return record
    generation = (
        customer.cards.order_by("-generation").values_list("generation", flat=True).first() or 0
    ) + 1
    record = CustomerCard.objects.create(
        customer=customer,
        serial=card.serial,
        generation=generation,
        status=CustomerCard.Status.ACTIVE,
        issued_at=timezone.now(),
    )
    log_action(
        station.operator,
        "card.issue",
        record,
        station=station.name,
        after={"serial": record.serial, "generation": generation, "customer": customer.user_number},
    )
    return record


# -- 销售 sale --------------------------------------------------------------------------------


@outside_transactions
@at_the_reader
@_once_per_key
def sell(
    station: Station,
    *,
    account_id: int | None = None,
    quantity: Any = None,
    amount: Any = None,
    payment: str = "cash",
    key: str,
    confirmed: Confirmed | None = None,
) -> Purchase:
    """A further purchase written to the customer's card (the card in the reader).
    ``confirmed``: what the confirm step showed (refused, nothing done, when anything else
    would be written or charged; :mod:`prepaid.vending.confirmed`)."""
    _check_key(key)
    check_quantity_or_amount(quantity, amount)
    _check_payment(payment)
    replayed = _replay(station, key)
    if replayed is not None:
        return replayed
    user_card = read_user_card(station, observe=False)
    accounts = customer_accounts(user_card.customer)
    with _WriteBacks(station, user_card, accounts) as write_backs:
        confirm.check_card(confirmed, user_card.record.serial)
        customer_account = _customer_account(user_card.customer, account_id, accounts)
        priced = check_sale(user_card, customer_account, quantity, amount)
        _check_confirmed(station, confirmed, priced, customer_account.account, customer_account)
        with transaction.atomic(durable=True), appended_together():
            customer_account = _lock_for_purchase(customer_account, key)
            _check_card_matches(user_card, customer_account)
            _lock_active_card(user_card.record)
            # After the row locks: the audit chain's head is always taken last.
            write_backs.record()
            purchase = _new_purchase(
                station,
                customer_account,
                serial=customer_account.last_serial + 1,
                kind=Purchase.Kind.PURCHASE,
                quantity_centi=priced.quote.quantity_centi,
                priced=priced,
                payment=payment,
                card=user_card.record,
                key=key,
            )
        write_backs.recorded = True
    return _write_and_complete(station, purchase, user_card.record, user_card.card, accounts)


def check_sale(
    user_card: UserCard, customer_account: CustomerAccount, quantity: Any, amount: Any
) -> Priced:
    """Everything :func:`sell` checks before it writes: the last purchase swiped on the meter,
    the card carrying the office's last purchase, the price, the meter's limit. The sale
    screen's confirm step shows these refusals before the operator confirms."""
    if not user_card.card.swiped(customer_account.account.sub_meter):
        raise not_swiped(user_card.card, customer_account, cardio.live_purchase(customer_account))
    _check_card_matches(user_card, customer_account)
    priced = price_purchase(customer_account.price, quantity, amount, customer_account)
    _check_limit(user_card.card, customer_account, priced.quote.quantity_centi)
    return priced


def _check_limit(
    card: Card, customer_account: CustomerAccount, quantity_centi: int, carried_centi: int = 0
) -> None:
    """Refuse a sale the meter would refuse, from the balance it last wrote back."""
    account = customer_account.account
    write_back = card.write_back(account.sub_meter)
    balance = write_back.balance_centi if write_back is not None else account.prestore_centi
    room = account.limit_centi - balance - carried_centi
    if quantity_centi > room:
        raise _over_limit(account.limit_centi, room)


# -- 充值修改 correction ------------------------------------------------------------------------


@outside_transactions
@at_the_reader
@_once_per_key
def correct(
    station: Station,
    *,
    account_id: int | None = None,
    quantity: Any = None,
    amount: Any = None,
    payment: str | None = None,
    key: str,
    confirmed: Confirmed | None = None,
) -> Purchase:
    """Change the last purchase while it is not yet swiped: the original is reversed in the
    ledger and the new quantity written under the same purchase serial. ``confirmed``: as
    :func:`sell`'s, naming the purchase replaced."""
    _check_key(key)
    check_quantity_or_amount(quantity, amount)
    replayed = _replay(station, key)
    if replayed is not None:
        return replayed
    user_card = read_user_card(station)
    confirm.check_card(confirmed, user_card.record.serial)
    customer_account = _account_to_correct(user_card, account_id)
    original, priced = check_correction(user_card, customer_account, quantity, amount)
    _check_confirmed(
        station, confirmed, priced, customer_account.account, customer_account, original
    )
    payment = _check_payment(payment or original.payment_method or "cash")
    with transaction.atomic(durable=True):
        customer_account = _lock_for_purchase(customer_account, key)
        if cardio.live_purchase(customer_account) != original:  # corrected elsewhere
            raise card_mismatch(customer_account.last_serial)
        _lock_active_card(user_card.record)
        purchase = _new_purchase(
            station,
            customer_account,
            serial=original.serial,
            kind=Purchase.Kind.PURCHASE,
            quantity_centi=priced.quote.quantity_centi,
            priced=priced,
            payment=payment,
            card=user_card.record,
            key=key,
            supersedes=original,
        )
    return _write_and_complete(station, purchase, user_card.record, user_card.card)


def _account_to_correct(user_card: UserCard, account_id: int | None) -> CustomerAccount:
    """The account whose last purchase is corrected: the one asked for, else the customer's
    only one, else — on a card of several accounts — the only one whose last purchase the
    meter has not taken yet, the one purchase there is to correct (the correction screen
    offers it first). Several such: the operator chooses (``account_required``)."""
    if account_id is None:
        opened = [ca for ca in customer_accounts(user_card.customer) if ca.last_serial]
        unswiped = [
            ca
            for ca in opened
            if not _last_purchase_swiped(user_card, ca, cardio.live_purchase(ca))
        ]
        if len(opened) > 1 and len(unswiped) == 1:
            return unswiped[0]
    return _customer_account(user_card.customer, account_id)


def check_correction(
    user_card: UserCard, customer_account: CustomerAccount, quantity: Any, amount: Any
) -> tuple[Purchase, Priced]:
    """Everything :func:`correct` checks before it writes: the last purchase not yet swiped,
    the card carrying it, a purchase to correct, the new price and the meter's limit. The
    purchase corrected and the new price."""
    original = cardio.live_purchase(customer_account)
    if _last_purchase_swiped(user_card, customer_account, original):
        raise PrepaidError(
            "already_swiped",
            _(
                "The last purchase has already been swiped on the meter and can "
                "no longer be corrected."
            ),
        )
    _check_card_matches(user_card, customer_account)
    if _uncertain_purchase(user_card, original, swiped=False) is not None:
        if user_card.card.write_back_damaged:
            # The meter may hold the credit already (it ignores a serial it has applied): a
            # refund now would be money for credit the customer keeps.
            raise PrepaidError(
                "write_back_damaged",
                _(
                    "What the meter wrote back on this card is damaged (the card was pulled "
                    "while the meter wrote): the office cannot tell whether the meter has "
                    "already taken the last purchase, so it cannot be corrected. Swipe the "
                    "card on the meter: it writes back again."
                ),
            )
        # Only the old meter could tell whether it took the purchase before the card was
        # lost (as at a meter change); a refund then would be money for credit the customer
        # keeps (the meter ignores a serial it has applied).
        raise PrepaidError(
            "reissued_since",
            _(
                "The last purchase was written on the customer's earlier card, reissued "
                "since: the office cannot tell whether the meter has already taken it, so it "
                "cannot be corrected."
            ),
        )
    if original is None or original.kind != Purchase.Kind.PURCHASE:
        raise PrepaidError(
            "nothing_to_correct",
            _("The last entry on this card is not a purchase that can be corrected."),
        )
    priced = price_purchase(
        customer_account.price, quantity, amount, customer_account, exclude=original
    )
    _check_limit(user_card.card, customer_account, priced.quote.quantity_centi)
    return original, priced


def _last_purchase_swiped(
    user_card: UserCard, customer_account: CustomerAccount, last: Purchase | None
) -> bool:
    """Whether the meter has applied the account's last purchase: the card's write-back says
    so, or — for a card that cannot tell, reissued and not swiped since — the office has read
    it on an earlier card of the customer's (the meter wrote back that serial or a later one).
    Correcting such a purchase, or carrying it over to a new meter, would credit it twice."""
    if user_card.card.swiped(customer_account.account.sub_meter):
        return True
    if last is None:
        return False
    # Recorded by the reports app from every card read (user_card_read).
    from prepaid.reports.models import WriteBackObservation

    return WriteBackObservation.objects.filter(
        customer_account_id=customer_account.pk, last_serial__gte=last.serial
    ).exists()


# -- 补卡 reissue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reissue:
    """A reissue as recorded: its ``CardOperation`` (the receipt's number), the new card's
    record, the card it revoked, the card written, and the fee entry the ledger booked."""

    operation: CardOperation
    record: CustomerCard
    revoked: CustomerCard | None
    card: Card
    fee: LedgerEntry | None


def reissue_fee_fen(fee: Any) -> int:
    """The reissue fee in fen: nothing when left empty, else an amount with at most 2
    decimals (the confirm step shows what will be charged, refused as at the write)."""
    if fee is None or str(fee).strip() == "":
        return 0
    return parse_money(fee, field="fee", allow_zero=True)


@outside_transactions
@at_the_reader
def reissue(
    station: Station,
    customer: Customer,
    *,
    fee: Any = None,
    payment: str = "cash",
    key: str,
    confirmed: Confirmed | None = None,
) -> Reissue:
    """A new card for a lost or broken one: same last purchases, generation + 1. The old
    card is revoked at once here, and in the meter at the new card's first swipe.
    ``confirmed``: what the confirm step showed (:attr:`ReissueReview.confirmed`): refused,
    nothing done, when another card than the one it named would be revoked, or its fee would
    go into a shift opened after the operator's shift closed."""
    _check_key(key)
    _check_payment(payment)
    fee_fen = reissue_fee_fen(fee)
    replayed = _replay_reissue(customer, key)
    if replayed is not None:
        return _finish_reissue(station, replayed)
    card, registered = _card_for_reissue(station, customer)
    if registered is not None:
        # A reissue whose card write failed: finish writing the same card, and answer with
        # that reissue (its fee, its receipt), charged once.
        operation = _reissue_operation(card_serial=registered.serial, customer=customer)
        assert operation is not None  # _card_for_reissue refuses the other cards
        card = restore_card(station, registered, card)
        return replace(reissue_of(operation), card=card)
    with transaction.atomic(durable=True):
        Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)  # one reissue at a time
        if fee_fen:
            confirm.check_shift(confirmed, station.operator, station.name)
        record, revoked, operation = _swap_cards(station, customer, card, key, confirmed)
        fee_entry = None
        if fee_fen:
            fee_entry = _entry(
                station,
                None,
                kind=LedgerEntry.Kind.FEE,
                amount_fen=fee_fen,
                quantity_centi=0,
                customer=customer,
                account=None,
                payment=payment,
                key=f"{key}:fee",
                remarks="reissue fee",
            )
    card = cardio.write_office_area(station.reader, cardio.expected_card(record), station.site_key)
    return Reissue(operation, record, revoked, card, fee_entry)


@dataclass(frozen=True)
class ReissueRisks:
    """What a reissue records and warns of (see :func:`reissue_document`): the meter-change
    transfers the card it revokes still carries that no meter is known to have taken, and the
    first purchases the new card carries unmarked; ``taken``: the purchases the new card
    carries marked taken."""

    transfers_at_risk: list[dict[str, Any]]
    first_purchases_at_risk: list[dict[str, Any]]
    taken: list[dict[str, int]]


@dataclass(frozen=True)
class ReissueReview:
    """What the reissue screen's confirm step shows before 写卡: the fee in fen, and what the
    reissue will warn of, so that the operator tells the customer first."""

    fee_fen: int
    risks: ReissueRisks
    # the card it revokes and the fee, for its 写卡 to post back (prepaid.vending.confirmed)
    confirmed: Confirmed


def reissue_risks(customer: Customer, *, has_card: bool | None = None) -> ReissueRisks:
    """What a reissue of the customer's card would record and warn of if written now: the
    same computation :func:`reissue` records, so that the confirm step and 补卡成功 cannot
    disagree. Reads only. ``has_card``: whether the customer has a card in use, when the
    caller has it locked."""
    if has_card is None:
        has_card = customer.cards.filter(status=CustomerCard.Status.ACTIVE).exists()
    # Without a card being revoked, nothing is carried by a lost card nor seen taken on it.
    at_risk = _transfers_at_risk(customer) if has_card else []
    taken = _taken_on_earlier_cards(customer) if has_card else []
    return ReissueRisks(at_risk, _first_purchases_at_risk(customer, taken), taken)


@at_the_reader
def check_reissue(station: Station, customer: Customer, *, fee: Any = None) -> ReissueReview:
    """Everything :func:`reissue` checks before it writes: the fee, the card in the reader (a
    new card, not the customer's own card in use), a card to replace, no purchase of the
    customer's left pending. The reissue screen's confirm step shows these refusals before
    the operator confirms, and what the reissue will warn of (:func:`reissue_risks`; for a
    reissue whose write failed, what it recorded). Writes and audits nothing."""
    fee_fen = reissue_fee_fen(fee)
    _card, registered = _card_for_reissue(station, customer)
    if registered is not None:  # a reissue whose write failed, finished by writing again
        operation = _reissue_operation(card_serial=registered.serial, customer=customer)
        assert operation is not None  # _card_for_reissue refuses the other cards
        details = operation.details
        recorded = ReissueRisks(
            details.get("transfers_at_risk", []),
            details.get("first_purchases_at_risk", []),
            details.get("taken", []),
        )
        confirmed = confirm.confirmation(
            station.operator, station.name, details.get("revoked") or "", amount_fen=fee_fen
        )
        return ReissueReview(fee_fen, recorded, confirmed)
    _check_reissuable(station, customer)
    in_use = customer.cards.filter(status=CustomerCard.Status.ACTIVE).first()
    confirmed = confirm.confirmation(
        station.operator,
        station.name,
        in_use.serial if in_use is not None else "",
        amount_fen=fee_fen,
    )
    return ReissueReview(fee_fen, reissue_risks(customer), confirmed)


def _card_for_reissue(station: Station, customer: Customer) -> tuple[Card, CustomerCard | None]:
    """The card in the reader for a reissue: a new card, or — with its record — the card an
    earlier reissue of this customer's failed to write."""
    read = cardio.read(station.reader, station.site_key)
    if read.card is None:
        raise cardio.damaged(read)
    registered = _registered_card(read.card.serial)
    if read.card.type != CardType.NEW:
        if _is_card_in_use(registered, customer) and read.card.type == CardType.USER:
            raise cardio.own_card_in_use()
        raise cardio.not_a_new_card(read.card.type.code)
    if registered is None:
        return read.card, None
    if not _is_card_in_use(registered, customer):
        raise cardio.not_a_new_card("user")
    if _reissue_operation(card_serial=registered.serial, customer=customer) is None:
        raise cardio.not_a_new_card("user")  # the customer's first card, left unwritten
    return read.card, registered


def _check_reissuable(
    station: Station, customer: Customer, *, has_card: bool | None = None
) -> None:
    """No purchase of the customer's pending (being written elsewhere, or left by a sale that
    will not finish), and a card to replace. ``has_card``: whether the customer has a card in
    use, when the caller has it locked."""
    pending = list(
        Purchase.objects.filter(
            customer_account__customer=customer, status=Purchase.Status.PENDING
        ).order_by("id")
    )
    in_flight = [purchase for purchase in pending if _in_flight(purchase, station)]
    if in_flight:
        raise sale_in_progress(in_flight[0], reissue=True)
    if pending:  # left by a sale that will not finish: someone must settle it first
        raise stale_pending_purchase(pending[0])
    if has_card is None:
        has_card = customer.cards.filter(status=CustomerCard.Status.ACTIVE).exists()
    if not has_card and not CustomerAccount.objects.filter(customer=customer).exists():
        raise PrepaidError(
            "nothing_to_reissue", _("This customer has no card to reissue: open an account first.")
        )


def _reissue_operation(**lookup: Any) -> CardOperation | None:
    return (
        CardOperation.objects.filter(kind=CardOperation.Kind.REISSUE, **lookup)
        .select_related("customer", "operator")
        .first()
    )


def _replay_reissue(customer: Customer, key: str) -> Reissue | None:
    """A resubmitted reissue (same request key): the first result, charged once (its card is
    then checked by :func:`_finish_reissue`)."""
    operation = _reissue_operation(customer=customer, details__key=key)
    return reissue_of(operation) if operation is not None else None


def _finish_reissue(station: Station, replayed: Reissue) -> Reissue:
    """A reissue retried with its request key: the first write may have been cut (the card
    pulled mid-write, a lost reply), so the card in the reader is read as a sale's card is —
    a torn or unwritten card is written again from the office's records — before the retry
    answers 补卡成功. A card replaced since by another reissue has nothing left to finish."""
    record = replayed.record
    if record.status != CustomerCard.Status.ACTIVE:
        return replayed
    try:
        serial = cardio.read(station.reader, station.site_key).serial
    except ReaderError as exc:
        if exc.code != "no_card":
            raise
        serial = None
    if serial != record.serial:
        raise PrepaidError(
            "reissue_card_elsewhere",
            _(
                "This reissue was written onto card %(serial)s, which is not in the reader: "
                "put that card in the reader and try again, so that the card is checked and "
                "finished (the fee is not charged again)."
            ),
            serial=record.serial,
        )
    return replace(replayed, card=read_user_card(station).card)


def reissue_of(operation: CardOperation) -> Reissue:
    """A reissue as recorded, from its card operation: the card as the office knows it, and
    the fee entry exactly as the ledger booked it (none when no fee was charged)."""
    record = CustomerCard.objects.select_related("customer").get(serial=operation.card_serial)
    revoked_serial = operation.details.get("revoked")
    revoked = CustomerCard.objects.filter(serial=revoked_serial).first() if revoked_serial else None
    key = operation.details.get("key")
    fee = LedgerEntry.objects.filter(idempotency_key=f"{key}:fee").first() if key else None
    return Reissue(operation, record, revoked, cardio.expected_card(record), fee)


def find_reissue(reissue_id: int) -> Reissue:
    """A reissue by the id of its card operation (the number on its receipt)."""
    operation = _reissue_operation(pk=reissue_id)
    if operation is None:
        raise PrepaidError("unknown_reissue", _("There is no such reissue."))
    return reissue_of(operation)


def reissue_of_card(customer: Customer, card_serial: str) -> Reissue | None:
    """The reissue that issued the customer's card ``card_serial``; None for a card an
    opening issued."""
    operation = _reissue_operation(customer=customer, card_serial=card_serial)
    return reissue_of(operation) if operation is not None else None


def reissue_document(result: Reissue) -> dict[str, Any]:
    """A reissue as the CLI prints it and its receipt shows it: customer, new and revoked
    card, the fee the ledger booked, how it was paid, who, when and where."""
    operation, fee = result.operation, result.fee
    customer = result.record.customer
    return {
        "reissue_id": operation.pk,
        "user_number": customer.user_number,
        "customer": customer.name,
        "card_serial": result.record.serial,
        "generation": result.record.generation,
        "revoked_serial": result.revoked.serial if result.revoked else None,
        "revoked_generation": result.revoked.generation if result.revoked else None,
        "fee": format_fen(fee.amount_fen if fee else 0),
        "fee_entry": fee.pk if fee else None,
        "payment": fee.payment_method if fee else "",
        "operator": operation.operator.username,
        "time": office_moment(operation.time),
        "station": operation.station,
        # meter-change transfers the revoked card still carries, not known to be taken by a
        # meter: a second new meter would take them from that card too (recycle it if found)
        "transfers_at_risk": operation.details.get("transfers_at_risk", []),
        # the customer's first purchase, written on the new card unmarked: a spare meter, set
        # and not yet bound, would credit it too (the customer swipes on their own meter only)
        "first_purchases_at_risk": operation.details.get("first_purchases_at_risk", []),
    }


def carried_amounts(result: Reissue) -> dict[int, str]:
    """What the purchases a reissued card carries cost, by sub-meter (a meter-change transfer
    costs nothing): the amount that goes with each slot's quantity."""
    amounts: dict[int, str] = {}
    for slot in result.card.slots:
        purchase = (
            Purchase.objects.filter(
                customer_account__customer_id=result.record.customer_id,
                customer_account__account__sub_meter=slot.sub_meter,
                serial=slot.serial,
                status=Purchase.Status.COMPLETED,
            )
            .only("amount_fen")
            .first()
        )
        if purchase is not None:
            amounts[slot.sub_meter] = format_fen(purchase.amount_fen)
    return amounts


def _swap_cards(
    station: Station, customer: Customer, new_card: Card, key: str, confirmed: Confirmed | None
) -> tuple[CustomerCard, CustomerCard | None, CardOperation]:
    old = (
        CustomerCard.objects.select_for_update(no_key=True)
        .filter(customer=customer, status=CustomerCard.Status.ACTIVE)
        .first()
    )
    confirm.check_revoked(confirmed, old)  # not a card another station reissued meanwhile
    # After the card lock: a sale that got it first has committed its pending purchase.
    _check_reissuable(station, customer, has_card=old is not None)
    risks = reissue_risks(customer, has_card=old is not None)
    if old is not None:
        old.status = CustomerCard.Status.REVOKED
        old.revoked_at = timezone.now()
        old.save(update_fields=["status", "revoked_at"])
        log_action(
            station.operator,
            "card.revoke",
            old,
            station=station.name,
            before={"status": "active"},
            after={"status": "revoked", "transfers_at_risk": risks.transfers_at_risk},
        )
    record = _register_card(station, customer, None, new_card)
    operation = CardOperation.objects.create(
        kind=CardOperation.Kind.REISSUE,
        card_serial=record.serial,
        customer=customer,
        operator=station.operator,
        station=station.name,
        time=timezone.now(),
        details={
            "generation": record.generation,
            "revoked": old.serial if old is not None else None,
            "key": key,
            "transfers_at_risk": risks.transfers_at_risk,
            "first_purchases_at_risk": risks.first_purchases_at_risk,
            # written on the new card as taken: no meter credits them (cardio.taken_marks)
            "taken": risks.taken,
        },
    )
    return record, old, operation


def _taken_on_earlier_cards(customer: Customer) -> list[dict[str, int]]:
    """The last purchase or transfer of each account that a meter write-back the office read
    (on the card being replaced, or an earlier one) shows applied. The new card carries it
    with no meter record of its own, which is all a set meter (a spare, the old meter set
    again) could go by to refuse it (E12): the reissue marks its slot taken instead. One that
    no write-back shows applied is written unmarked — the customer's meter, or a new one,
    must still be able to take it; a transfer among them is at risk (_transfers_at_risk)."""
    taken = []
    for customer_account in customer_accounts(customer):
        last = cardio.live_purchase(customer_account)
        if last is not None and _seen_applied(customer_account, last):
            taken.append({"sub_meter": customer_account.account.sub_meter, "serial": last.serial})
    return taken


def _seen_applied(customer_account: CustomerAccount, purchase: Purchase) -> bool:
    """Whether a meter write-back the office read shows ``purchase`` (or a later serial)
    applied on this account."""
    # Recorded by the reports app from every card read (user_card_read).
    from prepaid.reports.models import WriteBackObservation

    return WriteBackObservation.objects.filter(
        customer_account_id=customer_account.pk, last_serial__gte=purchase.serial
    ).exists()


def _first_purchases_at_risk(
    customer: Customer, taken: list[dict[str, int]]
) -> list[dict[str, Any]]:
    """The customer's first purchases (the opening, serial 1) the new card carries unmarked:
    no meter write-back the office read shows them taken (``taken``). The customer's own
    meter adds nothing for a serial it has applied, but a spare meter of the account, set and
    not yet bound, binds to the new card and credits the opening again (DESIGN §4). The office
    cannot tell; it says so at the counter, and the suspicious-customer report flags it
    (``first_purchase_at_risk``) until a write-back shows it taken."""
    marked = {(t["sub_meter"], t["serial"]) for t in taken}
    at_risk = []
    for customer_account in customer_accounts(customer):
        last = cardio.live_purchase(customer_account)
        if last is None or last.serial != 1 or last.kind != Purchase.Kind.PURCHASE:
            continue
        sub_meter = customer_account.account.sub_meter
        if (sub_meter, last.serial) in marked:
            continue
        at_risk.append(
            {
                "sub_meter": sub_meter,
                "serial": last.serial,
                "quantity": format_centi(last.quantity_centi),
            }
        )
    return at_risk


def _transfers_at_risk(customer: Customer) -> list[dict[str, Any]]:
    """The meter-change transfers the card being revoked carries and no meter is known to
    have taken (no write-back the office read shows that serial). A meter cannot tell a
    revoked card's transfer from a valid one: a set, not yet bound meter takes it (DESIGN §4),
    so the lost card could hand it to a second new meter as well. The office cannot stop
    that; it records the transfer with the reissue and says so, so that the old card is
    recycled if it turns up and the meters are checked."""
    at_risk = []
    for customer_account in customer_accounts(customer):
        last = cardio.live_purchase(customer_account)
        if last is None or last.kind != Purchase.Kind.TRANSFER:
            continue
        if _seen_applied(customer_account, last):
            continue
        at_risk.append(
            {
                "sub_meter": customer_account.account.sub_meter,
                "serial": last.serial,
                "quantity": format_centi(last.quantity_centi),
            }
        )
    return at_risk


# -- 换表 meter change -------------------------------------------------------------------------


@outside_transactions
@at_the_reader
@_once_per_key
def meter_change(
    station: Station,
    *,
    remaining: Any,
    account_id: int | None = None,
    reason: str = "",
    last_taken: bool | None = None,
    key: str,
    confirmed: Confirmed | None = None,
) -> tuple[Purchase, MeterChange]:
    """Move the customer's remaining credit from a replaced meter to the new one (admin).

    Transfer = remaining on the old meter − the new meter's pre-stored quantity + an
    unswiped last purchase. It is written as a transfer that only a set, not yet bound
    meter takes, so the old meter can never take it too. ``last_taken`` is the admin's
    answer, read off the old meter's display, when the office cannot tell whether the old
    meter took the last purchase (see :func:`check_meter_change`). ``confirmed``: what the
    confirm step showed (refused, nothing written, when the transfer would now differ)."""
    require_admin(station.operator)
    _check_key(key)
    if len(reason) > 200:
        raise InvalidInput(
            "too_long",
            _("%(field)s is too long (at most %(maximum)s characters)."),
            field="reason",
            maximum=200,
        )
    remaining_centi = parse_quantity(
        remaining, field="remaining", allow_zero=True, allow_negative=True
    )
    replayed = _replay(station, key)
    if replayed is not None:
        return replayed, MeterChange.objects.get(transfer=replayed)
    user_card = read_user_card(station)
    confirm.check_card(confirmed, user_card.record.serial)
    customer_account = _customer_account(user_card.customer, account_id)
    change = check_meter_change(user_card, customer_account, remaining, last_taken)
    _check_confirmed_transfer(confirmed, customer_account, change)
    with transaction.atomic(durable=True):
        customer_account = _lock_for_purchase(customer_account, key)
        _check_card_matches(user_card, customer_account)  # not sold to elsewhere meanwhile
        change = _plan_meter_change(user_card, customer_account, remaining_centi, last_taken)
        _check_confirmed_transfer(confirmed, customer_account, change)
        _lock_active_card(user_card.record)
        purchase = _new_purchase(
            station,
            customer_account,
            serial=customer_account.last_serial + 1,
            kind=Purchase.Kind.TRANSFER,
            quantity_centi=change.transfer_centi,
            priced=None,
            payment="",
            card=user_card.record,
            key=key,
        )
        record = _record_meter_change(station, customer_account, purchase, change, reason)
    purchase = _write_and_complete(station, purchase, user_card.record, user_card.card)
    return purchase, record


@dataclass(frozen=True)
class MeterChangePlan:
    remaining_centi: int
    prestore_centi: int
    carried_centi: int
    transfer_centi: int
    value_fen: int
    old_balance_centi: int | None
    old_cumulative_centi: int | None
    # The admin's answer when the office could not tell whether the old meter took the last
    # purchase (its serial in ``asked_serial``); both None when it could.
    last_taken: bool | None = None
    asked_serial: int | None = None


def check_meter_change(
    user_card: UserCard,
    customer_account: CustomerAccount,
    remaining: Any,
    last_taken: bool | None = None,
) -> MeterChangePlan:
    """Everything :func:`meter_change` checks before it writes, and what it will write: the
    quantity moved to the new meter and its value at the current price (用户剩余金额), which
    the confirm step shows before the operator confirms.

    When the last purchase was written on a card reissued since and the office never saw
    the old meter take it, only the old meter's display can tell: ``last_taken`` says what
    the admin read there (True: not carried over, False: carried over); without it the
    change is refused (``last_purchase_unknown``). Otherwise it is not asked and ignored."""
    remaining_centi = parse_quantity(
        remaining, field="remaining", allow_zero=True, allow_negative=True
    )
    _check_card_matches(user_card, customer_account)
    return _plan_meter_change(user_card, customer_account, remaining_centi, last_taken)


def meter_change_confirmation(
    station: Station,
    user_card: UserCard,
    customer_account: CustomerAccount,
    plan: MeterChangePlan,
) -> Confirmed:
    """What the meter change's confirm step shows, for its 写卡 to post back."""
    return confirm.confirmation(
        station.operator,
        station.name,
        user_card.record.serial,
        serial=_serial_written(customer_account),
        quantity_centi=plan.transfer_centi,
        amount_fen=plan.value_fen,
    )


def _check_confirmed_transfer(
    confirmed: Confirmed | None, customer_account: CustomerAccount, plan: MeterChangePlan
) -> None:
    """The transfer about to be written is the one confirmed: nothing written on the card
    since, the same quantity moved, of the same value."""
    if confirmed is None:
        return
    from prepaid.accounts.services import meter_unit

    confirm.check_purchase(confirmed, customer_account, serial=_serial_written(customer_account))
    unit = meter_unit(customer_account.account)
    confirm.check_transfer(confirmed, unit, plan.transfer_centi, plan.value_fen)


def meter_change_question(
    user_card: UserCard, customer_account: CustomerAccount
) -> Purchase | None:
    """The last purchase the admin must say whether the old meter took, or None when the
    office can tell (what the meter-change form asks)."""
    last = cardio.live_purchase(customer_account)
    swiped = _last_purchase_swiped(user_card, customer_account, last)
    return _uncertain_purchase(user_card, last, swiped)


def _uncertain_purchase(
    user_card: UserCard, last: Purchase | None, swiped: bool
) -> Purchase | None:
    """``last`` when only the old meter's display can tell whether it was taken: a purchase
    not known to be swiped, written on an earlier card of the customer's (reissued since, and
    never read back after a swipe), or on a card whose meter area is damaged (the card pulled
    while a meter wrote back: that meter may have taken it). A purchase on this card is
    otherwise told by its own write-back."""
    if last is None or swiped or last.kind != Purchase.Kind.PURCHASE:
        return None
    if user_card.card.write_back_damaged:
        return last
    return last if last.card_generation < user_card.record.generation else None


def _plan_meter_change(
    user_card: UserCard,
    customer_account: CustomerAccount,
    remaining_centi: int,
    last_taken: bool | None,
) -> MeterChangePlan:
    account = customer_account.account
    last = cardio.live_purchase(customer_account)
    swiped = _last_purchase_swiped(user_card, customer_account, last)
    if last is not None and last.kind == Purchase.Kind.TRANSFER and not swiped:
        raise card_not_swiped()
    asked = _uncertain_purchase(user_card, last, swiped)
    if asked is not None:
        if last_taken is None:
            raise _last_purchase_unknown(asked, account, user_card.card.write_back_damaged)
        swiped = last_taken
    if remaining_centi < -account.overdraft_centi:
        raise PrepaidError(
            "below_overdraft",
            _(
                "An old meter cannot be below -%(overdraft)s, its overdraft (its valve closes "
                "there): check the remaining quantity, %(remaining)s."
            ),
            overdraft=format_centi(account.overdraft_centi),
            remaining=format_centi(remaining_centi),
        )
    carried = last.quantity_centi if last is not None and not swiped else 0
    # An overdrawn old meter (remaining below zero) passes its debt on: the new meter starts
    # as far below zero, not forgiven at the change.
    transfer = remaining_centi - account.prestore_centi + carried
    if account.prestore_centi + transfer > account.limit_centi:
        raise _remaining_over_limit(account.limit_centi, remaining_centi, carried)
    write_back = user_card.card.write_back(account.sub_meter)
    if write_back is not None and remaining_centi > write_back.balance_centi:
        raise _remaining_above_meter(remaining_centi, write_back.balance_centi)
    value = _remaining_value(customer_account, transfer)
    return MeterChangePlan(
        remaining_centi=remaining_centi,
        prestore_centi=account.prestore_centi,
        carried_centi=carried,
        transfer_centi=transfer,
        value_fen=value,
        old_balance_centi=write_back.balance_centi if write_back else None,
        old_cumulative_centi=write_back.cumulative_centi if write_back else None,
        last_taken=last_taken if asked is not None else None,
        asked_serial=asked.serial if asked is not None else None,
    )


def _last_purchase_unknown(purchase: Purchase, account: Account, damaged: bool) -> PrepaidError:
    from prepaid.accounts.services import meter_unit

    if damaged:
        return PrepaidError(
            "last_purchase_unknown",
            _(
                "Purchase #%(serial)s (%(quantity)s %(unit)s) is on this card, but what the "
                "meter wrote back on the card is damaged (the card was pulled while the meter "
                "wrote): the office cannot tell whether the old meter took it. Read the last "
                "purchase number on the old meter's display and say whether the old meter "
                "took purchase #%(serial)s."
            ),
            serial=purchase.serial,
            quantity=format_centi(purchase.quantity_centi),
            unit=meter_unit(account),
        )
    return PrepaidError(
        "last_purchase_unknown",
        _(
            "Purchase #%(serial)s (%(quantity)s %(unit)s) was written on the customer's "
            "earlier card, reissued since, and the office never read that card back: it "
            "cannot tell whether the old meter took it. Read the last purchase number on the "
            "old meter's display and say whether the old meter took purchase #%(serial)s."
        ),
        serial=purchase.serial,
        quantity=format_centi(purchase.quantity_centi),
        unit=meter_unit(account),
    )


def _remaining_above_meter(remaining_centi: int, balance_centi: int) -> PrepaidError:
    """More remaining than the old meter can hold: it wrote its balance back to this card at
    its last swipe, and a meter's balance only goes down until a purchase is swiped on it
    (which would have written back again). Credit typed in beyond it would be made up."""
    return PrepaidError(
        "remaining_above_meter",
        _(
            "The old meter cannot have %(remaining)s left: at the card's last swipe it showed "
            "%(balance)s, and its balance only goes down until a purchase is swiped. Check the "
            "remaining quantity on the old meter's display."
        ),
        remaining=format_centi(remaining_centi),
        balance=format_centi(balance_centi),
    )


def _remaining_over_limit(
    limit_centi: int, remaining_centi: int, carried_centi: int
) -> PrepaidError:
    """The new meter would hold the remaining quantity and the carried purchase (its
    pre-stored quantity is deducted from the transfer): the most that may be entered as
    remaining is the limit less what is carried, not the room for a sale."""
    room = format_centi(max(limit_centi - carried_centi, 0))
    if carried_centi == 0:
        return PrepaidError(
            "over_limit",
            _(
                "The new meter would hold %(remaining)s, more than the purchase limit of "
                "%(limit)s: the remaining quantity can be at most %(room)s."
            ),
            remaining=format_centi(remaining_centi),
            limit=format_centi(limit_centi),
            room=room,
        )
    return PrepaidError(
        "over_limit",
        _(
            "The new meter would hold %(remaining)s remaining and the %(carried)s of the "
            "purchase not yet swiped, more than the purchase limit of %(limit)s: the remaining "
            "quantity can be at most %(room)s."
        ),
        remaining=format_centi(remaining_centi),
        carried=format_centi(carried_centi),
        limit=format_centi(limit_centi),
        room=room,
    )


def _remaining_value(customer_account: CustomerAccount, transfer_centi: int) -> int:
    """用户剩余金额: what the quantity moved is worth at the current price. On a tiered price
    it is the last quantity the customer bought in this period, so it is priced in the tiers
    it was bought in (not all in the first tier, nor all at the next purchase's rate)."""
    if transfer_centi <= 0:
        return 0
    today = timezone.localdate()
    _, tariff = _tariff(customer_account.price, today)
    bought = _period_quantity(customer_account, pricing.period_start(today, tariff.period))
    prior = max(0, bought - transfer_centi)
    return pricing.quote_quantity(tariff, transfer_centi, prior).amount_fen


def _record_meter_change(
    station: Station,
    customer_account: CustomerAccount,
    purchase: Purchase,
    plan: MeterChangePlan,
    reason: str,
) -> MeterChange:
    record = MeterChange.objects.create(
        customer_account=customer_account,
        transfer=purchase,
        remaining_centi=plan.remaining_centi,
        prestore_centi=plan.prestore_centi,
        carried_centi=plan.carried_centi,
        value_fen=plan.value_fen,
        old_cumulative_centi=plan.old_cumulative_centi,
        old_balance_centi=plan.old_balance_centi,
        last_taken=plan.last_taken,
        reason=reason,
        operator=station.operator,
        time=timezone.now(),
    )
    CardOperation.objects.create(
        kind=CardOperation.Kind.METER_CHANGE,
        card_serial=purchase.card_serial,
        account=customer_account.account,
        customer=customer_account.customer,
        operator=station.operator,
        station=station.name,
        time=timezone.now(),
        details={"transfer": format_centi(plan.transfer_centi), "reason": reason},
    )
    log_action(
        station.operator,
        "meter_change.record",
        record,
        station=station.name,
        after=meter_change_document(record),
    )
    return record


def meter_change_document(record: MeterChange) -> dict[str, Any]:
    def centi(value: int | None) -> str | None:
        return None if value is None else format_centi(value)

    return {
        "remaining": format_centi(record.remaining_centi),
        "prestore_deducted": format_centi(record.prestore_centi),
        "carried": format_centi(record.carried_centi),
        "transfer": format_centi(record.transfer.quantity_centi),
        "value": format_fen(record.value_fen),
        "old_balance": centi(record.old_balance_centi),
        "old_cumulative": centi(record.old_cumulative_centi),
        # The admin's answer, when asked whether the old meter took the last purchase (the
        # serial before the transfer's): None when the office could tell.
        "last_taken": record.last_taken,
        "asked_serial": None if record.last_taken is None else record.transfer.serial - 1,
        "reason": record.reason,
    }


# -- reconcile ------------------------------------------------------------------------------


def pending_purchases() -> list[Purchase]:
    return list(
        Purchase.objects.filter(status=Purchase.Status.PENDING)
        .select_related(
            "customer_account__customer",
            "customer_account__account",
            "customer_account__price",
            "price_version",
            "supersedes",
        )
        .order_by("created_at")
    )


# What a purchase that is no longer pending has become, as ``not_pending`` names it.
SETTLED_STATUSES = {
    Purchase.Status.COMPLETED: Label(_("Completed")),
    Purchase.Status.VOIDED: Label(_("Voided")),
    Purchase.Status.CORRECTED: Label(_("Corrected")),
}


@transaction.atomic
def resolve_lost_card(station: Station, purchase_id: int, outcome: str) -> Purchase:
    """An admin settles a pending purchase whose card will not be seen again. A purchase that
    does not exist is bad input; one already settled is refused as it stands (nothing is
    voided or completed twice, and the admin is not told it was)."""
    require_admin(station.operator)
    if outcome not in ("void", "complete"):
        raise InvalidInput("bad_outcome", _("The outcome must be “void” or “complete”."))
    try:
        purchase = PURCHASES.get(purchase_id, for_update=True)
    except Purchase.DoesNotExist:
        raise InvalidInput(
            "no_such_purchase",
            _(
                "There is no purchase No. %(id)s: check the number (“prepaid reconcile "
                "--json” lists the pending purchases with theirs)."
            ),
            id=purchase_id,
        ) from None
    if purchase.status != Purchase.Status.PENDING:
        raise PrepaidError(
            "not_pending",
            _("Purchase No. %(id)s is not pending (%(status)s): there is nothing to settle."),
            id=purchase_id,
            status=SETTLED_STATUSES[Purchase.Status(purchase.status)],
        )
    if outcome == "void":
        return void_purchase(station, purchase_id, reason="settled by an administrator")
    with appended_together():  # in this transaction: no card is written
        return _complete(station, purchase_id, None)

"""Swipes seen through write-back: record what meters wrote on a customer's card.

The office learns about a swipe only when the customer's card is read again: each meter left
its record (last serial applied, balance, cumulative use, status flags, time) in the card's
meter area. :func:`record_write_backs` stores each record once; the vending read path calls it
after reading a user card, and so does the demo generator.

A check card (检查卡) swiped on a meter brings back the meter's full readings; the office
records one with :func:`record_check_reading` (``prepaid card read --record``, 记录表计读数 on
the reader panel) as an observation of the same table (``source`` ``check_card``), so that the
suspicious-customer rules count its cumulative use and status flags as they count a
write-back's. A reading is recorded only for the customer account the meter belongs to (bound
to a customer of this office, on one of the customer's sub-meters, with that account's
maintenance code and meter type); any other is refused and nothing is recorded. Until it is
recorded, no tool card, format or recycling writes over the check card
(:func:`refuse_unrecorded_reading`): the reading would be lost.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from prepaid.accounts.models import Account
from prepaid.audit.services import log_action
from prepaid.cards.documents import METER_STATE_NAMES, METER_STATES, user_number_text
from prepaid.core.card.model import Card, CardType, CheckReading, MeterType, WriteBack
from prepaid.core.errors import Label, PrepaidError, _
from prepaid.customers.models import Customer
from prepaid.readers.lock import at_the_reader
from prepaid.reports.models import WriteBackObservation
from prepaid.rows import execute, table
from prepaid.vending import cardio
from prepaid.vending.models import CustomerAccount, CustomerCard

if TYPE_CHECKING:
    from prepaid.vending.services import Station

OBSERVATIONS = table(WriteBackObservation)


def meter_time(write_back: WriteBack | CheckReading) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(write_back.time, tz=datetime.UTC)


def _key(
    card_serial: str,
    sub_meter: int,
    when: datetime.datetime,
    last_serial: int,
    balance_centi: int,
    cumulative_centi: int,
) -> tuple[Any, ...]:
    return (card_serial, sub_meter, when, last_serial, balance_centi, cumulative_centi)


# What the office had credited on an account up to a serial: two sums, each from its partial
# index (the completed purchases from the index alone). Parameters: account, serial, twice.
_CREDITED = (
    "COALESCE((SELECT SUM(quantity_centi) FROM vending_purchase "
    "WHERE customer_account_id = %s AND status = 'completed' AND serial <= %s), 0) + "
    "COALESCE((SELECT SUM(quantity_centi) FROM vending_purchase "
    "WHERE customer_account_id = %s AND status = 'pending' AND supersedes_id IS NULL "
    "AND serial <= %s), 0)"
)
# The meter changes before a serial; one whose transfer was voided (its card never written)
# left the customer on the old meter. Parameters: account, serial.
_SEGMENT = (
    "SELECT COUNT(*) FROM vending_meterchange mc "
    "JOIN vending_purchase tp ON mc.transfer_id = tp.id "
    "WHERE mc.customer_account_id = %s AND tp.serial <= %s AND tp.status <> 'voided'"
)


def _credited_and_segment(customer_account: CustomerAccount, last_serial: int) -> tuple[int, int]:
    """What the office had credited on this account up to a purchase serial (completed
    purchases and transfers, and a pending first write of a serial: a correction pending
    beside its completed original is not counted twice), and how many meter changes came
    before that serial (which physical meter wrote the record). One statement."""
    pk = customer_account.pk
    credited, segment = execute(
        f"SELECT {_CREDITED}, ({_SEGMENT})", [pk, last_serial, pk, last_serial, pk, last_serial]
    ).fetchone()
    return int(credited), int(segment)


def record_write_backs(
    card_record: CustomerCard,
    card: Card,
    *,
    operator: Any = None,
    station: str = "",
    accounts: list[CustomerAccount] | None = None,
) -> int:
    """Store the meter write-back records on a customer's card that are not stored yet.

    ``card_record`` is the office's record of the card (``vending.CustomerCard``), ``card``
    the decoded card just read, ``accounts`` the customer's accounts with their account at
    hand when the caller has them (else read here). Returns how many records were new. Safe
    to call on every read of the card and from several stations at once: a record is stored
    once.
    """
    if card.type != CardType.USER or not card.write_backs or card.write_back_damaged:
        return 0
    candidates = {
        _key(
            card.serial,
            wb.sub_meter,
            meter_time(wb),
            wb.last_serial,
            wb.balance_centi,
            wb.cumulative_centi,
        ): wb
        for wb in card.write_backs
    }
    times = sorted({k[2] for k in candidates})
    seen = {
        _key(
            o.card_serial,
            o.sub_meter,
            o.meter_time,
            o.last_serial,
            o.balance_centi,
            o.cumulative_centi,
        )
        for o in OBSERVATIONS.select(
            f"card_serial = %s AND meter_time IN ({', '.join(['%s'] * len(times))})",
            [card.serial, *(connection.ops.adapt_datetimefield_value(t) for t in times)],
        )
    }
    new = [wb for key, wb in candidates.items() if key not in seen]
    if not new:
        return 0
    if accounts is None:
        accounts = cardio.accounts_of(card_record.customer_id)
    by_sub_meter = {ca.account.sub_meter: ca for ca in accounts}
    now = timezone.now()
    rows = [_observation(card_record, card, wb, by_sub_meter.get(wb.sub_meter), now) for wb in new]
    for row in rows:
        _against_previous(row)
    stored = 0
    with transaction.atomic(savepoint=False):  # joins the sale's transaction when inside one
        for row in rows:  # another station may store it at the same moment: stored once
            stored += OBSERVATIONS.insert(row, unless_present=True)
        if stored:
            log_action(
                operator,
                "write_back.observe",
                card_record,
                station=station,
                after={
                    "card": card.serial,
                    "records": [
                        {
                            "sub_meter": r.sub_meter,
                            "meter_type": _meter_type_code(r),
                            "last_serial": r.last_serial,
                            "balance_centi": r.balance_centi,
                            "cumulative_centi": r.cumulative_centi,
                            "status": r.status,
                            "meter_time": r.meter_time.isoformat(),
                        }
                        for r in rows
                        if r.pk
                    ],
                },
            )
    return stored


def _meter_type_code(row: WriteBackObservation) -> str | None:
    """The meter type of the account a reading is of (the audit log shows its unit)."""
    return MeterType(row.account.meter_type).code if row.account is not None else None


def _against_previous(row: WriteBackObservation) -> None:
    """Use and unexplained difference since the previous reading of the same meter.

    For an honest meter ``use = credit − (balance − previous balance)`` exactly: whatever
    is left over is credit (or use) that no purchase explains. The differences are taken
    against the meter's latest reading stored: a reading older than it (a card's write-back
    read after a check card brought a later reading, or the other way round) falls inside a
    span already counted, and counts no use of its own — else the report would count the
    use of that span twice."""
    if row.customer_account is None or row.credited_centi is None:
        return
    previous = OBSERVATIONS.first(
        "customer_account_id = %s AND meter_segment = %s AND credited_centi IS NOT NULL",
        [row.customer_account_id, row.meter_segment],
        order="meter_time DESC, id DESC",
    )
    if previous is None or previous.meter_time >= row.meter_time:
        return
    row.use_centi = row.cumulative_centi - previous.cumulative_centi
    credit = row.credited_centi - (previous.credited_centi or 0)
    row.unexplained_centi = row.use_centi - credit + (row.balance_centi - previous.balance_centi)


def _observation(
    card_record: CustomerCard,
    card: Card,
    wb: WriteBack,
    customer_account: CustomerAccount | None,
    now: datetime.datetime,
) -> WriteBackObservation:
    credited, segment = (
        _credited_and_segment(customer_account, wb.last_serial) if customer_account else (None, 0)
    )
    return OBSERVATIONS.new(
        customer_id=card_record.customer_id,
        customer_account=customer_account,
        account=customer_account.account if customer_account else None,
        card_serial=card.serial,
        card_generation=card.generation,
        sub_meter=wb.sub_meter,
        last_serial=wb.last_serial,
        balance_centi=wb.balance_centi,
        cumulative_centi=wb.cumulative_centi,
        status=int(wb.status),
        result=wb.result,
        meter_time=meter_time(wb),
        observed_at=now,
        credited_centi=credited,
        meter_segment=segment,
    )


# -- check cards (检查卡) -------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedReading:
    """A check card's reading as the office recorded it: ``new`` is false when the same
    reading was recorded before (nothing was written then)."""

    card: Card
    observation: WriteBackObservation
    customer: Customer
    customer_account: CustomerAccount
    new: bool


def _not_a_check_card(card_type: str) -> PrepaidError:
    from prepaid.cards.documents import CARD_TYPE_NAMES

    return PrepaidError(
        "not_a_check_card",
        _("The card in the reader is not a check card (it is a %(type)s)."),
        type=Label(CARD_TYPE_NAMES.get(card_type, _("unreadable card"))),
    )


def _no_reading(damaged: bool) -> PrepaidError:
    if damaged:
        return PrepaidError(
            "no_check_reading",
            _(
                "The meter's part of this check card is damaged: swipe the check card on the "
                "meter again, then record its reading."
            ),
        )
    return PrepaidError(
        "no_check_reading",
        _("This check card carries no meter reading yet: swipe it on a meter first."),
    )


def _not_bound(reading: CheckReading) -> PrepaidError:
    state = METER_STATES.get(reading.state, str(reading.state))
    return PrepaidError(
        "meter_not_bound",
        _(
            "The meter that wrote this reading is bound to no customer (meter state: "
            "%(state)s); a reading is recorded only for a customer's meter. Nothing was "
            "recorded."
        ),
        state=Label(METER_STATE_NAMES[state]) if state in METER_STATE_NAMES else state,
    )


def _unknown_user(reading: CheckReading) -> PrepaidError:
    return PrepaidError(
        "unknown_customer",
        _(
            "The meter that wrote this reading is bound to user number %(number)s, which is "
            "no customer of this office. Nothing was recorded."
        ),
        number=user_number_text(reading.user_number),
    )


def _not_the_customers_meter(reading: CheckReading, customer: Customer) -> PrepaidError:
    return PrepaidError(
        "not_this_customers_meter",
        _(
            "Customer %(number)s has no account on sub-meter %(sub_meter)s with this meter's "
            "type and maintenance code: the reading is of a meter this office does not sell "
            "for. Nothing was recorded."
        ),
        number=customer.user_number,
        sub_meter=reading.sub_meter,
    )


def _customer_account(reading: CheckReading) -> CustomerAccount:
    """The customer account the meter that wrote ``reading`` belongs to, or the refusal."""
    if METER_STATES.get(reading.state) != "bound" or not reading.user_number:
        raise _not_bound(reading)
    customer = Customer.objects.filter(user_number=user_number_text(reading.user_number)).first()
    if customer is None:
        raise _unknown_user(reading)
    found = (
        CustomerAccount.objects.select_related("account")
        .filter(
            customer=customer,
            account__sub_meter=reading.sub_meter,
            account__meter_type=int(reading.meter_type),
            account__maintenance_code=reading.maintenance_code,
        )
        .first()
    )
    if found is None:
        raise _not_the_customers_meter(reading, customer)
    return found


def _recorded(customer_account: CustomerAccount, reading: CheckReading) -> bool:
    """Whether the office recorded ``reading`` (by whichever check card brought it): the key
    of ``check_reading_recorded_once``."""
    recorded = WriteBackObservation.objects.filter(
        source=WriteBackObservation.Source.CHECK_CARD,
        customer_id=customer_account.customer_id,
        sub_meter=reading.sub_meter,
        meter_time=meter_time(reading),
    )
    return recorded.exists()


def refuse_unrecorded_reading(card: Card | None) -> None:
    """Refuse (``check_reading_unrecorded``) to write a card over a check card carrying a
    reading the office could record (of a customer's meter) and has not: a tool card made, a
    format or a recycling would lose it for good, and with it the cumulative use and status
    flags the suspicious-customer rules look at. A reading recorded already, one no customer's
    account takes (a meter bound to nobody, or not sold by this office) and a damaged one are
    nothing to lose."""
    if card is None or card.type != CardType.CHECK or card.check is None:
        return
    reading = card.check
    try:
        customer_account = _customer_account(reading)
    except PrepaidError:
        return
    if _recorded(customer_account, reading):
        return
    customer = customer_account.customer
    raise PrepaidError(
        "check_reading_unrecorded",
        _(
            "This check card carries a meter reading the office has not recorded (customer "
            "%(number)s %(name)s, sub-meter %(sub_meter)s): writing over the card would lose it. "
            "Record the reading first (“Record meter reading” on the reader panel, or "
            "“prepaid card read --record”), then write the card."
        ),
        number=customer.user_number,
        name=customer.name,
        sub_meter=reading.sub_meter,
    )


@at_the_reader
def record_check_reading(station: Station) -> RecordedReading:
    """记录表计读数: record the reading on the check card in the reader, once, under the
    customer account of the meter that wrote it, and audit it. Reading the same card again
    records nothing more (``new`` is false)."""
    read = cardio.read(station.reader, station.site_key)
    if read.card is None:
        raise cardio.damaged(read)
    card = read.card
    if card.type != CardType.CHECK:
        raise _not_a_check_card(card.type.code)
    if card.check is None or card.write_back_damaged:
        raise _no_reading(card.write_back_damaged)
    return record_reading(card, card.check, operator=station.operator, station=station.name)


def record_reading(
    card: Card, reading: CheckReading, *, operator: Any, station: str = ""
) -> RecordedReading:
    """Store ``reading`` (read off the check card ``card``) unless it is stored already."""
    customer_account = _customer_account(reading)
    customer = customer_account.customer
    when = meter_time(reading)
    with transaction.atomic(savepoint=False):
        row = _check_observation(card, reading, customer_account, when)
        _against_previous(row)
        new = OBSERVATIONS.insert(row, unless_present=True)
        if not new:
            stored = WriteBackObservation.objects.get(
                source=WriteBackObservation.Source.CHECK_CARD,
                customer=customer,
                sub_meter=reading.sub_meter,
                meter_time=when,
            )
            return RecordedReading(card, stored, customer, customer_account, new=False)
        log_action(
            operator,
            "check_reading.record",
            customer,
            station=station,
            after={
                "card": card.serial,
                "sub_meter": row.sub_meter,
                "reading": {
                    "sub_meter": row.sub_meter,
                    "meter_type": _meter_type_code(row),
                    "last_serial": row.last_serial,
                    "balance_centi": row.balance_centi,
                    "cumulative_centi": row.cumulative_centi,
                    "status": row.status,
                    "meter_time": when.isoformat(),
                },
            },
        )
    return RecordedReading(card, row, customer, customer_account, new=True)


def _check_observation(
    card: Card,
    reading: CheckReading,
    customer_account: CustomerAccount,
    when: datetime.datetime,
) -> WriteBackObservation:
    credited, segment = _credited_and_segment(customer_account, reading.last_serial)
    account: Account = customer_account.account
    return WriteBackObservation(
        customer_id=customer_account.customer_id,
        customer_account=customer_account,
        account=account,
        card_serial=card.serial,
        card_generation=reading.generation,
        sub_meter=reading.sub_meter,
        last_serial=reading.last_serial,
        balance_centi=reading.balance_centi,
        cumulative_centi=reading.cumulative_centi,
        status=int(reading.status),
        result=0,
        meter_time=when,
        observed_at=timezone.now(),
        credited_centi=credited,
        meter_segment=segment,
        source=WriteBackObservation.Source.CHECK_CARD,
    )

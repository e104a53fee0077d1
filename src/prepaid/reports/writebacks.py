"""Swipes seen through write-back: record what meters wrote on a customer's card.

The office learns about a swipe only when the customer's card is read again: each meter left
its record (last serial applied, balance, cumulative use, status flags, time) in the card's
meter area. :func:`record_write_backs` stores each record once; the vending read path calls it
after reading a user card, and so does the demo generator.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from prepaid.audit.services import log_action
from prepaid.core.card.model import Card, CardType, WriteBack
from prepaid.reports.models import WriteBackObservation
from prepaid.rows import execute, table
from prepaid.vending import cardio
from prepaid.vending.models import CustomerAccount, CustomerCard

OBSERVATIONS = table(WriteBackObservation)


def meter_time(write_back: WriteBack) -> datetime.datetime:
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


def _against_previous(row: WriteBackObservation) -> None:
    """Use and unexplained difference since the previous reading of the same meter.

    For an honest meter ``use = credit − (balance − previous balance)`` exactly: whatever
    is left over is credit (or use) that no purchase explains."""
    if row.customer_account is None or row.credited_centi is None:
        return
    previous = OBSERVATIONS.first(
        "customer_account_id = %s AND meter_segment = %s AND meter_time < %s "
        "AND credited_centi IS NOT NULL",
        [
            row.customer_account_id,
            row.meter_segment,
            connection.ops.adapt_datetimefield_value(row.meter_time),
        ],
        order="meter_time DESC, id DESC",
    )
    if previous is None:
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
    return WriteBackObservation(
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

"""A use case that writes a card owns its transactions (docs/decisions/0012): called inside
the caller's transaction, it is refused before anything is written, to the card or to the
database; called outside one, it commits its first phase before the card is written.

These tests run without the transaction pytest-django wraps a test in
(``transaction=True``), so that the caller's ``transaction.atomic()`` is a real transaction,
as a script's or a view's would be.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from prepaid.audit.models import AuditEntry
from prepaid.cards import services as cards
from prepaid.cards.models import CardOperation
from prepaid.reports.models import WriteBackObservation
from prepaid.vending import services as vending
from prepaid.vending.models import CustomerCard, LedgerEntry, Purchase

pytestmark = pytest.mark.django_db(transaction=True)

TABLES = (Purchase, LedgerEntry, AuditEntry, CardOperation, CustomerCard, WriteBackObservation)


def _opened(office, key):
    """The customer's card opened with 10.00 and swiped: ready for a sale."""
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.read_user_card(office.station)
    return meter


def _rows():
    return {model.__name__: model.objects.count() for model in TABLES}


def _refused_inside_a_transaction(office, use_case):
    """Run ``use_case`` inside the caller's transaction: it raises, and neither the database
    (looked at inside that transaction, before it rolls back) nor the card has changed."""
    card = office.station.reader.read()
    rows = _rows()
    with transaction.atomic():
        with pytest.raises(RuntimeError, match=r"outside transaction\.atomic\(\)"):
            use_case()
        assert _rows() == rows
    assert office.station.reader.read() == card
    assert _rows() == rows


def test_a_sale_inside_the_callers_transaction_is_refused_before_anything_is_written(office, key):
    _opened(office, key)
    _refused_inside_a_transaction(
        office, lambda: vending.sell(office.station, quantity="3", key=key())
    )
    # outside one, the same sale goes through
    sale = vending.sell(office.station, quantity="3", key=key())
    assert sale.status == Purchase.Status.COMPLETED


def test_an_opening_inside_the_callers_transaction_is_refused(office, key):
    office.meter()
    office.new_card("u1")
    _refused_inside_a_transaction(
        office,
        lambda: vending.open_account(
            office.station, office.customer, office.account, office.price, quantity="1", key=key()
        ),
    )


def test_a_reissue_inside_the_callers_transaction_is_refused(office, key):
    _opened(office, key)
    office.new_card("replacement")
    _refused_inside_a_transaction(
        office, lambda: vending.reissue(office.station, office.customer, key=key())
    )


def test_a_format_and_a_tool_card_inside_the_callers_transaction_are_refused_unwritten(office):
    """They write the card first and record it afterwards: the refusal comes before the
    write, not at the record."""
    office.blank("b1")
    office.insert("b1")
    _refused_inside_a_transaction(office, lambda: cards.format_card(office.station))
    _refused_inside_a_transaction(
        office, lambda: cards.make_tool_card(office.station, "setting", office.account)
    )


def test_reading_a_card_inside_the_callers_transaction_is_refused(office, key):
    """读卡 may restore a torn card or settle a pending purchase: a card-writing use case."""
    _opened(office, key)
    _refused_inside_a_transaction(office, lambda: vending.read_user_card(office.station))


def test_the_sales_first_phase_is_committed_when_the_card_is_written(office, key):
    """The card is written outside any transaction, its pending purchase already committed:
    another connection (another station) sees it."""
    _opened(office, key)
    reader = office.station.reader
    seen = []
    write = reader.write

    def watched(data, offset=0):
        seen.append((connection.in_atomic_block, _pending_seen_elsewhere()))
        return write(data, offset)

    reader.write = watched
    sale = vending.sell(office.station, quantity="3", key=key())
    assert seen and all(entry == (False, 1) for entry in seen)
    assert sale.status == Purchase.Status.COMPLETED


def _pending_seen_elsewhere() -> int:
    """The pending purchases another connection to the same database sees."""
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM vending_purchase WHERE status = 'pending'")
            return int(cursor.fetchone()[0])
    finally:
        other.close()

"""The ledger is append-only in the database itself (docs/decisions/0014): an UPDATE or a
DELETE of a ledger entry — through the ORM or in plain SQL — and, on PostgreSQL, a TRUNCATE are
refused by the database, and every entry stays as it was. Sales and corrections (a reversal and
a new entry) book as before."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from append_only_guard import guard_triggers
from prepaid.append_only import append_only_refusal
from prepaid.audit.services import verify_chain
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry

pytestmark = pytest.mark.django_db


def _corrected(office, key) -> None:
    """An opening, corrected: a sale, its reversal and the correction's sale."""
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    vending.correct(office.station, quantity="4", key=key())


def _ledger() -> list[tuple]:
    return list(LedgerEntry.objects.order_by("id").values_list())


def _save_changed(entry: LedgerEntry) -> None:
    entry.amount_fen = 1
    entry.save()


def _sql(statement: str):
    def run(entry: LedgerEntry) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk] if "%s" in statement else None)

    return run


CHANGES = {
    "update()": lambda entry: LedgerEntry.objects.filter(pk=entry.pk).update(amount_fen=1),
    "save()": _save_changed,
    "queryset delete()": lambda entry: LedgerEntry.objects.filter(pk=entry.pk).delete(),
    "delete()": lambda entry: entry.delete(),
    "SQL UPDATE": _sql("UPDATE vending_ledgerentry SET amount_fen = 1 WHERE id = %s"),
    "SQL UPDATE of every entry": _sql("UPDATE vending_ledgerentry SET remarks = 'x'"),
    "SQL DELETE": _sql("DELETE FROM vending_ledgerentry WHERE id = %s"),
    "SQL DELETE of every entry": _sql("DELETE FROM vending_ledgerentry"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_the_database_refuses_to_change_or_delete_a_ledger_entry(office, key, change):
    _corrected(office, key)
    before = _ledger()
    assert {row[1] for row in before} == {"sale", "reversal"}
    # the reversal and the correction's sale (the ORM itself protects the sale reversed)
    entries = list(LedgerEntry.objects.filter(reversed_by__isnull=True).order_by("id"))
    assert [entry.kind for entry in entries] == ["reversal", "sale"]
    for entry in entries:
        with pytest.raises(IntegrityError) as refused:
            with transaction.atomic():
                CHANGES[change](entry)
        assert str(refused.value).startswith("ledger_append_only: ")
        assert append_only_refusal(refused.value).code == "ledger_append_only"
    assert _ledger() == before
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)  # committed rows: no other trigger pending
def test_postgresql_refuses_to_truncate_the_ledger(office, key):
    """TRUNCATE skips row triggers: a statement trigger refuses it, cascaded to too."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE of every row is refused above)")
    _corrected(office, key)
    before = _ledger()
    for statement in ("TRUNCATE vending_ledgerentry", "TRUNCATE vending_shift CASCADE"):
        with pytest.raises(IntegrityError, match="ledger_append_only: TRUNCATE refused"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    assert _ledger() == before


def test_sales_and_corrections_book_under_the_guard(office, key):
    _corrected(office, key)  # the card not swiped yet: corrected once more
    fixed = vending.correct(office.station, quantity="6", key=key())
    kinds = list(LedgerEntry.objects.order_by("id").values_list("kind", "amount_fen"))
    assert kinds == [
        ("sale", 3450),
        ("reversal", -3450),
        ("sale", 1380),
        ("reversal", -1380),
        ("sale", 2070),
    ]
    assert fixed.quantity_centi == 600
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_the_guard_goes_and_comes_back_with_its_migration():
    names = {name for name, table, _sql in guard_triggers(connection)}
    if connection.vendor == "sqlite":
        expected = {"vending_ledger_append_only_update", "vending_ledger_append_only_delete"}
    else:
        expected = {"vending_ledger_append_only", "vending_ledger_append_only_truncate"}
    assert expected <= names

    executor = MigrationExecutor(connection)
    executor.migrate([("vending", "0005_purchase_cover_by_time_and_period")])
    assert not expected & {name for name, _table, _sql in guard_triggers(connection)}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert expected <= {name for name, _table, _sql in guard_triggers(connection)}

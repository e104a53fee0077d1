"""``prepaid.rows``: model rows by plain SQL come back as the ORM would give them."""

from __future__ import annotations

import datetime
import os

import pytest
from django.db import transaction
from django.utils import timezone

from prepaid.audit.models import AuditEntry
from prepaid.customers.services import register_customer
from prepaid.reports.models import WriteBackObservation
from prepaid.rows import scalar, table
from prepaid.vending.models import CustomerCard

ENTRIES = table(AuditEntry)
CARDS = table(CustomerCard)
OBSERVATIONS = table(WriteBackObservation)


def _entry(**fields) -> AuditEntry:
    values = {
        "time": timezone.now(),
        "operator_name": "system",
        "action": "test.row",
        "object_type": "t",
        "object_id": "1",
        "after": {"amount": "5.18", "names": ["张三"]},
        "previous_hash": "0" * 64,
        "hash": "1" * 64,
    }
    return AuditEntry(**{**values, **fields})


def test_an_inserted_row_reads_back_as_the_orm_reads_it(db):
    entry = _entry()
    with transaction.atomic():
        assert ENTRIES.insert(entry) is True
    assert entry.pk is not None and not entry._state.adding
    mine = ENTRIES.get(entry.pk)
    theirs = AuditEntry.objects.get(pk=entry.pk)
    for field in AuditEntry._meta.concrete_fields:
        assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
    assert mine.time.tzinfo is not None  # aware, as the ORM gives it
    assert mine.after == {"amount": "5.18", "names": ["张三"]}  # JSON decoded


def test_rows_inserted_together_get_their_own_keys(db):
    entries = [_entry(object_id=str(n), after={"n": n}, hash=f"{n}" * 64) for n in range(3)]
    with transaction.atomic():
        ENTRIES.insert_all(entries)
    assert [e.pk for e in entries] == sorted(e.pk for e in entries)
    for n, entry in enumerate(entries):
        stored = AuditEntry.objects.get(pk=entry.pk)
        assert (stored.object_id, stored.after) == (str(n), {"n": n})
        assert not entry._state.adding


def test_select_brings_the_related_rows_in_the_same_statement(admin):
    customer = register_customer(admin, name="李四")
    card = CustomerCard.objects.create(
        customer=customer,
        serial="00112233aabbccdd",
        generation=1,
        status=CustomerCard.Status.ACTIVE,
        issued_at=timezone.now(),
    )
    (found,) = CARDS.select("t.serial = %s", [card.serial], related=["customer"])
    assert found.pk == card.pk
    assert CustomerCard.customer.is_cached(found)
    assert found.customer.user_number == customer.user_number
    assert found.customer.name == "李四"
    assert CARDS.select("t.serial = %s", ["ffffffffffffffff"], related=["customer"]) == []
    (annotated,) = CARDS.select(
        "t.serial = %s",
        [card.serial],
        related=["customer"],
        annotate=[("cards", "SELECT COUNT(*) FROM vending_customercard"), ("two", "1 + 1")],
    )
    assert (annotated.cards, annotated.two, annotated.customer.name) == (1, 2, "李四")


def test_update_writes_only_the_fields_named(admin):
    # a card's record (the ledger and the audit log refuse updates: docs/decisions/0014)
    card = CustomerCard.objects.create(
        customer=register_customer(admin, name="赵六"),
        serial="00112233aabbccdd",
        generation=1,
        status=CustomerCard.Status.ACTIVE,
        issued_at=timezone.now(),
    )
    card.status, card.generation = CustomerCard.Status.REVOKED, 7
    with transaction.atomic():
        assert CARDS.update(card, "status") == 1
    again = CustomerCard.objects.get(pk=card.pk)
    assert (again.status, again.generation) == (CustomerCard.Status.REVOKED, 1)


def test_a_row_already_present_is_left_alone_without_ending_the_transaction(admin):
    customer = register_customer(admin, name="王五")
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

    def observation() -> WriteBackObservation:
        return WriteBackObservation(
            customer=customer,
            card_serial="00112233aabbccdd",
            card_generation=1,
            sub_meter=1,
            last_serial=3,
            balance_centi=1200,
            cumulative_centi=5000,
            status=0,
            result=0,
            meter_time=when,
            observed_at=timezone.now(),
        )

    with transaction.atomic():
        assert OBSERVATIONS.insert(observation(), unless_present=True) is True
        assert OBSERVATIONS.insert(observation(), unless_present=True) is False
        assert scalar("SELECT COUNT(*) FROM reports_writebackobservation") == 1  # still usable
    (stored,) = OBSERVATIONS.select("card_serial = %s", ["00112233aabbccdd"])
    assert stored.meter_time == when


def test_get_refuses_a_missing_row(db):
    with pytest.raises(AuditEntry.DoesNotExist):
        ENTRIES.get(10**9)


@pytest.mark.skipif(
    os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() != "postgres",
    reason="prepared statements of PostgreSQL",
)
def test_on_postgresql_the_statements_are_prepared_once(db):
    from django.db import connection

    def prepared() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cursor.fetchall()}

    CARDS.select("t.serial = %s", ["0011223344556677"])
    mine = [s for s in prepared() if "vending_customercard" in s]
    assert len(mine) == 1 and "$1" in mine[0]  # the parameter apart from the text
    CARDS.select("t.serial = %s", ["8899aabbccddeeff"])
    assert [s for s in prepared() if "vending_customercard" in s] == mine  # reused


def test_new_makes_the_instance_the_models_constructor_makes(admin):
    customer = register_customer(admin, name="新建")
    fields = {
        "customer": customer,
        "serial": "a1b2c3d4e5f60718",
        "generation": 2,
        "status": CustomerCard.Status.ACTIVE,
        "issued_at": timezone.now(),
    }
    mine, theirs = CARDS.new(**fields), CustomerCard(**fields)
    for field in CustomerCard._meta.concrete_fields:
        assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
    assert mine.customer is customer  # at hand, as the ORM keeps it: no query
    assert mine._state.adding and mine._state.db is None
    fields.pop("customer")
    by_attname = CARDS.new(**fields, customer_id=customer.pk)
    assert by_attname.customer_id == customer.pk
    with transaction.atomic():
        CARDS.insert(mine)
    assert CustomerCard.objects.get(pk=mine.pk).customer_id == customer.pk


def test_new_takes_the_defaults_and_refuses_what_is_not_a_field(db):
    entry = OBSERVATIONS.new(card_serial="x", sub_meter=1)
    theirs = WriteBackObservation(card_serial="x", sub_meter=1)
    for field in WriteBackObservation._meta.concrete_fields:  # every default, as the ORM sets it
        assert getattr(entry, field.attname) == getattr(theirs, field.attname), field.name
    with pytest.raises(TypeError, match="no field"):
        ENTRIES.new(tme=timezone.now())
    with pytest.raises(TypeError, match="must be a"):
        CARDS.new(customer="not a customer")


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2026, 11, 29, 10, 7, 54, 319842, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 29, 10, 7, 54, tzinfo=datetime.UTC),  # no microseconds
        datetime.datetime(
            2026, 11, 29, 18, 7, 54, tzinfo=datetime.timezone(datetime.timedelta(hours=8))
        ),
        timezone.now(),
    ],
)
def test_times_are_written_and_read_as_the_orm_writes_and_reads_them(admin, value):
    customer = register_customer(admin, name="时间")
    mine = CARDS.new(customer=customer, serial="1", generation=1, status="active", issued_at=value)
    with transaction.atomic():
        CARDS.insert(mine)
    theirs = CustomerCard.objects.create(
        customer=customer, serial="2", generation=2, status="revoked", issued_at=value
    )
    sql = "SELECT issued_at FROM vending_customercard WHERE id = %s"
    assert scalar(sql, [mine.pk]) == scalar(sql, [theirs.pk])  # stored alike
    read, by_orm = CARDS.get(mine.pk).issued_at, CustomerCard.objects.get(pk=theirs.pk).issued_at
    assert read == by_orm == value
    assert read.tzinfo == by_orm.tzinfo


@pytest.mark.parametrize(
    "text", ["2026-11-29 10:07:54+08:00", "2026-11-29T10:07:54", "2026-11-29 10:07", None]
)
def test_a_time_stored_in_another_form_is_read_as_the_orm_reads_it(admin, text):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite keeps times as text")
    card = CustomerCard.objects.create(
        customer=register_customer(admin, name="时间"),
        serial="1",
        generation=1,
        status="active",
        issued_at=timezone.now(),
    )
    scalar("UPDATE vending_customercard SET revoked_at = %s WHERE id = %s", [text, card.pk])
    read, by_orm = CARDS.get(card.pk).revoked_at, CustomerCard.objects.get(pk=card.pk).revoked_at
    assert read == by_orm
    assert getattr(read, "tzinfo", None) == getattr(by_orm, "tzinfo", None)

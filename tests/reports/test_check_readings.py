"""A check card's reading recorded by the office: once, under the customer account of the meter
that wrote it, audited, shown in the customer's history and counted by the suspicious rules
as a write-back seen on the customer's card is."""

from __future__ import annotations

import dataclasses
import time

import pytest
from django.utils import timezone, translation

from prepaid.audit.models import AuditEntry
from prepaid.cards.services import make_tool_card
from prepaid.core.card import codec
from prepaid.core.card.model import MeterStatus
from prepaid.core.errors import PrepaidError
from prepaid.reports.models import WriteBackObservation
from prepaid.reports.writebacks import record_check_reading
from prepaid.vending import services as vending

pytestmark = pytest.mark.django_db

CHECK = WriteBackObservation.Source.CHECK_CARD


def _read_user_card(office):
    office.store.insert("user")
    return vending.read_user_card(office.station())


def _check(office, *, make=True):
    """Swipe a check card on the office's meter; the check card stays in the reader."""
    if make:
        office.store.create("check", codec.blank_image())
        office.store.insert("check")
        make_tool_card(office.station(office.admin), "check", None)
    office.store.insert("check")
    office.meter.clock += 60
    image = office.store.path("check").read_bytes()
    outcome = office.meter.swipe(image, office.site_key, office.meter.clock)
    assert outcome.ok and outcome.meter_area is not None
    office.station().reader.write(outcome.meter_area, codec.METER_AREA.start)
    return outcome


def _readings(office):
    return WriteBackObservation.objects.filter(customer=office.customer, source=CHECK)


def test_a_reading_is_recorded_once_under_its_customer_account_and_audited(small_office):
    office = small_office
    opened = office.open(quantity="4")
    office.swipe()
    office.meter.use(30, office.meter.clock + 10)
    office.meter.tamper(office.meter.clock + 20)
    _check(office)

    recorded = record_check_reading(office.station())
    assert recorded.new
    assert recorded.customer == office.customer
    assert recorded.customer_account.account == office.account
    reading = _readings(office).get()
    assert reading.customer_account == recorded.customer_account
    assert (reading.sub_meter, reading.last_serial, reading.card_serial) == (
        4,
        1,
        recorded.card.serial,
    )
    assert reading.credited_centi == opened.quantity_centi
    assert reading.cumulative_centi == 30
    assert reading.balance_centi == 200 + 400 - 30
    assert MeterStatus(reading.status) & MeterStatus.TAMPER
    audited = AuditEntry.objects.filter(action="check_reading.record")
    assert audited.filter(object_id=str(office.customer.pk)).count() == 1
    assert audited.get().after["reading"]["cumulative_centi"] == 30
    from prepaid.audit.log import changes_label

    with translation.override("en"):
        shown = changes_label("customers.customer", None, audited.get().after)
    # the fields in the order the database gives them back (PostgreSQL's jsonb orders keys)
    (line,) = [line for line in shown.splitlines() if line.startswith("Meter reading: ")]
    expected = "sub-meter 4: balance 5.70 GJ, total used 0.30 GJ, purchase serial 1, meter time"
    assert line.startswith(f"Meter reading: {expected} ")
    assert line.endswith(", status: Tamper")

    again = record_check_reading(office.station())  # the same reading, read again
    assert not again.new and again.observation.pk == reading.pk
    assert _readings(office).count() == 1
    assert audited.count() == 1

    _check(office, make=False)  # a new reading of the same meter, a minute later
    assert record_check_reading(office.station()).new
    assert _readings(office).count() == 2


def test_readings_and_write_backs_make_one_chain_of_use(small_office):
    """The use between two readings of a meter is counted once, whichever card brought each
    and in whichever order the office read them; credit from nowhere shows on a reading."""
    office = small_office
    office.open(quantity="4")
    office.swipe()
    first = _read_user_card(office).card.write_back(4)  # recorded: the meter's first record
    office.meter.use(30, office.meter.clock + 10)
    vending.sell(office.station(), quantity="2", key=office.key())
    office.swipe()  # its record stays on the user card, not read yet
    office.meter.balance_centi += 1500  # credit from nowhere: a doctored meter
    office.meter.use(50, office.meter.clock + 10)
    _check(office)
    record_check_reading(office.station())
    checked = _readings(office).get()
    assert (checked.use_centi, checked.unexplained_centi) == (80, 1500)

    # The user card's record is older than the check card's reading: read now, it falls
    # inside the span the reading counted, and counts no use of its own.
    _read_user_card(office)
    rows = WriteBackObservation.objects.filter(customer=office.customer).order_by("meter_time")
    assert [o.source for o in rows] == ["user_card", "user_card", "check_card"]
    assert rows.last().cumulative_centi - first.cumulative_centi == 80
    assert sum(o.use_centi for o in rows) == 80
    assert sum(o.unexplained_centi for o in rows) == 1500

    office.meter.use(20, office.meter.clock + 10)
    office.store.insert("user")
    vending.sell(office.station(), quantity="1", key=office.key())
    office.swipe()
    _read_user_card(office)
    latest = WriteBackObservation.objects.filter(customer=office.customer).order_by("id").last()
    assert (latest.source, latest.use_centi, latest.unexplained_centi) == ("user_card", 20, 0)


def test_the_suspicious_rules_count_a_readings_flags(small_office):
    from prepaid.reports.suspicious import analyse

    office = small_office
    office.meter.clock = int(time.time())  # the analysis looks at accounts opened by then
    office.open(quantity="4")
    office.swipe()
    office.meter.tamper(office.meter.clock + 10)
    _check(office)
    reading = record_check_reading(office.station()).observation
    as_of = timezone.localdate(reading.meter_time).replace(day=1)
    as_of = as_of.replace(year=as_of.year + (as_of.month == 12), month=as_of.month % 12 + 1)
    suspects = {s.customer_id: s for s in analyse(as_of).suspects}
    assert "tamper" in suspects[office.customer.pk].rules


def test_the_customers_history_shows_a_reading_with_its_source(small_office):
    from prepaid.reports.services import Filters, customer_history

    office = small_office
    office.open(quantity="4")
    office.swipe()
    _check(office)
    record_check_reading(office.station())
    with translation.override("zh-hans"):
        table = customer_history(office.customer, Filters(kinds=("check_reading",)))
        rows = [row for row in table.rows if row["event_code"] == "check_reading"]
        assert len(rows) == 1
        assert rows[0]["event"] == "检查卡读数"
        assert rows[0]["cumulative"] is not None
    events = {row["event_code"] for row in customer_history(office.customer).rows}
    assert "check_reading" in events


def test_a_meter_bound_to_nobody_is_refused_and_nothing_recorded(small_office):
    office = small_office  # the meter is set, no user card swiped on it yet
    _check(office)
    with pytest.raises(PrepaidError) as refused:
        record_check_reading(office.station())
    assert refused.value.code == "meter_not_bound"
    assert not WriteBackObservation.objects.filter(source=CHECK).exists()
    assert not AuditEntry.objects.filter(action="check_reading.record").exists()


def test_a_reading_of_an_unknown_user_or_a_foreign_meter_is_refused(small_office):
    office = small_office
    office.open(quantity="4")
    office.swipe()
    number = office.meter.user_number
    office.meter.user_number = 99_999_999  # a meter bound to a customer of another office
    _check(office)
    with pytest.raises(PrepaidError) as refused:
        record_check_reading(office.station())
    assert refused.value.code == "unknown_customer"
    office.meter.user_number = number
    office.meter.parameters = dataclasses.replace(office.meter.parameters, maintenance_code=9999)
    _check(office, make=False)
    with pytest.raises(PrepaidError) as refused:
        record_check_reading(office.station())
    assert refused.value.code == "not_this_customers_meter"
    assert not _readings(office).exists()


def test_only_a_check_card_with_a_reading_is_recorded(small_office):
    office = small_office
    office.open(quantity="4")
    office.store.insert("user")
    with pytest.raises(PrepaidError) as refused:
        record_check_reading(office.station())
    assert refused.value.code == "not_a_check_card"
    office.store.create("check", codec.blank_image())
    office.store.insert("check")
    make_tool_card(office.station(office.admin), "check", None)
    with pytest.raises(PrepaidError) as refused:
        record_check_reading(office.station())
    assert refused.value.code == "no_check_reading"


@pytest.mark.parametrize("overwrite", ["check card", "zero card", "format", "recycle"])
def test_a_check_card_is_not_written_over_while_its_reading_is_unrecorded(small_office, overwrite):
    """A tool card made, a format or a recycling over a check card carrying a reading of a
    customer's meter that the office has not recorded would lose it: refused, the card and
    the office's records as they were; once the reading is recorded (记录表计读数), done."""
    from prepaid.cards import services as cards
    from prepaid.cards.models import CardOperation

    office = small_office
    office.open(quantity="4")
    office.swipe()
    office.meter.use(30, office.meter.clock + 10)
    _check(office)
    station = office.station(office.admin)
    write = {
        "check card": lambda: cards.make_tool_card(station, "check", None),
        "zero card": lambda: cards.make_tool_card(station, "zero", office.account),
        "format": lambda: cards.format_card(station),
        "recycle": lambda: cards.recycle_card(station),
    }[overwrite]
    image = office.store.path("check").read_bytes()
    operations = CardOperation.objects.count()

    with pytest.raises(PrepaidError) as refused:
        write()

    assert refused.value.code == "check_reading_unrecorded"
    with translation.override("zh-hans"):
        said = refused.value.translate(translation.gettext)
    number = office.customer.user_number
    assert f"该检查卡上的表计读数尚未记录（用户 {number} 王五，子表号 4）" in said
    assert "读卡器面板上的“记录表计读数”" in said and "prepaid card read --record" in said
    with translation.override("en"):
        assert "Record the reading first" in refused.value.translate(translation.gettext)
    assert office.store.path("check").read_bytes() == image
    assert CardOperation.objects.count() == operations
    assert not _readings(office).exists()

    assert record_check_reading(office.station()).new
    write()
    assert CardOperation.objects.count() == operations + 1


def test_a_check_card_whose_reading_no_account_takes_may_be_written_over(small_office):
    """A reading of a meter bound to nobody cannot be recorded: nothing to lose."""
    from prepaid.cards.services import format_card

    office = small_office  # the meter is set, no user card swiped on it yet
    _check(office)
    image = office.store.path("check").read_bytes()
    assert codec.decode(image, office.site_key).check is not None  # it carries a reading
    assert format_card(office.station(office.admin)).type.code == "new"

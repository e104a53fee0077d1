"""Faults: a card write cut at every byte offset, and a station killed mid-sale.

Whatever happens, once the card has been read again: no purchase is left pending, every
completed purchase is on the card and in the ledger, and nothing else is.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prepaid.audit.models import AuditEntry
from prepaid.core.card import codec
from prepaid.core.errors import InvalidInput, PrepaidError, ReaderError
from prepaid.readers.virtual import VirtualReader
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Purchase

OFFICE_AREA_SIZE = codec.OFFICE_AREA.stop - codec.OFFICE_AREA.start


def _with_reader(office, reader):
    return vending.Station(
        operator=office.station.operator,
        reader=reader,
        site_key=office.site_key,
        name=office.station.name,
    )


@pytest.mark.django_db
def test_sale_cut_at_every_byte_leaves_card_and_ledger_agreeing(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    office.swipe(meter)
    outcomes = {"completed": 0, "voided": 0}
    for cut in range(OFFICE_AREA_SIZE):
        cutting = _with_reader(office, VirtualReader(office.store, cut_after=cut))
        with pytest.raises(ReaderError):
            vending.sell(cutting, quantity="1", key=key())
        assert Purchase.objects.filter(status="pending").count() == 1
        assert not office.store.inserted()  # the card left the reader mid-write

        office.insert("u1")
        user_card = vending.read_user_card(office.station)  # restores / settles
        assert not Purchase.objects.filter(status="pending").exists()
        last = Purchase.objects.order_by("-id").first()
        outcomes[last.status] += 1
        completed = Purchase.objects.filter(status="completed").order_by("-serial").first()
        slot = user_card.card.slot(1)
        assert (slot.serial, slot.quantity_centi) == (completed.serial, completed.quantity_centi)
        office.swipe(meter)

    completed = Purchase.objects.filter(status="completed")
    charged = sum(e.amount_fen for e in LedgerEntry.objects.all())
    assert charged == sum(p.amount_fen for p in completed)
    # Credit the meter applied = what was charged for: pre-stored + every completed purchase.
    assert meter.balance_centi == 500 + sum(p.quantity_centi for p in completed)
    assert meter.last_serial == max(p.serial for p in completed)
    assert outcomes["completed"] > 0 and outcomes["voided"] > 0


@pytest.mark.django_db
def test_a_retry_of_a_pending_sale_without_its_card_names_the_card(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    office.swipe(meter)
    retried = key()
    with pytest.raises(ReaderError):  # the card left the reader mid-write
        vending.sell(
            _with_reader(office, VirtualReader(office.store, cut_after=OFFICE_AREA_SIZE - 1)),
            quantity="1",
            key=retried,
        )
    (pending,) = Purchase.objects.filter(status="pending")
    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="1", key=retried)
    assert refused.value.code == "purchase_pending"
    assert pending.card_serial in refused.value.message
    assert office.customer.user_number in refused.value.message
    # a lost card can never be put back: the message names what settles it then
    assert f"prepaid reconcile --void {pending.pk}" in refused.value.message
    office.insert("u1")
    again = vending.sell(office.station, quantity="1", key=retried)
    assert (again.pk, again.status) == (pending.pk, "completed")


class _Killed(BaseException):
    """The station's process dies here: nothing after it runs, no error is handled."""


class _KilledAt(VirtualReader):
    """The reader of a station killed at ``step`` of its card write; the card stays in the
    reader. ``mid_write:N``: the first N bytes written, the rest as before (a torn card)."""

    def __init__(self, store, step: str) -> None:
        super().__init__(store)
        self.step, _sep, cut = step.partition(":")
        self.cut = int(cut or 0)

    def write(self, data: bytes, offset: int = 0) -> None:
        if self.step == "before_write":
            raise _Killed
        if self.step == "mid_write":
            path = self.store.path(self.serial())
            old = path.read_bytes()
            path.write_bytes(old[:offset] + data[: self.cut] + old[offset + self.cut :])
            raise _Killed
        super().write(data, offset)
        raise _Killed  # after_write: before the purchase is completed


KILL_POINTS = [
    "before_write",
    "mid_write:1",
    "mid_write:60",
    f"mid_write:{OFFICE_AREA_SIZE - 1}",
    "after_write",
]


def _booked(purchase) -> list[tuple[str, int]]:
    return list(
        LedgerEntry.objects.filter(purchase=purchase)
        .order_by("pk")
        .values_list("kind", "amount_fen")
    )


def _audited(purchase, action: str) -> int:
    return AuditEntry.objects.filter(
        action=action, object_type="vending.purchase", object_id=str(purchase.pk)
    ).count()


def _opened_and_swiped(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    office.swipe(meter)
    return meter


@pytest.mark.django_db
@pytest.mark.parametrize("step", KILL_POINTS)
def test_a_sale_retried_after_its_station_was_killed_finishes_it(office, key, step):
    meter = _opened_and_swiped(office, key)
    retried = key()
    with pytest.raises(_Killed):
        vending.sell(_with_reader(office, _KilledAt(office.store, step)), quantity="2", key=retried)
    (pending,) = Purchase.objects.filter(status="pending")

    again = vending.sell(office.station, quantity="2", key=retried)
    assert (again.pk, again.status, again.serial, again.quantity_centi) == (
        pending.pk,
        "completed",
        2,
        200,
    )
    assert _booked(again) == [("sale", 690)]
    assert _audited(again, "sale.complete") == 1
    slot = vending.read_user_card(office.station).card.slot(1)
    assert (slot.serial, slot.quantity_centi) == (2, 200)
    # once more: the first result again, charged once
    assert vending.sell(office.station, quantity="2", key=retried).pk == again.pk
    assert _booked(again) == [("sale", 690)]
    assert office.swipe(meter).ok
    assert meter.balance_centi == 500 + 100 + 200


@pytest.mark.django_db
def test_a_sale_retried_after_a_kill_at_any_byte_of_the_write_finishes_it(office, key):
    meter = _opened_and_swiped(office, key)
    for cut in range(OFFICE_AREA_SIZE):
        retried = key()
        killed = _with_reader(office, _KilledAt(office.store, f"mid_write:{cut}"))
        with pytest.raises(_Killed):
            vending.sell(killed, quantity="1", key=retried)
        again = vending.sell(office.station, quantity="1", key=retried)
        assert again.status == "completed", cut
        assert _booked(again) == [("sale", 345)], cut
        office.swipe(meter)
    assert not Purchase.objects.exclude(status="completed").exists()
    assert meter.balance_centi == 500 + 100 + 100 * OFFICE_AREA_SIZE
    assert sum(e.amount_fen for e in LedgerEntry.objects.all()) == 345 * (OFFICE_AREA_SIZE + 1)


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["before_write", "mid_write:60", "after_write"])
def test_an_opening_retried_after_its_station_was_killed_finishes_it(office, key, step):
    office.new_card("u1")
    retried = key()
    killed = _with_reader(office, _KilledAt(office.store, step))
    with pytest.raises(_Killed):
        vending.open_account(
            killed, office.customer, office.account, office.price, quantity="2", key=retried
        )
    (pending,) = Purchase.objects.filter(status="pending")
    again = vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="2", key=retried
    )
    assert (again.pk, again.status, again.serial) == (pending.pk, "completed", 1)
    assert _booked(again) == [("sale", 690)]
    assert _audited(again, "sale.complete") == 1
    slot = vending.read_user_card(office.station).card.slot(1)
    assert (slot.serial, slot.quantity_centi) == (1, 200)


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["before_write", "mid_write:60", "after_write"])
def test_a_correction_retried_after_its_station_was_killed_finishes_it(office, key, step):
    _opened_and_swiped(office, key)
    sale = vending.sell(office.station, quantity="2", key=key())
    retried = key()
    killed = _with_reader(office, _KilledAt(office.store, step))
    with pytest.raises(_Killed):
        vending.correct(killed, quantity="3", key=retried)
    (pending,) = Purchase.objects.filter(status="pending")
    again = vending.correct(office.station, quantity="3", key=retried)
    assert (again.pk, again.status, again.serial) == (pending.pk, "completed", sale.serial)
    assert _booked(again) == [("sale", 1035)]
    assert _booked(sale) == [("sale", 690), ("reversal", -690)]  # reversed once
    assert Purchase.objects.get(pk=sale.pk).status == "corrected"
    slot = vending.read_user_card(office.station).card.slot(1)
    assert (slot.serial, slot.quantity_centi) == (sale.serial, 300)


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["before_write", "mid_write:60", "after_write"])
def test_a_meter_change_retried_after_its_station_was_killed_finishes_it(office, key, step):
    old_meter = _opened_and_swiped(office, key)  # 5.00 pre-stored + 1.00 bought
    new_meter = office.meter("NEW")
    retried = key()
    killed = _with_reader(office, _KilledAt(office.store, step))
    with pytest.raises(_Killed):
        vending.meter_change(killed, remaining="6", key=retried)
    (pending,) = Purchase.objects.filter(status="pending")
    transfer, record = vending.meter_change(office.station, remaining="6", key=retried)
    assert (transfer.pk, transfer.status, transfer.kind) == (pending.pk, "completed", "transfer")
    assert record.transfer_id == transfer.pk
    assert _booked(transfer) == [("transfer", 0)]
    assert _audited(transfer, "transfer.complete") == 1
    assert office.swipe(new_meter).ok
    assert new_meter.balance_centi == 600  # what was left on the old meter
    assert old_meter.last_serial == 1


def _office_state(office) -> tuple:
    return (
        list(Purchase.objects.order_by("pk").values_list("pk", "status")),
        list(LedgerEntry.objects.order_by("pk").values_list("pk", flat=True)),
        AuditEntry.objects.count(),
        {name: office.store.path(name).read_bytes() for name in office.store.names()},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("in_reader", ["another_customers_card", "a_new_card", "an_old_copy"])
def test_a_retry_with_the_wrong_card_in_the_reader_is_refused_and_changes_nothing(
    office, key, in_reader
):
    from prepaid.customers.services import register_customer

    meter = _opened_and_swiped(office, key)
    old_copy = office.store.path("u1").read_bytes()  # the card at purchase 1
    vending.sell(office.station, quantity="1", key=key())
    office.swipe(meter)
    retried = key()
    with pytest.raises(_Killed):
        vending.sell(
            _with_reader(office, _KilledAt(office.store, "before_write")),
            quantity="2",
            key=retried,
        )
    (pending,) = Purchase.objects.filter(status="pending")
    if in_reader == "another_customers_card":
        other = register_customer(office.station.operator, name="王五")
        office.new_card("u2")
        vending.open_account(
            office.station, other, office.account, office.price, quantity="1", key=key()
        )
    elif in_reader == "a_new_card":
        office.new_card("u2")
    else:
        office.store.create("copy", old_copy)
        office.insert("copy")
    before = _office_state(office)

    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="2", key=retried)
    assert refused.value.code == "purchase_pending"
    assert pending.card_serial in refused.value.message
    assert _office_state(office) == before

    office.insert("u1")  # the customer's card: the retry finishes the sale
    again = vending.sell(office.station, quantity="2", key=retried)
    assert (again.pk, again.status, again.serial) == (pending.pk, "completed", 3)
    assert _booked(again) == [("sale", 690)]


@pytest.mark.django_db
def test_a_retry_at_another_station_while_the_first_may_be_writing_waits(office, key):
    _opened_and_swiped(office, key)
    retried = key()
    with pytest.raises(_Killed):
        vending.sell(
            _with_reader(office, _KilledAt(office.store, "before_write")),
            quantity="2",
            key=retried,
        )
    elsewhere = vending.Station(
        operator=office.station.operator,
        reader=office.station.reader,
        site_key=office.site_key,
        name="counter-2",
    )
    before = _office_state(office)
    with pytest.raises(PrepaidError) as refused:
        vending.sell(elsewhere, quantity="2", key=retried)
    assert refused.value.code == "sale_in_progress"
    assert _office_state(office) == before


class _RestoredWhileWriting(VirtualReader):
    """A reader whose card write happens while another station restores an older backup:
    the pending purchase being written is gone from the database."""

    def write(self, data: bytes, offset: int = 0) -> None:
        Purchase.objects.filter(status="pending").delete()
        super().write(data, offset)


@pytest.mark.django_db
def test_a_sale_whose_purchase_a_restore_took_away_mid_write_says_so(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    office.swipe(meter)
    charged = list(LedgerEntry.objects.values_list("pk", flat=True))
    restoring = _with_reader(office, _RestoredWhileWriting(office.store))
    with pytest.raises(PrepaidError) as refused:
        vending.sell(restoring, quantity="1", key=key())
    assert refused.value.code == "purchase_gone"
    assert "restored from a backup" in refused.value.message
    assert list(LedgerEntry.objects.values_list("pk", flat=True)) == charged  # nothing booked


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", ["void", "complete"])
def test_settling_a_purchase_number_the_office_does_not_have_is_refused(office, key, outcome):
    office.new_card("u1")
    opened = vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    missing = opened.pk + 1000
    with pytest.raises(InvalidInput) as refused:
        vending.resolve_lost_card(office.station, missing, outcome)
    assert refused.value.code == "no_such_purchase"
    assert str(missing) in refused.value.message
    assert not Purchase.objects.exclude(pk=opened.pk).exists()


_KILLER = textwrap.dedent("""
    import os, signal, sys
    import django
    os.environ["DJANGO_SETTINGS_MODULE"] = "prepaid.settings"
    django.setup()
    from prepaid.home import DataHome, default_home
    from prepaid.operators.models import Operator
    from prepaid.readers.virtual import CardStore, VirtualReader
    from prepaid.vending import services as vending

    step = sys.argv[1]
    home = DataHome(default_home())

    class KillingReader(VirtualReader):
        def write(self, data, offset=0):
            if step == "before_write":
                os.kill(os.getpid(), signal.SIGKILL)
            if step == "mid_write":
                self.cut_after = 60  # past the changed slot, before the MAC
                try:
                    super().write(data, offset)
                finally:
                    os.kill(os.getpid(), signal.SIGKILL)
            super().write(data, offset)
            if step == "after_write":
                os.kill(os.getpid(), signal.SIGKILL)

    station = vending.Station(operator=Operator.objects.get(username="admin"),
                              reader=KillingReader(CardStore(home.cards)),
                              site_key=home.load_secrets().card_key, name="counter-1")
    vending.sell(station, quantity="2", key="kill-" + step)
""")


def _cli(home: Path, *args: str, stdin: str = "") -> dict:
    env = {
        **os.environ,
        "PREPAID_HOME": str(home),
        "PREPAID_PASSWORD": "s3cret-admin!",
        "PREPAID_STATION": "counter-1",
    }
    run = subprocess.run(
        [sys.executable, "-m", "prepaid", "--json", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout) if run.stdout.strip() else {}


@pytest.fixture(scope="module")
def killed_sales(tmp_path_factory):
    """A customer with an opened, swiped card; then one copy of that data directory per kill
    point, where a station process is killed during a sale."""
    base = tmp_path_factory.mktemp("base") / "home"
    _cli(base, "init", "--admin-password", "s3cret-admin!")
    account = _cli(
        base,
        "account",
        "create",
        "--meter-type",
        "water",
        "--sub-meter",
        "1",
        "--limit",
        "999",
        "--prestore",
        "0",
        "--alarm",
        "1",
        "--overdraft",
        "0",
        "--maintenance-code",
        "1",
    )
    price = _cli(
        base, "price", "add", "--account", str(account["id"]), "--name", "p", "--unit-price", "2.50"
    )
    user = _cli(base, "user", "register", "--name", "李四")
    for name in ("s1", "c1"):
        _cli(base, "card", "blank", name)
    _cli(base, "card", "insert", "s1")
    _cli(base, "card", "make", "setting", "--account", str(account["id"]))
    _cli(base, "meter", "add", "M1")
    _cli(base, "meter", "swipe", "M1")
    _cli(base, "card", "insert", "c1")
    _cli(base, "card", "format")
    _cli(
        base,
        "open",
        user["user_number"],
        "--account",
        str(account["id"]),
        "--price",
        str(price["id"]),
        "--quantity",
        "1",
    )
    _cli(base, "meter", "swipe", "M1")
    results = {}
    for step in ("before_write", "mid_write", "after_write"):
        home = base.parent / step
        shutil.copytree(base, home)
        killer = subprocess.run(
            [sys.executable, "-c", _KILLER, step],
            env={**os.environ, "PREPAID_HOME": str(home)},
            capture_output=True,
            timeout=60,
        )
        assert killer.returncode == -signal.SIGKILL, killer.stderr
        results[step] = home
    return results


@pytest.mark.parametrize(
    "step,expected",
    [
        ("before_write", "voided"),
        ("mid_write", "completed"),
        ("after_write", "completed"),
    ],
)
def test_station_killed_mid_sale_is_reconciled(killed_sales, step, expected):
    home = killed_sales[step]
    _cli(home, "card", "insert", "c1")  # the operator puts the card back in the reader
    before = _cli(home, "reconcile")
    assert [p["status"] for p in before["settled"]] == [expected], before
    assert before["pending"] == []
    card = _cli(home, "card", "read")
    quantities = {"voided": "1.00", "completed": "2.00"}
    assert card["slots"][0]["quantity"] == quantities[expected]
    assert card["slots"][0]["serial"] == (1 if expected == "voided" else 2)

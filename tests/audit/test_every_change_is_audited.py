"""Every state change is audited: each use case that changes a table appends to the audit log
an entry with its action code, and the chain still verifies.

The check does not trust reading the services: it takes a digest of every table (every model
Django knows, each row in full) before and after the use case, and whenever a table changed the
log must have grown with the expected action codes and an entry naming each changed table —
the table's own object, or the object the change belongs to (a sale's ledger entries belong to
its purchase). Tables deliberately not audited are listed in ``NOT_AUDITED`` with the reason.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import translation

from prepaid.accounts import services as accounts
from prepaid.audit.labels import ACTION_LABELS, FIELD_LABELS, OBJECT_FIELD_LABELS, OBJECT_LABELS
from prepaid.audit.models import AuditEntry
from prepaid.audit.services import verify_chain
from prepaid.cards import services as cards
from prepaid.cards.site import require_site_key
from prepaid.core.errors import PrepaidError
from prepaid.customers.services import modify_customer, register_customer
from prepaid.operators import services as operators
from prepaid.readers.virtual import CardStore, VirtualReader
from prepaid.reports.aggregates import rebuild_aggregates, refresh_aggregates
from prepaid.reports.shifts import close_shift
from prepaid.reports.suspicious import save_rules
from prepaid.vending import services as vending
from prepaid.vending.models import Purchase
from prepaid.vending.shifts import current_shift
from prepaid.web.receipts import record_print
from vending.conftest import Office, build_office
from web.conftest import web_home  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

NOT_AUDITED = {
    "audit.auditentry": "the audit log itself",
    "audit.audithead": "the head of the audit chain, moved by every entry",
    "sessions.session": "Django's login sessions: who is logged in at a browser, no business state",
    "reports.salesday": "an aggregate rebuilt at will from the audited ledger",
    "reports.salesmonth": "an aggregate rebuilt at will from the audited ledger",
    "reports.monthlypurchase": "an aggregate rebuilt at will from the audited ledger",
    "reports.aggregatestate": "how far the aggregates have been rebuilt",
}

# Tables a change writes besides its own object: the entry names the object they belong to.
BELONGS_TO = {
    "vending.ledgerentry": {"vending.purchase"},  # a sale's booking, reversal, transfer, fee
    "vending.customeraccount": {"vending.purchase"},  # the account's last serial
    "vending.meterchange": {"vending.purchase"},  # the record of a meter change's transfer
    "cards.cardoperation": {"vending.purchase", "vending.customercard"},  # the card's operation
    "accounts.priceversion": {"accounts.price"},
    "reports.shiftsettlement": {"vending.shift"},
    "reports.writebackobservation": {"vending.customercard"},  # what the meters wrote back
}


def tables() -> dict[str, str]:
    """A digest of every table's rows, by model label."""
    digests = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label in NOT_AUDITED:
            continue
        rows = model._base_manager.order_by("pk").values_list()
        digests[label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return digests


def _last_entry_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@contextmanager
def audited(*actions: str, log_only: bool = False) -> Iterator[None]:
    """The block changes at least one table (none with ``log_only``: what it records is
    kept in the audit log alone) and appends the entries ``actions`` (at least), naming every
    table it changed; the chain verifies afterwards."""
    before, last = tables(), _last_entry_id()
    yield
    after = tables()
    changed = sorted(label for label, digest in after.items() if digest != before[label])
    new_entries = AuditEntry.objects.filter(pk__gt=last)
    entries = list(new_entries.values_list("action", "object_type"))
    assert changed or log_only, (
        f"{actions}: nothing changed (the test does not exercise the change)"
    )
    logged = [action for action, _object_type in entries]
    assert set(actions) <= set(logged), f"expected {actions}, logged {logged}"
    unlabelled = sorted(set(logged) - set(ACTION_LABELS))
    assert not unlabelled, f"no label in prepaid.audit.labels (审计日志) for {unlabelled}"
    unnamed_fields = _unlabelled_fields(new_entries)
    assert not unnamed_fields, f"fields with no label in prepaid.audit.labels: {unnamed_fields}"
    named = {object_type for _action, object_type in entries}
    unnamed = [t for t in changed if t not in named and not BELONGS_TO.get(t, set()) & named]
    assert not unnamed, f"changed without an audit entry naming it: {unnamed} (logged {logged})"
    assert verify_chain().ok


def _unlabelled_fields(entries: Iterable[AuditEntry]) -> list[str]:
    """The fields of the product's objects the entries record that the audit log would show
    by their code (last_taken：—) instead of the name their form gives them (审计日志)."""
    return sorted(
        f"{entry.action}: {key}"
        for entry in entries
        if entry.object_type in OBJECT_LABELS
        for key in {*(entry.before or {}), *(entry.after or {})}
        if key not in FIELD_LABELS and (entry.object_type, key) not in OBJECT_FIELD_LABELS
    )


@contextmanager
def unchanged() -> Iterator[None]:
    """The block changes no audited table (and so needs no entry)."""
    before = tables()
    yield
    after = tables()
    assert [label for label in after if after[label] != before[label]] == []


# -- operators ------------------------------------------------------------------------------


def test_operators(admin):
    with audited("operator.create"):
        clerk = operators.add_operator(admin, "clerk2", "operator", "Fresh-pass-9")
    with audited("operator.password"):
        operators.change_password(admin, "clerk2", "Other-pass-9")
    with audited("operator.password"):
        operators.change_password(clerk, "clerk2", "Own-pass-99")
    with audited("operator.disable"):
        operators.disable_operator(admin, "clerk2")
    with audited("operator.enable"):
        operators.enable_operator(admin, "clerk2")
    with audited("operator.language"):
        operators.set_language(clerk, "en")


def test_the_first_admin_is_audited(db):
    with audited("operator.create"):
        operators.ensure_admin("Install-pass-1")


def test_failed_logins_the_lock_and_the_login_that_clears_them(clerk):
    with audited("operator.login_failed"), pytest.raises(PrepaidError):
        operators.authenticate("clerk", "wrong")
    failed = AuditEntry.objects.get(action="operator.login_failed")
    assert (failed.object_id, failed.before, failed.after) == (
        str(clerk.pk),
        {"failed_logins": 0, "locked_until": None},
        {"failed_logins": 1, "locked_until": None},
    )
    with audited("operator.login_failures_cleared"):
        operators.authenticate("clerk", "s3cret-clerk")
    for _attempt in range(operators.MAX_FAILED_LOGINS - 1):
        with pytest.raises(PrepaidError):
            operators.authenticate("clerk", "wrong")
    with audited("operator.lock"), pytest.raises(PrepaidError):
        operators.authenticate("clerk", "wrong")


def test_a_login_changing_nothing_is_not_audited(clerk):
    before = AuditEntry.objects.count()
    with unchanged():
        operators.authenticate("clerk", "s3cret-clerk")
        with pytest.raises(PrepaidError):
            operators.authenticate("nobody", "wrong")  # no operator: no row to change
    assert AuditEntry.objects.count() == before


def test_web_login_logout_and_language(clerk, web_home):  # noqa: F811
    client = Client()
    with translation.override(None):  # the pages switch this thread to English: not beyond
        with audited("operator.login"):
            response = client.post(
                reverse("web:login"), {"username": "clerk", "password": "s3cret-clerk"}
            )
        assert response.status_code == 302
        with audited("operator.language"):
            client.post(reverse("web:language"), {"language": "en", "next": "/"})
        with unchanged():  # the session goes (not audited: see NOT_AUDITED)
            client.post(reverse("web:logout"))


# -- accounts, prices, customers ------------------------------------------------------------


def test_accounts_prices_customers(admin):
    with audited("account.create"):
        account = accounts.create_account(
            admin,
            meter_type="water",
            sub_meter=1,
            limit="999",
            prestore="5",
            alarm="10",
            overdraft="5",
            maintenance_code="1234",
        )
    with audited("account.modify"):
        accounts.modify_account(admin, account.pk, name="自来水")
    with audited("price.create"):
        price = accounts.add_price(admin, account_id=account.pk, name="居民用水", unit_price="3")
    with audited("price.adjust"):
        accounts.adjust_price(
            admin,
            price.pk,
            unit_price="3.5",
            effective_from=datetime.date.today() + datetime.timedelta(days=30),
        )
    with audited("price.modify"):
        accounts.modify_price(admin, price.pk, name="居民")
    with audited("price.delete"):
        accounts.delete_price(admin, price.pk)
    with audited("account.delete"):
        accounts.delete_account(admin, account.pk)
    with audited("customer.register"):
        customer = register_customer(admin, name="李四", phone="13900000000", address="幸福路2号")
    with audited("customer.modify"):
        modify_customer(admin, customer.user_number, phone="13900000001", address="幸福路3号")


# -- cards, vending, shifts, receipts -------------------------------------------------------


@pytest.fixture
def office(admin, tmp_path, site_key) -> Office:
    """The office of the vending tests (tests/vending/conftest.py)."""
    store = CardStore(tmp_path / "cards")
    store.root.mkdir()
    station = vending.Station(
        operator=admin, reader=VirtualReader(store), site_key=site_key, name="counter-1"
    )
    return build_office(station, store)


@pytest.fixture
def key():
    keys = itertools.count(1)
    return lambda: f"audited-{next(keys)}"


class _CutBeforeWriting(VirtualReader):
    """A card pulled out as the office starts to write it."""

    def write(self, data: bytes, offset: int = 0) -> None:
        raise _Pulled


class _Pulled(BaseException):
    pass


def _pending_sale(office: Office, key) -> Purchase:
    cut = vending.Station(
        operator=office.station.operator,
        reader=_CutBeforeWriting(office.store),
        site_key=office.site_key,
        name=office.station.name,
    )
    with pytest.raises(_Pulled):
        vending.sell(cut, quantity="1", key=key())
    return Purchase.objects.get(status="pending")


def test_tool_cards_format_recycle(office):
    office.blank("t1")
    office.insert("t1")
    with audited("card.format"):
        cards.format_card(office.station)
    with audited("card.tool_card"):
        cards.make_tool_card(office.station, "zero", office.account)
    with audited("card.recycle"):
        cards.recycle_card(office.station)


def test_the_vending_cycle(office, key):
    meter = office.meter()
    office.new_card("u1")
    with audited("customer_account.open", "card.issue", "shift.open", "sale.complete"):
        vending.open_account(
            office.station, office.customer, office.account, office.price, quantity="10", key=key()
        )
    with unchanged():  # read again before the swipe: nothing new on the card
        vending.read_user_card(office.station)
    office.swipe(meter)
    with audited("write_back.observe"):
        vending.read_user_card(office.station)
    with audited("sale.complete"):
        sale = vending.sell(office.station, quantity="5", key=key())
    with audited("receipt.print", log_only=True):  # prints are counted in the log
        record_print(office.station.operator, sale, office.station.name, "a4")
    with audited("correction.complete"):
        vending.correct(office.station, quantity="4", key=key())
    office.swipe(meter)
    pending = _pending_sale(office, key)
    with audited("sale.void"):
        vending.resolve_lost_card(office.station, pending.pk, "void")
    office.new_card("u2")
    with audited("card.revoke", "card.issue", "ledger.fee"):
        vending.reissue(office.station, office.customer, fee="5", key=key())
    office.swipe(meter)  # the old meter writes back 19.00 left: at most that moves
    office.meter("NEW")
    with audited("transfer.complete"):
        vending.meter_change(office.station, remaining="19", reason="broken", key=key())


def test_a_pending_sale_completed_by_the_administrator(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    pending = _pending_sale(office, key)
    with audited("sale.complete"):
        vending.resolve_lost_card(office.station, pending.pk, "complete")


def test_a_damaged_card_restored_from_the_office_records(office, key):
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    path = office.store.path("u1")
    image = bytearray(path.read_bytes())
    image[0x85] ^= 0xFF  # the office MAC garbled: the serial is still readable
    path.write_bytes(bytes(image))
    with audited("card.restore"):
        vending.read_user_card(office.station)


def test_shifts_rules_aggregates_and_site_key(office, key):
    with audited("shift.open"):
        current_shift(office.station.operator, "counter-2")
    with audited("shift.close"):
        close_shift(office.station.operator, "counter-2", counted_cash="0")
    with audited("suspicious.rules"):
        save_rules(office.station.operator, {"no_purchase_days": 90})
    with unchanged():  # only the aggregates (NOT_AUDITED)
        refresh_aggregates()
        rebuild_aggregates()


def test_the_site_key_recorded_once(db, site_key):
    with audited("site_key.record"):
        require_site_key(site_key)


def test_the_office_time_zone_recorded_once(db):
    from prepaid.reports.time_zone import require_office_time_zone

    with audited("office.time_zone.record"):
        require_office_time_zone()
    with unchanged():
        require_office_time_zone()


def test_the_office_time_zone_changed_by_an_administrator(admin):
    from prepaid.reports.time_zone import change_office_time_zone, require_office_time_zone

    require_office_time_zone()
    with audited("office.time_zone"):
        change_office_time_zone(admin, "Europe/Paris")

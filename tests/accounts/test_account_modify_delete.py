"""Modifying (修改账户) and deleting (删除账户) accounts through the service layer."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.utils import timezone

from prepaid.accounts.models import Account, Price, PriceVersion
from prepaid.accounts.services import (
    account_in_field,
    account_in_use,
    account_snapshot,
    add_price,
    adjust_price,
    create_account,
    delete_account,
    modify_account,
)
from prepaid.audit.models import AuditEntry
from prepaid.core.errors import InvalidInput, PrepaidError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The admin and clerk fixtures hash passwords: Argon2 is slow by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def account(admin):
    return create_account(
        admin,
        meter_type="water",
        sub_meter=2,
        limit="999",
        prestore="5",
        alarm="10",
        overdraft="5",
        maintenance_code="1234",
        name="自来水",
    )


def _state() -> tuple[list[dict[str, Any]], int, int, int]:
    """Everything a refusal must leave as it was."""
    return (
        [account_snapshot(a) for a in Account.objects.order_by("pk")],
        Price.objects.count(),
        PriceVersion.objects.count(),
        AuditEntry.objects.count(),
    )


def _setting_card(admin, account):
    from prepaid.cards.models import CardOperation

    return CardOperation.objects.create(
        kind=CardOperation.Kind.TOOL_CARD,
        card_serial=uuid.uuid4().hex[:16],
        tool_type="setting",
        account=account,
        operator=admin,
        time=timezone.now(),
    )


def _customer_on(price: Price):
    from prepaid.customers.models import Customer
    from prepaid.vending.models import CustomerAccount

    customer = Customer.objects.create(
        user_number=uuid.uuid4().hex[:8], name="王五", created_at=timezone.now()
    )
    return CustomerAccount.objects.create(
        customer=customer, account=price.account, price=price, opened_at=timezone.now()
    )


def _price(admin, account, name: str = "居民用水") -> Price:
    return add_price(admin, account_id=account.pk, name=name, unit_price="3.45")


def _ledger_entry(admin, account):
    """A fee booked on the account for a customer opened on another account's price."""
    from prepaid.customers.models import Customer
    from prepaid.vending.models import LedgerEntry, Shift

    customer = Customer.objects.create(
        user_number=uuid.uuid4().hex[:8], name="赵六", created_at=timezone.now()
    )
    shift = Shift.objects.create(operator=admin, station="s1", opened_at=timezone.now())
    return LedgerEntry.objects.create(
        kind=LedgerEntry.Kind.FEE,
        time=timezone.now(),
        customer=customer,
        account=account,
        amount_fen=500,
        operator=admin,
        shift=shift,
        station="s1",
        idempotency_key=uuid.uuid4().hex,
    )


# --- modify ------------------------------------------------------------------------------------


def test_modify_parameters_of_an_account_not_yet_in_the_field(admin, account):
    modified = modify_account(
        admin,
        account.pk,
        name=" 生活用水 ",
        limit="500.5",
        prestore="0",
        alarm="20",
        overdraft="0",
        maintenance_code="0042",
    )
    modified.refresh_from_db()
    assert modified.name == "生活用水"
    assert modified.limit_centi == 50050
    assert modified.prestore_centi == 0
    assert modified.alarm_centi == 2000
    assert modified.overdraft_centi == 0
    assert modified.maintenance_code == 42
    entry = AuditEntry.objects.get(action="account.modify")
    assert entry.object_type == "accounts.account"
    assert entry.object_id == str(account.pk)
    assert entry.operator_name == admin.username
    assert entry.before["limit"] == "999.00"
    assert entry.before["name"] == "自来水"
    assert entry.after["limit"] == "500.50"
    assert entry.after["maintenance_code"] == 42


def test_modify_only_the_limit_keeps_the_rest(admin, account):
    modify_account(admin, account.pk, limit="800")
    account.refresh_from_db()
    assert (account.name, account.limit_centi, account.alarm_centi) == ("自来水", 80000, 1000)


@pytest.mark.parametrize("in_field", ["setting_card", "customer"])
def test_name_may_be_corrected_in_the_field(admin, account, in_field):
    if in_field == "setting_card":
        _setting_card(admin, account)
    else:
        _customer_on(_price(admin, account))
    assert account_in_field(account)
    modify_account(admin, account.pk, name="居民水")
    account.refresh_from_db()
    assert account.name == "居民水"
    assert AuditEntry.objects.filter(action="account.modify").count() == 1


@pytest.mark.parametrize("in_field", ["setting_card", "customer"])
@pytest.mark.parametrize(
    "change",
    [
        {"limit": "500"},
        {"prestore": "0"},
        {"alarm": "20"},
        {"overdraft": "1"},
        {"maintenance_code": "9"},
        {"name": "新名称", "limit": "500"},
    ],
)
def test_meter_parameters_refused_in_the_field(admin, account, in_field, change):
    if in_field == "setting_card":
        _setting_card(admin, account)
    else:
        _customer_on(_price(admin, account))
    before = _state()
    with pytest.raises(PrepaidError) as exc:
        modify_account(admin, account.pk, **change)
    assert exc.value.code == "account_in_field"
    assert "meters carry its present values" in exc.value.message
    assert _state() == before


def test_a_setting_card_for_another_account_does_not_count(admin, account):
    other = create_account(
        admin,
        meter_type="gas",
        sub_meter=3,
        limit="100",
        prestore="0",
        alarm="0",
        overdraft="0",
        maintenance_code="1",
    )
    _setting_card(admin, other)
    modify_account(admin, account.pk, limit="500")
    account.refresh_from_db()
    assert account.limit_centi == 50000


@pytest.mark.parametrize(
    "change",
    [
        {"meter_type": "gas"},
        {"sub_meter": "3"},
        {"meter_type": "electricity", "name": "电"},
    ],
)
def test_meter_type_and_sub_meter_never_change(admin, account, change):
    before = _state()
    with pytest.raises(PrepaidError) as exc:
        modify_account(admin, account.pk, **change)
    assert exc.value.code == "account_fixed"
    assert _state() == before


def test_same_meter_type_and_sub_meter_are_no_change(admin, account):
    modify_account(admin, account.pk, meter_type="water", sub_meter="2", name="水")
    account.refresh_from_db()
    assert account.name == "水"


@pytest.mark.parametrize(
    "change",
    [{}, {"name": "自来水", "limit": "999.00", "maintenance_code": "01234"}],
)
def test_nothing_to_change_refused(admin, account, change):
    before = _state()
    with pytest.raises(InvalidInput) as exc:
        modify_account(admin, account.pk, **change)
    assert exc.value.code == "nothing_to_change"
    assert _state() == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"limit": "0"}, "zero"),
        ({"limit": "abc"}, "not_a_number"),
        ({"prestore": "-1"}, "negative"),
        ({"alarm": "1.234"}, "too_many_decimals"),
        ({"limit": "4"}, "prestore_over_limit"),
        ({"prestore": "1000"}, "prestore_over_limit"),
        ({"alarm": "999"}, "alarm_not_below_limit"),
        ({"limit": "10", "prestore": "0"}, "alarm_not_below_limit"),
        ({"maintenance_code": "12a"}, "bad_maintenance_code"),
        ({"maintenance_code": "0"}, "bad_maintenance_code"),
        ({"name": "  "}, "required"),
        ({"name": "a\nb"}, "bad_text"),
        ({"name": "x" * 65}, "too_long"),
        ({"meter_type": "steam"}, "bad_meter_type"),
        ({"sub_meter": "5"}, "bad_sub_meter"),
    ],
)
def test_bad_input_refused_as_at_creation(admin, account, change, code):
    before = _state()
    with pytest.raises(InvalidInput) as exc:
        modify_account(admin, account.pk, **change)
    assert exc.value.code == code
    assert _state() == before


def test_operator_cannot_modify(admin, clerk, account):
    before = _state()
    with pytest.raises(PrepaidError) as exc:
        modify_account(clerk, account.pk, name="x")
    assert exc.value.code == "permission_denied"
    assert _state() == before


@pytest.mark.parametrize("bad_id", ["0", "x", "99999999"])
def test_modify_unknown_account(admin, account, bad_id):
    with pytest.raises(InvalidInput) as exc:
        modify_account(admin, bad_id, name="x")
    assert exc.value.code == "unknown_account"


# --- delete ------------------------------------------------------------------------------------


def test_delete_an_unused_account_with_its_prices(admin, account):
    price = _price(admin, account)
    next_year = datetime.date(timezone.localdate().year + 1, 1, 1)
    adjust_price(admin, price.pk, unit_price="4", effective_from=next_year)
    _price(admin, account, name="商业用水")
    pk = account.pk
    deleted = delete_account(admin, pk)
    assert deleted["id"] == pk
    assert deleted["name"] == "自来水"
    assert not Account.objects.filter(pk=pk).exists()
    assert not Price.objects.exists()
    assert not PriceVersion.objects.exists()
    entry = AuditEntry.objects.get(action="account.delete")
    assert entry.object_type == "accounts.account"
    assert entry.object_id == str(pk)
    assert entry.before["limit"] == "999.00"
    assert [p["name"] for p in entry.before["prices"]] == ["居民用水", "商业用水"]
    assert [v["tiers"] for v in entry.before["prices"][0]["versions"]] == ["0-:3.45", "0-:4.00"]


def test_the_sub_meter_is_free_again_after_delete(admin, account):
    delete_account(admin, account.pk)
    again = create_account(
        admin,
        meter_type="heat",
        sub_meter=2,
        limit="50",
        prestore="0",
        alarm="0",
        overdraft="0",
        maintenance_code="7",
    )
    assert again.sub_meter == 2


@pytest.mark.parametrize("use", ["customer", "tool_card", "check_card", "ledger"])
def test_delete_an_account_in_use_refused(admin, account, use):
    from prepaid.cards.models import CardOperation

    if use == "customer":
        _customer_on(_price(admin, account))
    elif use == "tool_card":
        _setting_card(admin, account)
    elif use == "check_card":
        _setting_card(admin, account)
        CardOperation.objects.filter(account=account).update(tool_type="check")
    else:
        _ledger_entry(admin, account)
    assert account_in_use(account)
    before = _state()
    with pytest.raises(PrepaidError) as exc:
        delete_account(admin, account.pk)
    assert exc.value.code == "account_in_use"
    assert exc.value.message == (
        "This account has been used (customers, cards or sales) and cannot be deleted."
    )
    assert _state() == before


def test_delete_race_caught_by_the_database(admin, account, monkeypatch):
    """A customer was opened on it after the check: the protected foreign keys refuse."""
    from prepaid.accounts import services

    _customer_on(_price(admin, account))
    monkeypatch.setattr(services, "account_in_use", lambda account: False)
    before = _state()
    with pytest.raises(PrepaidError) as exc:
        delete_account(admin, account.pk)
    assert exc.value.code == "account_in_use"
    assert _state() == before


def test_operator_cannot_delete(admin, clerk, account):
    before = _state()
    with pytest.raises(PrepaidError) as exc:
        delete_account(clerk, account.pk)
    assert exc.value.code == "permission_denied"
    assert _state() == before


def test_delete_unknown_account(admin):
    with pytest.raises(InvalidInput) as exc:
        delete_account(admin, "7")
    assert exc.value.code == "unknown_account"


def test_a_check_card_does_not_put_the_account_in_the_field(admin, account):
    """A check card reads a meter and carries none of the account's parameters: they may still
    be corrected after one was made (a setting card would forbid it)."""
    from prepaid.cards.models import CardOperation

    _setting_card(admin, account)
    CardOperation.objects.filter(account=account).update(tool_type="check")
    assert not account_in_field(account)
    modify_account(admin, account.pk, limit="500")
    account.refresh_from_db()
    assert account.limit_centi == 50000

"""Registering and finding customers (注册用户) through the service layer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone

from prepaid.audit.models import AuditEntry
from prepaid.core.errors import InvalidInput, PrepaidError
from prepaid.customers import services
from prepaid.customers.models import Customer
from prepaid.customers.services import (
    MAX_FOUND,
    customer_overview,
    find_customers,
    get_customer,
    register_customer,
    resident_id_check_char,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The admin and clerk fixtures hash passwords: Argon2 is slow by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _existing(user_number: str, name: str = "老用户", **fields: Any) -> Customer:
    return Customer.objects.create(
        user_number=user_number, name=name, created_at=timezone.now(), **fields
    )


def test_register_generates_sequential_numbers_and_audits(clerk):
    first = register_customer(
        clerk,
        name="  张三 ",
        phone=" +86 138-0000-0000 ",
        address="北京市海淀区 1 号",
        id_number="11010519491231002x",
        remarks="一楼",
    )
    second = register_customer(clerk, name="李四")
    assert (first.user_number, second.user_number) == ("00000001", "00000002")
    first.refresh_from_db()
    assert first.name == "张三"
    assert first.phone == "+86 138-0000-0000"
    assert first.address == "北京市海淀区 1 号"
    assert first.id_number == "11010519491231002X"
    assert first.remarks == "一楼"
    assert (second.phone, second.address, second.id_number, second.remarks) == ("", "", "", "")
    entries = list(AuditEntry.objects.filter(action="customer.register"))
    assert [e.object_id for e in entries] == [str(first.pk), str(second.pk)]
    assert entries[0].operator_id == clerk.pk
    assert entries[0].after == {
        "user_number": "00000001",
        "name": "张三",
        "phone": "+86 138-0000-0000",
        "address": "北京市海淀区 1 号",
        "id_number": "11010519491231002X",
        "remarks": "一楼",
    }


def test_admin_may_register_too(admin):
    assert register_customer(admin, name="Zoë O'Brien-Müller").name == "Zoë O'Brien-Müller"


def test_next_number_follows_the_largest_eight_digit_number(clerk):
    _existing("00000041")
    _existing("00000007")
    _existing("X1")  # numbers of another shape do not count
    _existing("123456789")
    assert register_customer(clerk, name="新").user_number == "00000042"


def test_user_numbers_exhausted(clerk):
    _existing("99999999")
    with pytest.raises(PrepaidError) as exc:
        register_customer(clerk, name="新")
    assert exc.value.code == "user_numbers_exhausted"
    assert Customer.objects.count() == 1
    assert not AuditEntry.objects.exists()


def test_number_taken_by_another_station_is_retried(clerk, monkeypatch):
    _existing("00000001")
    calls: list[str] = []
    real = services._next_user_number

    def racing() -> str:
        # The first time, another station's insert is not yet visible: a stale number.
        number = "00000001" if not calls else real()
        calls.append(number)
        return number

    monkeypatch.setattr(services, "_next_user_number", racing)
    customer = register_customer(clerk, name="新")
    assert calls == ["00000001", "00000002"]
    assert customer.user_number == "00000002"
    assert Customer.objects.count() == 2
    assert AuditEntry.objects.filter(action="customer.register").count() == 1


def test_gives_up_after_repeated_collisions(clerk, monkeypatch):
    _existing("00000001")
    monkeypatch.setattr(services, "_next_user_number", lambda: "00000001")
    with pytest.raises(IntegrityError):
        register_customer(clerk, name="新")
    assert Customer.objects.count() == 1
    assert not AuditEntry.objects.exists()


def test_inactive_operator_refused(clerk):
    clerk.is_active = False
    clerk.save()
    with pytest.raises(PrepaidError) as exc:
        register_customer(clerk, name="新")
    assert exc.value.code == "permission_denied"
    with pytest.raises(PrepaidError):
        register_customer(None, name="新")
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": ""}, "required", "name"),
        ({"name": " \u3000 "}, "required", "name"),  # ideographic space only
        ({"name": "名" * 65}, "too_long", "name"),
        ({"name": "张\n三"}, "bad_text", "name"),
        ({"name": "张\x00三"}, "bad_text", "name"),
        ({"phone": "138abc"}, "bad_phone", None),
        ({"phone": "---"}, "bad_phone", None),
        ({"phone": "１３８"}, "bad_phone", None),  # full-width digits: read, but only three
        ({"phone": "-1"}, "bad_phone", None),
        ({"phone": "abc"}, "bad_phone", None),
        ({"phone": "1"}, "bad_phone", None),
        ({"phone": "1234"}, "bad_phone", None),  # fewer than 5 digits
        ({"phone": "1" * 21}, "bad_phone", None),  # more than 20
        ({"phone": "+"}, "bad_phone", None),
        ({"phone": "+-13800138000"}, "bad_phone", None),
        ({"phone": "13800138000-"}, "bad_phone", None),
        ({"phone": "138+00138000"}, "bad_phone", None),
        ({"phone": "++8613800138000"}, "bad_phone", None),
        ({"phone": "١٣٨٠٠١٣٨٠٠٠"}, "bad_phone", None),  # other scripts' digits
        ({"phone": "1" * 33}, "too_long", "phone"),
        ({"address": "路" * 201}, "too_long", "address"),
        ({"remarks": "r" * 201}, "too_long", "remarks"),
        ({"id_number": "1101 0519"}, "bad_id_number", None),
        ({"id_number": "身份证"}, "bad_id_number", None),
        ({"id_number": "A" * 33}, "too_long", "ID number"),
        ({"id_number": "110105194912310021"}, "bad_id_number", None),  # wrong check digit
        ({"id_number": "11010519491231002Y"}, "bad_id_number", None),
    ],
)
def test_bad_input_refused_and_nothing_written(clerk, fields, code, field):
    with pytest.raises(InvalidInput) as exc:
        register_customer(clerk, **{"name": "张三", **fields})
    assert exc.value.code == code
    assert exc.value.exit_status == 2
    if field is not None:
        assert exc.value.params["field"] == field
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()


def test_longest_values_accepted(clerk):
    customer = register_customer(
        clerk,
        name="名" * 64,
        phone="+86 0371 - 6666 - 8888 - 1234 56",  # 32 characters, 20 digits
        address="路" * 200,
        id_number="A1" * 16,
        remarks="注" * 200,
    )
    customer.refresh_from_db()
    assert len(customer.name) == 64
    assert len(customer.address) == 200
    assert customer.id_number == "A1" * 16


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("95598", "95598"),  # a short service number: 5 digits
        ("13800138000", "13800138000"),
        (" 0371-6666 8888 ", "0371-6666 8888"),
        ("+86 138-0000-0000", "+86 138-0000-0000"),
        ("1" * 20, "1" * 20),
        ("１３８－００００　１１１１", "138-0000 1111"),  # an input method in full-width mode
        ("＋８６１３８００１３８０００", "+8613800138000"),
    ],
)
def test_phone_numbers_accepted(clerk, typed, stored):
    customer = register_customer(clerk, name="张三", phone=typed)
    customer.refresh_from_db()
    assert customer.phone == stored
    assert AuditEntry.objects.get(action="customer.register").after["phone"] == stored


def test_a_refused_phone_says_what_is_wrong_with_it(clerk):
    from django.utils import translation

    said = {}
    for phone in ("-1", "1", "abc"):
        with pytest.raises(InvalidInput) as exc, translation.override("zh-hans"):
            register_customer(clerk, name="张三", phone=phone)
        with translation.override("zh-hans"):
            said[phone] = exc.value.translate(translation.gettext)
    assert said == {
        "-1": "电话号码只能以“+”开头，“-”和空格只能在数字之间，不能是“-1”。",
        "1": "电话号码应有 5 至 20 位数字，“1”有 1 位。",
        "abc": "电话号码只能包含数字、“+”、“-”和空格，不能是“abc”。",
    }


@pytest.mark.parametrize("id_number", ["E12345678", "110105491231002", "G1234567890ABCDEF1"])
def test_other_id_documents_accepted(clerk, id_number):
    assert register_customer(clerk, name="x", id_number=id_number).id_number == id_number


def test_resident_id_check_char():
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052418800101001") == "4"


def test_get_customer(clerk):
    customer = register_customer(clerk, name="张三")
    assert get_customer("00000001") == customer
    assert get_customer(" 1 ") == customer  # leading zeros may be left out
    for unknown in ["2", "0000000100", "x" * 40]:
        with pytest.raises(InvalidInput) as exc:
            get_customer(unknown)
        assert exc.value.code == "unknown_customer"
    for missing in ["", "  "]:
        with pytest.raises(InvalidInput) as exc:
            get_customer(missing)
        assert exc.value.code == "user_number_required"


def test_find_by_number_prefix_name_and_phone(clerk):
    zhang = register_customer(clerk, name="张三", phone="13800001111")
    li = register_customer(clerk, name="李四", phone="13900002222")
    smith = register_customer(clerk, name="Anna Smith", phone="")
    assert find_customers("0000000") == [zhang, li, smith]
    assert find_customers("00000002") == [li]
    assert find_customers("三") == [zhang]
    assert find_customers("smith") == [smith]  # case-insensitive
    assert find_customers("2222") == [li]
    assert find_customers("138") == [zhang]
    assert find_customers("%") == []  # no wildcards
    assert find_customers("王") == []
    with pytest.raises(InvalidInput) as exc:
        find_customers("  ")
    assert exc.value.code == "required"


def test_find_returns_at_most_fifty(clerk):
    Customer.objects.bulk_create(
        Customer(user_number=f"{n:08d}", name=f"用户{n}", created_at=timezone.now())
        for n in range(1, 61)
    )
    found = find_customers("用户")
    assert len(found) == MAX_FOUND == 50
    assert found[0].user_number == "00000001"
    assert len(find_customers("用户", limit=500)) == 50


def test_overview_of_a_new_customer(clerk):
    register_customer(clerk, name="张三")
    overview = customer_overview("1")
    assert overview.customer.name == "张三"
    assert (overview.accounts, overview.cards, overview.purchases, overview.ledger) == (
        [],
        [],
        [],
        [],
    )


def test_overview_shows_accounts_cards_and_history(admin):
    from prepaid.accounts.services import add_price, create_account, current_version
    from prepaid.vending.models import CustomerAccount, CustomerCard, LedgerEntry, Purchase, Shift

    customer = register_customer(admin, name="张三")
    other = register_customer(admin, name="李四")
    account = create_account(
        admin,
        meter_type="water",
        sub_meter=1,
        limit="999",
        prestore="0",
        alarm="0",
        overdraft="0",
        maintenance_code="1",
    )
    price = add_price(admin, account_id=account.pk, name="居民", unit_price="3.45")
    now = timezone.now()
    opened = CustomerAccount.objects.create(
        customer=customer, account=account, price=price, last_serial=1, opened_at=now
    )
    card = CustomerCard.objects.create(
        customer=customer, serial="AB12", generation=1, status="active", issued_at=now
    )
    shift = Shift.objects.create(operator=admin, station="s1", opened_at=now)
    purchase = Purchase.objects.create(
        customer_account=opened,
        serial=1,
        kind="purchase",
        status="completed",
        quantity_centi=1000,
        amount_fen=3450,
        price_version=current_version(price),
        card_serial="AB12",
        card_generation=1,
        idempotency_key=uuid.uuid4().hex,
        operator=admin,
        shift=shift,
        station="s1",
        created_at=now,
    )
    entry = LedgerEntry.objects.create(
        kind="sale",
        time=now,
        customer=customer,
        account=account,
        purchase=purchase,
        serial=1,
        quantity_centi=1000,
        amount_fen=3450,
        payment_method="cash",
        operator=admin,
        shift=shift,
        station="s1",
        idempotency_key=uuid.uuid4().hex,
    )
    overview = customer_overview(customer.user_number)
    assert overview.accounts == [opened]
    assert overview.cards == [card]
    assert overview.purchases == [purchase]
    assert overview.ledger == [entry]
    assert customer_overview(other.user_number).purchases == []

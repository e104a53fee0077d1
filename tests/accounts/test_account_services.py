"""Creating and listing accounts (创建账户) through the service layer."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from prepaid.accounts.models import Account, MeterTypeChoice
from prepaid.accounts.services import (
    MAX_ACCOUNTS,
    clean_text,
    create_account,
    get_account,
    list_accounts,
    meter_type_code,
    meter_unit,
)
from prepaid.audit.models import AuditEntry
from prepaid.audit.services import verify_chain
from prepaid.core.errors import InvalidInput, PrepaidError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The admin and clerk fixtures hash passwords: Argon2 is slow by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "meter_type": "water",
        "sub_meter": "1",
        "limit": "999",
        "prestore": "5",
        "alarm": "10",
        "overdraft": "5",
        "maintenance_code": "1234",
    }
    fields.update(overrides)
    return fields


def _nothing_written() -> None:
    assert Account.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_create_stores_integers_and_audits(admin):
    account = create_account(
        admin, **_fields(limit="999.99", prestore="5.5", alarm="10.01", overdraft="0.05")
    )
    account.refresh_from_db()
    assert account.meter_type == MeterTypeChoice.WATER
    assert account.sub_meter == 1
    assert account.limit_centi == 99999
    assert account.prestore_centi == 550
    assert account.alarm_centi == 1001
    assert account.overdraft_centi == 5
    assert account.maintenance_code == 1234
    assert meter_type_code(account) == "water"
    assert meter_unit(account) == "m³"
    entry = AuditEntry.objects.get()
    assert entry.action == "account.create"
    assert entry.operator_id == admin.pk
    assert entry.object_type == "accounts.account"
    assert entry.object_id == str(account.pk)
    assert entry.before is None
    assert entry.after == {
        "name": account.name,
        "meter_type": "water",
        "sub_meter": 1,
        "limit": "999.99",
        "prestore": "5.50",
        "alarm": "10.01",
        "overdraft": "0.05",
        "maintenance_code": 1234,
    }
    assert verify_chain().ok


def test_default_name_is_meter_type_and_sub_meter_in_the_offices_language(admin, settings):
    """The name is stored and shown in every list, Chinese ones too: it is in the office's
    language (LANGUAGE_CODE), not that of the operator who created the account."""
    with translation.override("en"):
        account = create_account(admin, **_fields(meter_type="electricity", sub_meter=3))
        assert translation.get_language() == "en"  # the operator's language is left as it was
    assert account.name == "电表 3"
    assert Account.objects.get(pk=account.pk).name == "电表 3"
    assert meter_unit(account) == "kWh"
    settings.LANGUAGE_CODE = "en"  # an office that works in English
    with translation.override("zh-hans"):
        account = create_account(admin, **_fields(meter_type="heat", sub_meter=4))
    assert account.name == "Heat 4"


def test_given_name_is_stripped_and_may_be_any_script(admin):
    account = create_account(admin, **_fields(name="  居民水表 💧 "))
    assert Account.objects.get().name == "居民水表 💧"
    assert account.name == "居民水表 💧"


def test_zero_prestore_alarm_overdraft_allowed(admin):
    account = create_account(admin, **_fields(prestore="0", alarm="0.00", overdraft=0))
    assert (account.prestore_centi, account.alarm_centi, account.overdraft_centi) == (0, 0, 0)


def test_prestore_may_equal_limit(admin):
    account = create_account(admin, **_fields(limit="20", prestore="20", alarm="19.99"))
    assert account.prestore_centi == account.limit_centi == 2000


@pytest.mark.parametrize(
    ("code", "stored"), [("1", 1), ("00001234", 1234), ("99999999", 99_999_999), (42, 42)]
)
def test_maintenance_code_digits_stored_as_int(admin, code, stored):
    assert create_account(admin, **_fields(maintenance_code=code)).maintenance_code == stored


@pytest.mark.parametrize("meter_type", ["water", "Electricity", "GAS", "heat"])
def test_all_meter_types(admin, meter_type):
    account = create_account(admin, **_fields(meter_type=meter_type))
    assert meter_type_code(account) == meter_type.lower()


def test_operator_cannot_create_accounts(clerk):
    with pytest.raises(PrepaidError) as exc:
        create_account(clerk, **_fields())
    assert exc.value.code == "permission_denied"
    assert type(exc.value) is PrepaidError
    _nothing_written()


def test_four_accounts_then_too_many(admin):
    for sub_meter, kind in zip(range(1, 5), ["water", "electricity", "gas", "heat"], strict=True):
        create_account(admin, **_fields(sub_meter=sub_meter, meter_type=kind))
    assert [a.sub_meter for a in list_accounts()] == [1, 2, 3, 4]
    audit_count = AuditEntry.objects.count()
    with pytest.raises(PrepaidError) as exc:
        create_account(admin, **_fields(sub_meter=2))
    assert exc.value.code == "too_many_accounts"
    assert type(exc.value) is PrepaidError  # a business refusal (exit 1), not bad input
    assert Account.objects.count() == MAX_ACCOUNTS
    assert AuditEntry.objects.count() == audit_count


def test_repeated_sub_meter_refused(admin):
    create_account(admin, **_fields(sub_meter=2))
    with pytest.raises(PrepaidError) as exc:
        create_account(admin, **_fields(sub_meter="2", meter_type="gas"))
    assert exc.value.code == "sub_meter_taken"
    assert "2" in exc.value.message
    assert Account.objects.count() == 1
    assert AuditEntry.objects.count() == 1


def test_sub_meter_race_caught_by_unique_constraint(admin, monkeypatch):
    """Another station took the sub-meter between the check and the insert."""
    from prepaid.accounts import services

    create_account(admin, **_fields(sub_meter=1))
    monkeypatch.setattr(services, "_check_sub_meter_free", lambda sub_meter: None)
    with pytest.raises(PrepaidError) as exc:
        create_account(admin, **_fields(sub_meter=1))
    assert exc.value.code == "sub_meter_taken"
    assert Account.objects.count() == 1
    assert AuditEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"limit": "0"}, "zero", "purchase limit"),
        ({"limit": "-1"}, "negative", "purchase limit"),
        ({"limit": "1.234"}, "too_many_decimals", "purchase limit"),
        ({"limit": "abc"}, "not_a_number", "purchase limit"),
        ({"limit": "1e3"}, "not_a_number", "purchase limit"),
        ({"limit": "NaN"}, "not_a_number", "purchase limit"),
        ({"limit": ""}, "not_a_number", "purchase limit"),
        ({"limit": "99999999999"}, "too_large", "purchase limit"),
        ({"prestore": "-0.01"}, "negative", "pre-stored quantity"),
        ({"alarm": "x"}, "not_a_number", "alarm level"),
        ({"overdraft": "0.001"}, "too_many_decimals", "overdraft"),
        ({"overdraft": "1" * 40}, "too_large", "overdraft"),
        ({"prestore": "999.01"}, "prestore_over_limit", None),
        ({"alarm": "999"}, "alarm_not_below_limit", None),
        ({"alarm": "1000"}, "alarm_not_below_limit", None),
        ({"sub_meter": "0"}, "bad_sub_meter", None),
        ({"sub_meter": "5"}, "bad_sub_meter", None),
        ({"sub_meter": "1.0"}, "bad_sub_meter", None),
        ({"sub_meter": "x"}, "bad_sub_meter", None),
        ({"sub_meter": -1}, "bad_sub_meter", None),
        ({"maintenance_code": ""}, "bad_maintenance_code", None),
        ({"maintenance_code": "123456789"}, "bad_maintenance_code", None),
        ({"maintenance_code": "12a4"}, "bad_maintenance_code", None),
        ({"maintenance_code": "-1"}, "bad_maintenance_code", None),
        # 0: a tool card of the account would work on every meter (card-format.md)
        ({"maintenance_code": "0"}, "bad_maintenance_code", None),
        ({"maintenance_code": "0000"}, "bad_maintenance_code", None),
        ({"maintenance_code": "１２３"}, "bad_maintenance_code", None),  # full-width digits
        ({"meter_type": "oil"}, "bad_meter_type", None),
        ({"name": "x" * 65}, "too_long", "name"),
        ({"name": "水表\n1"}, "bad_text", "name"),
    ],
)
def test_bad_input_refused_and_nothing_written(admin, overrides, code, field):
    with pytest.raises(InvalidInput) as exc:
        create_account(admin, **_fields(**overrides))
    assert exc.value.code == code
    assert exc.value.exit_status == 2
    if field is not None:
        assert exc.value.params["field"] == field
        assert field in exc.value.message
    _nothing_written()


def test_name_of_64_characters_accepted(admin):
    account = create_account(admin, **_fields(name="水" * 64))
    assert len(account.name) == 64


def test_get_account(admin):
    account = create_account(admin, **_fields())
    assert get_account(account.pk) == account
    assert get_account(str(account.pk)) == account


@pytest.mark.parametrize("bad_id", [999, "999", "0", "-1", "abc", "", str(2**64), "1.5"])
def test_unknown_account(admin, bad_id):
    create_account(admin, **_fields())
    with pytest.raises(InvalidInput) as exc:
        get_account(bad_id)
    assert exc.value.code == "unknown_account"


def test_clean_text():
    assert clean_text("  a b ", field="x", max_length=3) == "a b"
    assert clean_text(None, field="x", max_length=3) == ""
    # NFC: "e" + combining acute counts as one character
    assert clean_text("e\u0301", field="x", max_length=1) == "\u00e9"
    with pytest.raises(InvalidInput) as exc:
        clean_text("   ", field="name", max_length=3, required=True)
    assert exc.value.code == "required"
    with pytest.raises(InvalidInput):
        clean_text("a\tb", field="name", max_length=10)

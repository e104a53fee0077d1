"""Correcting a customer's details (修改用户信息) through the service layer."""

from __future__ import annotations

import pytest

from prepaid.audit.models import AuditEntry
from prepaid.core.errors import InvalidInput, PrepaidError
from prepaid.customers.models import Customer
from prepaid.customers.services import customer_snapshot, modify_customer, register_customer

pytestmark = pytest.mark.django_db

DETAILS = {
    "name": "张三",
    "phone": "13800000000",
    "address": "人民路1号",
    "id_number": "E12345678",
    "remarks": "一楼",
}


@pytest.fixture
def customer(clerk) -> Customer:
    return register_customer(clerk, **DETAILS)


def _modifications() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="customer.modify").order_by("id"))


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("name", "  张叁 ", "张叁"),
        ("phone", "１３９－００００　１１１１", "139-0000 1111"),  # full-width, as registering
        ("address", " 幸福路2号 ", "幸福路2号"),
        ("id_number", "11010519491231002x", "11010519491231002X"),
        ("remarks", "搬到二楼", "搬到二楼"),
        ("phone", "", ""),  # optional details may be emptied
        ("address", "", ""),
        ("id_number", "", ""),
        ("remarks", "", ""),
    ],
)
def test_each_detail_is_corrected_alone(clerk, customer, field, typed, stored):
    result = modify_customer(clerk, customer.user_number, **{field: typed})
    assert result.changed == (field,)
    assert result.customer.pk == customer.pk
    customer.refresh_from_db()
    assert customer_snapshot(customer) == {
        "user_number": "00000001",
        **DETAILS,
        field: stored,
    }
    [entry] = _modifications()
    assert entry.object_type == "customers.customer"
    assert entry.object_id == str(customer.pk)
    assert entry.operator_id == clerk.pk
    assert entry.before == {field: DETAILS[field]}
    assert entry.after == {field: stored}


def test_several_details_at_once_and_only_the_changed_ones_audited(admin, customer):
    result = modify_customer(
        admin,  # administrators may correct customers too
        "1",  # leading zeros may be left out, as when looking a customer up
        name="张三",  # as it is: not a change
        phone="13900000000",
        address="幸福路2号",
    )
    assert result.changed == ("phone", "address")
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.address) == ("张三", "13900000000", "幸福路2号")
    assert customer.user_number == "00000001"
    [entry] = _modifications()
    assert entry.operator_id == admin.pk
    assert entry.before == {"phone": "13800000000", "address": "人民路1号"}
    assert entry.after == {"phone": "13900000000", "address": "幸福路2号"}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        dict(DETAILS),
        {"name": " 张三 ", "phone": "１３８００００００００"},  # the same once cleaned
    ],
)
def test_nothing_that_differs_changes_nothing_and_is_not_audited(clerk, customer, fields):
    result = modify_customer(clerk, customer.user_number, **fields)
    assert result.changed == ()
    customer.refresh_from_db()
    assert customer_snapshot(customer) == {"user_number": "00000001", **DETAILS}
    assert _modifications() == []


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": ""}, "required", "name"),
        ({"name": " \u3000 "}, "required", "name"),
        ({"name": "名" * 65}, "too_long", "name"),
        ({"name": "张\n三"}, "bad_text", "name"),
        ({"phone": "call me"}, "bad_phone", None),
        ({"phone": "1234"}, "bad_phone", None),
        ({"phone": "1" * 33}, "too_long", "phone"),
        ({"address": "路" * 201}, "too_long", "address"),
        ({"address": "a\x07b"}, "bad_text", "address"),
        ({"id_number": "AB-12"}, "bad_id_number", None),
        ({"id_number": "110105194912310021"}, "bad_id_number", None),  # wrong check digit
        ({"remarks": "r" * 201}, "too_long", "remarks"),
        # one bad detail refuses the good ones given with it
        ({"address": "幸福路2号", "phone": "abc"}, "bad_phone", None),
        ({"name": "李四", "remarks": "r" * 201}, "too_long", "remarks"),
    ],
)
def test_a_refused_detail_changes_nothing(clerk, customer, fields, code, field):
    with pytest.raises(InvalidInput) as exc:
        modify_customer(clerk, customer.user_number, **fields)
    assert exc.value.code == code
    assert exc.value.exit_status == 2
    if field is not None:
        assert exc.value.params["field"] == field
    customer.refresh_from_db()
    assert customer_snapshot(customer) == {"user_number": "00000001", **DETAILS}
    assert _modifications() == []


@pytest.mark.parametrize(
    ("number", "code"), [("2", "unknown_customer"), (" ", "user_number_required")]
)
def test_an_unknown_customer_is_refused(clerk, customer, number, code):
    with pytest.raises(InvalidInput) as exc:
        modify_customer(clerk, number, name="李四")
    assert exc.value.code == code
    customer.refresh_from_db()
    assert customer.name == "张三"
    assert _modifications() == []


def test_an_inactive_operator_is_refused(clerk, customer):
    clerk.is_active = False
    clerk.save()
    for operator in (clerk, None):
        with pytest.raises(PrepaidError) as exc:
            modify_customer(operator, customer.user_number, name="李四")
        assert exc.value.code == "permission_denied"
    customer.refresh_from_db()
    assert customer.name == "张三"
    assert _modifications() == []

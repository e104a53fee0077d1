"""审计日志: the audit log read back, newest first, narrowed and paged, for administrators."""

from __future__ import annotations

import datetime
from contextlib import nullcontext
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone, translation

from prepaid.audit.log import AuditFilters, audit_log, changes_text
from prepaid.audit.services import log_action
from prepaid.core.errors import PrepaidError

pytestmark = pytest.mark.django_db


def _log(operator, action, object_type="thing", object_id="1", *, station="", at=None, **state):
    """An entry logged now, or at the moment ``at`` (the log's clock set back: its entries are
    never edited afterwards, the database refuses it)."""
    clock = mock.patch("django.utils.timezone.now", return_value=at) if at else nullcontext()
    with clock, transaction.atomic():
        return log_action(
            operator,
            action,
            object_type=object_type,
            object_id=object_id,
            station=station,
            **state,
        )


def _office(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    moment = datetime.datetime.combine(day, datetime.time(hour, minute))
    return timezone.make_aware(moment, timezone.get_current_timezone())


def _ids(table) -> list[int]:
    return [row["id"] for row in table.rows]


def test_entries_come_newest_first_a_page_at_a_time(admin):
    entries = [_log(admin, "test.change", object_id=str(n)) for n in range(5)]
    newest_first = [e.pk for e in reversed(entries)]
    only_mine = AuditFilters(action="test")

    first = audit_log(admin, only_mine, page=1, page_size=2)
    assert (first.count, first.pages, _ids(first)) == (5, 3, newest_first[:2])
    assert _ids(audit_log(admin, only_mine, page=2, page_size=2)) == newest_first[2:4]
    assert _ids(audit_log(admin, only_mine, page=3, page_size=2)) == newest_first[4:]
    # past the last page: the last page, as the reports do
    beyond = audit_log(admin, only_mine, page=9, page_size=2)
    assert (beyond.page, _ids(beyond)) == (3, newest_first[4:])
    # without a page size, every entry (an export)
    assert _ids(audit_log(admin, only_mine, page_size=None)) == newest_first


def test_a_row_reads_who_where_what_on_which_object_and_what_changed(admin):
    entry = _log(
        admin,
        "test.modify",
        "customers.customer",
        "17",
        station="desk-2",
        before={"name": "张三", "phone": "139", "remarks": ""},
        after={"name": "张三", "phone": "138", "remarks": "新地址"},
    )
    with translation.override("zh-hans"):
        (row,) = audit_log(admin, AuditFilters(action="test.modify")).rows
    assert row == {
        "id": entry.pk,
        "time": entry.time,
        "operator": "admin",
        "station": "desk-2",
        "action": "test.modify",
        "object": "customers.customer:17",
        "changes": "phone: 139 → 138\nremarks:  → 新地址",
        # for people: no label for this code; a customer the office no longer has by its id
        "action_label": "test.modify",
        "object_label": "用户 17",
        "changes_label": "联系电话：139 → 138\n备注：— → 新地址",
        "before": {"name": "张三", "phone": "139", "remarks": ""},
        "after": {"name": "张三", "phone": "138", "remarks": "新地址"},
    }


def test_what_changed_is_compact_for_a_new_a_changed_and_a_deleted_object():
    assert changes_text(None, {"name": "居民用水", "unit_price": "3.50"}) == (
        "name: 居民用水\nunit_price: 3.50"
    )
    assert changes_text({"limit": 999, "tiers": None}, {"limit": 500, "tiers": [1, 2]}) == (
        "limit: 999 → 500\ntiers: — → [1,2]"
    )
    assert changes_text({"name": "x", "active": True}, None) == "name: x → —\nactive: true → —"
    assert changes_text({"a": 1}, {"a": 1}) == ""
    assert changes_text(None, None) == ""


def test_days_are_the_offices_and_inclusive(admin):
    day = datetime.date(2026, 3, 1)
    late = _log(admin, "test.day", at=_office(day, 23, 30))  # 15:30 UTC, still 1 March here
    early = _log(admin, "test.day", at=_office(day + datetime.timedelta(days=1), 0, 10))
    before = _log(admin, "test.day", at=_office(day - datetime.timedelta(days=1), 23, 59))

    def listed(**days):
        return _ids(audit_log(admin, AuditFilters(action="test.day", **days)))

    assert listed(date_from=day, date_to=day) == [late.pk]
    assert listed(date_from=day) == [early.pk, late.pk]
    assert listed(date_to=day) == [before.pk, late.pk]  # in the chain's order, last appended first


def test_filters_by_operator_action_object_and_station(admin, clerk):
    sale = _log(clerk, "sale.begin", "vending.purchase", "12", station="desk-1")
    done = _log(clerk, "sale.complete", "vending.purchase", "12", station="desk-1")
    other = _log(clerk, "sale.complete", "vending.purchase", "13", station="desk-2")
    customer = _log(admin, "customer.register", "customers.customer", "12", station="desk-2")
    opened = _log(admin, "customer_account.open", "vending.customeraccount", "5")
    sales_x = _log(admin, "sales.other", "thing", "9")

    def listed(**wanted):
        return _ids(audit_log(admin, AuditFilters(**wanted)))

    assert listed(operator="clerk") == [other.pk, done.pk, sale.pk]
    assert listed(operator="admin") == [sales_x.pk, opened.pk, customer.pk]
    assert listed(action="sale") == [other.pk, done.pk, sale.pk]  # not sales.other
    assert listed(action="sale.complete") == [other.pk, done.pk]
    assert listed(action="customer.") == [customer.pk]  # not customer_account.open
    assert listed(action="customer") == [customer.pk]
    assert listed(object="vending.purchase:12") == [done.pk, sale.pk]
    assert listed(object="vending.purchase") == [other.pk, done.pk, sale.pk]
    assert listed(object="12") == [customer.pk, done.pk, sale.pk]  # any object with id 12
    assert listed(object=":13") == [other.pk]
    assert listed(station="desk-2") == [customer.pk, other.pk]
    assert listed(operator="clerk", action="sale.complete", station="desk-1") == [done.pk]
    table = audit_log(admin, AuditFilters(operator="clerk", action="sale", object="12"))
    assert [(label.english, value) for label, value in table.filters] == [
        ("Operator", "clerk"),
        ("Action", "sale"),
        ("Object", "12"),
    ]


def test_only_an_administrator_may_read_the_log(admin, clerk):
    _log(clerk, "test.change")
    with pytest.raises(PrepaidError) as refused:
        audit_log(clerk)
    assert refused.value.code == "permission_denied"
    assert audit_log(admin).count >= 1


@pytest.mark.parametrize(
    ("wanted", "code"),
    [
        (
            {"date_from": datetime.date(2026, 3, 2), "date_to": datetime.date(2026, 3, 1)},
            "bad_date_range",
        ),
        ({"date_from": datetime.date(1899, 12, 31)}, "bad_date"),
        ({"date_to": datetime.date(3000, 1, 1)}, "bad_date"),
        ({"operator": "nobody"}, "unknown_operator"),
    ],
)
def test_bad_filters_are_refused(admin, wanted, code):
    with pytest.raises(PrepaidError) as refused:
        audit_log(admin, AuditFilters(**wanted))
    assert refused.value.code == code
    assert refused.value.exit_status == 2


def test_the_system_entries_can_be_asked_for(admin):
    entry = _log(None, "test.system")
    assert _ids(audit_log(admin, AuditFilters(operator="system"))) == [entry.pk]

"""审计日志 in the operator's language: every action code has a label (销售（sale.complete）),
objects are named as the office names them (用户 00000001), the product's fields as its forms
name them and times as the report pages write them; the JSON keeps the codes beside them."""

from __future__ import annotations

import ast
import datetime
import json
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation

from prepaid.audit.labels import ACTION_LABELS
from prepaid.audit.services import log_action
from prepaid.cards.models import CardOperation
from prepaid.customers.services import register_customer
from prepaid.vending.models import LedgerEntry

SRC = Path(__file__).resolve().parents[2] / "src" / "prepaid"

# The codes of the calls that build theirs (an f-string), by the text of that f-string.
BUILT = {
    "{_action(purchase)}.begin": [f"{a}.begin" for a in ("sale", "correction", "transfer")],
    "{_action(purchase)}.complete": [f"{a}.complete" for a in ("sale", "correction", "transfer")],
    "{_action(purchase)}.void": [f"{a}.void" for a in ("sale", "correction", "transfer")],
    "ledger.{kind}": [f"ledger.{kind}" for kind in LedgerEntry.Kind.values],
    "card.{kind}": ["card.format", "card.recycle", "card.tool_card"],  # cards.services._record
}


def _strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _codes_of(call: ast.Call, tree: ast.Module, scopes: list[ast.AST]) -> list[str]:
    """The action codes a ``log_action`` call can write: a literal, a name assigned in the
    function or the module, or an f-string listed in ``BUILT``."""
    action = call.args[1] if len(call.args) > 1 else None
    if isinstance(action, ast.Constant):
        return [action.value]
    if isinstance(action, ast.JoinedStr):
        text = ast.unparse(action)[2:-1]
        assert text in BUILT, f"log_action(…, f{text!r}): list the codes it writes in BUILT"
        return BUILT[text]
    assert isinstance(action, ast.Name), f"log_action with an action of {ast.dump(action)}"
    for scope in [*scopes, tree]:
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == action.id for target in node.targets
            ):
                return _strings(node.value)
    raise AssertionError(f"log_action(…, {action.id}): where is {action.id} set?")


def _logged_codes() -> dict[str, str]:
    codes = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for node in ast.walk(tree):
            name = getattr(node.func, "id", None) if isinstance(node, ast.Call) else None
            if name == "record_once":  # prepaid.singletons: the action is its fourth argument
                assert isinstance(node, ast.Call) and isinstance(node.args[3], ast.Constant)
                codes[node.args[3].value] = f"{path.relative_to(SRC)}:{node.lineno}"
                continue
            if name != "log_action" or path.name == "singletons.py":
                continue
            assert isinstance(node, ast.Call)
            scopes = [f for f in functions if f.lineno <= node.lineno <= (f.end_lineno or 0)]
            for code in _codes_of(node, tree, scopes[::-1]):
                codes[code] = f"{path.relative_to(SRC)}:{node.lineno}"
    return codes


def test_every_action_code_logged_has_a_label():
    codes = _logged_codes()
    assert {"sale.complete", "shift.close", "operator.login", "card.revoke"} <= set(codes)
    assert {"site_key.record", "office.time_zone.record"} <= set(codes)
    missing = {code: where for code, where in codes.items() if code not in ACTION_LABELS}
    assert not missing, f"action codes without a label in prepaid.audit.labels: {missing}"
    assert set(CardOperation.Kind.values) >= {"format", "recycle", "tool_card"}


def _log(operator, action, obj=None, **fields):
    with transaction.atomic():
        return log_action(operator, action, obj, station="desk-1", **fields)


@pytest.mark.django_db
def test_the_page_names_actions_objects_fields_and_times_as_the_office_does(client, admin):
    with transaction.atomic():
        customer = register_customer(admin, name="李四", phone="13900000000", address="幸福路2号")
    closed = timezone.now().replace(microsecond=0)
    shift = _log(
        admin,
        "shift.close",
        object_type="vending.shift",
        object_id="424",
        before={"closed_at": None},
        after={"closed_at": closed.isoformat(), "counted_cash": "231.45"},
    )
    client.force_login(admin)  # zh-Hans, the site's default
    page = client.get(reverse("reports:audit")).content.decode()
    assert "注册用户信息（customer.register）" in page
    assert (
        f"用户 {customer.user_number}" in page and f"customers.customer:{customer.pk}" not in page
    )
    assert "联系电话：13900000000" in page and "phone:" not in page
    assert "交班（shift.close）" in page and "班次 424" in page
    with translation.override("zh-hans"):
        shown = formats.date_format(timezone.localtime(closed), "SHORT_DATETIME_FORMAT")
    assert f"交班时间：— → {shown}" in page and closed.isoformat() not in page
    assert "操作员 admin" in page  # the login, of the operator by name
    # the filter takes the label as well as the code
    only = client.get(reverse("reports:audit"), {"action": "交班"}).context["table"]
    assert [row["id"] for row in only.rows] == [shift.pk]
    admin.language = "en"
    admin.save(update_fields=["language"])
    english = client.get(reverse("reports:audit")).content.decode()
    assert "Register customer (customer.register)" in english
    assert f"Customer {customer.user_number}" in english and "Phone: 13900000000" in english


@pytest.mark.django_db
def test_the_json_keeps_the_codes_and_values_beside_the_labels(client, admin):
    with transaction.atomic():
        customer = register_customer(admin, name="李四", phone="13900000000", address="幸福路2号")
    client.force_login(admin)
    response = client.get(reverse("reports:audit"), {"action": "customer.register"})
    table = response.context["table"]
    from prepaid.audit.log import audit_document

    with translation.override("zh-hans"):
        (row,) = audit_document(table)["rows"]
    assert row["action"] == "customer.register"
    assert row["object"] == f"customers.customer:{customer.pk}"
    assert "phone: 13900000000" in row["changes"].splitlines()
    assert row["after"]["phone"] == "13900000000"
    assert row["action_label"] == "注册用户信息（customer.register）"
    assert row["object_label"] == f"用户 {customer.user_number}"
    assert "联系电话：13900000000" in row["changes_label"].splitlines()
    json.dumps(row)  # plain values only


@pytest.mark.django_db
def test_a_write_back_and_an_absent_value_read_as_people_read_them():
    """A meter's write-back in quantities with the unit of its meter type, not as JSON in centi
    units; a payment method a transfer does not have and empty tiers as —, not as None."""
    from prepaid.audit.log import changes_label

    meter_time = "2026-11-29T01:08:47+00:00"
    with translation.override("zh-hans"):
        shown = formats.date_format(
            timezone.localtime(datetime.datetime.fromisoformat(meter_time)),
            "SHORT_DATETIME_FORMAT",
        )
    record = {"sub_meter": 1, "meter_type": "water", "last_serial": 2, "balance_centi": 1700,
              "cumulative_centi": 300, "status": 0, "meter_time": meter_time}  # fmt: skip
    after = {"card": "7890427157e32e0e", "records": [record, {**record, "status": 3}]}
    with translation.override("zh-hans"):
        lines = changes_label("vending.customercard", None, after).splitlines()
        ledger = changes_label("vending.ledgerentry", None, {"payment": "", "tiers": []})
        account = changes_label("accounts.account", None, {"meter_type": "water"})
    reading = f"子表号 1：余量 17.00 m³，累计用量 3.00 m³，购买序号 2，表计时间 {shown}"
    flagged = f"{reading}，状态：报警、阀门关闭"
    assert lines == ["卡号：7890427157e32e0e", f"表计回写：{reading}；{flagged}"]
    assert ledger.splitlines() == ["支付方式：—", "阶梯：—"]
    assert account == "仪表类型：水表"
    with translation.override("en"):
        older = {**record, "meter_type": None}  # written before entries named the meter type
        english = changes_label("vending.customercard", None, {"records": [older]})
        ledger = changes_label("vending.ledgerentry", None, {"payment": ""})
    assert english.startswith(
        "Meter write-back: sub-meter 1: balance 17.00, total used 3.00, purchase serial 2, "
    )
    assert ledger == "Payment method: —"


@pytest.mark.django_db
def test_a_sale_s_tiers_and_a_price_s_versions_read_as_people_read_them(admin):
    """Not as JSON: a sale's tier lines as its receipt gives them (第 1 阶梯：10.00 GJ × 5.00 =
    50.00) and a price's versions as its unit price or tiers from their effective date, with
    the unit of the account the entry names, or of the price it is about (deleted since, as
    here: the unit its account had)."""
    from prepaid.accounts.services import add_price as add
    from prepaid.accounts.services import (
        adjust_price,
        create_account,
        delete_account,
        delete_price,
    )
    from prepaid.audit.log import AuditFilters, audit_log, changes_label

    heat = create_account(admin, meter_type="heat", sub_meter=2, limit="999", prestore="0",
                          alarm="1", overdraft="0", maintenance_code="1234")  # fmt: skip
    flat = add(admin, account_id=heat.pk, name="居民供热", unit_price="3.45",
               effective_from="2026-01-01")  # fmt: skip
    adjust_price(admin, flat.pk, tiers="0-180:5.00,180-:7.5", period="year",
                 effective_from="2026-07-01")  # fmt: skip
    delete_price(admin, flat.pk)
    sale = {"account": heat.pk, "serial": 1, "tiers": [
        {"tier": 1, "quantity": "10.00", "unit_price": "5.00", "amount": "50.00"},
        {"tier": 2, "quantity": "2.00", "unit_price": "7.50", "amount": "15.00"},
    ]}  # fmt: skip
    log_action(admin, "sale.begin", object_type="vending.purchase", object_id="1", after=sale)

    def day(text):
        return formats.date_format(datetime.date.fromisoformat(text), "SHORT_DATE_FORMAT")

    def changes(action):
        (row,) = audit_log(admin, AuditFilters(action=action)).rows
        return row["changes_label"].splitlines()

    with translation.override("zh-hans"):
        jan, jul = day("2026-01-01"), day("2026-07-01")
        flat_v1 = f"版本 1，{jan} 起：3.45/GJ"
        tiered_v2 = f"版本 2，{jul} 起：0.00–180.00 GJ：5.00/GJ、180.00–∞ GJ：7.50/GJ（按年累计）"
        assert f"价格版本：{flat_v1}" in changes("price.create")
        assert changes("price.adjust") == [f"价格版本：{flat_v1} → {tiered_v2}"]
        assert f"各价格版本：{flat_v1}；{tiered_v2} → —" in changes("price.delete")
        assert "阶梯：第 1 阶梯：10.00 GJ × 5.00 = 50.00；第 2 阶梯：2.00 GJ × 7.50 = 15.00" in (
            changes("sale.begin")
        )
        assert changes_label("vending.purchase", None, {"tiers": []}) == "阶梯：—"
        # an entry naming no account: the quantities without a unit
        unnamed = changes_label("vending.purchase", None, {"tiers": sale["tiers"][:1]})
        assert unnamed == "阶梯：第 1 阶梯：10.00 × 5.00 = 50.00"
    with translation.override("en"):
        assert f"Price version: version 1 from {day('2026-01-01')}: 3.45/GJ" in changes(
            "price.create"
        )
        assert "Tiers: tier 1: 10.00 GJ × 5.00 = 50.00; tier 2: 2.00 GJ × 7.50 = 15.00" in (
            changes("sale.begin")
        )
    # an account deleted with its prices: each price by name with its versions
    water = create_account(admin, meter_type="water", sub_meter=3, limit="999", prestore="0",
                           alarm="1", overdraft="0", maintenance_code="1234")  # fmt: skip
    add(admin, account_id=water.pk, name="居民用水", unit_price="2", effective_from="2026-01-01")
    delete_account(admin, water.pk)
    with translation.override("zh-hans"):
        assert f"价格：居民用水：版本 1，{jan} 起：2.00/m³ → —" in changes("account.delete")


def test_a_revoked_card_s_transfers_at_risk_read_as_people_read_them():
    """The transfers a revoked card still carries, which no meter is known to have taken: by
    sub-meter, serial and quantity, not as JSON."""
    from prepaid.audit.log import changes_label

    after = {
        "status": "revoked",
        "transfers_at_risk": [
            {"sub_meter": 1, "serial": 3, "quantity": "13.96"},
            {"sub_meter": 2, "serial": 5, "quantity": "2.50"},
        ],
    }
    with translation.override("zh-hans"):
        lines = changes_label("vending.customercard", None, after).splitlines()
        empty = changes_label("vending.customercard", None, {"transfers_at_risk": []})
    assert lines[1] == (
        "旧卡上未见任何表充入的换表转移：子表号 1：购买序号 3，13.96；子表号 2：购买序号 5，2.50"
    )
    assert empty == "旧卡上未见任何表充入的换表转移：—"
    with translation.override("en"):
        english = changes_label("vending.customercard", None, after).splitlines()[1]
    assert english.endswith(
        "sub-meter 1: purchase serial 3, 13.96; sub-meter 2: purchase serial 5, 2.50"
    )

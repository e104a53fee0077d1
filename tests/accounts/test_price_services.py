"""Prices (价格管理): add, adjust, modify, delete, versions — through the service layer."""

from __future__ import annotations

import datetime
import itertools
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from prepaid.accounts.models import Price, PriceVersion
from prepaid.accounts.services import (
    add_price,
    adjust_price,
    build_tariff,
    create_account,
    current_version,
    delete_price,
    flat_unit_price_hao,
    get_price,
    list_prices,
    modify_price,
    price_in_use,
    tariff_of,
    version_in_use,
    versions_of,
)
from prepaid.audit.models import AuditEntry
from prepaid.core.errors import InvalidInput, PrepaidError
from prepaid.core.money import fen_to_decimal
from prepaid.core.pricing import Period, Tariff, Tier, quote_quantity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The admin and clerk fixtures hash passwords: Argon2 is slow by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


TIERS = "0-180:5.00,180-260:7.00,260-:9.00"


@pytest.fixture
def account(admin):
    return create_account(
        admin,
        meter_type="water",
        sub_meter=1,
        limit="999",
        prestore="0",
        alarm="10",
        overdraft="0",
        maintenance_code="1234",
    )


@pytest.fixture
def other_account(admin):
    return create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="999",
        prestore="0",
        alarm="10",
        overdraft="0",
        maintenance_code="1234",
    )


def _today() -> datetime.date:
    return timezone.localdate()


def _flat(admin, account, **kw: Any) -> Price:
    return add_price(
        admin,
        account_id=account.pk,
        name=kw.pop("name", "商业用水"),
        unit_price=kw.pop("unit_price", "3.45"),
        **kw,
    )


def _audits(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


def _customer_on(admin, price: Price):
    """A customer opened on ``price`` (as the vending code does it)."""
    from prepaid.customers.models import Customer
    from prepaid.vending.models import CustomerAccount

    customer = Customer.objects.create(
        user_number=uuid.uuid4().hex[:8], name="王五", created_at=timezone.now()
    )
    return CustomerAccount.objects.create(
        customer=customer, account=price.account, price=price, opened_at=timezone.now()
    )


def _purchase(admin, customer_account, version: PriceVersion, **kw: Any):
    from prepaid.vending.models import Purchase, Shift

    shift = Shift.objects.create(operator=admin, station="s1", opened_at=timezone.now())
    customer_account.last_serial += 1
    customer_account.save()
    return Purchase.objects.create(
        customer_account=customer_account,
        serial=customer_account.last_serial,
        kind="purchase",
        status=kw.pop("status", "completed"),
        quantity_centi=1000,
        amount_fen=3450,
        price_version=version,
        card_serial="C1",
        card_generation=1,
        idempotency_key=uuid.uuid4().hex,
        operator=admin,
        shift=shift,
        station="s1",
        created_at=kw.pop("created_at", timezone.now()),
        **kw,
    )


# --- add ----------------------------------------------------------------------------------------


def test_add_flat_price_creates_version_1_today(admin, account):
    price = _flat(admin, account, remarks=" 商铺 ")
    assert (price.account, price.name, price.remarks) == (account, "商业用水", "商铺")
    version = PriceVersion.objects.get(price=price)
    assert version.number == 1
    assert version.effective_from == _today()
    assert version.period == "none"
    assert version.tiers == "0-:3.45"
    assert version.created_by == admin
    assert tariff_of(version) == Tariff.flat(34500)
    assert flat_unit_price_hao(version) == 34500
    assert current_version(price) == version
    quote = quote_quantity(tariff_of(version), 1000)  # 10.00 m³
    assert fen_to_decimal(quote.amount_fen) == Decimal("34.50")
    entry = AuditEntry.objects.get(action="price.create")
    assert entry.object_id == str(price.pk)
    assert entry.after == {
        "account": account.pk,
        "name": "商业用水",
        "remarks": "商铺",
        "version": {
            "number": 1,
            "effective_from": _today().isoformat(),
            "period": "none",
            "tiers": "0-:3.45",
        },
    }


def test_add_four_decimal_unit_price(admin, account):
    price = _flat(admin, account, unit_price="0.4883")
    version = current_version(price)
    assert version.tiers == "0-:0.4883"
    quote = quote_quantity(tariff_of(version), 10000)  # 100.00 kWh
    assert fen_to_decimal(quote.amount_fen) == Decimal("48.83")


def test_add_tiered_price(admin, account):
    price = add_price(
        admin, account_id=str(account.pk), name="居民用水", tiers=f" {TIERS} ", period="year"
    )
    version = current_version(price)
    assert (version.period, version.tiers) == ("year", TIERS)
    assert flat_unit_price_hao(version) is None
    tariff = tariff_of(version)
    assert tariff.period is Period.YEAR
    assert tariff.tiers == (
        Tier(0, 18000, 50000),
        Tier(18000, 26000, 70000),
        Tier(26000, None, 90000),
    )
    # 20 m³ after 170 bought this year: 10 at 5.00 and 10 at 7.00
    quote = quote_quantity(tariff, 2000, prior_centi=17000)
    assert fen_to_decimal(quote.amount_fen) == Decimal("120.00")


def test_tiers_are_stored_canonical(admin, account):
    price = add_price(
        admin, account_id=account.pk, name="阶梯", tiers="0-180.50:5,180.5-:7.1", period="month"
    )
    assert current_version(price).tiers == "0-180.5:5.00,180.5-:7.10"


def test_add_with_effective_date(admin, account):
    day = _today() + datetime.timedelta(days=30)
    price = _flat(admin, account, effective_from=day.isoformat())
    assert versions_of(price)[0].effective_from == day
    with pytest.raises(PrepaidError) as exc:
        current_version(price)
    assert exc.value.code == "price_not_in_effect"
    assert current_version(price, day) == versions_of(price)[0]


def test_same_name_in_another_account_allowed(admin, account, other_account):
    _flat(admin, account)
    _flat(admin, other_account)
    with pytest.raises(PrepaidError) as exc:
        _flat(admin, account, unit_price="9")
    assert exc.value.code == "price_name_taken"
    assert Price.objects.count() == 2


def test_operator_cannot_add_prices(clerk, account):
    before = AuditEntry.objects.count()
    with pytest.raises(PrepaidError) as exc:
        _flat(clerk, account)
    assert exc.value.code == "permission_denied"
    assert Price.objects.count() == 0
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"unit_price": "0"}, "zero"),
        ({"unit_price": "-3"}, "negative"),
        ({"unit_price": "3.45678"}, "too_many_decimals"),
        ({"unit_price": "abc"}, "not_a_number"),
        ({"unit_price": "1e2"}, "not_a_number"),
        ({"unit_price": "999999999"}, "too_large"),
        ({"unit_price": None}, "bad_tariff"),
        ({"unit_price": "3", "tiers": TIERS}, "bad_tariff"),
        ({"unit_price": "3", "period": "year"}, "bad_period"),
        ({"unit_price": None, "tiers": TIERS}, "bad_tiers"),  # tiered needs a period
        ({"unit_price": None, "tiers": TIERS, "period": "week"}, "bad_period"),
        ({"unit_price": None, "tiers": "0-100:5,90-:6", "period": "year"}, "bad_tiers"),
        ({"unit_price": None, "tiers": "10-:5", "period": "year"}, "bad_tiers"),
        ({"unit_price": None, "tiers": "0-100:5", "period": "year"}, "bad_tiers"),
        ({"unit_price": None, "tiers": "", "period": "year"}, "bad_tiers"),
        ({"unit_price": None, "tiers": "0-1:0,1-:2", "period": "year"}, "bad_tiers"),
        ({"name": ""}, "required"),
        ({"name": "   "}, "required"),
        ({"name": "价" * 65}, "too_long"),
        ({"remarks": "r" * 201}, "too_long"),
        ({"effective_from": "2025-13-01"}, "bad_date"),
        ({"effective_from": "20250701"}, "bad_date"),
        ({"effective_from": "tomorrow"}, "bad_date"),
        ({"effective_from": "9999-12-31"}, "bad_date"),
    ],
)
def test_add_bad_input_writes_nothing(admin, account, kwargs, code):
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        _flat(admin, account, **kwargs)
    assert exc.value.code == code
    assert Price.objects.count() == 0
    assert PriceVersion.objects.count() == 0
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("account_id", [999_999_999, "abc", "0", str(10**30)])
def test_add_to_unknown_account(admin, account, account_id):
    with pytest.raises(InvalidInput) as exc:
        add_price(admin, account_id=account_id, name="x", unit_price="1")
    assert exc.value.code == "unknown_account"
    assert Price.objects.count() == 0


def test_too_long_tier_table_refused(admin, account):
    bounds = [f"{10_000_000 + i}.01" for i in range(15)]
    items = [f"0-{bounds[0]}:1234.5678"]
    items += [f"{a}-{b}:1234.5678" for a, b in itertools.pairwise(bounds)]
    items.append(f"{bounds[-1]}-:1234.5678")
    text = ",".join(items)
    assert len(items) == 16 and len(text) > 400
    with pytest.raises(InvalidInput) as exc:
        add_price(admin, account_id=account.pk, name="x", tiers=text, period="year")
    assert exc.value.code == "bad_tiers"
    assert Price.objects.count() == 0


# --- adjust ----------------------------------------------------------------------------------


def test_adjust_adds_version_from_date_keeping_history(admin, account):
    price = _flat(admin, account)
    v1 = current_version(price)
    day = _today() + datetime.timedelta(days=10)
    v2 = adjust_price(admin, price.pk, unit_price="3.80", effective_from=day)
    assert (v2.number, v2.effective_from, v2.tiers) == (2, day, "0-:3.80")
    assert versions_of(price) == [v1, v2]
    assert current_version(price) == v1
    assert current_version(price, day - datetime.timedelta(days=1)) == v1
    assert current_version(price, day) == v2
    assert current_version(price, day + datetime.timedelta(days=400)) == v2
    entry = AuditEntry.objects.get(action="price.adjust")
    assert entry.before["version"]["tiers"] == "0-:3.45"
    assert entry.after["version"] == {
        "number": 2,
        "effective_from": day.isoformat(),
        "period": "none",
        "tiers": "0-:3.80",
    }


def test_every_announced_version_is_listed_in_the_order_it_takes_effect(admin, account):
    """A price adjusted for two later dates announces both: the price list shows the change
    coming first, not only the last one adjusted (which would hide the first)."""
    from django.utils import translation

    from prepaid.cli.price import price_document, price_line

    price = _flat(admin, account)
    soon = _today() + datetime.timedelta(days=10)
    later = _today() + datetime.timedelta(days=100)
    adjust_price(admin, price.pk, unit_price="3.70", effective_from=soon)
    adjust_price(admin, price.pk, unit_price="3.80", effective_from=soon)  # replaces 3.70
    adjust_price(admin, price.pk, unit_price="4.10", effective_from=later)
    doc = price_document(price)
    assert doc["current_version"]["unit_price"] == "3.45"
    assert doc["next_version"]["unit_price"] == "3.80"
    assert [(v["effective_from"], v["unit_price"]) for v in doc["upcoming_versions"]] == [
        (soon.isoformat(), "3.80"),
        (later.isoformat(), "4.10"),
    ]
    ctx = type("Ctx", (), {"gettext": staticmethod(translation.gettext)})
    with translation.override("zh-hans"):
        assert price_line(ctx, doc).endswith(
            f"：3.45（自 {soon.isoformat()} 起：3.80）（自 {later.isoformat()} 起：4.10）"
        )


def test_adjust_today_replaces_current_from_now(admin, account):
    price = _flat(admin, account)
    v2 = adjust_price(admin, price.pk, unit_price="4")
    assert v2.effective_from == _today()
    assert current_version(price) == v2


def test_adjust_to_tiers_and_period_only(admin, account):
    price = _flat(admin, account)
    v2 = adjust_price(admin, price.pk, tiers="0-100:3.45,100-:5", period="month")
    assert (v2.period, v2.tiers) == ("month", "0-100:3.45,100-:5.00")
    v3 = adjust_price(admin, price.pk, tiers="0-120:3.45,120-:5")  # keeps the period
    assert (v3.period, v3.tiers) == ("month", "0-120:3.45,120-:5.00")
    v4 = adjust_price(admin, price.pk, period="year")  # keeps the tiers
    assert (v4.period, v4.tiers) == ("year", "0-120:3.45,120-:5.00")
    assert [v.number for v in versions_of(price)] == [1, 2, 3, 4]


def test_adjust_before_latest_version_refused(admin, account):
    price = _flat(admin, account)
    day = _today() + datetime.timedelta(days=10)
    adjust_price(admin, price.pk, unit_price="4", effective_from=day)
    before = AuditEntry.objects.count()
    with pytest.raises(PrepaidError) as exc:
        adjust_price(admin, price.pk, unit_price="5", effective_from=day - datetime.timedelta(1))
    assert exc.value.code == "effective_date_too_early"
    assert type(exc.value) is PrepaidError
    assert PriceVersion.objects.count() == 2
    assert AuditEntry.objects.count() == before
    # the same day is allowed: the later version wins
    v3 = adjust_price(admin, price.pk, unit_price="5", effective_from=day)
    assert current_version(price, day) == v3


def test_adjust_a_past_date_after_the_latest_version_is_allowed(admin, account):
    price = _flat(admin, account, effective_from=_today() - datetime.timedelta(days=60))
    v2 = adjust_price(
        admin, price.pk, unit_price="4", effective_from=_today() - datetime.timedelta(1)
    )
    assert current_version(price) == v2


def _local_moment(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    """A moment on the office's clock (its time zone), as sales are made."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def test_adjust_before_the_last_sale_at_the_price_refused(admin, account):
    """A sale keeps the version it used: a new price cannot take effect before it was made.

    The sale is just after midnight on the office's clock, the day before in UTC: the day
    that counts is the office's.
    """
    price = _flat(admin, account, effective_from=_today() - datetime.timedelta(days=60))
    sale_day = _today() - datetime.timedelta(days=3)
    _purchase(
        admin,
        _customer_on(admin, price),
        current_version(price, sale_day),
        created_at=_local_moment(sale_day, 0, 30),
    )
    before = AuditEntry.objects.count()
    for day in (sale_day - datetime.timedelta(1), sale_day - datetime.timedelta(30)):
        with pytest.raises(PrepaidError) as exc:
            adjust_price(admin, price.pk, unit_price="4", effective_from=day)
        assert exc.value.code == "effective_date_before_sales"
        assert exc.value.exit_status == 1  # refused by the sales made, not bad input
        assert exc.value.params["last"] == sale_day.isoformat()
        assert sale_day.isoformat() in exc.value.message
    assert PriceVersion.objects.filter(price=price).count() == 1
    assert AuditEntry.objects.count() == before
    # from the day of that sale on, as from today on, the new price may take effect
    v2 = adjust_price(admin, price.pk, unit_price="4", effective_from=sale_day)
    assert current_version(price) == v2


def test_adjust_before_a_voided_sale_is_allowed(admin, account):
    """A voided purchase sold nothing: it does not hold the old price."""
    price = _flat(admin, account, effective_from=_today() - datetime.timedelta(days=60))
    sale_day = _today() - datetime.timedelta(days=3)
    _purchase(
        admin,
        _customer_on(admin, price),
        current_version(price, sale_day),
        created_at=_local_moment(sale_day, 10, 0),
        status="voided",
    )
    v2 = adjust_price(
        admin, price.pk, unit_price="4", effective_from=sale_day - datetime.timedelta(1)
    )
    assert current_version(price, sale_day) == v2


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, "bad_tariff"),
        ({"unit_price": "0"}, "zero"),
        ({"unit_price": "1", "tiers": TIERS}, "bad_tariff"),
        ({"tiers": TIERS}, "bad_tiers"),  # flat base has no period
        ({"unit_price": "1", "effective_from": "2025-02-30"}, "bad_date"),
    ],
)
def test_adjust_bad_input(admin, account, kwargs, code):
    price = _flat(admin, account)
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        adjust_price(admin, price.pk, **kwargs)
    assert exc.value.code == code
    assert PriceVersion.objects.count() == 1
    assert AuditEntry.objects.count() == before


def test_operator_cannot_adjust(admin, clerk, account):
    price = _flat(admin, account)
    with pytest.raises(PrepaidError) as exc:
        adjust_price(clerk, price.pk, unit_price="4")
    assert exc.value.code == "permission_denied"
    assert PriceVersion.objects.count() == 1
    assert _audits("price.adjust") == 0


def test_adjust_unknown_price(admin, account):
    with pytest.raises(InvalidInput) as exc:
        adjust_price(admin, 42, unit_price="4")
    assert exc.value.code == "unknown_price"


# --- modify ----------------------------------------------------------------------------------


def test_modify_name_and_remarks(admin, account):
    price = _flat(admin, account)
    modify_price(admin, price.pk, name=" 商业用水（新） ", remarks="")
    price.refresh_from_db()
    assert (price.name, price.remarks) == ("商业用水（新）", "")
    entry = AuditEntry.objects.get(action="price.modify")
    assert entry.before == {"account": account.pk, "name": "商业用水", "remarks": ""}
    assert entry.after == {"account": account.pk, "name": "商业用水（新）", "remarks": ""}
    assert PriceVersion.objects.get().tiers == "0-:3.45"


def test_modify_corrects_unused_current_version_in_place(admin, account):
    price = _flat(admin, account)
    modify_price(admin, price.pk, unit_price="3.54")
    version = PriceVersion.objects.get()
    assert (version.number, version.tiers) == (1, "0-:3.54")
    entry = AuditEntry.objects.get(action="price.modify")
    assert entry.before["version"]["tiers"] == "0-:3.45"
    assert entry.after["version"]["tiers"] == "0-:3.54"


def test_modify_refuses_a_version_used_by_a_purchase(admin, account):
    price = _flat(admin, account)
    version = current_version(price)
    _purchase(admin, _customer_on(admin, price), version)
    assert version_in_use(version)
    before = AuditEntry.objects.count()
    with pytest.raises(PrepaidError) as exc:
        modify_price(admin, price.pk, name="改名", unit_price="3.54")
    assert exc.value.code == "price_version_used"
    assert "adjust" in exc.value.message
    price.refresh_from_db()
    version.refresh_from_db()
    assert price.name == "商业用水"  # nothing changed, not even the name
    assert version.tiers == "0-:3.45"
    assert AuditEntry.objects.count() == before
    # name and remarks may still be corrected
    modify_price(admin, price.pk, name="改名")
    assert Price.objects.get().name == "改名"


def test_modify_corrects_an_announced_version_while_older_one_is_used(admin, account):
    price = _flat(admin, account)
    _purchase(admin, _customer_on(admin, price), current_version(price))
    day = _today() + datetime.timedelta(days=5)
    adjust_price(admin, price.pk, unit_price="3.90", effective_from=day)
    modify_price(admin, price.pk, unit_price="3.80")
    assert [v.tiers for v in versions_of(price)] == ["0-:3.45", "0-:3.80"]


def test_modify_nothing_refused(admin, account):
    price = _flat(admin, account)
    with pytest.raises(InvalidInput) as exc:
        modify_price(admin, price.pk)
    assert exc.value.code == "nothing_to_change"
    assert _audits("price.modify") == 0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name": ""}, "required"),
        ({"name": "x" * 65}, "too_long"),
        ({"remarks": "x" * 201}, "too_long"),
        ({"unit_price": "-1"}, "negative"),
        ({"unit_price": "1.00001"}, "too_many_decimals"),
        ({"tiers": "0-5:1,5-:x"}, "bad_tiers"),
    ],
)
def test_modify_bad_input(admin, account, kwargs, code):
    price = _flat(admin, account)
    with pytest.raises(InvalidInput) as exc:
        modify_price(admin, price.pk, **kwargs)
    assert exc.value.code == code
    price.refresh_from_db()
    assert (price.name, price.remarks) == ("商业用水", "")
    assert PriceVersion.objects.get().tiers == "0-:3.45"
    assert _audits("price.modify") == 0


def test_modify_to_a_taken_name_refused(admin, account):
    _flat(admin, account, name="A")
    price = _flat(admin, account, name="B")
    with pytest.raises(PrepaidError) as exc:
        modify_price(admin, price.pk, name="A")
    assert exc.value.code == "price_name_taken"
    modify_price(admin, price.pk, name="B", remarks="same name is fine")


def test_operator_cannot_modify(admin, clerk, account):
    price = _flat(admin, account)
    with pytest.raises(PrepaidError) as exc:
        modify_price(clerk, price.pk, name="x")
    assert exc.value.code == "permission_denied"
    assert Price.objects.get().name == "商业用水"


# --- delete ----------------------------------------------------------------------------------


def test_delete_unused_price(admin, account):
    price = _flat(admin, account)
    adjust_price(admin, price.pk, unit_price="4", effective_from=_today() + datetime.timedelta(1))
    pk = price.pk
    deleted = delete_price(admin, pk)
    assert deleted["id"] == pk
    assert not Price.objects.exists()
    assert not PriceVersion.objects.exists()
    entry = AuditEntry.objects.get(action="price.delete")
    assert entry.object_type == "accounts.price"
    assert entry.object_id == str(pk)
    assert entry.before["name"] == "商业用水"
    assert [v["tiers"] for v in entry.before["versions"]] == ["0-:3.45", "0-:4.00"]


def test_delete_price_used_by_a_customer_refused(admin, account):
    price = _flat(admin, account)
    _customer_on(admin, price)
    assert price_in_use(price)
    before = AuditEntry.objects.count()
    with pytest.raises(PrepaidError) as exc:
        delete_price(admin, price.pk)
    assert exc.value.code == "price_in_use"
    assert exc.value.message == "This price is used by customers and cannot be deleted."
    assert Price.objects.filter(pk=price.pk).exists()
    assert AuditEntry.objects.count() == before


def test_delete_price_used_only_by_a_past_purchase_refused(admin, account):
    old = _flat(admin, account, name="旧价")
    new = _flat(admin, account, name="新价")
    customer_account = _customer_on(admin, new)
    _purchase(admin, customer_account, current_version(old))  # the customer moved price since
    with pytest.raises(PrepaidError) as exc:
        delete_price(admin, old.pk)
    assert exc.value.code == "price_in_use"
    assert PriceVersion.objects.filter(price=old).count() == 1


def test_delete_race_caught_by_the_database(admin, account, monkeypatch):
    """A customer was opened on the price after the check: the protected FK refuses."""
    from prepaid.accounts import services

    price = _flat(admin, account)
    _customer_on(admin, price)
    monkeypatch.setattr(services, "price_in_use", lambda price: False)
    before = AuditEntry.objects.count()
    with pytest.raises(PrepaidError) as exc:
        delete_price(admin, price.pk)
    assert exc.value.code == "price_in_use"
    assert Price.objects.filter(pk=price.pk).exists()
    assert AuditEntry.objects.count() == before


def test_operator_cannot_delete(admin, clerk, account):
    price = _flat(admin, account)
    with pytest.raises(PrepaidError) as exc:
        delete_price(clerk, price.pk)
    assert exc.value.code == "permission_denied"
    assert Price.objects.exists()


def test_delete_unknown_price(admin):
    with pytest.raises(InvalidInput) as exc:
        delete_price(admin, "7")
    assert exc.value.code == "unknown_price"


# --- queries ---------------------------------------------------------------------------------


def test_list_and_get(admin, account, other_account):
    a = _flat(admin, account, name="A")
    b = _flat(admin, other_account, name="B")
    c = _flat(admin, account, name="C")
    assert list_prices() == [a, c, b]
    assert list_prices(account.pk) == [a, c]
    assert list_prices(str(other_account.pk)) == [b]
    assert get_price(str(b.pk)) == b
    with pytest.raises(InvalidInput):
        list_prices(999_999_999)  # ids are never reused: far beyond any sequence
    with pytest.raises(InvalidInput):
        get_price("b")


def test_build_tariff():
    assert build_tariff(unit_price="2") == Tariff.flat(20000)
    assert build_tariff(unit_price="2", period="none") == Tariff.flat(20000)
    assert build_tariff(tiers="0-:2") == Tariff.flat(20000)

"""账户管理 and 价格管理 through the pages: every refusal is inline and nothing is written."""

from __future__ import annotations

import datetime
import re

import pytest
from web_helpers import codes, field_errors, html, session_now, session_read_as, tr

from prepaid.accounts.models import Account, Price, PriceVersion

pytestmark = pytest.mark.django_db

GOOD_ACCOUNT = {
    "meter_type": "electricity",
    "sub_meter": "2",
    "name": "居民用电",
    "limit": "999",
    "prestore": "5",
    "alarm": "10",
    "overdraft": "5",
    "maintenance_code": "1234",
}


def test_create_account_then_the_add_price_dialog(admin_client, web_home):
    response = admin_client.post("/accounts/create/", GOOD_ACCOUNT)
    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/{account.pk}/created/"
    dialog = admin_client.get(response["Location"])
    assert 'data-testid="add-price-dialog"' in html(dialog)
    assert tr("Do you want to add a price for this account?") in html(dialog)
    assert f'href="/prices/add/?account={account.pk}"' in html(dialog)
    assert 'href="/accounts/"' in html(dialog)
    add = admin_client.get(f"/prices/add/?account={account.pk}")
    assert f'<option value="{account.pk}" selected>' in html(add)


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"limit": ""}, "limit", None),
        ({"limit": "-5"}, "limit", "negative"),
        ({"limit": "99999999999999999999"}, "limit", "too_large"),
        ({"limit": "1.234"}, "limit", "too_many_decimals"),
        ({"limit": "1e3"}, "limit", "not_a_number"),
        ({"limit": "abc"}, "limit", "not_a_number"),
        ({"prestore": "1000"}, "prestore", "prestore_over_limit"),
        ({"alarm": "999"}, "alarm", "alarm_not_below_limit"),
        ({"overdraft": "-1"}, "overdraft", "negative"),
        ({"maintenance_code": "12a4"}, "maintenance_code", "bad_maintenance_code"),
        ({"maintenance_code": "123456789"}, "maintenance_code", "bad_maintenance_code"),
        ({"sub_meter": "5"}, "sub_meter", None),
        ({"meter_type": "steam"}, "meter_type", None),
        ({"name": "x" * 65}, "name", "too_long"),
        ({"name": "a\x07b"}, "name", "bad_text"),
    ],
)
def test_account_bad_input_is_refused_inline(admin_client, web_home, change, field, code):
    response = admin_client.post("/accounts/create/", {**GOOD_ACCOUNT, **change})
    assert response.status_code == 200
    assert field in field_errors(response)
    if code:
        assert code in codes(response)
    assert not Account.objects.exists()


def test_every_bad_account_field_is_shown_at_once(admin_client, office):
    """Each field's refusal next to its field, in the services' own words; nothing saved."""
    from django.utils import translation
    from django.utils.html import escape

    from prepaid.accounts import services as accounts
    from prepaid.core.errors import PrepaidError
    from prepaid.core.money import parse_quantity
    from prepaid.web.errors import message

    def said(function, *args, **kwargs):
        try:
            function(*args, **kwargs)
        except PrepaidError as exc:
            with translation.override("zh-hans"):
                return str(escape(message(exc)))
        raise AssertionError("not refused")

    response = admin_client.post(
        "/accounts/create/",
        {
            **GOOD_ACCOUNT,
            "sub_meter": "1",  # taken by the office's account
            "limit": "-5",
            "prestore": "1.234",
            "alarm": "99999999999999999999",
            "overdraft": "abc",
            "maintenance_code": "12a4",
        },
    )
    errors = field_errors(response)
    assert errors == {
        "sub_meter": said(accounts.check_room_for_account, 1),
        "limit": said(parse_quantity, "-5", field="purchase limit"),
        "prestore": said(parse_quantity, "1.234", field="pre-stored quantity", allow_zero=True),
        "alarm": said(parse_quantity, "99999999999999999999", field="alarm level"),
        "overdraft": said(parse_quantity, "abc", field="overdraft"),
        "maintenance_code": said(accounts.parse_maintenance_code, "12a4"),
    }
    assert errors["limit"] == "限购量不能为负数。"
    assert {
        "sub_meter_taken",
        "negative",
        "too_many_decimals",
        "too_large",
        "not_a_number",
        "bad_maintenance_code",
    } <= codes(response)
    assert Account.objects.count() == 1


def test_sub_meter_taken_and_fifth_account(admin_client, office):
    taken = admin_client.post("/accounts/create/", {**GOOD_ACCOUNT, "sub_meter": "1"})
    assert "sub_meter_taken" in codes(taken) and "sub_meter" in field_errors(taken)
    for number in ("2", "3", "4"):
        admin_client.post("/accounts/create/", {**GOOD_ACCOUNT, "sub_meter": number})
    assert Account.objects.count() == 4
    listing = html(admin_client.get("/accounts/"))
    assert "/accounts/create/" not in listing.split("<main")[1]
    fifth = admin_client.post("/accounts/create/", {**GOOD_ACCOUNT, "sub_meter": "2"})
    assert codes(fifth) & {"too_many_accounts", "sub_meter_taken"}
    assert Account.objects.count() == 4


def test_script_in_account_name_is_escaped(admin_client, web_home):
    admin_client.post("/accounts/create/", {**GOOD_ACCOUNT, "name": "<script>alert(1)</script>"})
    page = html(admin_client.get("/accounts/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_add_flat_and_tiered_prices(admin_client, office):
    flat = admin_client.post(
        "/prices/add/",
        {"account": office.account.pk, "name": "商业用水", "kind": "flat", "unit_price": "5.6789"},
    )
    assert flat.status_code == 302
    tiered = admin_client.post(
        "/prices/add/",
        {
            "account": office.account.pk,
            "name": "阶梯2",
            "kind": "tiered",
            "tiers": "0-100:2.00,100-:3.00",
            "period": "month",
        },
    )
    assert tiered.status_code == 302
    version = PriceVersion.objects.get(price__name="阶梯2")
    assert (version.tiers, version.period) == ("0-100:2.00,100-:3.00", "month")
    listing = html(admin_client.get("/prices/"))
    assert "商业用水" in listing and "5.6789" in listing
    # Each tier with its unit, and what the tiers count: the customer's use over the month.
    assert "0.00–100.00 m³：¥2.00/m³；100.00–∞ m³：¥3.00/m³（按月累计）" in listing


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"name": ""}, "name", None),
        ({"unit_price": ""}, None, None),
        ({"unit_price": "-1"}, "unit_price", "negative"),
        ({"unit_price": "0"}, "unit_price", "zero"),
        ({"unit_price": "1.23456"}, "unit_price", "too_many_decimals"),
        ({"unit_price": "999999999999"}, "unit_price", "too_large"),
        ({"kind": "tiered", "tiers": "0-100:2.00,90-:3.00"}, "tiers", "bad_tiers"),
        ({"kind": "tiered", "tiers": "garbage"}, "tiers", "bad_tiers"),
        ({"effective_from": "2025-13-01"}, "effective_from", "bad_date"),
        ({"effective_from": "2305-01-01"}, "effective_from", "bad_date"),
        ({"name": "居民用水"}, "name", "price_name_taken"),
        ({"account": "999"}, "account", None),
    ],
)
def test_price_bad_input_is_refused_inline(admin_client, office, change, field, code):
    before = Price.objects.count()
    data = {
        "account": office.account.pk,
        "name": "新价格",
        "kind": "flat",
        "unit_price": "2",
        **change,
    }
    response = admin_client.post("/prices/add/", data)
    assert response.status_code == 200
    assert "alert" in html(response) or field_errors(response)
    if field:
        assert field in field_errors(response)
    if code:
        assert code in codes(response)
    assert Price.objects.count() == before


def test_an_empty_flat_unit_price_is_required_not_a_bad_number(admin_client, office):
    response = admin_client.post(
        "/prices/add/",
        {"account": office.account.pk, "name": "新价格", "kind": "flat", "unit_price": ""},
    )
    assert field_errors(response)["unit_price"] == "这个字段是必填项。"
    assert "不是" not in field_errors(response)["unit_price"]  # not “must be a number, not “””
    adjust = admin_client.post(
        f"/prices/{office.price.pk}/adjust/", {"kind": "flat", "unit_price": ""}
    )
    assert field_errors(adjust)["unit_price"] == "这个字段是必填项。"


def test_every_bad_price_field_is_shown_at_once(admin_client, office):
    response = admin_client.post(
        "/prices/add/",
        {
            "account": office.account.pk,
            "name": "x" * 65,
            "kind": "flat",
            "unit_price": "-1",
            "effective_from": "2025-13-01",
            "remarks": "a\x07b",
        },
    )
    assert set(field_errors(response)) == {"name", "unit_price", "effective_from", "remarks"}
    assert {"too_long", "negative", "bad_date", "bad_text"} <= codes(response)
    assert Price.objects.count() == 2


def test_price_forms_show_only_the_chosen_kinds_fields(admin_client, office):
    """Each tariff field is marked with its kind; the style sheet hides the other kind's."""
    import re
    from pathlib import Path

    import prepaid.web

    for url in ("/prices/add/", f"/prices/{office.price.pk}/adjust/"):
        page = html(admin_client.get(url))
        fields = page.split("data-tariff-fields", 1)[1]
        for name, kind in (("unit_price", "flat"), ("tiers", "tiered"), ("period", "tiered")):
            assert re.search(
                rf'data-tariff-kind="{kind}">\s*<div[^>]*>\s*<label[^>]*for="id_{name}"', fields
            )
    css = (Path(prepaid.web.__file__).parent / "static/prepaid/web.css").read_text()
    assert (
        '.tariff-fields:has(input[name="kind"][value="flat"]:checked) [data-tariff-kind="tiered"]'
        in css
    )
    assert (
        '.tariff-fields:has(input[name="kind"][value="tiered"]:checked) [data-tariff-kind="flat"]'
        in css
    )


def test_price_list_filters_by_action(admin_client, office):
    page = html(admin_client.get("/prices/?action=delete"))
    assert f"/prices/{office.price.pk}/delete/" in page
    assert f"/prices/{office.price.pk}/adjust/" not in page


def test_adjust_price_adds_a_version(admin_client, office):
    page = admin_client.get(f"/prices/{office.price.pk}/adjust/")
    assert 'value="3.45"' in html(page)
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    response = admin_client.post(
        f"/prices/{office.price.pk}/adjust/",
        {"kind": "flat", "unit_price": "3.80", "effective_from": tomorrow},
    )
    assert response.status_code == 302
    versions = list(PriceVersion.objects.filter(price=office.price).order_by("number"))
    assert [v.tiers for v in versions] == ["0-:3.45", "0-:3.80"]
    early = admin_client.post(
        f"/prices/{office.price.pk}/adjust/",
        {"kind": "flat", "unit_price": "3.90", "effective_from": "2020-01-01"},
    )
    assert "effective_date_too_early" in codes(early)
    assert PriceVersion.objects.filter(price=office.price).count() == 2


def test_every_announced_version_is_shown_in_the_order_it_takes_effect(admin_client, office):
    """A price adjusted for two later dates announces both, as ``prepaid price list`` does: the
    change coming first is not hidden behind the one adjusted last."""
    from django.utils import timezone

    from prepaid.accounts.services import adjust_price

    today = timezone.localdate()
    soon = today + datetime.timedelta(days=10)
    later = today + datetime.timedelta(days=100)
    adjust_price(office.admin, office.price.pk, unit_price="3.70", effective_from=soon)
    # 3.80 replaces 3.70 for the same day
    soon_version = adjust_price(office.admin, office.price.pk, unit_price="3.80",
                                effective_from=soon)  # fmt: skip
    later_version = adjust_price(office.admin, office.price.pk, unit_price="4.10",
                                 effective_from=later)  # fmt: skip

    def announced(page: str) -> list[tuple[str, str]]:
        cell = re.search(r'data-testid="announced">(.*?)</(?:td|dd)>', page, re.S).group(1)
        return re.findall(r'<div data-version="(\d+)">(.*?)</div>', cell, re.S)

    listed = announced(html(admin_client.get("/prices/")))
    assert [number for number, _ in listed] == [str(soon_version.number), str(later_version.number)]
    assert "3.80" in listed[0][1] and "4.10" in listed[1][1]
    assert "3.70" not in html(admin_client.get("/prices/"))
    for action in ("adjust", "modify", "delete"):
        shown = announced(html(admin_client.get(f"/prices/{office.price.pk}/{action}/")))
        assert [number for number, _ in shown] == [
            str(soon_version.number),
            str(later_version.number),
        ], action
        assert f"（v{soon_version.number}，" in shown[0][1]


def test_an_adjustment_sent_twice_adds_one_version(admin_client, office):
    """A second click, or the browser's Back and Confirm again, repeats no adjustment."""
    from prepaid.audit.models import AuditEntry

    url = f"/prices/{office.price.pk}/adjust/"
    key = re.search(r'name="key" value="([0-9a-f]{32})"', html(admin_client.get(url))).group(1)
    data = {"kind": "flat", "unit_price": "3.80", "key": key}
    assert admin_client.post(url, data)["Location"] == "/prices/"
    audited = AuditEntry.objects.count()
    again = admin_client.post(url, data)
    assert again.status_code == 302 and again["Location"] == "/prices/"
    versions = PriceVersion.objects.filter(price=office.price).order_by("number")
    assert [v.tiers for v in versions] == ["0-:3.45", "0-:3.80"]
    assert AuditEntry.objects.count() == audited
    said = tr(
        "This form was already sent: the price was adjusted then. Nothing was adjusted again."
    )
    assert said in html(admin_client.get("/prices/"))


def test_an_adjustment_sent_twice_at_once_adds_one_version(admin_client, office):
    """Two fast clicks that both reach the server: the second post, which read its session
    before the first was done, goes to the first result too, not to a second version."""
    url = f"/prices/{office.price.pk}/adjust/"
    key = re.search(r'name="key" value="([0-9a-f]{32})"', html(admin_client.get(url))).group(1)
    data = {"kind": "flat", "unit_price": "3.80", "key": key}
    before = session_now(admin_client)
    first = admin_client.post(url, data)
    with session_read_as(before):
        again = admin_client.post(url, data)
    assert again.status_code == 302 and again["Location"] == first["Location"] == "/prices/"
    versions = PriceVersion.objects.filter(price=office.price).order_by("number")
    assert [v.tiers for v in versions] == ["0-:3.45", "0-:3.80"]


def test_adjust_price_before_a_sale_made_at_it_is_refused_inline(admin_client, office):
    """The customer bought today at a price in effect for a month: the new price cannot take
    effect yesterday (that sale keeps the old one)."""
    from django.utils import timezone

    from prepaid.accounts.services import add_price

    today = timezone.localdate()
    office.price = add_price(office.admin, account_id=office.account.pk, name="老价格",
                             unit_price="3.00",
                             effective_from=today - datetime.timedelta(days=30))  # fmt: skip
    office.open()
    yesterday = today - datetime.timedelta(days=1)
    response = admin_client.post(
        f"/prices/{office.price.pk}/adjust/",
        {"kind": "flat", "unit_price": "4", "effective_from": yesterday.isoformat()},
    )
    assert response.status_code == 200
    assert "effective_date_before_sales" in codes(response)
    assert f"在 {today.isoformat()} 已有销售" in field_errors(response)["effective_from"]
    assert PriceVersion.objects.filter(price=office.price).count() == 1


def test_modify_price_name_and_refusals(admin_client, office):
    response = admin_client.post(
        f"/prices/{office.price.pk}/modify/", {"name": "居民用水(新)", "remarks": "改名"}
    )
    assert response.status_code == 302
    office.price.refresh_from_db()
    assert (office.price.name, office.price.remarks) == ("居民用水(新)", "改名")
    taken = admin_client.post(f"/prices/{office.price.pk}/modify/", {"name": "阶梯水价"})
    assert "price_name_taken" in codes(taken)
    empty = admin_client.post(f"/prices/{office.price.pk}/modify/", {"name": ""})
    assert "name" in field_errors(empty)


def test_modify_a_used_tariff_is_refused(admin_client, office):
    office.open()
    response = admin_client.post(
        f"/prices/{office.price.pk}/modify/",
        {"name": "居民用水", "kind": "flat", "unit_price": "9"},
    )
    assert "price_version_used" in codes(response)


def test_delete_price_confirms_then_deletes(admin_client, office):
    page = admin_client.get(f"/prices/{office.tiered.pk}/delete/")
    assert page.status_code == 200 and tr("Confirm") in html(page)
    assert Price.objects.filter(pk=office.tiered.pk).exists()
    response = admin_client.post(f"/prices/{office.tiered.pk}/delete/")
    assert response.status_code == 302
    assert not Price.objects.filter(pk=office.tiered.pk).exists()


def test_delete_a_price_in_use_is_refused(admin_client, office):
    office.open()
    response = admin_client.post(f"/prices/{office.price.pk}/delete/")
    assert response.status_code == 409
    assert "price_in_use" in codes(response)
    assert Price.objects.filter(pk=office.price.pk).exists()


def test_the_price_list_says_which_prices_customers_use(admin_client, office):
    # The column is the delete rule's "used by customers" (该价格已被用户使用), not "valid" (有效):
    # a price just added, still unused, is not shown as invalid.
    office.open()
    page = html(admin_client.get("/prices/"))
    header = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert header is not None and "<th>已被用户使用</th>" in header.group(1)
    assert "有效" not in header.group(1)
    used = re.search(rf'data-price="{office.price.pk}".*?</tr>', page, re.S)
    unused = re.search(rf'data-price="{office.tiered.pk}".*?</tr>', page, re.S)
    assert used is not None and "<td>是</td>" in used.group(0)
    assert unused is not None and "<td>否</td>" in unused.group(0)
    delete = html(admin_client.get(f"/prices/{office.price.pk}/delete/"))
    assert "已被用户使用</dt>" in delete


def test_unknown_price_is_404(admin_client, office):
    assert admin_client.get("/prices/99999/adjust/").status_code == 404
    assert admin_client.post("/prices/99999/delete/").status_code == 404


# --- 修改账户, 删除账户 ---------------------------------------------------------------------------

MODIFIED = {
    "name": "生活用水",
    "limit": "500",
    "prestore": "0",
    "alarm": "20",
    "overdraft": "5",
    "maintenance_code": "4321",
}


def _snapshot(account):
    from prepaid.accounts.services import account_snapshot

    account.refresh_from_db()
    return account_snapshot(account)


def test_the_account_list_offers_modify_and_delete(admin_client, office):
    page = html(admin_client.get("/accounts/"))
    assert f'href="/accounts/{office.account.pk}/modify/"' in page
    assert f'href="/accounts/{office.account.pk}/delete/"' in page
    assert f"<td>{tr('Water')}（m³）</td>" in page  # the unit in Chinese brackets


def test_modify_an_account_not_yet_in_the_field(admin_client, office):
    form = admin_client.get(f"/accounts/{office.account.pk}/modify/")
    assert form.status_code == 200
    assert 'value="999.00"' in html(form) and 'value="1234"' in html(form)
    assert 'data-testid="account-in-field"' not in html(form)
    # the quantities carry the account's unit; its name and maintenance code do not
    units = re.findall(r'name="(\w+)"[^>]*>\s*<span class="input-group-text">m³<', html(form))
    assert sorted(units) == ["alarm", "limit", "overdraft", "prestore"]
    response = admin_client.post(f"/accounts/{office.account.pk}/modify/", MODIFIED)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/"
    office.account.refresh_from_db()
    assert (office.account.name, office.account.limit_centi) == ("生活用水", 50000)
    assert (office.account.alarm_centi, office.account.maintenance_code) == (2000, 4321)
    listing = html(admin_client.get("/accounts/"))
    assert tr("Account %(name)s modified.", name="生活用水") in listing


def test_modify_in_the_field_corrects_only_the_name(admin_client, office):
    from prepaid.audit.models import AuditEntry

    office.meter()  # a setting card was made on the account
    url = f"/accounts/{office.account.pk}/modify/"
    assert 'data-testid="account-in-field"' in html(admin_client.get(url))
    before = _snapshot(office.account)
    audits = AuditEntry.objects.count()
    refused = admin_client.post(url, MODIFIED)
    assert refused.status_code == 200
    assert "account_in_field" in codes(refused)
    assert _snapshot(office.account) == before
    assert AuditEntry.objects.count() == audits
    renamed = admin_client.post(url, {**_initial_values(before), "name": "居民水"})
    assert renamed.status_code == 302
    assert _snapshot(office.account) == {**before, "name": "居民水"}


def _initial_values(snapshot):
    return {
        "name": snapshot["name"],
        "limit": snapshot["limit"],
        "prestore": snapshot["prestore"],
        "alarm": snapshot["alarm"],
        "overdraft": snapshot["overdraft"],
        "maintenance_code": str(snapshot["maintenance_code"]),
    }


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"limit": "abc"}, "limit", "not_a_number"),
        ({"alarm": "999"}, "alarm", "alarm_not_below_limit"),
        ({"maintenance_code": "12a4"}, "maintenance_code", "bad_maintenance_code"),
        ({"name": ""}, "name", None),
        ({"name": "a\x07b"}, "name", "bad_text"),
    ],
)
def test_modify_bad_input_is_refused_inline(admin_client, office, change, field, code):
    before = _snapshot(office.account)
    response = admin_client.post(
        f"/accounts/{office.account.pk}/modify/", {**_initial_values(before), **change}
    )
    assert response.status_code == 200
    assert field in field_errors(response)
    if code:
        assert code in codes(response)
    assert _snapshot(office.account) == before


def test_modify_with_nothing_changed_is_refused(admin_client, office):
    before = _snapshot(office.account)
    response = admin_client.post(f"/accounts/{office.account.pk}/modify/", _initial_values(before))
    assert "nothing_to_change" in codes(response)


def test_delete_account_confirms_then_deletes_with_its_prices(admin_client, office):
    url = f"/accounts/{office.account.pk}/delete/"
    page = admin_client.get(url)
    assert page.status_code == 200 and tr("Confirm") in html(page)
    assert "<li>阶梯水价</li>" in html(page)
    assert Account.objects.filter(pk=office.account.pk).exists()
    response = admin_client.post(url)
    assert response.status_code == 302
    assert not Account.objects.filter(pk=office.account.pk).exists()
    assert not Price.objects.filter(account_id=office.account.pk).exists()
    listing = html(admin_client.get(response["Location"]))
    assert tr("Account %(name)s deleted.", name=office.account.name) in listing


def test_delete_an_account_in_use_is_refused(admin_client, office):
    office.meter()
    response = admin_client.post(f"/accounts/{office.account.pk}/delete/")
    assert response.status_code == 409
    assert "account_in_use" in codes(response)
    assert Account.objects.filter(pk=office.account.pk).exists()
    assert Price.objects.filter(account=office.account).count() == 2


def test_unknown_account_is_404(admin_client, office):
    assert admin_client.get("/accounts/99999/modify/").status_code == 404
    assert admin_client.post("/accounts/99999/delete/").status_code == 404


def test_the_page_after_creating_an_unknown_account_is_not_found(admin_client, office):
    """A stale link to 您要为该帐户添加一个价格吗？: the office's not-found page naming the
    account, as for the other pages of an unknown account, not a refusal."""
    response = admin_client.get("/accounts/999999/created/")
    assert response.status_code == 404
    page = html(response)
    assert 'data-testid="not-found"' in page
    assert tr("There is no account %(id)s.", id=999999) in page


@pytest.mark.parametrize("action", ["modify", "delete"])
def test_operator_cannot_modify_or_delete_accounts(clerk_client, office, action):
    url = f"/accounts/{office.account.pk}/{action}/"
    before = _snapshot(office.account)
    assert clerk_client.get(url).status_code == 403
    assert clerk_client.post(url, MODIFIED).status_code == 403
    assert _snapshot(office.account) == before


@pytest.mark.parametrize("action", ["modify", "delete"])
def test_account_changes_need_the_csrf_token(office, action):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(office.admin)
    before = _snapshot(office.account)
    url = f"/accounts/{office.account.pk}/{action}/"
    assert browser.post(url, MODIFIED).status_code == 403
    assert _snapshot(office.account) == before


def test_a_price_kind_refused_is_shown_on_the_kind(admin_client, office):
    response = admin_client.post(
        "/prices/add/",
        {"account": office.account.pk, "name": "商业用水", "kind": "flatt", "unit_price": "2"},
    )
    assert response.status_code == 200
    assert "kind" in field_errors(response)
    assert Price.objects.count() == 2

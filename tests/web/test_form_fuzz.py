"""Bad input on every form of the web UI: never a server error, the refusal shown next to the
field it concerns (in the operator's language), nothing changed, and any name that is accepted
shown escaped wherever it appears afterwards.

Each form is posted once with a valid base and then, field by field, with nasty values. Every
post runs in a savepoint that is rolled back afterwards (and the card store and meters files
are put back), so that one form's cases do not depend on each other.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from web_helpers import field_errors, html

from rolled_back import rolled_back

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
NASTY = {
    "empty": "",
    "blank": "   ",
    "negative": "-1",
    "zero": "0",
    "exponent": "1e30",
    "huge": str(10**40),
    "decimals": "1.234",
    "nan": "NaN",
    "infinity": "Infinity",
    "full-width": "１２３",
    "long": "x" * 5000,
    "script": SCRIPT,
}
# what each kind of field takes among the nasty values; every other one is refused
TEXT_TAKES = {"negative", "zero", "exponent", "huge", "decimals", "nan", "infinity"}
TAKES = {
    "quantity": {"full-width"},  # ３４．５ typed in a full-width input method is 34.5
    "quantity or zero": {"zero", "full-width"},
    "required text": TEXT_TAKES | {"full-width", "script"},
    "optional text": TEXT_TAKES | {"full-width", "script", "empty", "blank"},
    "optional number": {"empty", "blank", "full-width"},
    "unit price": {"decimals", "full-width"},  # a unit price has 4 decimal places
    "choice": set(),
    "code": set(),  # 0 is the site's own tool cards' code, never an account's
    "password": set(),
    "key": set(),  # made by the page (32 hexadecimal characters): nothing else is taken
    "customer": set(),
}
NUMBERS = list(NASTY)
TEXTS = ["empty", "blank", "negative", "long", "script"]
CHOICES = ["empty", "blank", "negative", "huge", "full-width", "long", "script"]
VALUES = {
    "quantity": NUMBERS,
    "quantity or zero": NUMBERS,
    "unit price": NUMBERS,
    "optional number": NUMBERS,
    "required text": TEXTS,
    "optional text": TEXTS,
    "choice": CHOICES,
    "code": NUMBERS,
    "password": TEXTS,
    "key": ["empty", "negative", "long", "script"],
    "customer": ["blank", "negative", "long", "script"],
}
# a field typed changes what else the form sends (the amount typed last is the one sold)
FOLLOWS = {"amount": {"basis": "amount", "quantity": ""}}
CJK = re.compile("[\u4e00-\u9fff]")
# pages of the rows a form stores (a name shown there must come out escaped)
SHOWN_ON = ["/accounts/", "/prices/", "/customers/", "/operators/", "/simulator/", "/cards/"]


# -- what the database and the data directory hold ------------------------------------------


def _files(home: Any) -> dict[Path, bytes]:
    found: dict[Path, bytes] = {}
    for root in (home.cards, home.meters):
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and not path.name.endswith(".lock"):
                found[path] = path.read_bytes()
    return found


def _restore(home: Any, saved: dict[Path, bytes]) -> None:
    for path in _files(home):
        if path not in saved:
            path.unlink()
    for path, data in saved.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


THROTTLE_COLUMNS = {"failed_logins", "locked_until", "last_login"}
# ... and their audit entries: a wrong password (at login or as the current one at a password
# change) counts towards the lock, audited like every change
THROTTLE_ACTIONS = {
    "operator.login",
    "operator.login_failed",
    "operator.login_failures_cleared",
    "operator.lock",
}
# a card read records what the meters wrote back on it, whatever is then typed (by design: a
# refused sale still records what the card showed)
OBSERVED = {"reports.WriteBackObservation", "audit.AuditHead"}


def _checksum(home: Any) -> dict[str, str]:
    """A digest of every table's rows (sessions and login throttling left out) and of the
    card store and meters files."""
    sums: dict[str, str] = {}
    for model in apps.get_models():
        if model._meta.db_table == "django_session" or model._meta.label in OBSERVED:
            continue
        names = [
            f.attname for f in model._meta.concrete_fields if f.attname not in THROTTLE_COLUMNS
        ]
        rows = model.objects.order_by("pk")
        if model._meta.label == "audit.AuditEntry":
            rows = rows.exclude(action="write_back.observe").exclude(action__in=THROTTLE_ACTIONS)
            names = [n for n in names if n not in ("previous_hash", "hash")]
        rows = list(rows.values_list(*names))
        sums[model._meta.label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    for path, data in _files(home).items():
        sums[str(path)] = hashlib.sha256(data).hexdigest()
    return sums


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


# -- the forms -----------------------------------------------------------------------------


@dataclass
class Form:
    """A POST form: its URL, a valid base, its fields with their kinds, where each field's
    refusal is shown (``page``: above the form, not on a field), and the set-up it needs."""

    url: Callable[[Any], str]
    base: Callable[[Any], dict[str, Any]]
    fields: dict[str, str]
    role: str = "admin"
    setup: Callable[[Any], None] = lambda office: None
    shown: dict[str, str] = field(default_factory=dict)
    takes: dict[str, set[str]] = field(default_factory=dict)


def _account_base(office: Any) -> dict[str, Any]:
    return {
        "meter_type": "electricity",
        "sub_meter": "2",
        "name": "居民用电",
        "limit": "500",
        "prestore": "0",
        "alarm": "5",
        "overdraft": "0",
        "maintenance_code": "1234",
    }


def _sold(office: Any) -> None:
    """The customer's card in the reader, opened and swiped: ready for a sale."""
    office.meter()
    office.open()
    office.swipe()


def _swiped_with_plenty_left(office: Any) -> None:
    """Opened with 200.00 and swiped: the meter wrote back 205.00, so any remaining quantity
    the fuzzing takes (up to １２３) is one the old meter can have."""
    office.meter()
    office.open(quantity="200")
    office.swipe()


def _unswiped(office: Any) -> None:
    """A sale written and not swiped: ready for a correction."""
    from prepaid.vending.services import sell

    _sold(office)
    sell(office.station(), quantity="20", key="setup-sale")


def _reissue_ready(office: Any) -> None:
    office.open()
    office.new_card("replacement")


def _sale_base(office: Any) -> dict[str, Any]:
    return {
        "account": office.account.pk,
        "quantity": "10",
        "amount": "",
        "basis": "quantity",
        "payment": "cash",
        "key": uuid.uuid4().hex,
    }


def _open_base(office: Any) -> dict[str, Any]:
    return {
        "customer": office.customer.user_number,
        "account": office.account.pk,
        "price": office.price.pk,
        **_sale_base(office),
    }


def _shift_setup(office: Any) -> None:
    _sold(office)
    from prepaid.vending.services import sell

    sell(office.station(), quantity="1", key="setup-sale")


def _open_shift(office: Any) -> int:
    from prepaid.vending.models import Shift

    return Shift.objects.filter(closed_at__isnull=True).get().pk


# nothing typed: “type a quantity or an amount” next to the amount, where the cursor is
SALE_SHOWN = {"quantity": "quantity|amount", "key": "page"}
OPEN_SHOWN = {**SALE_SHOWN, "customer": "page"}
# 写卡 without an account or a payment method: the card's only account, paid as before
WRITE_TAKES = {
    "account": {"empty", "blank"},
    "payment": {"empty", "blank"},
    "quantity": {"full-width"},
    "amount": {"full-width"},
}
STRONG = {"new": {"script"}}  # a password of 25 characters, whatever they are
QUANTITY_FIELDS = {"quantity": "optional number", "amount": "optional number"}
SALE_FIELDS = {**QUANTITY_FIELDS, "account": "choice", "payment": "choice", "key": "key"}
TARIFF = {"kind": "flat", "unit_price": "2.50", "tiers": "", "period": "year"}

FORMS: dict[str, Form] = {
    "account create": Form(
        url=lambda o: "/accounts/create/",
        base=_account_base,
        fields={
            "meter_type": "choice",
            "sub_meter": "choice",
            "name": "optional text",
            "limit": "quantity",
            "prestore": "quantity or zero",
            "alarm": "quantity or zero",
            "overdraft": "quantity or zero",
            "maintenance_code": "code",
        },
    ),
    "account modify": Form(
        url=lambda o: f"/accounts/{o.account.pk}/modify/",
        base=lambda o: {**_account_base(o), "name": "自来水"},
        fields={
            "name": "required text",
            "limit": "quantity",
            "prestore": "quantity or zero",
            "alarm": "quantity or zero",
            "overdraft": "quantity or zero",
            "maintenance_code": "code",
        },
    ),
    "price add": Form(
        url=lambda o: "/prices/add/",
        base=lambda o: {"account": o.account.pk, "name": "商业用水", "remarks": "", **TARIFF},
        fields={
            "account": "choice",
            "name": "required text",
            "remarks": "optional text",
            "kind": "choice",
            "unit_price": "unit price",
            "effective_from": "choice",
        },
        takes={"effective_from": {"empty", "blank"}},
    ),
    "price add tiered": Form(
        url=lambda o: "/prices/add/",
        base=lambda o: {
            "account": o.account.pk,
            "name": "商业阶梯",
            **TARIFF,
            "kind": "tiered",
            "unit_price": "",
            "tiers": "0-100:2.00,100-:3.00",
        },
        fields={"tiers": "choice", "period": "choice"},
        takes={"period": {"empty"}},
    ),
    "price adjust": Form(
        url=lambda o: f"/prices/{o.price.pk}/adjust/",
        base=lambda o: {**TARIFF, "effective_from": ""},
        fields={"kind": "choice", "unit_price": "unit price", "effective_from": "choice"},
        takes={"effective_from": {"empty", "blank"}},
    ),
    "price modify": Form(
        url=lambda o: f"/prices/{o.price.pk}/modify/",
        base=lambda o: {"name": "居民用水", "remarks": "", "kind": "", "unit_price": ""},
        fields={
            "name": "required text",
            "remarks": "optional text",
            "unit_price": "optional number",
            "kind": "choice",
        },
        takes={"kind": {"empty"}, "unit_price": TAKES["unit price"] | {"empty", "blank"}},
    ),
    "customer register": Form(
        url=lambda o: "/customers/register/",
        base=lambda o: {"name": "李四", "phone": "13900000000", "address": "幸福路2号"},
        fields={
            "name": "required text",
            "phone": "choice",
            "address": "optional text",
            "id_number": "choice",
            "remarks": "optional text",
        },
        role="clerk",
        # “-1” and “１２３” are no phone numbers (5 to 20 digits; full-width ones read as
        # digits); an ID number typed in full width reads as its digits
        takes={"phone": {"empty", "blank"}} | {"id_number": {"empty", "blank", "full-width"}},
    ),
    "customer modify": Form(
        url=lambda o: f"/customers/{o.customer.user_number}/modify/",
        base=lambda o: {"name": "李四", "phone": "13900000000", "address": "幸福路2号"},
        fields={
            "name": "required text",
            "phone": "choice",
            "address": "optional text",
            "id_number": "choice",
            "remarks": "optional text",
        },
        role="clerk",
        takes={"phone": {"empty", "blank"}} | {"id_number": {"empty", "blank", "full-width"}},
    ),
    "open review": Form(
        url=lambda o: "/vending/open/",
        base=lambda o: {**_open_base(o), "action": "review"},
        fields={**SALE_FIELDS, "price": "choice", "customer": "customer"},
        role="clerk",
        shown=OPEN_SHOWN,
        takes={"quantity": {"full-width"}, "amount": {"full-width"}},
        setup=lambda o: o.new_card("u1"),
    ),
    "open write": Form(
        url=lambda o: "/vending/open/",
        base=lambda o: {**_open_base(o), "action": "write"},
        fields={**SALE_FIELDS, "price": "choice"},
        role="clerk",
        shown=OPEN_SHOWN,
        takes={"quantity": {"full-width"}, "amount": {"full-width"}},
        setup=lambda o: o.new_card("u1"),
    ),
    "sell review": Form(
        url=lambda o: "/vending/sell/",
        base=lambda o: {**_sale_base(o), "action": "review"},
        fields=SALE_FIELDS,
        role="clerk",
        setup=_sold,
        shown=SALE_SHOWN,
        takes={"quantity": {"full-width"}, "amount": {"full-width"}},
    ),
    "sell write": Form(
        url=lambda o: "/vending/sell/",
        base=lambda o: {**_sale_base(o), "action": "write"},
        fields=SALE_FIELDS,
        role="clerk",
        setup=_sold,
        shown=SALE_SHOWN,
        takes=WRITE_TAKES,
    ),
    "correct write": Form(
        url=lambda o: "/vending/correct/",
        base=lambda o: {**_sale_base(o), "action": "write"},
        fields=SALE_FIELDS,
        role="clerk",
        setup=_unswiped,
        shown=SALE_SHOWN,
        takes=WRITE_TAKES,
    ),
    "reissue review": Form(
        url=lambda o: "/vending/reissue/",
        base=lambda o: {
            "customer": o.customer.user_number,
            "fee": "10",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "review",
        },
        fields={"fee": "optional number", "payment": "choice", "customer": "customer"},
        role="clerk",
        shown={"customer": "page"},
        setup=_reissue_ready,
        takes={"fee": {"empty", "blank", "zero", "full-width"}},
    ),
    "reissue write": Form(
        url=lambda o: "/vending/reissue/",
        base=lambda o: {
            "customer": o.customer.user_number,
            "fee": "10",
            "payment": "cash",
            "key": uuid.uuid4().hex,
            "action": "write",
        },
        fields={"fee": "optional number", "payment": "choice", "key": "key"},
        role="clerk",
        shown={"key": "page"},
        setup=_reissue_ready,
        takes={"fee": {"empty", "blank", "zero", "full-width"}},
    ),
    "meter change write": Form(
        url=lambda o: "/vending/meter-change/",
        base=lambda o: {
            "account": o.account.pk,
            "remaining": "3",
            "reason": "坏表",
            "key": uuid.uuid4().hex,
            "action": "write",
        },
        fields={"remaining": "quantity or zero", "reason": "optional text", "account": "choice"},
        setup=_swiped_with_plenty_left,
        takes={"remaining": {"negative", "zero", "full-width"}, **WRITE_TAKES},
    ),
    "tool card": Form(
        url=lambda o: "/cards/",
        base=lambda o: {
            "action": "make",
            "tool": "setting",
            "account": o.account.pk,
            "key": uuid.uuid4().hex,
        },
        fields={"tool": "choice", "account": "choice", "key": "key"},
        setup=lambda o: (o.blank("t1"), o.insert("t1")),
        shown={"key": "page"},
    ),
    "meter add": Form(
        url=lambda o: "/simulator/",
        base=lambda o: {"meter_id": "M9"},
        fields={"meter_id": "choice"},
        role="clerk",
        takes={"meter_id": {"negative", "full-width"}},
    ),
    "meter use": Form(
        url=lambda o: "/simulator/M1/use/",
        base=lambda o: {"quantity": "1"},
        fields={"quantity": "quantity"},
        role="clerk",
        setup=_sold,
    ),
    "shift close": Form(
        url=lambda o: "/reports/shifts/close/",
        base=lambda o: {"shift": _open_shift(o), "counted_cash": "34.50", "remarks": ""},
        fields={"counted_cash": "quantity or zero", "remarks": "optional text"},
        setup=_shift_setup,
    ),
    "operator add": Form(
        url=lambda o: "/operators/",
        base=lambda o: {
            "username": "clerk2",
            "role": "operator",
            "new": "a-long-pass-1",
            "repeat": "a-long-pass-1",
        },
        fields={"username": "choice", "role": "choice", "new": "password"},
        # any character but white space (escaped wherever the name is shown)
        takes={"username": {"negative", "huge", "full-width", "script"}, **STRONG},
    ),
    "operator password": Form(
        url=lambda o: "/operators/clerk/password/",
        base=lambda o: {"new": "a-long-pass-1", "repeat": "a-long-pass-1"},
        fields={"new": "password", "repeat": "password"},
        takes=STRONG,
        setup=lambda o: None,
    ),
    "password change": Form(
        url=lambda o: "/password/",
        base=lambda o: {
            "current": "s3cret-admin",
            "new": "a-long-pass-1",
            "repeat": "a-long-pass-1",
        },
        fields={"current": "password", "new": "password", "repeat": "password"},
        takes=STRONG,
    ),
}


@pytest.fixture
def clients(admin_client: Any, clerk_client: Any, admin: Any, clerk: Any) -> dict[str, Any]:
    admin_client.operator, clerk_client.operator = admin, clerk
    return {"admin": admin_client, "clerk": clerk_client}


def _taken(response: Any) -> bool:
    """Done (a redirect) or gone on to its confirm step."""
    return response.status_code in (301, 302) or 'data-testid="confirm"' in html(response)


def _cases(form: Form) -> list[tuple[str, str, set[str]]]:
    cases = []
    for name, kind in form.fields.items():
        takes = form.takes.get(name, TAKES[kind])
        for label in VALUES[kind]:
            cases.append((name, label, takes))
    return cases


def _post_rolled_back(
    client: Any, office: Any, url: str, data: dict[str, Any], check: Callable[..., None]
) -> None:
    """Post in a savepoint, check, then undo whatever the post did (rows and files). The
    savepoint is of the kind a test's transaction is (:func:`rolled_back`): a sale, which
    refuses to run inside a caller's transaction, runs inside it."""
    saved = _files(office.home)
    try:
        with rolled_back():
            before = _checksum(office.home)
            response = client.post(url, data)
            check(response, before, _checksum(office.home))
    finally:
        _restore(office.home, saved)
        client.force_login(client.operator)  # a password change made a session rolled back


def _warm_up(office: Any) -> None:
    """What any first use of the station does once (the site key recorded)."""
    from prepaid.cards.site import require_site_key

    require_site_key(office.site_key)


@dataclass
class Case:
    form: str
    field: str
    label: str
    takes: set[str]
    shown_on: str

    def __str__(self) -> str:
        return f"{self.form}: {self.field}={self.label}"


def _judge(
    case: Case,
    client: Any,
    failures: list[str],
    response: Any,
    before: dict[str, str],
    after: dict[str, str],
) -> None:
    page = html(response)
    if SCRIPT in page:
        failures.append(f"{case}: the script is not escaped")
    if _taken(response):
        if case.label not in case.takes:
            failures.append(f"{case}: taken")
        if case.label == "script":
            for url in SHOWN_ON:
                if SCRIPT in html(client.get(url)):
                    failures.append(f"{case}: the script is not escaped on {url}")
        return
    if case.label in case.takes:
        failures.append(f"{case}: refused ({response.status_code})")
    if _changed(before, after):
        failures.append(f"{case}: refused, yet changed {_changed(before, after)}")
    if case.shown_on == "page":
        if response.status_code not in (404, 409) and "data-error" not in page:
            failures.append(f"{case}: no error on the page")
        return
    errors = field_errors(response)
    on = next((f for f in case.shown_on.split("|") if f in errors), case.shown_on)
    if on not in errors:
        failures.append(f"{case}: not shown on {on} (errors on {sorted(errors)})")
    elif not CJK.search(errors[on]):
        failures.append(f"{case}: not in Chinese: {errors[on]}")


@pytest.mark.parametrize("name", list(FORMS))
def test_every_field_refuses_bad_input_inline_and_changes_nothing(
    name: str, clients: dict[str, Any], office: Any
) -> None:
    form = FORMS[name]
    form.setup(office)
    _warm_up(office)
    client = clients[form.role]
    failures: list[str] = []
    for fieldname, label, takes in _cases(form):
        value = NASTY[label]
        data = {**form.base(office), fieldname: value, **FOLLOWS.get(fieldname, {})}
        if fieldname == "new":
            data["repeat"] = value
        case = Case(name, fieldname, label, takes, form.shown.get(fieldname, fieldname))
        check = functools.partial(_judge, case, client, failures)
        _post_rolled_back(client, office, form.url(office), data, check)
    assert not failures, "\n".join(failures)


def test_a_refusal_is_in_english_for_an_operator_reading_english(admin_client, admin, office):
    admin.language = "en"
    admin.save(update_fields=["language"])
    before = _checksum(office.home)
    response = admin_client.post(
        "/accounts/create/", {**_account_base(office), "limit": "1.234", "name": SCRIPT}
    )
    assert field_errors(response)["limit"] == "Purchase limit allows at most 2 decimal places."
    assert SCRIPT not in html(response) and ESCAPED in html(response)
    assert _checksum(office.home) == before


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/accounts/create/", {}),
        ("/customers/register/", {"name": "李四"}),
        ("/vending/sell/", {"action": "write", "quantity": "1"}),
        ("/operators/clerk/disable/", {}),
        ("/reader/blank/", {"name": "c9"}),
    ],
)
def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(admin, office, url, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    before = _checksum(office.home)
    response = client.post(url, data)
    assert response.status_code == 403
    assert _checksum(office.home) == before


@pytest.mark.parametrize("label", ["empty", "negative", "huge", "long", "script"])
def test_unknown_ids_and_names_are_refused_and_change_nothing(admin_client, office, label):
    value = NASTY[label]
    before = _checksum(office.home)
    for url, data in [
        (f"/accounts/{10**12}/delete/", {}),
        (f"/prices/{10**12}/delete/", {}),
        (f"/operators/{value or 'x'}/disable/", {}),
        (f"/operators/{value or 'x'}/enable/", {}),
        (
            f"/operators/{value or 'x'}/password/",
            {"new": "a-long-pass-1", "repeat": "a-long-pass-1"},
        ),
        ("/reader/insert/", {"name": value}),
        (f"/simulator/{value or 'x'}/swipe/", {}),
        (f"/simulator/{value or 'x'}/use/", {"quantity": "1"}),
        ("/vending/quote/", {"customer": value, "account": value, "amount": "1"}),
        ("/reports/shifts/close/", {"shift": value, "counted_cash": "1"}),
    ]:
        response = admin_client.post(url, data)
        assert response.status_code < 500, url
        assert SCRIPT not in html(response), url
        assert _checksum(office.home) == before, url


@pytest.mark.parametrize("label", list(NASTY))
def test_login_and_language_refuse_bad_input_and_change_nothing(admin, office, label):
    value = NASTY[label]
    client = Client()
    before = _checksum(office.home)
    for data in ({"username": value, "password": value}, {"username": "admin", "password": value}):
        response = client.post("/login/", data)
        assert response.status_code == 200
        assert field_errors(response), data
        assert SCRIPT not in html(response)
    switched = client.post("/language/", {"language": value})
    assert switched.status_code == 302
    assert _checksum(office.home) == before

"""The reader panel and virtual card store, the meter simulator, card making (tool cards)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from web_helpers import codes, field_errors, html, session_now, session_read_as, tr

from prepaid.cards.models import CardOperation

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def test_empty_reader_panel(clerk_client, office):
    panel = html(clerk_client.get("/reader/", **HX))
    assert 'data-reader-status="empty"' in panel
    assert tr("The card store is empty.") in panel


def test_a_full_card_store_scrolls_in_the_panel_with_a_filter(clerk_client, office):
    """A demo office's 150 cards: the list scrolls inside the panel, and a box finds one."""
    for n in range(8):
        office.blank(f"c{n}")
    assert "data-card-filter" not in html(clerk_client.get("/reader/", **HX))
    office.blank("00000007")
    panel = html(clerk_client.get("/reader/", **HX))
    assert 'id="card-store-filter" data-card-filter' in panel
    assert tr("Find a card in the card store") in panel
    assert 'data-card="00000007"' in panel
    from django.contrib.staticfiles import finders

    css = Path(finders.find("prepaid/web.css")).read_text(encoding="utf-8")
    assert re.search(r"\.card-store-list \{ max-height: [0-9]+rem; overflow-y: auto; \}", css)
    # the filter hides rows that Bootstrap's d-flex would show anyway
    assert ".card-store-list li[hidden] { display: none !important; }" in css


def test_take_a_blank_card_insert_and_eject(clerk_client, office):
    response = clerk_client.post("/reader/blank/", {"name": ""}, **HX)
    assert response["HX-Trigger"] == "reader-changed"
    panel = html(response)
    assert 'data-reader-status="card"' in panel and 'data-card-type="blank"' in panel
    assert office.store.inserted() == "card001"
    clerk_client.post("/reader/blank/", {"name": "mine"}, **HX)
    assert office.store.inserted() == "mine"
    panel = html(clerk_client.post("/reader/insert/", {"name": "card001"}, **HX))
    assert office.store.inserted() == "card001" and 'data-card="mine"' in panel
    panel = html(clerk_client.post("/reader/eject/", **HX))
    assert office.store.inserted() is None and 'data-reader-status="empty"' in panel


def test_a_blank_card_is_formatted_from_the_panel(admin_client, clerk_client, office):
    """Opening or reissuing needs a new card: the panel offers to format a blank one."""
    office.blank("b1")
    office.insert("b1")
    assert 'data-testid="panel-format-card"' not in html(clerk_client.get("/reader/", **HX))
    assert clerk_client.post("/reader/format/", **HX).status_code == 403
    shown = admin_client.get("/reader/", **HX)
    assert 'data-testid="panel-format-card"' in html(shown)
    panel = html(admin_client.post("/reader/format/", {"key": _key(shown)}, **HX))
    assert 'data-card-type="new"' in panel and 'data-testid="panel-format-card"' not in panel
    assert CardOperation.objects.filter(kind="format").count() == 1


def _formats():
    from prepaid.audit.models import AuditEntry

    return (
        CardOperation.objects.filter(kind="format").count(),
        AuditEntry.objects.filter(action="card.format").count(),
    )


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain form"])
def test_the_panels_format_sent_again_formats_nothing(admin_client, office, htmx):
    """格式化 sent again (Back and resend, a page left open): the new card is not formatted
    again under a fresh serial; the panel shows the card formatted then and says so."""
    office.blank("b1")
    office.insert("b1")
    form = {"key": _key(admin_client.get("/reader/", **HX)), "next": "/vending/open/"}
    headers = HX if htmx else {}
    first = admin_client.post("/reader/format/", form, **headers)
    image = office.store.path("b1").read_bytes()
    again = admin_client.post("/reader/format/", form, **headers)
    assert _formats() == (1, 1)
    assert office.store.path("b1").read_bytes() == image  # its serial kept
    said = tr("This form was already sent: the card was written then. Nothing was written again.")
    if htmx:
        assert 'data-card-type="new"' in html(again) and said in html(again)
        assert said not in html(first)
    else:
        assert again.status_code == 302 and again["Location"] == first["Location"]
        assert said in html(admin_client.get(again["Location"]))


def test_the_panels_format_sent_twice_at_once_formats_once(admin_client, office):
    """Two posts of the one form that both reach the server, the second reading its session
    before the first was done: one format."""
    office.blank("b1")
    office.insert("b1")
    form = {"key": _key(admin_client.get("/reader/", **HX))}
    before = session_now(admin_client)
    admin_client.post("/reader/format/", form, **HX)
    with session_read_as(before):
        again = admin_client.post("/reader/format/", form, **HX)
    assert _formats() == (1, 1)
    assert 'data-card-type="new"' in html(again)


def test_the_panels_format_without_its_key_is_a_damaged_form(admin_client, office):
    office.blank("b1")
    office.insert("b1")
    refused = admin_client.post("/reader/format/", {"key": "x"}, **HX)
    assert "damaged_form" in codes(refused) and _formats() == (0, 0)
    assert 'data-testid="panel-format-card"' in html(refused)  # with a fresh key to send again
    assert re.search(r'name="key" value="[0-9a-f]{32}"', html(refused))


def test_a_garbled_user_card_is_shown_damaged_not_blank_and_not_offered_to_format(
    admin_client, office
):
    office.open()
    path = office.store.path("u1")
    image = bytearray(path.read_bytes())
    image[0x20] ^= 0xFF  # its header garbled: it read as a factory-blank card
    path.write_bytes(bytes(image))
    response = admin_client.get("/reader/", **HX)
    panel = html(response)
    assert 'data-card-type="blank"' not in panel and "bad_card" in codes(response)
    assert 'data-testid="panel-format-card"' not in panel
    assert tr("A blank card must be formatted before it can be opened as a user card.") not in panel
    assert "补卡" in panel
    assert 'data-card="u1"' in panel and tr("Unreadable card") in panel  # in the card store


def test_reader_refusals_are_shown_in_the_panel(clerk_client, office):
    bad = clerk_client.post("/reader/blank/", {"name": "../etc/passwd"}, **HX)
    assert "bad_card_name" in codes(bad)
    office.blank("dup")
    taken = clerk_client.post("/reader/blank/", {"name": "dup"}, **HX)
    assert "card_exists" in codes(taken)
    missing = clerk_client.post("/reader/insert/", {"name": "nothere"}, **HX)
    assert "unknown_card" in codes(missing)


def test_reader_actions_without_htmx_go_back(clerk_client, office):
    response = clerk_client.post("/reader/blank/", {"name": "plain", "next": "/vending/sell/"})
    assert response.status_code == 302 and response["Location"] == "/vending/sell/"
    outside = clerk_client.post("/reader/eject/", {"next": "https://evil.example/"})
    assert outside["Location"] == "/"


def test_panel_shows_the_user_card(clerk_client, office):
    office.meter()
    office.open()
    panel = html(clerk_client.get("/reader/", **HX))
    assert 'data-card-type="user"' in panel
    assert office.customer.user_number in panel and "张三" in panel
    assert 'data-slot="1" data-swiped="no"' in panel
    office.swipe()
    panel = html(clerk_client.get("/reader/", **HX))
    assert 'data-slot="1" data-swiped="yes"' in panel
    wrote = tr(
        "Meter wrote back: balance %(balance)s %(unit)s, cumulative %(cumulative)s %(unit)s, "
        "applied #%(serial)s",
        balance="15.00",
        cumulative="0.00",
        serial=1,
        unit="m³",
    )
    assert wrote in panel and "表回写：余量 15.00 m³，累计用量 0.00 m³，已执行 #1" in panel


def test_panel_shows_each_slot_with_its_meter_type_and_unit(clerk_client, office):
    """A card carrying water and electricity: each slot's quantity with its unit, by meter
    type, not two bare numbers that might be m³ or kWh."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.vending.services import open_account

    office.open(quantity="10")
    power = create_account(
        office.admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="1234",
    )
    tariff = add_price(office.admin, account_id=power.pk, name="居民用电", unit_price="0.50")
    open_account(
        office.station(), office.customer, power, tariff, quantity="150", key=uuid.uuid4().hex
    )
    panel = html(clerk_client.get("/reader/", **HX))
    quantities = re.findall(r'data-testid="slot-quantity">([^<]*)<', panel)
    assert quantities == ["10.00 m³", "150.00 kWh"]
    rows = re.findall(r'data-slot="(\d)"[^>]*>\s*<td[^>]*>([^<]*)</td>', panel)
    assert rows == [("1", "1 水表"), ("2", "2 电表")]


def test_panel_shows_a_damaged_card(clerk_client, office):
    office.new_card("torn")
    path = office.store.path("torn")
    image = bytearray(path.read_bytes())
    image[0x30] ^= 0xFF  # a byte of the office area: its MAC no longer matches
    path.write_bytes(bytes(image))
    panel = html(clerk_client.get("/reader/", **HX))
    assert 'data-reader-status="card"' in panel and "data-code=" in panel


def test_per_operator_card_stores(clerk_client, admin_client, office, monkeypatch):
    monkeypatch.setenv("PREPAID_WEB_CARD_STORE", "per-operator")
    clerk_client.post("/reader/blank/", {"name": "clerks"}, **HX)
    admin_panel = html(admin_client.get("/reader/", **HX))
    assert 'data-reader-status="empty"' in admin_panel and "clerks" not in admin_panel
    assert "clerks" in html(clerk_client.get("/reader/", **HX))
    assert not office.store.names()


# -- the meter simulator ------------------------------------------------------------------


def test_add_meter_and_refusals(clerk_client, office):
    response = clerk_client.post("/simulator/", {"meter_id": "M9"})
    assert response["Location"] == "/simulator/M9/"
    page = html(clerk_client.get("/simulator/M9/"))
    assert 'data-state="cleared"' in page and 'data-valve="closed"' in page
    assert "meter_exists" in codes(clerk_client.post("/simulator/", {"meter_id": "M9"}))
    bad = clerk_client.post("/simulator/", {"meter_id": "no spaces!"})
    assert "bad_meter_id" in codes(bad) and "meter_id" in field_errors(bad)
    assert clerk_client.get("/simulator/NOPE/").status_code == 404
    assert 'data-meter="M9"' in html(clerk_client.get("/simulator/"))


def test_a_meter_and_a_card_named_in_chinese(clerk_client, office):
    from urllib.parse import quote

    response = clerk_client.post("/simulator/", {"meter_id": "张三家水表"})
    assert response["Location"] == f"/simulator/{quote('张三家水表')}/"
    assert 'data-state="cleared"' in html(clerk_client.get(response["Location"]))
    taken = clerk_client.post("/reader/blank/", {"name": "设置卡1"}, **HX)
    assert "bad_card_name" not in codes(taken) and "设置卡1" in html(taken)
    assert office.store.exists("设置卡1")


def test_setting_card_then_user_card_then_use(clerk_client, office):
    from prepaid.cards.services import make_tool_card

    clerk_client.post("/simulator/", {"meter_id": "M1"})
    refused = clerk_client.post("/simulator/M1/swipe/", follow=True)
    assert "swipe-error" in html(refused)  # no card in the reader
    office.blank("set1")
    office.insert("set1")
    make_tool_card(office.station(), "setting", office.account)
    page = html(clerk_client.post("/simulator/M1/swipe/", follow=True))
    assert "swipe-ok" in page and 'data-state="set"' in page and 'data-balance="5.00"' in page
    # a tool card adds no credit: the message gives the balance the setting card loaded
    assert (
        tr(
            "Meter %(meter_id)s accepted the card (%(card_type)s); balance %(balance)s.",
            meter_id="M1",
            card_type=tr("Setting card"),
            balance="5.00 m³",
        )
        in page
    )
    assert "余量 5.00 m³。" in page
    office.open(quantity="10")
    page = html(clerk_client.post("/simulator/M1/swipe/", follow=True))
    assert 'data-state="bound"' in page and 'data-balance="15.00"' in page
    applied = tr(
        "Meter %(meter_id)s accepted the card (%(card_type)s); credit applied %(applied)s.",
        meter_id="M1",
        card_type=tr("User card"),
        applied="10.00 m³",
    )
    assert applied in page
    assert 'data-valve="open"' in page
    page = html(clerk_client.post("/simulator/M1/use/", {"quantity": "6"}, follow=True))
    # the valve closes once at the alarm level (10.00): only 5.00 of the 6.00 flow
    assert (
        tr("Used %(used)s of %(requested)s.", used="5.00 m³", requested="6.00 m³") in page
        and 'data-balance="10.00"' in page
    )
    assert 'data-valve="closed"' in page and 'class="flag on">' + tr("ALARM") in page
    # less flowed than asked: the message says why and what opens the valve, as a warning
    alarm = tr(
        "The balance reached the alarm level and the valve closed: swiping the customer's "
        "card on the meter opens it again."
    )
    assert alarm in page and 'data-message="warning"' in page
    assert 'data-testid="meter-events"' in page and 'data-event="swipe"' in page
    # the event log and the status in the operator's language, quantities with 2 decimals
    assert ">valve_closed<" not in page and "balance_centi" not in page
    assert f"{tr('Balance')}：10.00" in page and tr("Meter set") in page
    # the event details as Chinese writes them: full-width colon and comma, no ", " or ": "
    assert f"{tr('Card type')}：{tr('Setting card')}，{tr('Result')}：" in page
    flags = "、".join([tr("Alarm"), tr("Valve closed")])  # a list as Chinese writes one
    assert f'<dd class="col-6">{flags}</dd>' in page


def test_the_event_log_gives_quantities_in_the_meter_types_unit(clerk_client, office):
    """预存量, 充入量 and the balance in the event log carry the unit of the meter type, as the
    rest of the page does; events from before the meter was cleared, under parameters it no
    longer knows, keep the bare number."""
    from prepaid.cards.services import make_tool_card

    def events(page: str) -> str:
        return re.search(r'data-testid="meter-events".*?</table>', page, re.S).group(0)

    office.meter()
    office.open(quantity="10")
    office.swipe()
    log = events(html(clerk_client.get("/simulator/M1/")))
    assert f"{tr('Pre-stored quantity')}：5.00 m³，" in log  # 预存量：5.00 m³
    assert f"{tr('Credit applied')}：10.00 m³，" in log  # 充入量：10.00 m³
    assert re.search(r"：\d+\.\d\d(?! m³)", log) is None  # no bare quantity

    office.blank("clear1")
    office.insert("clear1")
    make_tool_card(office.station(), "clear_all", office.account)
    office.swipe()
    log = events(html(clerk_client.get("/simulator/M1/")))
    assert f"{tr('Credit applied')}：10.00，" in log and "m³" not in log


def test_the_meter_page_gives_its_parameters_and_use_in_its_unit(clerk_client, office):
    """The simulated meter's 累计用量, 限购量, 报警量 and 透支量 with the unit of its meter type,
    as its balance has it, not bare numbers; a cleared meter, with no meter type, has none."""
    from prepaid.web import simulator

    simulator.add("M9")
    page = html(clerk_client.get("/simulator/M9/"))
    rows = dict(re.findall(r'<dt class="col-6">([^<]*)</dt><dd class="col-6">([^<]*)</dd>', page))
    assert rows[tr("Cumulative use")] == "0.00"
    office.meter("M1")
    page = html(clerk_client.get("/simulator/M1/"))
    rows = dict(re.findall(r'<dt class="col-6">([^<]*)</dt><dd class="col-6">([^<]*)</dd>', page))
    labels = ("Cumulative use", "Purchase limit", "Alarm level", "Overdraft")
    assert [rows[tr(label)] for label in labels] == ["0.00 m³", "999.00 m³", "10.00 m³", "5.00 m³"]


def test_meter_use_says_why_nothing_flows(clerk_client, office):
    clerk_client.post("/simulator/", {"meter_id": "NEW"})
    page = html(clerk_client.post("/simulator/NEW/use/", {"quantity": "1"}, follow=True))
    assert tr("Used %(used)s of %(requested)s.", used="0.00", requested="1.00") in page
    assert tr("The meter is not set; insert a setting card first.") in page
    office.meter("M1")
    office.open(quantity="10")
    clerk_client.post("/simulator/M1/swipe/")
    clerk_client.post("/simulator/M1/use/", {"quantity": "5"})  # down to the alarm level
    clerk_client.post("/simulator/M1/swipe/")  # the card reopens the valve
    page = html(clerk_client.post("/simulator/M1/use/", {"quantity": "30"}, follow=True))
    assert tr("Used %(used)s of %(requested)s.", used="15.00 m³", requested="30.00 m³") in page
    assert (
        tr(
            "The credit is used up (the overdraft too): the valve stays closed until a "
            "purchase is swiped on the meter."
        )
        in page
    )
    page = html(clerk_client.post("/simulator/M1/use/", {"quantity": "0.5"}, follow=True))
    assert 'data-message="success"' not in page and "meter-stopped" in page


def test_meter_refusal_shows_the_display_code(clerk_client, office):
    office.new_card("u9")
    office.meter("M2")
    office.open(card="u1")
    clerk_client.post("/simulator/", {"meter_id": "CLEARED"})
    page = html(clerk_client.post("/simulator/CLEARED/swipe/", follow=True))
    assert "swipe-refused E03" in page and 'data-result="E03"' in page


@pytest.mark.parametrize(
    ("quantity", "code"),
    [("-1", "negative"), ("abc", "not_a_number"), ("1.001", "too_many_decimals"), ("", None)],
)
def test_meter_use_bad_input(clerk_client, office, quantity, code):
    clerk_client.post("/simulator/", {"meter_id": "M3"})
    response = clerk_client.post("/simulator/M3/use/", {"quantity": quantity})
    assert response.status_code == 200 and "quantity" in field_errors(response)
    if code:
        assert code in codes(response)


# -- card making (admin) ---------------------------------------------------------------------


def _key(page) -> str:
    return re.search(r'name="key" value="([0-9a-f]{32})"', html(page)).group(1)


def test_format_make_tool_cards_and_recycle(admin_client, office):
    office.blank("t1")
    office.insert("t1")
    response = admin_client.post("/cards/", {"action": "format", "key": uuid.uuid4().hex})
    assert response["Location"] == "/cards/"
    assert tr("Card formatted as a new card.") in html(admin_client.get("/cards/"))
    missing = admin_client.post(
        "/cards/", {"action": "make", "tool": "setting", "account": "", "key": uuid.uuid4().hex}
    )
    assert "account_required" in codes(missing) and "account" in field_errors(missing)
    assert "--account" not in html(missing)  # a command-line option means nothing on a page
    made = admin_client.post(
        "/cards/",
        {
            "action": "make",
            "tool": "setting",
            "account": office.account.pk,
            "key": uuid.uuid4().hex,
        },
    )
    assert made.status_code == 302
    page = html(admin_client.get("/cards/"))
    assert tr("%(card)s written successfully.", card=tr("Setting card")) in page
    # the card's parameters in the reader panel, the meter type by its name
    panel = html(admin_client.get("/reader/", **HX))
    assert f"1 · {tr('Water')}" in panel and "· water" not in panel
    assert tr("Virtual reader") in panel
    assert 'data-testid="tool-register"' in page
    for tool in ("clear-all", "zero", "check"):
        office.blank(f"tool-{tool}")
        office.insert(f"tool-{tool}")
        assert (
            admin_client.post(
                "/cards/", {"action": "make", "tool": tool, "account": "", "key": uuid.uuid4().hex}
            ).status_code
            == 302
        )
    assert CardOperation.objects.filter(kind="tool_card").count() == 4
    recycled = admin_client.post("/cards/", {"action": "recycle", "key": uuid.uuid4().hex})
    assert recycled.status_code == 302
    assert CardOperation.objects.filter(kind="recycle").count() == 1
    # the check card recycled: the register says it is no longer a tool card in hand
    register = html(admin_client.get("/cards/")).split('data-testid="tool-register"')[1]
    assert register.count('data-testid="overwritten"') == 1
    assert tr("overwritten since") in register


def test_card_making_double_submit_writes_once(admin_client, office):
    office.blank("t1")
    office.insert("t1")
    key = uuid.uuid4().hex
    admin_client.post("/cards/", {"action": "format", "key": key})
    html(admin_client.get("/cards/"))  # the first result read: 卡片已格式化为新卡
    again = admin_client.post("/cards/", {"action": "format", "key": key})
    assert CardOperation.objects.filter(kind="format").count() == 1
    # the browser's Back and Confirm again: the page says nothing was written again
    said = tr("This form was already sent: the card was written then. Nothing was written again.")
    assert said in html(admin_client.get(again["Location"]))


@pytest.mark.parametrize("action", ["format", "make"])
def test_card_making_sent_twice_at_once_writes_once(admin_client, office, action):
    """Two fast clicks on 写卡 that both reach the server: the second post, which read its
    session before the first was done, writes nothing and goes to the first result."""
    office.blank("t1")
    office.insert("t1")
    data = {"action": action, "tool": "zero", "account": "", "key": uuid.uuid4().hex}
    before = session_now(admin_client)
    first = admin_client.post("/cards/", data)
    with session_read_as(before):
        again = admin_client.post("/cards/", data)
    assert CardOperation.objects.count() == 1
    assert again.status_code == 302 and again["Location"] == first["Location"]


def test_card_making_refusals(admin_client, office):
    empty = admin_client.post("/cards/", {"action": "format", "key": uuid.uuid4().hex})
    assert "no_card" in codes(empty)
    office.open()
    user = admin_client.post("/cards/", {"action": "format", "key": uuid.uuid4().hex})
    assert "user_card_recycle" in codes(user)
    unswiped = admin_client.post("/cards/", {"action": "recycle", "key": uuid.uuid4().hex})
    assert "card_not_swiped" in codes(unswiped)
    bad = admin_client.post(
        "/cards/", {"action": "make", "tool": "magic", "account": "", "key": uuid.uuid4().hex}
    )
    assert "tool" in field_errors(bad)


def test_a_tool_card_refusal_is_shown_once(admin_client, office):
    """Next to the field it concerns, or above the page: not in both places."""
    no_card = admin_client.post(
        "/cards/",
        {
            "action": "make",
            "tool": "setting",
            "account": office.account.pk,
            "key": uuid.uuid4().hex,
        },
    )
    assert html(no_card).count(tr("There is no card in the reader.")) == 1
    assert "no_card" in codes(no_card)
    office.blank("t1")
    office.insert("t1")
    missing = admin_client.post(
        "/cards/", {"action": "make", "tool": "setting", "account": "", "key": uuid.uuid4().hex}
    )
    said = tr("A setting card needs an account: choose one.")
    shown = re.sub(r'<div class="visually-hidden" role="alert".*?</div>', "", html(missing))
    assert shown.count(said) == 1 and field_errors(missing)["account"] == said
    assert html(missing).count(said) == 2  # and once more for a screen reader, not shown


def test_a_missing_reader_is_a_refusal_not_a_server_error(clerk_client, office, monkeypatch):
    monkeypatch.setenv("PREPAID_READER", "smoke-signals")
    response = clerk_client.post("/vending/sell/", {"action": "read"})
    assert response.status_code == 409 and "bad_reader" in codes(response)
    assert 'data-testid="refused"' in html(response)
    panel = clerk_client.get("/reader/", **HX)
    assert panel.status_code == 409 and "bad_reader" in codes(panel)


def test_card_making_is_keyboard_ready(admin_client, office):
    """As on the vending pages: the cursor in the first field (the one refused when the page
    comes back refused), Enter writes the tool card, Esc cancels, both said on the page."""
    page = html(admin_client.get("/cards/"))
    tool_form = re.search(r'<form[^>]*id="tool-form"[^>]*>.*?</form>', page, re.S).group(0)
    assert "data-focus-first" in tool_form.split(">")[0]
    assert re.search(r'<button[^>]*data-hotkey-enter[^>]*data-testid="make-tool-card"', tool_form)
    assert re.search(r'<a[^>]*href="/cards/"[^>]*data-hotkey-esc', tool_form)
    assert page.count("data-hotkey-enter") == 1 and page.count("data-hotkey-esc") == 1
    assert tr("Enter: write the card · Esc: cancel") in tool_form
    office.blank("t1")
    office.insert("t1")
    missing = html(
        admin_client.post(
            "/cards/",
            {"action": "make", "tool": "setting", "account": "", "key": uuid.uuid4().hex},
        )
    )
    assert re.search(r'<select[^>]*name="account"[^>]*aria-invalid="true"', missing)
    assert not re.search(r'<select[^>]*name="tool"[^>]*aria-invalid', missing)


def test_the_only_account_is_preselected_for_tool_cards(admin_client, office):
    page = html(admin_client.get("/cards/"))
    assert f'<option value="{office.account.pk}" selected>' in page


def test_no_account_is_preselected_among_several(admin_client, office):
    from prepaid.accounts import services as accounts

    accounts.create_account(
        office.admin,
        meter_type="electricity",
        sub_meter=2,
        limit="999",
        prestore="5",
        alarm="10",
        overdraft="5",
        maintenance_code="1234",
    )
    page = html(admin_client.get("/cards/"))
    assert '<option value="" selected>' in page


def test_a_check_card_read_back_shows_the_meters_readings(admin_client, office):
    """A check card swiped on a bound meter, then read in the reader panel: the meter's
    readings in full (sub-meter, balance, last purchase applied, customer, flags, time)."""
    from prepaid.cards.services import make_tool_card

    office.meter()
    office.open()
    office.swipe()
    office.blank("chk")
    office.insert("chk")
    make_tool_card(office.station(), "check", None)
    assert office.swipe().ok
    panel = html(admin_client.get("/reader/", **HX))
    reading = panel.split('data-testid="check-reading"')[1].split("</dl>")[0]
    for label in ("Sub-meter", "Last purchase applied", "Bound to user", "Status", "Time"):
        assert tr(label) in reading
    assert f"1 · {tr('Water')}" in reading and "#1" in reading
    assert office.customer.user_number in reading


def test_a_check_card_gives_the_meters_balance_and_use_in_its_unit(admin_client, office):
    """余量 and 累计用量 of a check card's reading with the unit of the meter type it read
    (kWh from an electricity meter), as the sale pages give them, not bare numbers."""
    from prepaid.accounts.services import create_account
    from prepaid.cards.services import make_tool_card
    from prepaid.web import simulator

    power = create_account(
        office.admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="20",
        alarm="5",
        overdraft="0",
        maintenance_code="1234",
    )
    simulator.add("M2")
    office.blank("set2")
    office.insert("set2")
    make_tool_card(office.station(), "setting", power)  # the meter holds 20.00 pre-stored
    assert office.swipe("M2").ok
    office.blank("chk")
    office.insert("chk")
    make_tool_card(office.station(), "check", None)
    assert office.swipe("M2").ok
    panel = html(admin_client.get("/reader/", **HX))
    reading = panel.split('data-testid="check-reading"')[1].split("</dl>")[0]
    rows = dict(
        re.findall(r'<dt class="col-6">([^<]*)</dt><dd class="col-6">([^<]*)</dd>', reading)
    )
    assert rows[tr("Balance")] == "20.00 kWh"
    assert rows[tr("Cumulative use")] == "0.00 kWh"


def test_a_setting_card_gives_its_parameters_in_the_meter_types_unit(admin_client, office):
    """限购量, 预存量, 报警量 and 透支量 of a setting card with the unit of the meter type it
    carries (kWh for an electricity account, m³ for water), not bare numbers."""
    from prepaid.accounts.services import create_account
    from prepaid.cards.services import make_tool_card

    power = create_account(
        office.admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="20",
        alarm="5",
        overdraft="1.5",
        maintenance_code="1234",
    )
    shown = {}
    for account in (office.account, power):
        office.blank(f"set{account.sub_meter}")
        office.insert(f"set{account.sub_meter}")
        make_tool_card(office.station(), "setting", account)
        panel = html(admin_client.get("/reader/", **HX))
        parameters = panel.split('data-testid="setting-parameters"')[1].split("</dl>")[0]
        rows = re.findall(
            r'<dt class="col-6">([^<]*)</dt><dd class="col-6">([^<]*)</dd>', parameters
        )
        shown[account.sub_meter] = dict(rows)
    labels = [tr(label) for label in ("Purchase limit", "Pre-stored quantity", "Alarm level")]
    assert [shown[1][label] for label in labels] == ["999.00 m³", "5.00 m³", "10.00 m³"]
    assert [shown[2][label] for label in labels] == ["500.00 kWh", "20.00 kWh", "5.00 kWh"]
    assert (shown[1][tr("Overdraft")], shown[2][tr("Overdraft")]) == ("5.00 m³", "1.50 kWh")


def test_a_check_card_from_a_cleared_meter_names_no_meter_type(admin_client, office):
    """A cleared meter holds no parameters: the panel shows no sub-meter, meter type or
    maintenance code for it (not "0 · Water" and code 0), and no customer."""
    from prepaid.cards.services import make_tool_card
    from prepaid.web import simulator

    simulator.add("M9")
    office.blank("chk")
    office.insert("chk")
    make_tool_card(office.station(), "check", None)
    assert office.swipe("M9").ok
    panel = html(admin_client.get("/reader/", **HX))
    reading = panel.split('data-testid="check-reading"')[1].split("</dl>")[0]
    assert tr("Cleared") in reading
    assert tr("Water") not in reading and "0 · " not in reading
    rows = dict(
        re.findall(r'<dt class="col-6">([^<]*)</dt><dd class="col-6">([^<]*)</dd>', reading)
    )
    for label in ("Sub-meter", "Maintenance code", "Bound to user"):
        assert rows[tr(label)] == "—", label
    assert rows[tr("Balance")] == "0.00"  # no meter type, so no unit


def test_the_meter_list_shows_results_by_name(clerk_client, office):
    office.meter()
    listed = html(clerk_client.get("/simulator/"))
    row = listed.split('data-meter="M1"')[1].split("</tr>")[0]
    assert 'data-result="ok">OK<' in row and ">ok<" not in row


def test_a_meter_display_code_is_shown_with_its_meaning():
    from django.utils import translation

    from prepaid.web.templatetags.prepaid_web import swipe_result

    with translation.override("zh-hans"):
        assert swipe_result("ok") == "OK"
        assert swipe_result("E06").startswith("E06 · ") and tr(
            "The purchase would exceed the meter's purchase limit."
        ) in swipe_result("E06")
        assert swipe_result(None) == "—"


def test_a_check_cards_reading_is_recorded_from_the_panel_once(clerk_client, office):
    """记录表计读数: the reading of the customer's meter goes into the customer's history (as
    a check card's), once however often the button is pressed; a meter bound to nobody
    offers no button, and recording its reading is refused with the reason."""
    from prepaid.cards.services import make_tool_card
    from prepaid.reports.models import WriteBackObservation
    from prepaid.web import simulator

    office.meter()
    office.open()
    office.swipe()
    office.blank("chk")
    office.insert("chk")
    make_tool_card(office.station(), "check", None)
    assert office.swipe().ok
    panel = html(clerk_client.get("/reader/", **HX))
    assert 'data-testid="record-reading"' in panel and tr("Record meter reading") in panel
    readings = WriteBackObservation.objects.filter(source="check_card")
    assert not readings.exists()  # showing the card records nothing

    panel = html(clerk_client.post("/reader/record-reading/", **HX))
    recorded = tr("Meter reading recorded for customer %(number)s %(name)s.") % {
        "number": office.customer.user_number,
        "name": office.customer.name,
    }
    assert recorded in panel
    assert readings.get().customer == office.customer
    panel = html(clerk_client.post("/reader/record-reading/", **HX))
    assert recorded not in panel and readings.count() == 1
    from django.urls import reverse

    page = reverse("reports:customer", args=[office.customer.user_number])
    assert tr("Meter reading (check card)") in html(clerk_client.get(page))

    simulator.add("M9")
    office.insert("chk")
    assert office.swipe("M9").ok  # a cleared meter: bound to nobody
    assert 'data-testid="record-reading"' not in html(clerk_client.get("/reader/", **HX))
    assert "meter_not_bound" in codes(clerk_client.post("/reader/record-reading/", **HX))
    assert readings.count() == 1


def test_reader_refusals_without_htmx_are_said_on_the_page_gone_back_to(clerk_client, office):
    """A plain form post (no JavaScript) redirects: the refusal goes along as a message
    instead of being lost, on the page the form was sent from."""
    office.blank("dup")
    taken = clerk_client.post(
        "/reader/blank/", {"name": "dup"}, HTTP_REFERER="http://testserver/vending/sell/"
    )
    assert taken.status_code == 302 and taken["Location"] == "http://testserver/vending/sell/"
    page = html(clerk_client.get("/vending/sell/"))
    assert 'data-message="error"' in page
    message = re.search(r'data-message="error">([^<]*)<', page)
    assert message is not None and "dup" in message.group(1)
    missing = clerk_client.post("/reader/insert/", {"name": "nothere", "next": "/vending/sell/"})
    assert missing["Location"] == "/vending/sell/"
    page = html(clerk_client.get("/vending/sell/"))
    assert page.count('data-message="error"') == 1 and "nothere" in page
    assert 'data-message="error"' not in html(clerk_client.get("/vending/sell/"))  # said once


def test_a_meter_reading_recorded_without_htmx_is_said_once(clerk_client, office):
    from prepaid.cards.services import make_tool_card

    office.meter()
    office.open()
    office.swipe()
    office.blank("chk")
    office.insert("chk")
    make_tool_card(office.station(), "check", None)
    assert office.swipe().ok
    response = clerk_client.post("/reader/record-reading/", {"next": "/vending/sell/"})
    assert response["Location"] == "/vending/sell/"
    page = html(clerk_client.get("/vending/sell/"))
    assert page.count('data-message="success"') == 1
    assert office.customer.user_number in page


def test_the_meter_list_gives_each_balance_in_its_unit_and_ids_unbroken(clerk_client, office):
    """The list of meters, like each meter's page, gives the balance in the unit of the meter's
    type (a water meter's m³ beside an electricity meter's kWh), a cleared meter's without
    one; a meter id such as 00000001-1 is not broken at its hyphen in a narrow column."""
    from prepaid.web import simulator

    office.meter("M1")
    simulator.add("M9")
    listed = html(clerk_client.get("/simulator/"))
    row = listed.split('data-meter="M1"')[1].split("</tr>")[0]
    assert '<td class="num text-nowrap">5.00 m³</td>' in row
    row = listed.split('data-meter="M9"')[1].split("</tr>")[0]
    assert '<td class="num text-nowrap">0.00</td>' in row
    assert '<td class="text-nowrap"><a href="/simulator/M1/">M1</a></td>' in listed

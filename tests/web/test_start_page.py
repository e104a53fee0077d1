"""The start page: the 首次使用 checklist until the first sale, and the operator's open shift."""

from __future__ import annotations

import re
import uuid

import pytest
from web_helpers import html, tr

pytestmark = pytest.mark.django_db


def _steps(page) -> dict[int, tuple[bool, str]]:
    """Step number → (done, the step's markup)."""
    found = re.findall(
        r'data-testid="step-(\d)" data-done="(yes|no)">(.*?)</li>', html(page), flags=re.S
    )
    return {int(n): (done == "yes", body) for n, done, body in found}


def test_an_empty_office_lists_every_step_with_its_page(admin_client):
    page = admin_client.get("/")
    assert tr("Getting started: from an empty office to a first sale") in html(page)
    steps = _steps(page)
    assert sorted(steps) == [1, 2, 3, 4, 5, 6]
    assert not any(done for done, _ in steps.values())
    assert 'href="/accounts/create/"' in steps[1][1]
    assert 'href="/prices/add/"' in steps[2][1]
    assert 'href="/cards/"' in steps[3][1]
    assert 'href="/vending/sell/"' in steps[6][1]


def test_an_operator_is_told_which_steps_an_administrator_does(clerk_client, web_home):
    steps = _steps(clerk_client.get("/"))
    for number in (1, 2, 3):  # account, price, setting card: admin only, no link
        assert "href=" not in steps[number][1]
        assert tr("An administrator does this") in steps[number][1]
    assert 'href="/customers/register/"' in steps[4][1]
    assert tr("An administrator does this") not in steps[4][1]


def test_steps_are_done_as_the_office_does_them_and_the_list_goes_after_a_sale(
    admin_client, office
):
    steps = _steps(admin_client.get("/"))  # account, price and customer exist
    assert [steps[n][0] for n in range(1, 7)] == [True, True, False, True, False, False]
    office.meter()
    office.open()
    steps = _steps(admin_client.get("/"))
    assert [steps[n][0] for n in range(1, 7)] == [True] * 5 + [False]
    office.swipe()
    from prepaid.vending.services import sell

    sell(office.station(), quantity="1", key=uuid.uuid4().hex)
    page = admin_client.get("/")
    assert 'data-testid="getting-started"' not in html(page)
    assert _steps(page) == {}


def test_my_shift_shows_the_open_shift_sales_and_takings(admin_client, clerk_client, office):
    page = admin_client.get("/")
    assert tr("No open shift: it opens with your first sale or opening at this station.") in html(
        page
    )
    office.meter()
    office.open(quantity="10")  # the admin, at this station (web-test): ¥34.50
    office.swipe()
    from prepaid.reports.shifts import open_shift_of
    from prepaid.vending.services import sell

    sell(office.station(), quantity="2", key=uuid.uuid4().hex)  # ¥6.90
    shift = open_shift_of(office.admin, "web-test")
    page = html(admin_client.get("/"))
    assert re.search(r'data-testid="shift-sales">2<', page)
    assert re.search(r'data-testid="shift-takings">¥41\.40<', page)
    assert f'href="/reports/shifts/{shift.pk}/"' in page
    # another operator's shift is theirs: the clerk has none open here
    assert tr("No open shift: it opens with your first sale or opening at this station.") in html(
        clerk_client.get("/")
    )


def test_the_meter_change_is_on_the_start_page_of_an_administrator_only(admin_client, clerk_client):
    assert 'href="/vending/meter-change/"' in html(admin_client.get("/"))
    assert 'href="/vending/meter-change/"' not in html(clerk_client.get("/"))


def test_the_start_pages_labels_are_never_broken_in_a_narrow_card(admin_client, office):
    """我的班次 and 本工作站 in a fifth of a 1366-pixel screen: “Card reader” and “Meter
    simulator” in English are wider than Bootstrap's five-twelfths of such a card and broke over
    two lines, the shift's opening time too. The labels take their own width (a grid of
    max-content and the rest), and the time stays on one line."""
    from pathlib import Path

    from django.contrib.staticfiles import finders

    office.meter()
    office.open(quantity="10")
    page = html(admin_client.get("/"))
    lists = re.findall(r"<dl [^>]*>.*?</dl>", page, re.S)
    assert len(lists) == 2 and all('class="label-pairs' in dl for dl in lists), lists
    assert not any('class="col-' in dl for dl in lists)
    assert '<dd class="text-nowrap">' in lists[0]  # the shift's opening time
    css = Path(finders.find("prepaid/web.css")).read_text(encoding="utf-8")
    assert ".label-pairs { display: grid; grid-template-columns: max-content minmax(0, 1fr);" in css

"""Lists, labels and asides on the pages written as the operator's language writes them: in
Chinese full-width （，：、）, in English half-width, and dates in the UI's own format."""

from __future__ import annotations

import datetime

import pytest
from web_helpers import html

pytestmark = pytest.mark.django_db


def _speak(operator, language):
    operator.language = language
    operator.save(update_fields=["language"])


@pytest.mark.parametrize(
    ("language", "listed"),
    [("zh-hans", "居民用水、阶梯水价"), ("en", "居民用水, 阶梯水价")],
)
def test_the_account_list_lists_the_prices_in_the_pages_language(
    admin_client, admin, office, language, listed
):
    _speak(admin, language)
    assert listed in html(admin_client.get("/accounts/"))


def _first_day(office):
    """The day the price's first version took effect: today on the office's clock."""
    return office.price.versions.get(number=1).effective_from


def _adjust_tomorrow(admin_client, office):
    tomorrow = _first_day(office) + datetime.timedelta(days=1)
    response = admin_client.post(
        f"/prices/{office.price.pk}/adjust/",
        {"kind": "flat", "unit_price": "3.80", "effective_from": tomorrow.isoformat()},
        follow=True,
    )
    return tomorrow, html(response)


def test_a_price_and_its_versions_in_chinese(admin_client, admin, office):
    from django.utils import formats, translation

    _speak(admin, "zh-hans")
    adjust = html(admin_client.get(f"/prices/{office.price.pk}/adjust/"))
    tomorrow, prices = _adjust_tomorrow(admin_client, office)
    with translation.override("zh-hans"):
        today = formats.date_format(_first_day(office), "SHORT_DATE_FORMAT")
        announced = formats.date_format(tomorrow, "SHORT_DATE_FORMAT")
    assert f"¥3.45/m³（v1，{today}）" in adjust and " (v1, " not in adjust
    assert f"第 2 版自 {announced} 起生效" in prices  # not 2026-11-29 amid 2026年11月29日
    assert f"{announced}：¥3.80/m³" in prices
    summary = html(admin_client.get(f"/prices/{office.price.pk}/adjust/"))
    assert f"¥3.80/m³（v2，{announced}）" in summary


def test_a_price_and_its_versions_in_english(admin_client, admin, office):
    _speak(admin, "en")
    adjust = html(admin_client.get(f"/prices/{office.price.pk}/adjust/"))
    tomorrow, prices = _adjust_tomorrow(admin_client, office)
    assert f"¥3.45/m³ (v1, {_first_day(office).isoformat()})" in adjust
    assert f"version 2 from {tomorrow.isoformat()}" in prices
    assert f"{tomorrow.isoformat()}: ¥3.80/m³" in prices


@pytest.mark.parametrize(
    ("language", "version", "corrected"),
    [("zh-hans", "居民用水（v1）", "#2（已修改）"), ("en", "居民用水 (v1)", "#2 (corrected)")],
)
def test_the_written_page_and_the_receipt_of_a_correction(
    clerk_client, clerk, office, language, version, corrected
):
    from prepaid.vending.services import correct, sell

    _speak(clerk, language)
    office.meter()
    office.open()
    office.swipe()
    sell(office.station(), quantity="20", key="sale-to-correct")
    purchase = correct(office.station(), quantity="2", key="the-correction")
    assert version in html(clerk_client.get(f"/vending/purchases/{purchase.pk}/"))
    clerk_client.post(f"/vending/purchases/{purchase.pk}/print/", {"paper": "58"})
    receipt = html(clerk_client.get(f"/vending/purchases/{purchase.pk}/receipt/1/"))
    assert corrected in receipt

"""Money and quantities in the operator's locale, from Decimal strings, never floats."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from prepaid.web import formatting


def test_money_in_chinese_and_english():
    with translation.override("zh-hans"):
        assert formatting.money("1234.50") == "¥1234.50"
        assert formatting.money_fen(123450) == "¥1234.50"
    with translation.override("en"):
        assert formatting.money("1234.50") == "¥1,234.50"
        assert formatting.money(Decimal("-0.01")) == "¥-0.01"


def test_unit_prices_keep_their_decimals():
    with translation.override("en"):
        assert formatting.unit_price("0.4883") == "¥0.4883"
        assert formatting.unit_price("3.45") == "¥3.45"
        assert formatting.unit_price("5") == "¥5.00"


def test_quantities_and_empty_values():
    with translation.override("en"):
        assert formatting.quantity_centi(123456) == "1,234.56"
        assert formatting.quantity_centi(None) == ""
        assert formatting.number("") == ""
        assert formatting.number("n/a") == "n/a"


def test_money_is_exact_for_large_values():
    with translation.override("en"):
        assert formatting.money("21474836.47") == "¥21,474,836.47"


def test_english_dates_and_times_are_unambiguous_and_on_the_24_hour_clock():
    """Year, month, day in that order, as the Chinese forms and the exports write them: never
    11/28/2026 (or 28/11) to be read by a convention, nor 3:05 p.m."""
    import datetime

    from django.utils import formats

    moment = datetime.datetime(2026, 11, 28, 15, 5)
    with translation.override("en"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "2026-11-28 15:05"
        assert formats.date_format(moment, "DATETIME_FORMAT") == "2026-11-28 15:05"
        assert formats.time_format(moment) == "15:05"
        assert formats.date_format(moment, "SHORT_DATE_FORMAT") == "2026-11-28"
        assert formats.date_format(moment, "DATE_FORMAT") == "2026-11-28"
        assert formats.date_format(moment, "YEAR_MONTH_FORMAT") == "2026-11"
    with translation.override("zh-hans"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "2026年11月28日 15:05"

"""Tests of prepaid.core.money: parsing what operators type, the one rounding rule, formatting."""

from __future__ import annotations

import ast
import inspect
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepaid.core import money
from prepaid.core.errors import InvalidInput
from prepaid.core.money import (
    MAX_CENTI,
    MAX_FEN,
    amount_fen_for,
    centi_to_decimal,
    fen_to_decimal,
    format_centi,
    format_fen,
    format_hao,
    hao_to_decimal,
    parse_money,
    parse_quantity,
    parse_unit_price,
    round_half_up,
)


def _refusal(parse: object, text: object, **options: object) -> str:
    assert callable(parse)
    with pytest.raises(InvalidInput) as caught:
        parse(text, **options)
    return caught.value.code


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_fen"),
    [
        ("19.99", 1999),
        ("19.9", 1990),
        ("19.90", 1990),
        ("19.", 1900),
        (".5", 50),
        ("0.01", 1),
        ("+3", 300),
        ("  7.50 \n", 750),
        ("007.50", 750),
        ("12.3400", 1234),  # trailing zeros are not extra decimals
        ("３４．５", 3450),  # typed with a Chinese input method in full-width mode
        ("21474836.47", MAX_FEN),
        (Decimal("12.50"), 1250),
        (Decimal("1E+2"), 10_000),  # a Decimal from a program may carry an exponent
        (12, 1200),
    ],
)
def test_parse_money_accepts(text: str | Decimal | int, expected_fen: int) -> None:
    assert parse_money(text) == expected_fen


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-1", "negative"),
        ("-0.01", "negative"),
        ("0", "zero"),
        ("0.00", "zero"),
        ("-0", "zero"),
        ("abc", "not_a_number"),
        ("", "not_a_number"),
        ("  ", "not_a_number"),
        (".", "not_a_number"),
        ("1.2.3", "not_a_number"),
        ("1,000", "not_a_number"),
        ("1_000", "not_a_number"),
        ("1e3", "not_a_number"),
        ("1E3", "not_a_number"),
        ("0.001e1", "not_a_number"),
        ("NaN", "not_a_number"),
        ("sNaN", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("-Infinity", "not_a_number"),
        ("inf", "not_a_number"),
        ("1e999999", "not_a_number"),
        ("1e9999999", "not_a_number"),
        ("١٢", "not_a_number"),  # Arabic-Indic digits (full-width ones are read)
        ("1²", "not_a_number"),
        ("¥12", "not_a_number"),
        ("1.234", "too_many_decimals"),
        ("0.001", "too_many_decimals"),
        ("1.0000000000000000000000000000001", "too_many_decimals"),  # beyond 28 digits
        ("21474836.48", "too_large"),
        ("9" * 30, "too_large"),
        ("1" + "0" * 5000, "too_large"),  # more digits than int() converts by default
        (Decimal("NaN"), "not_a_number"),
        (Decimal("Infinity"), "not_a_number"),
        (Decimal("1E+9999999"), "too_large"),
        (Decimal("1E-9999999"), "too_many_decimals"),
        (Decimal("1.0000000000000000000000000000001"), "too_many_decimals"),
    ],
)
def test_parse_money_refuses(text: str | Decimal, code: str) -> None:
    assert _refusal(parse_money, text) == code


def test_refusal_message_names_field_and_value() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_money("abc", field="amount paid")
    assert caught.value.message == "amount paid must be a number, not “abc”."
    # shown to an operator, the field name that starts the message starts a sentence
    assert caught.value.translate(lambda text: text) == "Amount paid must be a number, not “abc”."
    assert caught.value.exit_status == 2
    with pytest.raises(InvalidInput) as caught:
        parse_money("21474836.48")
    assert caught.value.message == "amount is too large (at most 21474836.47)."


def test_a_field_keyed_short_is_named_in_full() -> None:
    """The meter change's ``remaining`` field is the remaining quantity (用户剩余量) to the
    operator; its key stays in the parameters, where the web looks it up."""
    with pytest.raises(InvalidInput) as caught:
        parse_quantity("1.234", field="remaining", allow_zero=True, allow_negative=True)
    assert caught.value.params["field"] == "remaining"
    assert caught.value.message == "remaining quantity allows at most 2 decimal places."
    assert caught.value.translate(lambda text: text) == (
        "Remaining quantity allows at most 2 decimal places."
    )


def test_every_field_name_is_marked_for_translation() -> None:
    """A field named in a message is translated: its name is among FIELD_NAMES."""
    import re

    from prepaid.core.errors import FIELD_NAMES, field_label

    source = Path(__file__).resolve().parents[2] / "src" / "prepaid"
    used = {
        name
        for path in source.rglob("*.py")
        for name in re.findall(r'\bfield="([^"]+)"', path.read_text(encoding="utf-8"))
    } | {"quantity", "amount", "unit price"}  # the parsers' defaults
    assert {field_label(name) for name in used} - set(FIELD_NAMES) == set()


def test_parse_options_zero_negative_maximum() -> None:
    assert parse_money("0", allow_zero=True) == 0
    assert parse_money("-1.50", allow_negative=True) == -150
    assert _refusal(parse_money, "-21474836.48", allow_negative=True) == "too_large"
    assert _refusal(parse_money, "-1e3", allow_negative=True) == "not_a_number"
    assert parse_quantity("9.99", maximum=999) == 999
    assert _refusal(parse_quantity, "10", maximum=999) == "too_large"


def test_parse_refuses_other_types() -> None:
    for value in (True, None, b"12", [12]):
        with pytest.raises(TypeError):
            parse_money(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected_centi"),
    [("0.01", 1), ("180", 18_000), ("260.5", 26_050), ("21474836.47", MAX_CENTI)],
)
def test_parse_quantity_accepts(text: str, expected_centi: int) -> None:
    assert parse_quantity(text) == expected_centi


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-5", "negative"),
        ("0", "zero"),
        ("1.001", "too_many_decimals"),
        ("1e2", "not_a_number"),
        ("NaN", "not_a_number"),
        ("21474836.48", "too_large"),
    ],
)
def test_parse_quantity_refuses(text: str, code: str) -> None:
    assert _refusal(parse_quantity, text) == code


@pytest.mark.parametrize(
    ("text", "expected_hao"),
    [("0.4883", 4883), ("5", 50_000), ("5.00", 50_000), ("3.45", 34_500), ("0.0001", 1)],
)
def test_parse_unit_price_accepts(text: str, expected_hao: int) -> None:
    assert parse_unit_price(text) == expected_hao


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0", "zero"),
        ("-0.5", "negative"),
        ("0.48831", "too_many_decimals"),
        ("0.00001", "too_many_decimals"),
        ("abc", "not_a_number"),
        ("5e-1", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("214748.3648", "too_large"),
    ],
)
def test_parse_unit_price_refuses(text: str, code: str) -> None:
    assert _refusal(parse_unit_price, text) == code


@given(st.integers(1, MAX_FEN))
def test_money_round_trip(value_fen: int) -> None:
    assert parse_money(format_fen(value_fen)) == value_fen
    assert parse_money(fen_to_decimal(value_fen)) == value_fen


@given(st.integers(1, MAX_CENTI))
def test_quantity_round_trip(value_centi: int) -> None:
    assert parse_quantity(format_centi(value_centi)) == value_centi


@given(st.integers(1, MAX_FEN))
def test_unit_price_round_trip(value_hao: int) -> None:
    assert parse_unit_price(format_hao(value_hao)) == value_hao


@given(st.integers(-(10**6), 10**6), st.integers(0, 6))
def test_parse_agrees_with_decimal(whole: int, decimals: int) -> None:
    """Any plain decimal with up to 2 places parses to exactly value * 100."""
    value = Decimal(whole).scaleb(-decimals)
    text = f"{value:f}"  # plain notation, never "1E-6"
    if (value * 100) % 1 != 0:
        assert _refusal(parse_money, text, allow_negative=True, allow_zero=True) == (
            "too_many_decimals"
        )
    else:
        assert parse_money(text, allow_negative=True, allow_zero=True) == int(value * 100)


# --- rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),  # 2.5 → 3
        (-5, 2, -3),  # −2.5 → −3: half away from zero, like Decimal's ROUND_HALF_UP
        (3, 2, 2),
        (-3, 2, -2),
        (1, 2, 1),
        (-1, 2, -1),
        (1, 3, 0),
        (-1, 3, 0),
        (2, 3, 1),
        (-2, 3, -1),
        (4, 2, 2),
        (-4, 2, -2),
        (0, 7, 0),
        (14_999, 10_000, 1),
        (15_000, 10_000, 2),
        (-15_000, 10_000, -2),
        (-14_999, 10_000, -1),
        (1_002_000, 10_000, 100),  # 1.002 yuan → 1.00
    ],
)
def test_round_half_up(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize("denominator", [0, -1, -10_000])
def test_round_half_up_refuses_non_positive_denominator(denominator: int) -> None:
    with pytest.raises(ValueError):
        round_half_up(5, denominator)


@given(st.integers(-(10**30), 10**30), st.integers(1, 10**12))
def test_round_half_up_is_nearest_with_halves_away_from_zero(
    numerator: int, denominator: int
) -> None:
    exact = Fraction(numerator, denominator)
    rounded = round_half_up(numerator, denominator)
    assert abs(exact - rounded) <= Fraction(1, 2)
    if abs(exact - rounded) == Fraction(1, 2):
        assert abs(rounded) > abs(exact)


@given(st.integers(-(10**20), 10**20), st.sampled_from([1, 10, 100, 10_000]))
def test_round_half_up_matches_decimal(numerator: int, denominator: int) -> None:
    exact = Decimal(numerator) / Decimal(denominator)  # exact: a power of ten, few digits
    expected = exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert round_half_up(numerator, denominator) == int(expected)


def test_amount_fen_for() -> None:
    assert amount_fen_for(334, 3_000) == 100  # 3.34 × 0.30 = 1.002 → 1.00
    assert amount_fen_for(10_000, 4_883) == 4_883  # 100 kWh × 0.4883 = 48.83
    assert amount_fen_for(1, 5_000) == 1  # 0.005 yuan → 0.01
    assert amount_fen_for(1, 4_999) == 0
    assert amount_fen_for(MAX_CENTI, 10_000) == MAX_FEN


# --- formatting --------------------------------------------------------------------------------


def test_format_functions() -> None:
    assert format_centi(1999) == "19.99"
    assert format_centi(0) == "0.00"
    assert format_centi(-5) == "-0.05"
    assert format_centi(18_000) == "180.00"
    assert format_fen(MAX_FEN) == "21474836.47"
    assert format_fen(7) == "0.07"
    assert format_hao(34_500) == "3.45"
    assert format_hao(4_883) == "0.4883"
    assert format_hao(50_000) == "5.00"
    assert format_hao(12_340) == "1.234"
    assert format_hao(1) == "0.0001"
    assert format_hao(0) == "0.00"


def test_decimal_conversions_are_exact() -> None:
    assert centi_to_decimal(26_050) == Decimal("260.50")
    assert str(centi_to_decimal(26_050)) == "260.50"
    assert fen_to_decimal(1) == Decimal("0.01")
    assert hao_to_decimal(4_883) == Decimal("0.4883")
    assert str(hao_to_decimal(50_000)) == "5.0000"


def test_no_float_in_money_module() -> None:
    tree = ast.parse(inspect.getsource(money))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float))
        assert not (isinstance(node, ast.Name) and node.id == "float")

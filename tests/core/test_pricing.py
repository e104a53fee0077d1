"""Tests of prepaid.core.pricing: tariffs, tier text, quotes by quantity and by amount."""

from __future__ import annotations

import ast
import datetime
import inspect
from collections.abc import Callable
from decimal import Decimal
from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prepaid.core import pricing
from prepaid.core.errors import InvalidInput
from prepaid.core.money import (
    MAX_CENTI,
    MAX_FEN,
    PRODUCT_PER_FEN,
    amount_fen_for,
    fen_to_decimal,
    round_half_up,
)
from prepaid.core.pricing import (
    MAX_TIERS,
    MAX_UNIT_PRICE_HAO,
    Period,
    Quote,
    Tariff,
    Tier,
    TierLine,
    period_start,
    quote_amount,
    quote_quantity,
)

DESIGN_TIERS = "0-180:5.00,180-260:7.00,260-:9.00"
PROPERTIES = settings(max_examples=200, deadline=None)


def design_tariff() -> Tariff:
    return Tariff.parse_tiers(DESIGN_TIERS, "year")


# --- strategies --------------------------------------------------------------------------------

everyday_prices_hao = st.integers(1, 200_000)  # up to 20 yuan per unit
any_prices_hao = st.one_of(everyday_prices_hao, st.integers(1, MAX_UNIT_PRICE_HAO))


@st.composite
def tariffs(
    draw: st.DrawFn,
    *,
    prices: st.SearchStrategy[int] = everyday_prices_hao,
    increasing: bool = False,
) -> Tariff:
    count = draw(st.integers(1, 5))
    widths_centi = draw(st.lists(st.integers(1, 50_000), min_size=count - 1, max_size=count - 1))
    unit_prices_hao = draw(st.lists(prices, min_size=count, max_size=count))
    if increasing:
        unit_prices_hao.sort()
    starts_centi = list(accumulate(widths_centi, initial=0))
    ends_centi: list[int | None] = [*starts_centi[1:], None]
    tiers = tuple(map(Tier, starts_centi, ends_centi, unit_prices_hao))
    periods = [Period.MONTH, Period.YEAR] + ([Period.NONE] if count == 1 else [])
    return Tariff(tiers, draw(st.sampled_from(periods)))


quantities_centi = st.one_of(st.integers(1, 300_000), st.integers(1, MAX_CENTI))
priors_centi = st.one_of(st.just(0), st.integers(0, 300_000), st.integers(0, 10**12))
amounts_fen = st.one_of(st.integers(1, 1_000_000), st.integers(1, MAX_FEN))


def exact_product(quote: Quote) -> int:
    """The unrounded price in 1/10000 fen."""
    return sum(line.quantity_centi * line.unit_price_hao for line in quote.lines)


def price_or_none(tariff: Tariff, quantity_centi: int, prior_centi: int) -> int | None:
    """The price of a quantity, ``None`` when it is beyond the int32 range of a sale."""
    try:
        return quote_quantity(tariff, quantity_centi, prior_centi).amount_fen
    except InvalidInput as refusal:
        assert refusal.code == "too_large"
        return None


def largest_by_bisection(tariff: Tariff, amount_fen: int, prior_centi: int) -> int:
    """A second, independent answer to quote_amount: bisect the monotone price function."""
    low_centi, high_centi = 0, MAX_CENTI + 1  # price(low) ≤ amount < price(high)
    while high_centi - low_centi > 1:
        middle_centi = (low_centi + high_centi) // 2
        price_fen = price_or_none(tariff, middle_centi, prior_centi)
        if price_fen is not None and price_fen <= amount_fen:
            low_centi = middle_centi
        else:
            high_centi = middle_centi
    return low_centi


# --- worked examples ---------------------------------------------------------------------------


def test_design_tiers_parse() -> None:
    assert design_tariff() == Tariff(
        (Tier(0, 18_000, 50_000), Tier(18_000, 26_000, 70_000), Tier(26_000, None, 90_000)),
        Period.YEAR,
    )
    assert design_tariff().is_tiered


def test_purchase_crossing_two_boundaries() -> None:
    # 170 bought this year, 100 more: 10 at 5.00 + 80 at 7.00 + 10 at 9.00 = 700.00
    quote = quote_quantity(design_tariff(), 10_000, prior_centi=17_000)
    assert quote == Quote(
        quantity_centi=10_000,
        amount_fen=70_000,
        lines=(
            TierLine(tier_index=0, quantity_centi=1_000, unit_price_hao=50_000, amount_fen=5_000),
            TierLine(tier_index=1, quantity_centi=8_000, unit_price_hao=70_000, amount_fen=56_000),
            TierLine(tier_index=2, quantity_centi=1_000, unit_price_hao=90_000, amount_fen=9_000),
        ),
    )
    assert fen_to_decimal(quote.amount_fen) == Decimal("700.00")


def test_purchase_within_the_first_tier_and_beyond_the_last_boundary() -> None:
    assert quote_quantity(design_tariff(), 12_345).lines == (TierLine(0, 12_345, 50_000, 61_725),)
    quote = quote_quantity(design_tariff(), 1, prior_centi=10**9)
    assert quote.lines == (TierLine(2, 1, 90_000, 9),)
    assert quote.amount_fen == 9


def test_amount_buys_across_a_boundary() -> None:
    # 1000.00 yuan from 0: 180 at 5.00 = 900.00; 100.00 left buys 14.28 at 7.00 (99.96)
    quote = quote_amount(design_tariff(), 100_000)
    assert quote.quantity_centi == 19_428
    assert quote.amount_fen == 99_996
    assert [line.quantity_centi for line in quote.lines] == [18_000, 1_428]
    # 700.00 with 170 bought: exactly the 100 units of the example above
    assert quote_amount(design_tariff(), 70_000, prior_centi=17_000).quantity_centi == 10_000


def test_half_up_lets_an_amount_buy_past_the_plain_division() -> None:
    # 1.00 yuan at 0.30: 100 / 30 = 3.33…, but 3.34 × 0.30 = 1.002 rounds to 1.00
    quote = quote_amount(Tariff.flat(3_000), 100)
    assert (quote.quantity_centi, quote.amount_fen) == (334, 100)
    assert quote_quantity(Tariff.flat(3_000), 335).amount_fen == 101  # 1.005 → 1.01


def test_amount_at_a_four_decimal_price() -> None:
    # 100.00 yuan at 0.4883/kWh: 204.80 kWh cost 100.003840 → 100.00; 204.81 cost 100.008723
    quote = quote_amount(Tariff.flat(4_883), 10_000)
    assert (quote.quantity_centi, quote.amount_fen) == (20_480, 10_000)
    assert quote_quantity(Tariff.flat(4_883), 20_481).amount_fen == 10_001


def test_amount_may_buy_a_little_less_than_tendered() -> None:
    # 10.00 yuan at 3.00: 3.33 units cost 9.99, 3.34 would cost 10.02
    quote = quote_amount(Tariff.flat(30_000), 1_000)
    assert (quote.quantity_centi, quote.amount_fen) == (333, 999)


def test_total_rounded_once_lines_share_it() -> None:
    # 0.01 at 0.5050 and 0.01 at 0.6050: lines 0.005050 and 0.006050 would each round to
    # 0.01, but the total 0.011100 rounds once to 0.01: the total is what the customer pays,
    # and the line with the larger remainder shows it.
    tariff = Tariff.parse_tiers("0-180:0.505,180-:0.605", "month")
    quote = quote_quantity(tariff, 2, prior_centi=17_999)
    assert quote.amount_fen == 1
    assert [line.amount_fen for line in quote.lines] == [0, 1]


def test_quote_refuses_zero_negative_and_too_large() -> None:
    flat = Tariff.flat(10_000)
    cases: list[tuple[Callable[[], Quote], str]] = [
        (lambda: quote_quantity(flat, 0), "zero"),
        (lambda: quote_quantity(flat, -1), "negative"),
        (lambda: quote_quantity(flat, 1, prior_centi=-1), "negative"),
        (lambda: quote_quantity(flat, MAX_CENTI + 1), "too_large"),
        (lambda: quote_quantity(Tariff.flat(10_001), MAX_CENTI), "too_large"),
        (lambda: quote_amount(flat, 0), "zero"),
        (lambda: quote_amount(flat, -100), "negative"),
        (lambda: quote_amount(flat, 100, prior_centi=-1), "negative"),
        (lambda: quote_amount(flat, MAX_FEN + 1), "too_large"),
        (lambda: quote_amount(Tariff.flat(9_999), MAX_FEN), "too_large"),
        (lambda: quote_amount(Tariff.flat(20_001), 1), "amount_too_small"),
    ]
    for call, code in cases:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.code == code
    # the limits themselves are fine: 21474836.47 units at 1.00 cost 21474836.47 yuan
    assert quote_quantity(flat, MAX_CENTI).amount_fen == MAX_FEN
    assert quote_amount(flat, MAX_FEN).quantity_centi == MAX_CENTI


def test_smallest_amounts() -> None:
    # 0.01 unit at 2.00 costs 0.02: one fen buys nothing; at 1.50 (0.015 → 0.02) neither
    for unit_price_hao in (20_000, 15_000):
        with pytest.raises(InvalidInput) as caught:
            quote_amount(Tariff.flat(unit_price_hao), 1)
        assert caught.value.code == "amount_too_small"
        assert caught.value.message == "0.01 yuan does not pay for the smallest quantity (0.01)."
    # at 1.4999 the 0.01 unit costs 0.014999 → 0.01
    assert quote_amount(Tariff.flat(14_999), 1) == Quote(1, 1, (TierLine(0, 1, 14_999, 1),))


# --- properties of quotes ----------------------------------------------------------------------


@PROPERTIES
@given(tariffs(prices=any_prices_hao), amounts_fen, priors_centi)
def test_quote_amount_is_the_largest_affordable_quantity(
    tariff: Tariff, amount_fen: int, prior_centi: int
) -> None:
    expected_centi = largest_by_bisection(tariff, amount_fen, prior_centi)
    try:
        quote = quote_amount(tariff, amount_fen, prior_centi)
    except InvalidInput as refusal:
        if refusal.code == "amount_too_small":
            assert expected_centi == 0
        else:
            assert refusal.code == "too_large"
            assert expected_centi == MAX_CENTI  # and more would still be affordable
            assert quote_quantity(tariff, MAX_CENTI, prior_centi).amount_fen < amount_fen
        return
    assert quote.quantity_centi == expected_centi
    assert quote.amount_fen <= amount_fen  # never charges more than tendered
    assert quote == quote_quantity(tariff, quote.quantity_centi, prior_centi)
    one_more = price_or_none(tariff, quote.quantity_centi + 1, prior_centi)
    assert one_more is None or one_more > amount_fen  # maximal


@PROPERTIES
@given(tariffs(), st.integers(1, 1_000_000), priors_centi)
def test_quote_amount_of_a_quoted_price_buys_at_least_the_quantity(
    tariff: Tariff, quantity_centi: int, prior_centi: int
) -> None:
    quote = quote_quantity(tariff, quantity_centi, prior_centi)
    if quote.amount_fen == 0:
        return  # a quantity so small it rounds to nothing cannot be bought by amount
    by_amount = quote_amount(tariff, quote.amount_fen, prior_centi)
    assert by_amount.quantity_centi >= quantity_centi
    assert by_amount.amount_fen == quote.amount_fen


@PROPERTIES
@given(tariffs(), st.integers(1, 1_000_000), st.integers(1, 1_000_000), priors_centi)
def test_price_never_falls_as_quantity_grows(
    tariff: Tariff, quantity_centi: int, more_centi: int, prior_centi: int
) -> None:
    smaller = quote_quantity(tariff, quantity_centi, prior_centi)
    larger = quote_quantity(tariff, quantity_centi + more_centi, prior_centi)
    assert smaller.amount_fen <= larger.amount_fen
    assert exact_product(smaller) < exact_product(larger)


@PROPERTIES
@given(tariffs(increasing=True), st.integers(1, 1_000_000), priors_centi, priors_centi)
def test_price_never_falls_as_prior_grows_when_tiers_rise(
    tariff: Tariff, quantity_centi: int, prior_centi: int, other_prior_centi: int
) -> None:
    low_prior_centi, high_prior_centi = sorted((prior_centi, other_prior_centi))
    earlier = quote_quantity(tariff, quantity_centi, low_prior_centi)
    later = quote_quantity(tariff, quantity_centi, high_prior_centi)
    assert earlier.amount_fen <= later.amount_fen


@PROPERTIES
@given(tariffs(), st.integers(1, 1_000_000), priors_centi)
def test_lines_split_the_purchase_exactly(
    tariff: Tariff, quantity_centi: int, prior_centi: int
) -> None:
    quote = quote_quantity(tariff, quantity_centi, prior_centi)
    assert sum(line.quantity_centi for line in quote.lines) == quantity_centi
    cumulative_centi = prior_centi
    for line in quote.lines:
        tier = tariff.tiers[line.tier_index]
        assert tier.start_centi <= cumulative_centi
        cumulative_centi += line.quantity_centi
        assert tier.end_centi is None or cumulative_centi <= tier.end_centi
        assert line.unit_price_hao == tier.unit_price_hao
        exact = line.quantity_centi * line.unit_price_hao  # in 1/PRODUCT_PER_FEN fen
        assert abs(line.amount_fen * PRODUCT_PER_FEN - exact) < PRODUCT_PER_FEN  # within a fen
    assert quote.amount_fen == round_half_up(exact_product(quote), PRODUCT_PER_FEN)
    # the lines share out the amount: a receipt's tier lines add up to its total
    assert sum(line.amount_fen for line in quote.lines) == quote.amount_fen
    if len(quote.lines) == 1:
        price_hao = quote.lines[0].unit_price_hao
        assert quote.lines[0].amount_fen == amount_fen_for(quantity_centi, price_hao)


@PROPERTIES
@given(tariffs(), st.data())
def test_tier_boundaries_are_exact(tariff: Tariff, data: st.DataObject) -> None:
    boundaries_centi = [tier.start_centi for tier in tariff.tiers[1:]]
    if not boundaries_centi:
        return
    boundary_centi = data.draw(st.sampled_from(boundaries_centi))
    prior_centi = data.draw(st.integers(0, boundary_centi - 1))
    beyond_centi = data.draw(st.integers(1, 300_000))
    up_to = quote_quantity(tariff, boundary_centi - prior_centi, prior_centi)
    # buying exactly up to a boundary uses only the tiers below it
    assert all(tariff.tiers[line.tier_index].start_centi < boundary_centi for line in up_to.lines)
    # crossing it splits at the boundary: the two halves' lines are the whole purchase's lines
    # (their quantities and prices; the amounts are each quote's own sharing of its total)
    after = quote_quantity(tariff, beyond_centi, boundary_centi)
    whole = quote_quantity(tariff, boundary_centi - prior_centi + beyond_centi, prior_centi)

    def parts(quote: Quote) -> list[tuple[int, int, int]]:
        return [(line.tier_index, line.quantity_centi, line.unit_price_hao) for line in quote.lines]

    assert parts(whole) == parts(up_to) + parts(after)
    assert exact_product(whole) == exact_product(up_to) + exact_product(after)


@PROPERTIES
@given(any_prices_hao, st.sampled_from(Period), st.integers(1, 1_000_000), priors_centi)
def test_one_tier_equals_flat(
    unit_price_hao: int, period: Period, quantity_centi: int, prior_centi: int
) -> None:
    one_tier = Tariff((Tier(0, None, unit_price_hao),), period)
    flat = Tariff.flat(unit_price_hao)
    expected_fen = amount_fen_for(quantity_centi, unit_price_hao)
    if expected_fen > MAX_FEN:
        return
    assert quote_quantity(one_tier, quantity_centi, prior_centi) == quote_quantity(
        flat, quantity_centi
    )
    assert quote_quantity(flat, quantity_centi, prior_centi).amount_fen == expected_fen
    assert quote_amount(one_tier, expected_fen or 1, prior_centi) == quote_amount(
        flat, expected_fen or 1
    )


# --- tariffs and their text --------------------------------------------------------------------


def test_flat_tariff() -> None:
    flat = Tariff.flat(4_883)
    assert flat == Tariff((Tier(0, None, 4_883),), Period.NONE)
    assert not flat.is_tiered
    assert flat.format_tiers() == "0-:0.4883"


@pytest.mark.parametrize(
    "text",
    [
        DESIGN_TIERS,
        "0-:0.4883",
        "0-100.5:0.10,100.5-200.25:0.1234,200.25-:214748.3647",
        "0-0.01:0.0001,0.01-:5.00",
    ],
)
def test_format_tiers_round_trip(text: str) -> None:
    assert Tariff.parse_tiers(text, "year").format_tiers() == text


def test_parse_tiers_is_lenient_about_spaces_case_and_zeros() -> None:
    tariff = Tariff.parse_tiers(" 0 - 180.00 : 5 , 180-260:7.0000, 260.0 - : 9 ", " Year ")
    assert tariff == design_tariff()
    assert Tariff.parse_tiers("0-:0.5", "month").period is Period.MONTH
    assert Tariff.parse_tiers("0-:0.5", "none").period is Period.NONE


@PROPERTIES
@given(tariffs(prices=any_prices_hao))
def test_parse_tiers_inverts_format_tiers(tariff: Tariff) -> None:
    text = tariff.format_tiers()
    assert Tariff.parse_tiers(text, tariff.period.value) == tariff
    assert Tariff.parse_tiers(text, tariff.period.value).format_tiers() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "No tiers given"),
        ("   ", "No tiers given"),
        ("0-180:5,,180-:7", "Tier 2 is empty (two commas"),
        ("0-180:5,180-:7,", "Tier 3 is empty (two commas"),
        (",0-:5", "Tier 1 is empty (two commas"),
        ("0-180:5,190-:7", "Gap between tiers 1 and 2: no price from 180 to 190."),
        ("0-180:5,170-:7", "Tiers 1 and 2 overlap: tier 1 ends at 180 but tier 2 starts at 170."),
        ("10-180:5,180-:7", "The first tier must start at 0, not at 10."),
        ("0-:5,180-:7", "Only the last tier may be open-ended, but tier 2 follows"),
        ("0-:5,0-:5", "Only the last tier may be open-ended"),
        ("0-180:5,180-260:7", "The last tier must be open-ended (like “180-:7.00”)"),
        ("0-180:5,0-180:5,180-:7", "Duplicate tier: tiers 1 and 2 both start at 0."),
        ("0-180:5,180-260:7,180-260:7,260-:9", "Duplicate tier: tiers 2 and 3 both start at 180"),
        ("0-100:5,200-300:6,100-200:7,300-:8", "Tiers must be in ascending order: tier 3"),
        ("0-100:5,100-200:6,50-100:7,200-:8", "Tiers must be in ascending order: tier 3"),
        ("0-100:5,100-200:6,150-:7", "Tiers 2 and 3 overlap: tier 2 ends at 200 but tier 3"),
        ("0-180:5,180-180:6,180-:7", "Tier 2 is empty: it must end after it starts (180-180)."),
        ("0-180:5,180-100:6,100-:7", "Tier 2 is empty: it must end after it starts (180-100)."),
        ("0-abc:5,abc-:6", "Tier 1 (“0-abc:5”): “abc” is not a valid quantity"),
        ("0-180.001:5,180.001-:6", "“180.001” is not a valid quantity"),
        ("0-1e3:5,1e3-:6", "“1e3” is not a valid quantity"),
        ("0-NaN:5,NaN-:6", "“NaN” is not a valid quantity"),
        ("0-99999999:5,99999999-:6", "“99999999” is not a valid quantity"),
        ("0-180:abc,180-:7", "Tier 1 (“0-180:abc”): “abc” is not a valid unit price"),
        ("0-180:0,180-:7", "“0” is not a valid unit price"),
        ("0-180:-5,180-:7", "“-5” is not a valid unit price"),
        ("0-180:5.00001,180-:7", "“5.00001” is not a valid unit price"),
        ("0-180:Infinity,180-:7", "“Infinity” is not a valid unit price"),
        ("0-180:1e999999,180-:7", "“1e999999” is not a valid unit price"),
        ("0-180:,180-:7", "“” is not a valid unit price"),
        ("-:5", "“” is not a valid quantity"),
        ("0-180,180-:7", "Tier 1 (“0-180”) must look like START-END:PRICE"),
        ("0:5", "must look like START-END:PRICE"),
        ("0-180:5:6,180-:7", "must look like START-END:PRICE"),
        ("-5-180:5,180-:7", "must look like START-END:PRICE"),
        ("0-180-260:5,260-:7", "must look like START-END:PRICE"),
        ("0-180:5;180-:7", "must look like START-END:PRICE"),
        (",".join(f"{n}-{n + 1}:1" for n in range(MAX_TIERS)) + f",{MAX_TIERS}-:1", "at most 16"),
    ],
)
def test_parse_tiers_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Tariff.parse_tiers(text, "year")
    assert caught.value.code == "bad_tiers"
    assert message in caught.value.message
    assert caught.value.exit_status == 2


def test_tiered_price_needs_a_period() -> None:
    with pytest.raises(InvalidInput) as caught:
        Tariff.parse_tiers(DESIGN_TIERS, "none")
    assert caught.value.code == "bad_tiers"
    assert caught.value.message == "A tiered price needs a period: month or year."


@pytest.mark.parametrize("period", ["", "week", "monthly", "flat", "1"])
def test_parse_tiers_refuses_an_unknown_period(period: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Tariff.parse_tiers(DESIGN_TIERS, period)
    assert caught.value.code == "bad_period"


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ((), "A price needs at least one tier."),
        ((Tier(-100, None, 1),), "Tier 1 starts below 0."),
        ((Tier(0, None, 0),), "Tier 1: the unit price must be greater than 0"),
        ((Tier(0, None, -1),), "Tier 1: the unit price must be greater than 0"),
        ((Tier(0, None, MAX_UNIT_PRICE_HAO + 1),), "at most 214748.3647"),
        ((Tier(0, MAX_CENTI + 1, 1), Tier(MAX_CENTI + 1, None, 1)), "go up to 21474836.47"),
    ],
)
def test_tariff_validates_tiers_built_in_code(tiers: tuple[Tier, ...], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Tariff(tiers, Period.YEAR)
    assert caught.value.code == "bad_tiers"
    assert message in caught.value.message


def test_tariff_refuses_wrong_types() -> None:
    with pytest.raises(TypeError):
        Tariff([Tier(0, None, 1)], Period.YEAR)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Tariff((Tier(0, None, 1),), "year")  # type: ignore[arg-type]


# --- periods -----------------------------------------------------------------------------------


def test_period_start() -> None:
    leap_day = datetime.date(2024, 2, 29)
    assert period_start(leap_day, Period.MONTH) == datetime.date(2024, 2, 1)
    assert period_start(leap_day, Period.YEAR) == datetime.date(2024, 1, 1)
    assert period_start(leap_day, Period.NONE) is None
    assert period_start(datetime.date(2025, 1, 1), Period.YEAR) == datetime.date(2025, 1, 1)
    assert period_start(datetime.date(2025, 12, 31), Period.MONTH) == datetime.date(2025, 12, 1)
    assert [period.value for period in Period] == ["none", "month", "year"]


def test_period_start_takes_a_date_not_a_datetime() -> None:
    with pytest.raises(TypeError):
        period_start(datetime.datetime(2024, 2, 29, 23, 59), Period.MONTH)


@given(st.dates(), st.sampled_from([Period.MONTH, Period.YEAR]))
def test_period_start_is_the_first_day_of_the_period(day: datetime.date, period: Period) -> None:
    start = period_start(day, period)
    assert start is not None
    assert start <= day and start.day == 1 and start.year == day.year
    assert start.month == (day.month if period is Period.MONTH else 1)


def test_no_float_in_pricing_module() -> None:
    tree = ast.parse(inspect.getsource(pricing))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float))
        assert not (isinstance(node, ast.Name) and node.id == "float")


def test_tier_lines_add_up_to_the_amount_with_four_decimal_prices() -> None:
    tariff = Tariff.parse_tiers("0-1:1.2345,1-:2.3456", "month")
    quote = quote_quantity(tariff, 101)  # 1.00 × 1.2345 + 0.01 × 2.3456 = 1.257956
    assert quote.amount_fen == 126
    # rounded one by one they would be 1.23 + 0.02 = 1.25: the fen left goes to the larger
    # remainder (0.45 of a fen against 0.3456)
    assert [line.amount_fen for line in quote.lines] == [124, 2]


def test_a_stored_versions_tariff_is_parsed_once_and_a_bad_one_refused_every_time():
    text = "0-180:5.00,180-260:7.00,260-:9.00"
    first = Tariff.parsed(text, "month")
    assert first == Tariff.parse_tiers(text, "month")
    assert Tariff.parsed(text, "month") is first
    assert Tariff.parsed(text, "year") == Tariff.parse_tiers(text, "year") != first
    for _ in range(2):
        with pytest.raises(InvalidInput):
            Tariff.parsed("0-180:5.00", "month")

"""Prices: flat and tiered (阶梯价格) tariffs, and quotes in both directions.

A tariff is a tuple of tiers over the quantity a customer has bought on one account within a
period (a month or a year; a flat price has no period). A purchase that crosses a tier boundary
is split at the exact boundary, each part at its tier's unit price.

Rounding happens once per purchase: the exact sum of ``quantity_centi * unit_price_hao`` over the
parts is rounded half-up to the fen. That total is what the customer pays. Each
:class:`TierLine` also carries its own rounded amount for display on a receipt; the lines'
amounts can differ from the total by a fen or so, and the total is authoritative.

Given an amount of money, :func:`quote_amount` sells the largest quantity (at 0.01 resolution)
whose price, computed exactly as :func:`quote_quantity` computes it, does not exceed the amount.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from collections.abc import Iterator
from itertools import pairwise

from prepaid.core.errors import InvalidInput, _
from prepaid.core.money import (
    CENTI_PER_UNIT,
    MAX_CENTI,
    MAX_FEN,
    PRODUCT_PER_FEN,
    format_centi,
    format_fen,
    format_hao,
    parse_quantity,
    parse_unit_price,
    round_half_up,
)

# Real tariffs have 2–5 tiers; the bound keeps every loop over tiers short.
MAX_TIERS = 16
# parse_unit_price refuses more than this many hao.
MAX_UNIT_PRICE_HAO = MAX_FEN


class Period(enum.Enum):
    """Over which period the cumulative quantity of a tiered price is counted."""

    NONE = "none"  # a flat price: no period
    MONTH = "month"
    YEAR = "year"


@dataclasses.dataclass(frozen=True)
class Tier:
    """Cumulative quantity in ``[start_centi, end_centi)`` costs ``unit_price_hao`` per unit.

    ``end_centi`` is ``None`` for the last, open-ended tier.
    """

    start_centi: int
    end_centi: int | None
    unit_price_hao: int


@dataclasses.dataclass(frozen=True)
class Tariff:
    """A validated tier table: the first tier starts at 0, tiers are ascending and contiguous,
    only the last is open-ended and it must be, every unit price is positive, and a table of
    several tiers has a period (month or year)."""

    tiers: tuple[Tier, ...]
    period: Period

    def __post_init__(self) -> None:
        if not isinstance(self.tiers, tuple) or not isinstance(self.period, Period):
            raise TypeError("Tariff needs a tuple of Tier and a Period")
        _check_tiers(self.tiers, self.period)

    @classmethod
    def flat(cls, unit_price_hao: int) -> Tariff:
        """One unit price for any quantity, with no period."""
        return cls((Tier(0, None, unit_price_hao),), Period.NONE)

    @classmethod
    def parse_tiers(cls, text: str, period: str) -> Tariff:
        """Parse the CLI syntax ``"0-180:5.00,180-260:7.00,260-:9.00"`` with a period
        ``"none"``, ``"month"`` or ``"year"``. Quantities take at most 2 decimals, unit prices 4.
        """
        tiers = tuple(
            _parse_tier(position, item) for position, item in enumerate(_split_tiers(text), start=1)
        )
        return cls(tiers, _parse_period(period))

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def parsed(text: str, period: str) -> Tariff:
        """:meth:`parse_tiers`, remembered: every sale prices by a stored version's tiers, and
        a tariff is immutable."""
        return Tariff.parse_tiers(text, period)

    def format_tiers(self) -> str:
        """The tiers in the syntax :meth:`parse_tiers` reads (its inverse)."""
        return ",".join(_format_tier(tier) for tier in self.tiers)

    @property
    def is_tiered(self) -> bool:
        return len(self.tiers) > 1


@dataclasses.dataclass(frozen=True)
class TierLine:
    """The part of a purchase that falls in one tier (``tier_index`` counts from 0).

    ``amount_fen`` is this part's share of the quote's amount, for display: see :class:`Quote`.
    """

    tier_index: int
    quantity_centi: int
    unit_price_hao: int
    amount_fen: int


@dataclasses.dataclass(frozen=True)
class Quote:
    """The price of one purchase.

    ``amount_fen`` is authoritative: the exact sum over all lines rounded once. The lines
    share it out, so that a receipt's tier lines add up to its total: each line is its exact
    amount rounded down, and the fen left over go one each to the lines with the largest
    remainders (the earlier tier first on a tie). A line is thus within a fen of its exact
    amount, and a single line is the amount itself.
    """

    quantity_centi: int
    amount_fen: int
    lines: tuple[TierLine, ...]


def quote_quantity(tariff: Tariff, quantity_centi: int, prior_centi: int = 0) -> Quote:
    """The price of ``quantity_centi`` for a customer who already bought ``prior_centi`` in
    the current period (0 for a flat price)."""
    _check_positive(quantity_centi, "quantity", MAX_CENTI, format_centi(MAX_CENTI))
    _check_prior(prior_centi)
    quote = _quote(tariff, quantity_centi, prior_centi)
    if quote.amount_fen > MAX_FEN:
        raise _too_large("amount", format_fen(MAX_FEN))
    return quote


def quote_amount(tariff: Tariff, amount_fen: int, prior_centi: int = 0) -> Quote:
    """The largest quantity (at 0.01 resolution) that ``amount_fen`` pays for.

    The quote's ``amount_fen`` is the price of that quantity, which may be a little less than
    the amount tendered. Half-up rounding lets a quantity slightly beyond
    ``amount / unit price`` still round down to the amount (1.00 yuan at 0.30 buys 3.34 units:
    1.002 rounds to 1.00), so the search is over exact products, not over divided amounts.
    """
    _check_positive(amount_fen, "amount", MAX_FEN, format_fen(MAX_FEN))
    _check_prior(prior_centi)
    quantity_centi = _largest_quantity_centi(tariff, _largest_product(amount_fen), prior_centi)
    if quantity_centi == 0:
        raise InvalidInput(
            "amount_too_small",
            _("%(amount)s yuan does not pay for the smallest quantity (0.01)."),
            amount=format_fen(amount_fen),
        )
    if quantity_centi > MAX_CENTI:
        raise _too_large("quantity", format_centi(MAX_CENTI))
    quote = _quote(tariff, quantity_centi, prior_centi)
    assert quote.amount_fen <= amount_fen
    assert (
        quantity_centi == MAX_CENTI
        or _quote(tariff, quantity_centi + 1, prior_centi).amount_fen > amount_fen
    )
    return quote


def period_start(day: datetime.date, period: Period) -> datetime.date | None:
    """The first day of the period containing ``day``: the month's or the year's first day,
    ``None`` for a flat price. Pass the local calendar date, not a ``datetime``."""
    if isinstance(day, datetime.datetime):
        raise TypeError("period_start takes a date; convert the local datetime with .date()")
    if period is Period.NONE:
        return None
    if period is Period.MONTH:
        return day.replace(day=1)
    assert period is Period.YEAR
    return datetime.date(day.year, 1, 1)


# --- quotes ------------------------------------------------------------------------------------


def _quote(tariff: Tariff, quantity_centi: int, prior_centi: int) -> Quote:
    """The quote with no range checks on the result (callers check what they return)."""
    assert quantity_centi > 0 and prior_centi >= 0
    parts = list(_tier_parts(tariff, quantity_centi, prior_centi))
    products = [part_centi * tier.unit_price_hao for _index, tier, part_centi in parts]
    amount_fen = round_half_up(sum(products), PRODUCT_PER_FEN)
    shares = _shares(products, amount_fen)
    lines = tuple(
        TierLine(index, part_centi, tier.unit_price_hao, share)
        for (index, tier, part_centi), share in zip(parts, shares, strict=True)
    )
    quote = Quote(quantity_centi, amount_fen, lines)
    assert sum(line.amount_fen for line in lines) == amount_fen
    assert lines and sum(line.quantity_centi for line in lines) == quantity_centi
    assert [line.tier_index for line in lines] == list(
        range(lines[0].tier_index, lines[-1].tier_index + 1)
    )
    return quote


def _shares(products: list[int], amount_fen: int) -> list[int]:
    """``amount_fen`` shared out over exact products (largest remainder; see :class:`Quote`)."""
    shares = [product // PRODUCT_PER_FEN for product in products]
    left = amount_fen - sum(shares)
    assert 0 <= left <= len(products)
    by_remainder = sorted(range(len(products)), key=lambda i: (-(products[i] % PRODUCT_PER_FEN), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def _tier_parts(
    tariff: Tariff, quantity_centi: int, prior_centi: int
) -> Iterator[tuple[int, Tier, int]]:
    """The parts of ``[prior, prior + quantity)`` in each tier, as ``(index, tier, part)``."""
    purchase_end_centi = prior_centi + quantity_centi
    for index, tier in enumerate(tariff.tiers):
        part_start_centi = max(tier.start_centi, prior_centi)
        part_end_centi = (
            purchase_end_centi
            if tier.end_centi is None
            else min(tier.end_centi, purchase_end_centi)
        )
        if part_end_centi > part_start_centi:
            yield index, tier, part_end_centi - part_start_centi


def _largest_product(amount_fen: int) -> int:
    """The largest exact product (in 1/10000 fen) that still rounds half-up to ``amount_fen``."""
    product = amount_fen * PRODUCT_PER_FEN + (PRODUCT_PER_FEN - 1) // 2
    assert round_half_up(product, PRODUCT_PER_FEN) == amount_fen
    assert round_half_up(product + 1, PRODUCT_PER_FEN) == amount_fen + 1
    return product


def _largest_quantity_centi(tariff: Tariff, budget_product: int, prior_centi: int) -> int:
    """The largest quantity whose exact product is at most ``budget_product``: walk the tiers
    from ``prior_centi`` up, taking each whole while the budget lasts. Exact, O(tiers)."""
    assert budget_product >= 0 and prior_centi >= 0
    quantity_centi = 0
    for tier in tariff.tiers:
        if tier.end_centi is not None and tier.end_centi <= prior_centi:
            continue  # already used up before this purchase
        affordable_centi = budget_product // tier.unit_price_hao
        if tier.end_centi is None:
            return quantity_centi + affordable_centi
        room_centi = tier.end_centi - max(tier.start_centi, prior_centi)
        if affordable_centi < room_centi:
            return quantity_centi + affordable_centi
        quantity_centi += room_centi
        budget_product -= room_centi * tier.unit_price_hao
    raise AssertionError("the last tier of a tariff is open-ended")


def _check_positive(value: int, field: str, maximum: int, maximum_text: str) -> None:
    if value < 0:
        raise InvalidInput("negative", _("%(field)s must not be negative."), field=field)
    if value == 0:
        raise InvalidInput("zero", _("%(field)s must be greater than zero."), field=field)
    if value > maximum:
        raise _too_large(field, maximum_text)


def _check_prior(prior_centi: int) -> None:
    if prior_centi < 0:
        raise InvalidInput(
            "negative", _("%(field)s must not be negative."), field="quantity bought before"
        )


def _too_large(field: str, maximum: str) -> InvalidInput:
    return InvalidInput(
        "too_large",
        _("%(field)s is too large (at most %(maximum)s)."),
        field=field,
        maximum=maximum,
    )


# --- validation --------------------------------------------------------------------------------


def _bad_tiers(message: str, **params: object) -> InvalidInput:
    return InvalidInput("bad_tiers", message, **params)


def _check_tiers(tiers: tuple[Tier, ...], period: Period) -> None:
    if not tiers:
        raise _bad_tiers(_("A price needs at least one tier."))
    if len(tiers) > MAX_TIERS:
        raise _bad_tiers(_("A price has at most %(maximum)s tiers."), maximum=MAX_TIERS)
    for position, tier in enumerate(tiers, start=1):
        _check_tier(position, tier)
    if tiers[0].start_centi != 0:
        raise _bad_tiers(
            _("The first tier must start at 0, not at %(start)s."),
            start=_format_quantity(tiers[0].start_centi),
        )
    # Order first, so that tiers written out of order are not reported as gaps or overlaps.
    for position, (previous, tier) in enumerate(pairwise(tiers), start=2):
        _check_order(position, previous, tier)
    for position, (previous, tier) in enumerate(pairwise(tiers), start=2):
        _check_contiguous(position, previous, tier)
    if tiers[-1].end_centi is not None:
        raise _bad_tiers(
            _(
                "The last tier must be open-ended (like “%(example)s”) so that every quantity has "
                "a price."
            ),
            example=f"{_format_quantity(tiers[-1].start_centi)}-:"
            f"{format_hao(tiers[-1].unit_price_hao)}",
        )
    if len(tiers) > 1 and period is Period.NONE:
        raise _bad_tiers(_("A tiered price needs a period: month or year."))


def _check_tier(position: int, tier: Tier) -> None:
    if not isinstance(tier, Tier):
        raise TypeError(f"tier {position}: expected Tier, got {type(tier).__name__}")
    if tier.start_centi < 0:
        raise _bad_tiers(_("Tier %(position)s starts below 0."), position=position)
    if tier.end_centi is not None and tier.end_centi <= tier.start_centi:
        raise _bad_tiers(
            _("Tier %(position)s is empty: it must end after it starts (%(start)s-%(end)s)."),
            position=position,
            start=_format_quantity(tier.start_centi),
            end=_format_quantity(tier.end_centi),
        )
    if max(tier.start_centi, tier.end_centi or 0) > MAX_CENTI:
        raise _bad_tiers(
            _("Tier %(position)s: quantities go up to %(maximum)s at most."),
            position=position,
            maximum=format_centi(MAX_CENTI),
        )
    if not 0 < tier.unit_price_hao <= MAX_UNIT_PRICE_HAO:
        raise _bad_tiers(
            _("Tier %(position)s: the unit price must be greater than 0 and at most %(maximum)s."),
            position=position,
            maximum=format_hao(MAX_UNIT_PRICE_HAO),
        )


def _neighbour_params(position: int, previous: Tier, tier: Tier) -> dict[str, object]:
    return {
        "position": position,
        "previous": position - 1,
        "start": _format_quantity(tier.start_centi),
        "previous_start": _format_quantity(previous.start_centi),
        "previous_end": _format_quantity(previous.end_centi or 0),
    }


def _check_order(position: int, previous: Tier, tier: Tier) -> None:
    """Tier ``position`` (counted from 1) comes after the one before it, which is closed."""
    params = _neighbour_params(position, previous, tier)
    if previous.end_centi is None:
        raise _bad_tiers(
            _(
                "Only the last tier may be open-ended, but tier %(position)s follows the "
                "open-ended tier %(previous)s."
            ),
            **params,
        )
    if tier.start_centi == previous.start_centi:
        raise _bad_tiers(
            _("Duplicate tier: tiers %(previous)s and %(position)s both start at %(start)s."),
            **params,
        )
    if tier.start_centi < previous.start_centi:
        raise _bad_tiers(
            _(
                "Tiers must be in ascending order: tier %(position)s starts at %(start)s, before "
                "tier %(previous)s (at %(previous_start)s)."
            ),
            **params,
        )


def _check_contiguous(position: int, previous: Tier, tier: Tier) -> None:
    """Tier ``position`` starts exactly where the one before it ends."""
    assert previous.end_centi is not None  # checked by _check_order
    params = _neighbour_params(position, previous, tier)
    if tier.start_centi < previous.end_centi:
        raise _bad_tiers(
            _(
                "Tiers %(previous)s and %(position)s overlap: tier %(previous)s ends at "
                "%(previous_end)s but tier %(position)s starts at %(start)s."
            ),
            **params,
        )
    if tier.start_centi > previous.end_centi:
        raise _bad_tiers(
            _(
                "Gap between tiers %(previous)s and %(position)s: no price from %(previous_end)s "
                "to %(start)s."
            ),
            **params,
        )


# --- text --------------------------------------------------------------------------------------


def _split_tiers(text: str) -> list[str]:
    if not text.strip():
        raise _bad_tiers(_("No tiers given: write them like “0-180:5.00,180-260:7.00,260-:9.00”."))
    items = [item.strip() for item in text.split(",")]
    if len(items) > MAX_TIERS:
        raise _bad_tiers(_("A price has at most %(maximum)s tiers."), maximum=MAX_TIERS)
    for position, item in enumerate(items, start=1):
        if not item:
            raise _bad_tiers(
                _(
                    "Tier %(position)s is empty (two commas in a row, or a comma at "
                    "the start or end)."
                ),
                position=position,
            )
    return items


def _parse_tier(position: int, item: str) -> Tier:
    """One ``START-END:PRICE`` or ``START-:PRICE`` item."""
    range_text, colon, price_text = item.partition(":")
    start_text, dash, end_text = range_text.partition("-")
    if not colon or not dash or ":" in price_text or "-" in end_text:
        raise _bad_tiers(
            _(
                "Tier %(position)s (“%(tier)s”) must look like START-END:PRICE, or START-:PRICE "
                "for the last tier."
            ),
            position=position,
            tier=item,
        )
    start_centi = _parse_tier_quantity(position, item, start_text)
    end_centi = _parse_tier_quantity(position, item, end_text) if end_text.strip() else None
    try:
        unit_price_hao = parse_unit_price(price_text)
    except InvalidInput:
        raise _bad_tiers(
            _(
                "Tier %(position)s (“%(tier)s”): “%(value)s” is not a valid unit price (a number "
                "greater than 0 with at most 4 decimals)."
            ),
            position=position,
            tier=item,
            value=price_text.strip(),
        ) from None
    return Tier(start_centi, end_centi, unit_price_hao)


def _parse_tier_quantity(position: int, item: str, text: str) -> int:
    try:
        return parse_quantity(text, allow_zero=True)
    except InvalidInput:
        raise _bad_tiers(
            _(
                "Tier %(position)s (“%(tier)s”): “%(value)s” is not a valid quantity (a number "
                "from 0 with at most 2 decimals)."
            ),
            position=position,
            tier=item,
            value=text.strip(),
        ) from None


def _parse_period(text: str) -> Period:
    try:
        return Period(text.strip().lower())
    except ValueError:
        raise InvalidInput(
            "bad_period",
            _("The period must be “none”, “month” or “year”, not “%(value)s”."),
            value=text,
        ) from None


def _format_quantity(value_centi: int) -> str:
    """A tier boundary as short as it reads: ``180``, ``180.5``, ``180.25``."""
    if value_centi % CENTI_PER_UNIT == 0:
        return str(value_centi // CENTI_PER_UNIT)
    return format_centi(value_centi).rstrip("0")


def _format_tier(tier: Tier) -> str:
    end = "" if tier.end_centi is None else _format_quantity(tier.end_centi)
    return f"{_format_quantity(tier.start_centi)}-{end}:{format_hao(tier.unit_price_hao)}"

"""Money and quantities.

Inside the system every amount is an ``int`` of its smallest unit:

* money in **fen** (0.01 yuan), names end in ``_fen``;
* quantities in **centi-units** (0.01 m³ / kWh / GJ), names end in ``_centi``;
* unit prices in **hao** (0.0001 yuan per unit, 毫), names end in ``_hao``: tariffs such as
  0.4883 yuan/kWh need four decimals.

``Decimal`` appears only at the edges (parsing what an operator typed, formatting what is
shown). There is exactly one rounding rule, :func:`round_half_up`, and no ``float`` anywhere.
"""

from __future__ import annotations

import re
from decimal import Decimal

from prepaid.core.errors import InvalidInput, _
from prepaid.core.full_width import read_full_width

CENTI_PER_UNIT = 100
FEN_PER_YUAN = 100
HAO_PER_YUAN = 10_000
# quantity_centi * price_hao is in units of 1/100 * 1/10000 yuan = 1/10000 fen.
PRODUCT_PER_FEN = 10_000

# Largest value any money or quantity field may hold: fits a signed 32-bit card field.
MAX_CENTI = 2**31 - 1
MAX_FEN = 2**31 - 1


def round_half_up(numerator: int, denominator: int) -> int:
    """Divide two integers and round half away from zero (ROUND_HALF_UP).

    The only rounding function of the system.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return sign * quotient


def amount_fen_for(quantity_centi: int, unit_price_hao: int) -> int:
    """The price of a quantity at one unit price, rounded once to the fen."""
    return round_half_up(quantity_centi * unit_price_hao, PRODUCT_PER_FEN)


# What an operator may type: optional sign, ASCII digits, optional decimal point. No exponent
# ("1e3"), no "NaN"/"Infinity", no "1_000": ``Decimal`` accepts all of those.
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# Besides the digits, what a Chinese input method in full-width mode types for a number
# (３４．５ for 34.5) and is read as what it is; other scripts' digits (and ², ½ …) stay refused.
_FULL_WIDTH_ALSO = ".+-"
# More significant digits than any maximum can have: refused as too large without building them.
_MAX_UNIT_DIGITS = 19


def _parse_decimal(text: str | Decimal | int, field: str) -> Decimal:
    """The exact, finite ``Decimal`` an operator typed (or a program passed)."""
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int) and not isinstance(text, bool):
        value = Decimal(text)
    elif isinstance(text, str):
        typed = text
        text = read_full_width(text, _FULL_WIDTH_ALSO)
        if _PLAIN_DECIMAL.fullmatch(text.strip()) is None:
            raise InvalidInput(
                "not_a_number",
                _("%(field)s must be a number, not “%(value)s”."),
                field=field,
                value=typed,
            )
        value = Decimal(text.strip())  # exact: constructing a Decimal never rounds
    else:
        raise TypeError(f"{field}: expected str, int or Decimal, got {type(text).__name__}")
    if not value.is_finite():
        raise InvalidInput(
            "not_a_number",
            _("%(field)s must be a number, not “%(value)s”."),
            field=field,
            value=str(text),
        )
    return value


def _exact_units(value: Decimal, *, places: int, field: str, maximum: int) -> int:
    """``value`` times 10**places as an int, refusing extra decimals; no Decimal context used.

    Working on the digits (not ``normalize()``/``scaleb()``) means the context's 28-digit
    precision can never round what was typed, and huge exponents cannot overflow.
    """
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked by the caller
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return 0
    significant = digits.rstrip("0")
    exponent += len(digits) - len(significant)
    if exponent < -places:
        raise InvalidInput(
            "too_many_decimals",
            _("%(field)s allows at most %(places)s decimal places."),
            field=field,
            places=places,
        )
    shift = exponent + places
    assert maximum < 10 ** (_MAX_UNIT_DIGITS - 1)
    if len(significant) + shift > _MAX_UNIT_DIGITS:  # refuse before building a huge integer
        units = maximum + 1
    else:
        units = int(significant) * 10**shift
    return -units if sign else units


def _to_units(
    text: str | Decimal | int,
    *,
    places: int,
    field: str,
    allow_zero: bool,
    allow_negative: bool,
    maximum: int,
) -> int:
    value = _parse_decimal(text, field)
    units = _exact_units(value, places=places, field=field, maximum=maximum)
    if units < 0 and not allow_negative:
        raise InvalidInput(
            "negative",
            _("%(field)s must not be negative."),
            field=field,
        )
    if units == 0 and not allow_zero:
        raise InvalidInput(
            "zero",
            _("%(field)s must be greater than zero."),
            field=field,
        )
    if abs(units) > maximum:
        raise InvalidInput(
            "too_large",
            _("%(field)s is too large (at most %(maximum)s)."),
            field=field,
            maximum=str(Decimal(maximum).scaleb(-places)),
        )
    return units


def parse_quantity(
    text: str | Decimal | int,
    *,
    field: str = "quantity",
    allow_zero: bool = False,
    allow_negative: bool = False,
    maximum: int = MAX_CENTI,
) -> int:
    """Parse a quantity typed by an operator into centi-units. Refuses, never rounds."""
    return _to_units(
        text,
        places=2,
        field=field,
        allow_zero=allow_zero,
        allow_negative=allow_negative,
        maximum=maximum,
    )


def parse_money(
    text: str | Decimal | int,
    *,
    field: str = "amount",
    allow_zero: bool = False,
    allow_negative: bool = False,
    maximum: int = MAX_FEN,
) -> int:
    """Parse an amount of money (yuan, 2 decimals) into fen. Refuses, never rounds."""
    return _to_units(
        text,
        places=2,
        field=field,
        allow_zero=allow_zero,
        allow_negative=allow_negative,
        maximum=maximum,
    )


def parse_unit_price(text: str | Decimal | int, *, field: str = "unit price") -> int:
    """Parse a unit price (yuan per unit, up to 4 decimals) into hao."""
    return _to_units(
        text, places=4, field=field, allow_zero=False, allow_negative=False, maximum=MAX_FEN
    )


def centi_to_decimal(value_centi: int) -> Decimal:
    return Decimal(value_centi).scaleb(-2).quantize(Decimal("0.01"))


def fen_to_decimal(value_fen: int) -> Decimal:
    return Decimal(value_fen).scaleb(-2).quantize(Decimal("0.01"))


def hao_to_decimal(value_hao: int) -> Decimal:
    return Decimal(value_hao).scaleb(-4).quantize(Decimal("0.0001"))


def format_centi(value_centi: int) -> str:
    """A quantity as the string the CLI and JSON use: two decimals, e.g. ``"19.99"``."""
    return str(centi_to_decimal(value_centi))


def format_fen(value_fen: int) -> str:
    """An amount of money as a two-decimal string, e.g. ``"19.99"``."""
    return str(fen_to_decimal(value_fen))


def format_hao(value_hao: int) -> str:
    """A unit price with as many decimals as it needs, at least two (``"3.45"``, ``"0.4883"``)."""
    text = str(hao_to_decimal(value_hao))
    while text.endswith("0") and len(text.split(".")[1]) > 2:
        text = text[:-1]
    return text

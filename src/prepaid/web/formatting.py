"""Money, quantities and dates as the operator's locale writes them. Never ``float``.

Values arrive as the two-decimal strings the services produce (``"19.99"``), as ``Decimal``
or as integers of the smallest unit (fen, centi-units) and leave as text.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext

from prepaid.core.money import centi_to_decimal, fen_to_decimal


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def number(value: object, places: int = 2) -> str:
    """A decimal in the active locale (grouping as the locale does it)."""
    decimal = _decimal(value)
    if decimal is None:
        return "" if value is None else str(value)
    return formats.number_format(decimal, places, use_l10n=True, force_grouping=True)


def money(value: object, places: int = 2) -> str:
    """Yuan: ``¥1,234.50`` (English) or ``¥1234.50`` (zh-hans)."""
    text = number(value, places)
    if not text:
        return text
    # Translators: the currency format; %(amount)s is the amount in yuan.
    return gettext("¥%(amount)s") % {"amount": text}


def money_fen(value_fen: int | None) -> str:
    return "" if value_fen is None else money(fen_to_decimal(value_fen))


def quantity_centi(value_centi: int | None) -> str:
    return "" if value_centi is None else number(centi_to_decimal(value_centi), 2)


def unit_price(value: object) -> str:
    """A unit price with the decimals it has (at least two): ``¥0.4883``."""
    decimal = _decimal(value)
    if decimal is None:
        return "" if value is None else str(value)
    exponent = decimal.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return money(decimal, places)

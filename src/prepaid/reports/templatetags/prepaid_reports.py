"""Template filters of the report pages."""

from __future__ import annotations

from typing import Any

from django import template

from prepaid.core.money import fen_to_decimal
from prepaid.web import formatting

register = template.Library()


@register.filter
def yuan(value_fen: Any) -> str:
    """Fen (an int) as yuan with two decimals, grouped as the locale groups them:
    123456 → "1,234.56" in English, "1234.56" in Chinese."""
    return "" if value_fen is None else formatting.number(fen_to_decimal(int(value_fen)))


@register.filter
def quantity(value_centi: Any) -> str:
    """Centi-units (an int) with two decimals, grouped as the locale groups them."""
    return "" if value_centi is None else formatting.quantity_centi(int(value_centi))

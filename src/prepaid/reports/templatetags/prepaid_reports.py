"""Template filters of the report pages."""

from __future__ import annotations

from typing import Any

from django import template

from prepaid.core.money import format_centi, format_fen

register = template.Library()


@register.filter
def yuan(value_fen: Any) -> str:
    """Fen (an int) as yuan with two decimals: 1234 → "12.34"."""
    return "" if value_fen is None else format_fen(int(value_fen))


@register.filter
def quantity(value_centi: Any) -> str:
    """Centi-units (an int) with two decimals: 1234 → "12.34"."""
    return "" if value_centi is None else format_centi(int(value_centi))

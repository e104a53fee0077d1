"""Template helpers of the operator UI: menus and locale-aware money and quantities."""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.urls import get_script_prefix, get_urlconf
from django.utils import translation
from django.utils.safestring import mark_safe

from prepaid.web import formatting
from prepaid.web.menus import menus_for, menus_for_admin

register = template.Library()


@register.simple_tag(takes_context=True)
def operator_menus(context: Any) -> list[dict[str, Any]]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return menus_for(user)


@register.simple_tag(takes_context=True)
def menu_bar(context: Any) -> str:
    """The menus of the navigation bar as HTML (``_menus.html``), rendered once per kind of
    operator, language and URL prefix: the same for every page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return _menu_bar(
        bool(getattr(user, "is_admin", False)),
        translation.get_language(),
        get_script_prefix(),
        get_urlconf(),
    )


@functools.lru_cache(maxsize=32)
def _menu_bar(admin: bool, language: str, prefix: str, urlconf: Any) -> str:
    from django.template.loader import render_to_string

    return mark_safe(  # rendered (and escaped) by the template engine
        render_to_string("prepaid/web/_menus.html", {"menus": menus_for_admin(admin)})
    )


@register.filter
def money(value: object) -> str:
    """A two-decimal yuan string or Decimal → ``¥19.99`` in the locale."""
    return formatting.money(value)


@register.filter
def unit_price(value: object) -> str:
    """A unit price string (``"0.4883"``) → ``¥0.4883``: all its decimals kept."""
    return formatting.unit_price(value)


@register.filter
def fen(value: int | None) -> str:
    return formatting.money_fen(value)


@register.filter
def qty(value: object) -> str:
    """A two-decimal quantity string or Decimal → ``19.99`` in the locale."""
    return formatting.number(value, 2)


@register.filter
def centi(value: int | None) -> str:
    return formatting.quantity_centi(value)


@register.filter
def translated(value: object) -> str:
    """A message the services marked for translation, in the active language."""
    from django.utils.translation import gettext

    return gettext(str(value)) if value else ""


@register.filter
def card_type(code: str) -> str:
    from prepaid.web.presenters import CARD_TYPES

    return str(CARD_TYPES.get(code, code))


@register.filter
def reader_kind(code: str) -> str:
    """The reader backend (``virtual``, ``pcsc``) as the operator calls it."""
    from django.utils.translation import gettext

    names = {"virtual": gettext("Virtual reader"), "pcsc": gettext("PC/SC reader")}
    return names.get(str(code), str(code))


@register.filter
def meter_type(code: str) -> str:
    """A meter type code (``water``) → its name in the active language (水表)."""
    from prepaid.accounts.models import MeterTypeChoice

    try:
        return str(MeterTypeChoice[str(code).upper()].label)
    except KeyError:
        return str(code)


@register.filter
def meter_state(code: str) -> str:
    from prepaid.web.presenters import METER_STATES

    return str(METER_STATES.get(code, code))


@register.filter
def meter_flags(codes: list[str]) -> str:
    """A meter's status flags (``["alarm", "valve_closed"]``) by their names, in a list as the
    language writes one (报警、阀门关闭)."""
    from django.utils.translation import gettext, pgettext

    from prepaid.cards.documents import METER_FLAG_NAMES

    separator = pgettext("list separator", ", ")
    return separator.join(gettext(str(METER_FLAG_NAMES.get(code, code))) for code in codes or ())


@register.filter
def card_status(code: str) -> str:
    from prepaid.web.presenters import CARD_STATUSES

    return str(CARD_STATUSES.get(code, code))


@register.filter
def purchase_status(code: str) -> str:
    from prepaid.web.presenters import PURCHASE_STATUSES

    return str(PURCHASE_STATUSES.get(code, code))


@register.filter
def unit(account: Any) -> str:
    """The unit an account's quantities are in (m³, kWh…); also of a meter type code
    (``water``), as a setting or check card carries it, and none for none (a cleared meter)."""
    from prepaid.accounts.models import MeterTypeChoice
    from prepaid.accounts.services import METER_UNITS, meter_unit

    if account is None or account == "":
        return ""
    if isinstance(account, str):
        try:
            return METER_UNITS[MeterTypeChoice[account.upper()]]
        except KeyError:
            return ""
    return str(meter_unit(account))


@register.filter
def purchase_kind(code: str) -> str:
    from prepaid.web.presenters import PURCHASE_KINDS

    return str(PURCHASE_KINDS.get(code, code))


@register.filter
def payment(code: str) -> str:
    from prepaid.web.presenters import PAYMENTS

    return str(PAYMENTS.get(code, code))


@register.filter
def unix_time(seconds: int | None) -> Any:
    """A meter clock (Unix seconds) as an aware datetime, for the ``date`` filter."""
    import datetime

    if not seconds:
        return None
    return datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC)


@register.filter
def dictget(mapping: dict[Any, Any] | None, key: Any) -> Any:
    return None if mapping is None else mapping.get(key)


@register.filter
def language_name(code: str) -> str:
    """An operator's language by its own name (简体中文, English), not its code."""
    from django.conf import settings

    return str(dict(settings.LANGUAGES).get(code, code))


@register.filter
def locked_until(operator: Any) -> Any:
    """When an operator's login lock ends, or None when there is none (or it has run out)."""
    from django.utils import timezone

    until = getattr(operator, "locked_until", None)
    return until if until is not None and until > timezone.now() else None


@register.filter
def swipe_result(code: str | None) -> str:
    """A meter's display code with what it means: ``OK``, ``E06 · 超过限购量…``."""
    from django.utils.translation import gettext

    from prepaid.core.meter import SwipeResult

    if not code:
        return "—"
    try:
        result = SwipeResult.from_code(code)
    except KeyError:
        return code
    return "OK" if result is SwipeResult.OK else f"{result.code} · {gettext(result.message)}"

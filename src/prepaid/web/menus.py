"""The menus of the manual (账户管理, 价格管理, 用户管理, 充值管理, 查询) and the extra pages.

Admin-only entries are left out of an operator's menus (and their pages refuse with 403).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.urls import get_urlconf, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Item:
    label: Any
    view: str
    query: str = ""
    admin: bool = False
    header: bool = False  # a heading inside the menu (高级功能)

    def url(self) -> str:
        return reverse(self.view) + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class Menu:
    key: str
    label: Any
    items: tuple[Item, ...] = field(default_factory=tuple)
    admin: bool = False
    view: str = ""  # a menu that is a plain link


MENUS = (
    Menu(
        "accounts",
        _("Account management"),
        admin=True,
        items=(
            Item(_("Create account"), "web:account_create"),
            Item(_("Accounts"), "web:accounts"),
            Item(_("Card making"), "web:cards"),
        ),
    ),
    Menu(
        "prices",
        _("Price management"),
        admin=True,
        items=(
            Item(_("Add price"), "web:price_add"),
            Item(_("Adjust price"), "web:prices", query="action=adjust"),
            Item(_("Modify price"), "web:prices", query="action=modify"),
            Item(_("Delete price"), "web:prices", query="action=delete"),
            Item(_("Price list"), "web:prices"),
        ),
    ),
    Menu(
        "customers",
        _("Customer management"),
        items=(
            Item(_("Register customer"), "web:customer_register"),
            Item(_("Find customer"), "web:customers"),
        ),
    ),
    Menu(
        "vending",
        _("Vending"),
        items=(
            Item(_("Vending overview"), "web:vending"),
            Item(_("Open account"), "web:open"),
            Item(_("Sale"), "web:sell"),
            Item(_("Correction"), "web:correct"),
            Item(_("Advanced"), "", header=True),
            Item(_("Reissue card"), "web:reissue"),
            Item(_("Meter change"), "web:meter_change", admin=True),
        ),
    ),
    Menu("queries", _("Queries"), view="reports:index"),
    Menu("simulator", _("Meter simulator"), view="web:simulator"),
    Menu("operators", _("Operators"), admin=True, view="web:operators"),
)


def menus_for(operator: Any) -> list[dict[str, Any]]:
    """The menus this operator sees, with URLs resolved (labels translate when rendered)."""
    return menus_for_admin(bool(getattr(operator, "is_admin", False)))


def menus_for_admin(admin: bool) -> list[dict[str, Any]]:
    return _menus(admin, get_urlconf())


@functools.lru_cache(maxsize=8)
def _menus(admin: bool, urlconf: Any) -> list[dict[str, Any]]:
    result = []
    for menu in MENUS:
        if menu.admin and not admin:
            continue
        entry: dict[str, Any] = {"key": menu.key, "label": menu.label, "items": []}
        if menu.view:
            entry["url"] = reverse(menu.view)
        for item in menu.items:
            if item.admin and not admin:
                continue
            entry["items"].append(
                {
                    "label": item.label,
                    "header": item.header,
                    "url": "" if item.header else item.url(),
                }
            )
        result.append(entry)
    return result

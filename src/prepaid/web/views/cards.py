"""卡片制作 (admin): tool cards (setting, clear-all, zero, check), format a new card, recycle,
read any card; the register of tool cards issued."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from prepaid.accounts import services as accounts
from prepaid.cards import services as cards
from prepaid.core.errors import PrepaidError
from prepaid.web import station as stations
from prepaid.web.decorators import admin_required
from prepaid.web.errors import field_of
from prepaid.web.forms import ToolCardForm, new_key, posted_key
from prepaid.web.presenters import CARD_TYPES, card_view
from prepaid.web.views.common import (
    card_written_before,
    done_before,
    page,
    refusal,
    remember_done,
    sent_once,
)

ACTIONS = ("make", "format", "recycle")


@admin_required
def card_making(request: HttpRequest) -> HttpResponse:
    with sent_once(request.POST.get("key") if request.method == "POST" else None):
        return _card_making(request)


def _card_making(request: HttpRequest) -> HttpResponse:
    account_list = accounts.list_accounts()
    action = request.POST.get("action") if request.method == "POST" else None
    form = ToolCardForm(request.POST if action == "make" else None, accounts=account_list)
    error = None
    if action in ACTIONS:
        replay = done_before(request, request.POST.get("key"))
        if replay is not None:  # the browser's Back and Confirm again: say nothing was done
            messages.warning(request, card_written_before())
            return replay
        try:
            key = posted_key(request.POST)
            headline = _write(request, action, form)
        except PrepaidError as exc:
            error = refusal(exc)
            if action == "make" and field_of(exc, form.error_fields) in form.fields:
                form.add_service_error(exc)  # shown next to its field, not twice
                error = None
        else:
            if headline is not None:
                messages.success(request, headline)
                return remember_done(request, key, reverse("web:cards"))
    return page(
        request,
        "cards/index.html",
        {
            "form": form,
            "error": error,
            "format_key": new_key(),
            "recycle_key": new_key(),
            "register": cards.tool_card_register()[:50],
        },
    )


def _write(request: HttpRequest, action: str, form: ToolCardForm) -> str | None:
    """Write the card; the success message (None: the form has errors to show)."""
    station = stations.station_for(request)
    if action == "format":
        cards.format_card(station)
        return _("Card formatted as a new card.")
    if action == "recycle":
        cards.recycle_card(station)
        return _("Card recycled.")
    if not form.is_valid():
        return None
    account_id = form.cleaned_data.get("account")
    account = accounts.get_account(account_id) if account_id else None
    card = cards.make_tool_card(station, form.cleaned_data["tool"], account)
    return _("%(card)s written successfully.") % {"card": CARD_TYPES[card_view(card)["type"]]}

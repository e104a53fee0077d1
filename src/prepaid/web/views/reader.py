"""The card reader panel (htmx): status, the card in the reader, and the virtual card store."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from prepaid.core.card.codec import blank_image
from prepaid.core.errors import PrepaidError
from prepaid.web import station as stations
from prepaid.web.decorators import admin_required, operator_required
from prepaid.web.forms import BlankCardForm, new_key, posted_key
from prepaid.web.http import is_htmx
from prepaid.web.presenters import reader_view
from prepaid.web.views.common import (
    card_written_before,
    done_before,
    page,
    refusal,
    remember,
    sent_once,
)


def panel_context(request: HttpRequest) -> dict[str, object]:
    station = stations.station_for(request)
    store = stations.card_store(request.user)
    return {
        "reader": reader_view(station, store),
        "reader_kind": stations.reader_kind(),
        "station_name": station.name,
        "format_key": new_key(),  # 格式化 sent again (Back, an old page) formats nothing
    }


def _back(request: HttpRequest) -> str:
    """The page a plain form post goes back to: its ``next``, else the page it was sent from
    (the panel's forms sit on the vending pages), else the start page."""
    hosts = {request.get_host()}
    for target in (request.POST.get("next", ""), request.headers.get("Referer", "")):
        if target and url_has_allowed_host_and_scheme(target, hosts):
            return target
    return reverse("web:home")


def _respond(
    request: HttpRequest,
    error: dict[str, str] | None = None,
    notice: str | None = None,
    warning: str | None = None,
) -> HttpResponse:
    if not is_htmx(request):  # a plain form: the page the browser goes back to says it
        if error is not None:
            messages.error(request, error["message"])
        if notice is not None:
            messages.success(request, notice)
        if warning is not None:
            messages.warning(request, warning)
        return HttpResponseRedirect(_back(request))
    context = panel_context(request)
    context["reader_error"] = error
    context["reader_notice"] = notice
    context["reader_warning"] = warning
    response = page(request, "reader/_panel.html", context)
    response["HX-Trigger"] = "reader-changed"
    return response


def refused_panel(request: HttpRequest, error: dict[str, Any], status: int) -> HttpResponse:
    """The panel again with a refusal the request that asked for it met outside the panel's
    own views (a 403 for an operator no longer an administrator, a refusal that escaped)."""
    context = panel_context(request)
    context["reader_error"] = error
    return page(request, "reader/_panel.html", context, status=status)


@operator_required
def panel(request: HttpRequest) -> HttpResponse:
    return page(request, "reader/_panel.html", panel_context(request))


def _store_or_refuse(request: HttpRequest):  # type: ignore[no-untyped-def]
    store = stations.card_store(request.user)
    if store is None:
        raise PrepaidError(
            "not_virtual", gettext_noop("The card store exists only with the virtual reader.")
        )
    return store


@require_POST
@operator_required
def insert(request: HttpRequest) -> HttpResponse:
    try:
        _store_or_refuse(request).insert(request.POST.get("name", ""))
    except PrepaidError as exc:
        return _respond(request, refusal(exc))
    return _respond(request)


@require_POST
@operator_required
def eject(request: HttpRequest) -> HttpResponse:
    try:
        _store_or_refuse(request).eject()
    except PrepaidError as exc:
        return _respond(request, refusal(exc))
    return _respond(request)


def next_card_name(names: list[str]) -> str:
    taken = set(names)
    number = len(taken) + 1
    while f"card{number:03d}" in taken:
        number += 1
    return f"card{number:03d}"


@require_POST
@operator_required
def blank(request: HttpRequest) -> HttpResponse:
    """Take a new factory-blank card and put it in the reader."""
    form = BlankCardForm(request.POST)
    try:
        store = _store_or_refuse(request)
        name = (form.data.get("name") or "").strip() or next_card_name(store.names())
        store.create(name, blank_image())
        store.insert(name)
    except PrepaidError as exc:
        return _respond(request, refusal(exc))
    return _respond(request)


@require_POST
@admin_required
def format_card(request: HttpRequest) -> HttpResponse:
    """Make the blank card in the reader a new card, without leaving the page (制作新卡).

    The form carries an idempotency key, as 卡片制作's do: sent again (Back and resend, an old
    page), it goes to the first result, the panel showing the card formatted then, instead of
    formatting the now-new card again under a fresh serial."""
    with sent_once(request.POST.get("key")):
        return _format_card(request)


def _format_card(request: HttpRequest) -> HttpResponse:
    from prepaid.cards import services as cards

    replay = done_before(request, request.POST.get("key"))
    if replay is not None:
        if is_htmx(request):
            return _respond(request, warning=card_written_before())
        messages.warning(request, card_written_before())
        return replay
    try:
        key = posted_key(request.POST)
        cards.format_card(stations.station_for(request))
    except PrepaidError as exc:
        return _respond(request, refusal(exc))
    remember(request, key, _back(request))
    return _respond(request)


@require_POST
@operator_required
def record_reading(request: HttpRequest) -> HttpResponse:
    """记录表计读数: record the meter reading on the check card in the reader under its
    customer's account (once: the same reading recorded again changes nothing)."""
    from prepaid.reports.writebacks import record_check_reading

    try:
        recorded = record_check_reading(stations.station_for(request))
    except PrepaidError as exc:
        return _respond(request, refusal(exc))
    customer = {"number": recorded.customer.user_number, "name": recorded.customer.name}
    if recorded.new:
        notice = _("Meter reading recorded for customer %(number)s %(name)s.") % customer
    else:
        notice = (
            _(
                "This meter reading was recorded before for customer %(number)s %(name)s; "
                "nothing was recorded again."
            )
            % customer
        )
    return _respond(request, notice=notice)

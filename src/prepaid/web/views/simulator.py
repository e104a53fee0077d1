"""The meter simulator (training and demos): meters, swipe the card in the reader, use water or
electricity, the display (balance, alarm, valve, result code E01…) and the event log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepaid.core.card.model import CardType
from prepaid.core.errors import PrepaidError
from prepaid.core.money import format_centi
from prepaid.web import simulator
from prepaid.web import station as stations
from prepaid.web.decorators import operator_required
from prepaid.web.errors import message
from prepaid.web.forms import MeterAddForm, MeterUseForm
from prepaid.web.presenters import CARD_TYPES
from prepaid.web.views.common import or_404, page


@operator_required
def meter_list(request: HttpRequest) -> HttpResponse:
    form = MeterAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            meter = simulator.add(form.cleaned_data["meter_id"])
        except PrepaidError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Meter %(meter_id)s added (cleared: swipe a setting card next).")
                % {"meter_id": meter.meter_id},
            )
            return redirect("web:meter", meter.meter_id)
    store = simulator.store()
    meters = []
    for meter_id in store.ids():
        try:
            meters.append(simulator.display(store.load(meter_id)))
        except PrepaidError as exc:
            meters.append({"meter_id": meter_id, "damaged": message(exc)})
    return page(request, "simulator/list.html", {"form": form, "meters": meters})


@operator_required
def meter_detail(request: HttpRequest, meter_id: str) -> HttpResponse:
    meter = or_404(simulator.store().load, meter_id)
    return _meter_page(request, meter, MeterUseForm())


def _quantity(meter: Any, quantity_centi: int) -> str:
    """A quantity with the unit of the meter's type (5.00 m³); bare on a meter not set, which
    has no type."""
    params = meter.parameters
    unit = params.meter_type.unit if params is not None else ""
    return f"{format_centi(quantity_centi)} {unit}".rstrip()


def _meter_page(request: HttpRequest, meter: Any, form: MeterUseForm) -> HttpResponse:
    shown = simulator.display(meter)
    return page(
        request,
        "simulator/meter.html",
        {"meter": shown, "events": simulator.event_log(shown), "use_form": form},
    )


@require_POST
@operator_required
def meter_swipe(request: HttpRequest, meter_id: str) -> HttpResponse:
    or_404(simulator.store().load, meter_id)
    try:
        station = stations.station_for(request)
        swipe = simulator.swipe(meter_id, station)
    except PrepaidError as exc:
        messages.error(request, message(exc), extra_tags="swipe-error")
        return redirect("web:meter", meter_id)
    outcome = swipe.outcome
    card_type = CARD_TYPES.get(outcome.card_type.code if outcome.card_type else "bad", "")
    if outcome.ok and outcome.card_type is not CardType.USER:
        messages.success(
            request,
            _("Meter %(meter_id)s accepted the card (%(card_type)s); balance %(balance)s.")
            % {
                "meter_id": meter_id,
                "card_type": card_type,
                "balance": _quantity(swipe.meter, swipe.meter.balance_centi),
            },
            extra_tags="swipe-ok",
        )
    elif outcome.ok:
        messages.success(
            request,
            _("Meter %(meter_id)s accepted the card (%(card_type)s); credit applied %(applied)s.")
            % {
                "meter_id": meter_id,
                "card_type": card_type,
                "applied": _quantity(swipe.meter, outcome.applied_centi),
            },
            extra_tags="swipe-ok",
        )
    else:
        messages.error(
            request,
            _("Meter %(meter_id)s shows %(result)s: %(reason)s")
            % {"meter_id": meter_id, "result": outcome.result.code, "reason": _(outcome.message)},
            extra_tags=f"swipe-refused {outcome.result.code}",
        )
    return redirect("web:meter", meter_id)


@require_POST
@operator_required
def meter_use(request: HttpRequest, meter_id: str) -> HttpResponse:
    meter = or_404(simulator.store().load, meter_id)
    form = MeterUseForm(request.POST)
    if form.is_valid():
        try:
            meter, requested, used = simulator.use(meter_id, form.cleaned_data["quantity"])
        except PrepaidError as exc:
            form.add_service_error(exc)
        else:
            text = _("Used %(used)s of %(requested)s.") % {
                "used": _quantity(meter, used),
                "requested": _quantity(meter, requested),
            }
            stopped = simulator.why_nothing_flows(meter) if used < requested else None
            if stopped is None:
                messages.success(request, text)
            else:  # less flowed than asked: say why, or the operator thinks the meter is broken
                # Translators: what flowed, then why no more did (two sentences, one message).
                text = _("%(used)s %(why)s") % {"used": text, "why": stopped}
                messages.warning(request, text, extra_tags="meter-stopped")
            return redirect("web:meter", meter_id)
    return _meter_page(request, meter, form)

"""The start page, the fallback of 查询 until the reports app has pages, error pages and the
site icon."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from prepaid.accounts.services import list_accounts
from prepaid.reports import shifts
from prepaid.web import getting_started
from prepaid.web import station as stations
from prepaid.web.decorators import operator_required
from prepaid.web.views.common import page


@operator_required
def home(request: HttpRequest) -> HttpResponse:
    station = stations.station_name()
    shift = shifts.open_shift_of(request.user, station)
    totals = shifts.shift_totals(shift) if shift is not None else None
    return page(
        request,
        "home.html",
        {
            "accounts": list_accounts(),
            "station": station,
            "reader_kind": stations.reader_kind(),
            "shift": shift,
            "shift_sales": sum(p.count for p in totals.payments.values()) if totals else 0,
            "shift_takings_fen": totals.takings_fen if totals else 0,
            "checklist": getting_started.checklist(request.user.is_admin),
        },
    )


@operator_required
def queries(request: HttpRequest) -> HttpResponse:
    return page(request, "queries.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The form was too old (session expired, or opened before a login): a clear 403."""
    return render(
        request,
        "403.html",
        {
            "exception": _(
                "This form has expired or was not sent by this page. Go back, reload "
                "the page and try again."
            ),
            "csrf": True,
        },
        status=403,
    )


FAVICON = "prepaid/favicon.ico"


@require_safe
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on pages without ``<link rel=icon>`` (the
    reports' print view, say): the vendored icon, for anyone, logged in or not."""
    found = finders.find(FAVICON)
    if not found:
        raise Http404(FAVICON)
    return FileResponse(open(found, "rb"), content_type="image/x-icon")

"""The start page, error pages and the site icon."""

from __future__ import annotations

from django.contrib import messages
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
from prepaid.web.http import is_htmx, page_of, redirect_whole_page
from prepaid.web.views.common import page, refused


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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose token is not this browser's: the page was opened before the last login
    (a login changes the token: the session had ended meanwhile), or the form came from
    another site. Nothing was done; the page says so and leads back to the form's page (403).
    From htmx (the reader panel's buttons, the live quote), which shows no error page, the
    whole page opens again with a fresh form and says so."""
    said = _(
        "This form was opened before your last login, or not on this site, so it was not "
        "done: nothing was charged and no card was written. Open its page again and send it "
        "once more."
    )
    back = page_of(request)
    if is_htmx(request):
        messages.error(request, said, extra_tags="csrf")
        response = redirect_whole_page(request, back)
        response.status_code = 403
        return response
    context = {"exception": said, "csrf": True, "back": back}
    return render(request, "403.html", context, status=403)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: a page or an action for administrators only (or an operator whose role was lowered
    while on an administrator's page). The permission is checked before anything is done, so a
    form sent here did nothing: the page says so. From htmx (the reader panel's 格式化) the
    refusal replaces the part of the page that asked, instead of a page htmx would not show."""
    said = str(exception)
    if is_htmx(request):
        error = {
            "code": "permission_denied",
            "message": said or _("Only an administrator may do this."),
            "not_done": request.method == "POST",
        }
        return refused(request, error, 403)
    context = {"exception": said, "not_done": request.method == "POST"}
    return render(request, "403.html", context, status=403)


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

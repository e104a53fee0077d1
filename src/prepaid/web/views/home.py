"""The start page, the fallback of 查询 until the reports app has pages, and error pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from prepaid.accounts.services import list_accounts
from prepaid.web import station as stations
from prepaid.web.decorators import operator_required
from prepaid.web.views.common import page


@operator_required
def home(request: HttpRequest) -> HttpResponse:
    return page(
        request,
        "home.html",
        {
            "accounts": list_accounts(),
            "station": stations.station_name(),
            "reader_kind": stations.reader_kind(),
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

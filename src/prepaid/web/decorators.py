"""Who may see a page: any logged-in operator, or administrators only (403 otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse

from prepaid.core.errors import PrepaidError
from prepaid.operators.services import require_admin
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.http import is_htmx, redirect_to

View = Callable[..., HttpResponse]


def _back_to(request: HttpRequest) -> str:
    """Where to go after logging in again: the page the operator was on. A form or an htmx
    request may post to an address that takes no GET (the live quote, a receipt print)."""
    if request.method == "POST" or is_htmx(request):
        for header in ("HX-Current-URL", "Referer"):
            parts = urlsplit(request.headers.get(header, ""))
            if parts.path and parts.netloc == request.get_host():
                return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


def operator_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            params = {"next": _back_to(request)}
            if request.method == "POST":
                params["unsent"] = "1"  # a form sent after the session ended: nothing was done
            query = urlencode(params)
            return redirect_to(request, "web:login", query=query)
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            require_admin(request.user)
        except PrepaidError as exc:
            raise_if_forbidden(exc)
            raise
        return view(request, *args, **kwargs)

    return operator_required(wrapper)

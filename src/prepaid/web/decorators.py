"""Who may see a page: any logged-in operator, or administrators only (403 otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from prepaid.core.errors import PrepaidError
from prepaid.operators.services import require_admin
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.http import redirect_to

View = Callable[..., HttpResponse]


def operator_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            params = {"next": request.get_full_path()}
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

"""Who may see a page: any logged-in operator, or administrators only (403 otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from prepaid.core.errors import PrepaidError
from prepaid.operators.services import require_admin
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.http import login_again

View = Callable[..., HttpResponse]


def operator_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return login_again(request)
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

"""Small HTTP helpers aware of htmx (a partial request must redirect the whole page)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect_to(
    request: HttpRequest, view_name: str, *args: object, query: str = ""
) -> HttpResponse:
    url = reverse(view_name, args=args)
    if query:
        url = f"{url}?{query}"
    return redirect_whole_page(request, url)


def redirect_whole_page(request: HttpRequest, url: str) -> HttpResponse:
    """Go to ``url``; from an htmx request, the whole page goes there (``HX-Redirect``)."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def page_of(request: HttpRequest) -> str:
    """The page the operator was on: a form or an htmx request may post to an address that
    takes no GET (the live quote, a receipt print, the reader panel's buttons), or to the
    address of its page without the page's query (开户 of customer N). Only a page of this
    site; else the address asked for."""
    if request.method == "POST" or is_htmx(request):
        for header in ("HX-Current-URL", "Referer"):
            parts = urlsplit(request.headers.get(header, ""))
            if parts.path and parts.netloc == request.get_host():
                return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


def login_again(request: HttpRequest, *, expired: bool = False) -> HttpResponse:
    """The login page, which leads back to the page the operator was on (``next``). A form
    sent when the session had ended was not done: the login page says so (``unsent``);
    ``expired``: the session ended because it was idle too long."""
    params = {"expired": "1"} if expired else {}
    params["next"] = page_of(request)
    if request.method == "POST":
        params["unsent"] = "1"
    return redirect_to(request, "web:login", query=urlencode(params))

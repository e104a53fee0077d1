"""Small HTTP helpers aware of htmx (a partial request must redirect the whole page)."""

from __future__ import annotations

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
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)

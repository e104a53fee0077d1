"""Placeholder home page until the operator web UI lands."""

from django.http import HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Prepaid")

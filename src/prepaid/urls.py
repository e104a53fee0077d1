"""URL configuration: the operator web UI and the reports."""

from django.urls import include, path

urlpatterns = [
    path("reports/", include("prepaid.reports.urls")),
    path("", include("prepaid.web.urls")),
]

handler403 = "prepaid.web.views.home.permission_denied"

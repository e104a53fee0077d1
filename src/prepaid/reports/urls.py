"""The report pages under ``/reports/`` (namespace ``reports``)."""

from django.urls import path

from prepaid.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("sales/", views.sales, name="sales"),
    path("summary/", views.summary, name="summary"),
    path("customers/", views.customer_search, name="customers"),
    path("customers/<str:user_number>/", views.customer, name="customer"),
    path("cards/", views.card_operations, name="cards"),
    path("pending/", views.pending, name="pending"),
    path("shifts/", views.shift_list, name="shifts"),
    path("shifts/close/", views.shift_close, name="shift_close"),
    path("shifts/<int:shift_id>/", views.shift, name="shift"),
    path("shifts/<int:shift_id>/print/", views.shift_print, name="shift_print"),
    path("suspicious/", views.suspicious_customers, name="suspicious"),
    path("audit/", views.audit_log, name="audit"),
    path("charts/<slug:name>.svg", views.chart, name="chart"),
]

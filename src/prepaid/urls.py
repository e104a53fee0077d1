"""URL configuration."""

from django.urls import path

from prepaid import views

urlpatterns = [
    path("", views.home, name="home"),
]

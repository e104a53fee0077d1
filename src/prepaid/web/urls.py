from django.urls import path

from prepaid.web import views

urlpatterns = [
    path("", views.home, name="home"),
]

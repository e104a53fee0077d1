from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "prepaid.web"

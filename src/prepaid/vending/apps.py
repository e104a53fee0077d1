from django.apps import AppConfig


class VendingConfig(AppConfig):
    name = "prepaid.vending"

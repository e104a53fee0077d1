"""Prepaid: vending software for prepaid IC-card utility meters."""

__version__ = "0.1.0"

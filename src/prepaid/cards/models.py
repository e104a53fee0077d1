"""The office's register of cards it has written, and of every card operation."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CardOperation(models.Model):
    """One card operation, append-only: formats, recycles, tool cards, opens, reissues,
    meter changes. Tool cards issued are the rows of kind ``tool_card``."""

    class Kind(models.TextChoices):
        FORMAT = "format"
        RECYCLE = "recycle"
        TOOL_CARD = "tool_card"
        OPEN = "open"
        REISSUE = "reissue"
        METER_CHANGE = "meter_change"
        RESTORE = "restore"

    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    card_serial = models.CharField(max_length=16, db_index=True)
    tool_type = models.CharField(max_length=16, blank=True)  # setting|clear_all|zero|check
    account = models.ForeignKey(
        "accounts.Account", null=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, on_delete=models.PROTECT, related_name="card_operations"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    station = models.CharField(max_length=64, blank=True)
    time = models.DateTimeField(db_index=True)
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]


class SiteKey(models.Model):
    """The fingerprint of the site's card key (one row, ``id`` 1), recorded by the first
    station that initialises the site, or, in a database from before it existed, by the first
    station that runs after the upgrade. A station whose ``secrets.json`` holds another key
    is refused before it reads or writes a card (``prepaid.cards.site``)."""

    SINGLETON = 1

    fingerprint = models.CharField(max_length=64)  # mac.site_key_fingerprint: never the key
    station = models.CharField(max_length=64, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="site_key_singleton"),
        ]

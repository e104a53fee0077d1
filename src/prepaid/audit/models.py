"""The audit log: every state change, hash-chained so that an edited row is detected."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    # Read in id order (verify) and by object for a receipt's prints: every other index would
    # be written on each sale and read by nothing (migrations 0003, 0004).
    time = models.DateTimeField()
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    operator_name = models.CharField(max_length=150)
    station = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)  # stable action code
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        # The one look-up by object: a receipt's prints (prepaid.web.receipts), of a purchase
        # or a reissue. Partial, so the entries every sale appends are written into no index
        # but the table's own.
        indexes = [
            models.Index(
                fields=["object_type", "object_id"],
                name="audit_receipt_prints",
                condition=models.Q(action="receipt.print"),
            )
        ]


class AuditHead(models.Model):
    """One row, locked while appending so that the chain stays a chain with several stations."""

    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

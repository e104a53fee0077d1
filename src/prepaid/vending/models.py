"""Vending: customers' accounts and cards, purchases, the ledger, shifts, meter changes.

Money in fen, quantities in centi-units (integers). Ledger rows are never updated or
deleted; a purchase's status only moves forward (pending → completed | voided;
completed → corrected), each move audited.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Shift(models.Model):
    """An operator's shift at one station; every ledger entry belongs to one."""

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts"
    )
    station = models.CharField(max_length=64)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "station"],
                condition=Q(closed_at__isnull=True),
                name="one_open_shift_per_operator_station",
            ),
        ]


class CustomerCard(models.Model):
    """A user card given to a customer. One active card per customer; a reissue revokes it."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"
        RECYCLED = "recycled"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cards"
    )
    serial = models.CharField(max_length=16, unique=True)
    generation = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="active"),
                name="one_active_card_per_customer",
            ),
            models.UniqueConstraint(fields=["customer", "generation"], name="card_generation_once"),
        ]


class CustomerAccount(models.Model):
    """A customer opened on an account (开户): price type, purchase serial counter, meter."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="accounts"
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="customers"
    )
    price = models.ForeignKey("accounts.Price", on_delete=models.PROTECT, related_name="customers")
    last_serial = models.PositiveIntegerField(default=0)  # last purchase serial issued
    opened_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "account"], name="open_once_per_account"),
        ]


class Purchase(models.Model):
    """One purchase serial written (or being written) to a customer's card for a sub-meter.

    A correction writes the same serial again with another quantity: the original becomes
    ``corrected`` when the correction completes. A meter-change transfer is a purchase of
    kind ``transfer`` (no money).
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase"
        TRANSFER = "transfer"

    class Status(models.TextChoices):
        PENDING = "pending"
        COMPLETED = "completed"
        VOIDED = "voided"
        CORRECTED = "corrected"

    customer_account = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="purchases"
    )
    serial = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Looked up through the reports' (status, created_at, …) index.
    status = models.CharField(max_length=16, choices=Status.choices)
    quantity_centi = models.BigIntegerField()
    amount_fen = models.BigIntegerField()
    tendered_fen = models.BigIntegerField(default=0)
    price_version = models.ForeignKey(
        "accounts.PriceVersion", null=True, on_delete=models.PROTECT, related_name="purchases"
    )
    tier_lines = models.JSONField(default=list)
    period_start = models.DateField(null=True)
    payment_method = models.CharField(max_length=16, blank=True)
    card_serial = models.CharField(max_length=16)
    card_generation = models.PositiveIntegerField()
    # Never looked up by these three (a sale would write their indexes for nothing): the
    # corrected purchase is read by its id, the pending ones by status (migration 0003).
    supersedes = models.ForeignKey(
        "self", null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    idempotency_key = models.CharField(max_length=64, unique=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="purchases")
    station = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A purchase serial is issued once: at most one live purchase per serial
            # (a correction of the same serial may be pending beside the completed one).
            models.UniqueConstraint(
                fields=["customer_account", "serial"],
                condition=Q(status="completed"),
                name="serial_completed_once",
            ),
            models.UniqueConstraint(
                fields=["customer_account"],
                condition=Q(status="pending"),
                name="one_pending_purchase_per_account",
            ),
        ]
        indexes = [
            # What an account's completed purchases add up to, up to a serial or since a
            # tariff period began (meter write-backs, tiers), read from the index alone
            # (SQLite needs the status among the columns to know that).
            models.Index(
                fields=[
                    "customer_account",
                    "serial",
                    "quantity_centi",
                    "kind",
                    "created_at",
                    "period_start",
                    "status",
                ],
                condition=Q(status="completed"),
                name="purchase_completed_cover",
            ),
        ]


class LedgerEntry(models.Model):
    """Money and credit that moved, append-only. Corrections are new rows, never edits."""

    class Kind(models.TextChoices):
        SALE = "sale"
        REVERSAL = "reversal"
        FEE = "fee"
        TRANSFER = "transfer"

    class Payment(models.TextChoices):
        CASH = "cash"
        WECHAT = "wechat"
        ALIPAY = "alipay"
        BANK_CARD = "bank_card"
        OTHER = "other"

    # Time, customer, account, price version and operator are looked up through the reports'
    # covering indexes that start with them (``reports`` migrations 0002 and 0005): an index
    # of their own would only be one more to write on every sale.
    kind = models.CharField(max_length=16, choices=Kind.choices)
    time = models.DateTimeField()
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="ledger", db_index=False
    )
    account = models.ForeignKey(
        "accounts.Account", null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    purchase = models.ForeignKey(
        Purchase, null=True, on_delete=models.PROTECT, related_name="ledger"
    )
    reverses = models.OneToOneField(
        "self", null=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    serial = models.PositiveIntegerField(null=True)
    quantity_centi = models.BigIntegerField(default=0)
    amount_fen = models.BigIntegerField()
    payment_method = models.CharField(max_length=16, choices=Payment.choices, blank=True)
    price_version = models.ForeignKey(
        "accounts.PriceVersion",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="ledger")
    station = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=80, unique=True)
    remarks = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase"], condition=Q(kind="sale"), name="one_sale_entry_per_purchase"
            ),
        ]


class MeterChange(models.Model):
    """A meter replacement (换表): readings of the old meter and the credit moved."""

    customer_account = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="meter_changes"
    )
    transfer = models.OneToOneField(Purchase, on_delete=models.PROTECT, related_name="+")
    remaining_centi = models.BigIntegerField()  # left on the old meter, as the operator read it
    prestore_centi = models.BigIntegerField()  # the new meter's pre-stored quantity, deducted
    carried_centi = models.BigIntegerField()  # an unswiped last purchase carried over
    value_fen = models.BigIntegerField()  # money value of the transfer at the current price
    old_cumulative_centi = models.BigIntegerField(null=True)
    old_balance_centi = models.BigIntegerField(null=True)
    # Whether the old meter had taken the last purchase, as the admin read it on its display:
    # asked only when the office could not tell (written on a card reissued since), else None.
    last_taken = models.BooleanField(null=True)
    reason = models.CharField(max_length=200, blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    time = models.DateTimeField()

"""Reports: shift settlements, meter write-backs seen by the office, and derived aggregates.

* :class:`ShiftSettlement` — the closing of a shift (日结/交班): takings per payment method,
  expected and counted cash. Written once, never changed.
* :class:`WriteBackObservation` — what a meter wrote back on a customer's card, as the office
  saw it when the card was read (the office learns about swipes only this way), and the
  readings a check card brought back from a customer's meter (``source``).
* :class:`SalesDay` and :class:`MonthlyPurchase` — aggregates of the append-only ledger,
  rebuilt by key from the ledger (``prepaid.reports.aggregates``); they hold nothing that the
  ledger does not, and can be dropped and rebuilt at any time.
* :class:`SuspicionRules` — the administrator's overrides of the suspicious-customer rule
  thresholds (``prepaid.reports.suspicious.DEFAULT_RULES``).

Money in fen, quantities in centi-units, as everywhere.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# Aggregates point at their keys without database constraints: they are derived data and must
# never stand in the way of anything (deleting, restoring a backup table by table).
_KEY = {"on_delete": models.DO_NOTHING, "db_constraint": False, "related_name": "+"}


class ShiftSettlement(models.Model):
    """A closed shift's settlement. Created by ``close_shift``; immutable afterwards."""

    shift = models.OneToOneField(
        "vending.Shift", on_delete=models.PROTECT, related_name="settlement"
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField()
    entry_count = models.PositiveIntegerField()
    takings_fen = models.BigIntegerField()  # all money of the shift, every payment method
    expected_cash_fen = models.BigIntegerField()
    counted_cash_fen = models.BigIntegerField()
    variance_fen = models.BigIntegerField()  # counted − expected
    # {"cash": {"count": 3, "sales_fen": …, "reversals_fen": …, "fees_fen": …,
    #           "amount_fen": …}, …} (no quantity: m³ and kWh do not add up; settlements of
    #           earlier versions also hold a "quantity_centi", never read)
    totals = models.JSONField(default=dict)
    last_entry_id = models.BigIntegerField(null=True)  # the shift's last ledger entry
    remarks = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-closed_at"]


class WriteBackObservation(models.Model):
    """One meter write-back record read from a customer's card.

    A meter writes its record after every user-card swipe; it stays on the card until the
    next swipe, so the office sees each record once or several times (stored once).
    ``credited_centi`` is what the office had credited on this customer account up to the
    last serial the meter applied; ``meter_segment`` counts the meter changes before it, so
    readings of one physical meter can be compared with each other.

    A check card's reading (``source`` ``check_card``) is stored the same way, under the
    customer and customer account the meter is bound to: ``card_serial`` is then the check
    card's, ``card_generation`` the generation of the user card the meter knows, ``result`` 0.
    It is stored once per customer, sub-meter and meter clock, whichever check card brought it.
    """

    class Source(models.TextChoices):
        USER_CARD = "user_card"  # the meter's write-back on the customer's card
        CHECK_CARD = "check_card"  # a check card's reading (检查卡)

    # Customer and customer account are looked up through the indexes below that start with them.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    customer_account = models.ForeignKey(
        "vending.CustomerAccount",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    account = models.ForeignKey(
        "accounts.Account", null=True, on_delete=models.PROTECT, related_name="+"
    )
    card_serial = models.CharField(max_length=16)
    card_generation = models.PositiveIntegerField()
    sub_meter = models.PositiveSmallIntegerField()
    last_serial = models.PositiveIntegerField()
    balance_centi = models.BigIntegerField()
    cumulative_centi = models.BigIntegerField()
    status = models.PositiveIntegerField()  # prepaid.core.card.model.MeterStatus bits
    result = models.PositiveSmallIntegerField()  # 0 ok, 1 = E01 …
    meter_time = models.DateTimeField()  # the meter's clock at the swipe
    observed_at = models.DateTimeField()  # when the office read the card
    credited_centi = models.BigIntegerField(null=True)
    meter_segment = models.PositiveIntegerField(default=0)
    # Against the previous reading of the same meter (0 for the first one): the use it reports
    # since, and what that use leaves unexplained by the credit written and the balance change
    # (use − credit + balance drop; 0 for an honest meter). Summed over a period by the
    # suspicious-customer report.
    use_centi = models.BigIntegerField(default=0)
    unexplained_centi = models.BigIntegerField(default=0)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.USER_CARD)

    class Meta:
        ordering = ["meter_time", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "card_serial",
                    "sub_meter",
                    "meter_time",
                    "last_serial",
                    "balance_centi",
                    "cumulative_centi",
                ],
                name="write_back_observed_once",
            ),
            models.UniqueConstraint(
                fields=["customer", "sub_meter", "meter_time"],
                condition=models.Q(source="check_card"),
                name="check_reading_recorded_once",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "meter_time"], name="wbo_customer_time"),
            models.Index(
                fields=["customer_account", "meter_segment", "meter_time"],
                name="wbo_account_segment_time",
            ),
            models.Index(fields=["meter_time"], name="wbo_meter_time"),
        ]


class SalesDay(models.Model):
    """Ledger totals of one local day per operator, station, account, price, payment, kind."""

    day = models.DateField()
    month = models.DateField()  # first day of the month
    year = models.PositiveSmallIntegerField()
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, **_KEY)
    station = models.CharField(max_length=64)
    account = models.ForeignKey("accounts.Account", null=True, **_KEY)
    price = models.ForeignKey("accounts.Price", null=True, **_KEY)
    payment_method = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=16)
    entry_count = models.PositiveIntegerField()
    quantity_centi = models.BigIntegerField()
    amount_fen = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="salesday_day"),
            models.Index(fields=["month"], name="salesday_month"),
            models.Index(fields=["year"], name="salesday_year"),
        ]


class SalesMonth(models.Model):
    """:class:`SalesDay` summed per local month (month and year summaries read this)."""

    month = models.DateField()
    year = models.PositiveSmallIntegerField()
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, **_KEY)
    station = models.CharField(max_length=64)
    account = models.ForeignKey("accounts.Account", null=True, **_KEY)
    price = models.ForeignKey("accounts.Price", null=True, **_KEY)
    payment_method = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=16)
    entry_count = models.PositiveIntegerField()
    quantity_centi = models.BigIntegerField()
    amount_fen = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["month"], name="salesmonth_month"),
            models.Index(fields=["year"], name="salesmonth_year"),
        ]


class MonthlyPurchase(models.Model):
    """Net purchases of one customer on one account in one local month (sales − reversals)."""

    customer = models.ForeignKey("customers.Customer", **_KEY)
    account = models.ForeignKey("accounts.Account", **_KEY)
    month = models.DateField()
    sale_count = models.PositiveIntegerField()  # sale entries (a correction adds one)
    reversal_count = models.PositiveIntegerField()
    quantity_centi = models.BigIntegerField()
    amount_fen = models.BigIntegerField()
    first_sale_at = models.DateTimeField(null=True)
    last_sale_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "account", "month"], name="monthly_purchase_once"
            ),
        ]
        indexes = [models.Index(fields=["month"], name="monthlypurchase_month")]


class AggregateState(models.Model):
    """How far the aggregates have been brought up to date with the ledger."""

    name = models.CharField(max_length=32, primary_key=True)
    settled_ledger_id = models.BigIntegerField(default=0)  # every entry up to it is counted
    refreshed_at = models.DateTimeField(null=True)
    # The time zone the local days and months were counted in ("" before it was recorded):
    # totals of another zone are rebuilt before they are read (``refresh_aggregates``).
    time_zone = models.CharField(max_length=64, blank=True, default="")


class SuspicionRules(models.Model):
    """The administrator's overrides of the suspicious-customer thresholds (one row)."""

    overrides = models.JSONField(default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(null=True)


class OfficeTimeZone(models.Model):
    """The office's time zone (one row, ``id`` 1): every station of the database counts its
    local days in it (shifts' times, the reports' days and months, the stored totals, tier
    periods). Recorded by the first ``prepaid init`` of the site, or, in a database from
    before it existed, by the first command or server after the upgrade; changed only by an
    administrator (``prepaid office time-zone``). A station whose ``PREPAID_TIME_ZONE`` is
    another is refused before it does anything (``prepaid.reports.time_zone``)."""

    SINGLETON = 1

    time_zone = models.CharField(max_length=64)
    station = models.CharField(max_length=64, blank=True)  # where it was recorded or changed
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="office_time_zone_singleton"),
        ]

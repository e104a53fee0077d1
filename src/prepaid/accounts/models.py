"""Accounts (账户) — the utility slots of the system — and their prices (价格)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MeterTypeChoice(models.IntegerChoices):
    WATER = 1, _("Water")
    ELECTRICITY = 2, _("Electricity")
    GAS = 3, _("Gas")
    HEAT = 4, _("Heat")


class Account(models.Model):
    name = models.CharField(max_length=64)
    meter_type = models.PositiveSmallIntegerField(choices=MeterTypeChoice.choices)
    sub_meter = models.PositiveSmallIntegerField(unique=True)  # 子表号 1–4
    limit_centi = models.BigIntegerField()  # 限购量
    prestore_centi = models.BigIntegerField()  # 预存量
    alarm_centi = models.BigIntegerField()  # 报警量
    overdraft_centi = models.BigIntegerField()  # 透支量
    maintenance_code = models.PositiveIntegerField()  # 系统维护码
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["sub_meter"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sub_meter__gte=1, sub_meter__lte=4),
                name="account_sub_meter_1_to_4",
            ),
        ]

    def __str__(self) -> str:
        # as the report filters list it: 自来水（1）, its sub-meter number in the page's brackets
        return str(_("%(name)s (%(sub_meter)s)") % {"name": self.name, "sub_meter": self.sub_meter})


class Price(models.Model):
    """A price type (价格类型) of an account, e.g. 居民用水; its tariff lives in versions."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="prices")
    name = models.CharField(max_length=64)
    remarks = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PriceVersion(models.Model):
    """A tariff from a date on (调整价格 adds one); sales keep the version they used."""

    price = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    effective_from = models.DateField()
    period = models.CharField(max_length=8)  # none | month | year (prepaid.core.pricing)
    tiers = models.CharField(max_length=400)  # "0-180:5.00,180-260:7.00,260-:9.00"
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["price_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["price", "number"], name="price_version_number"),
        ]

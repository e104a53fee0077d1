"""Customers (用户): registered households or businesses."""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    user_number = models.CharField(max_length=12, unique=True)  # 用户编号
    name = models.CharField(max_length=64, db_index=True)
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    address = models.CharField(max_length=200, blank=True)
    id_number = models.CharField(max_length=32, blank=True)
    remarks = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["user_number"]

    def __str__(self) -> str:
        return f"{self.user_number} {self.name}"

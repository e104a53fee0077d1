"""Operators (操作员): people who log in, with a role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR = "operator", _("Operator")  # 收费员
    ADMIN = "admin", _("Administrator")  # 管理员


class Operator(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)
    # The default password 1111 of a fresh install must be changed before anything else.
    must_change_password = models.BooleanField(default=False)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=16, default="zh-hans")

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

"""Initialising a data directory (``prepaid init``): idempotent."""

from __future__ import annotations

from typing import Any

from prepaid.home import DataHome


def initialise(home: DataHome, admin_password: str | None = None) -> dict[str, Any]:
    from django.core.management import call_command

    from prepaid.operators.services import ensure_admin

    home.create_dirs()
    created_secrets = home.ensure_secrets()
    if created_secrets:
        _reload_secret_key(home)
    call_command("migrate", interactive=False, verbosity=0)
    _, admin_created = ensure_admin(admin_password)
    return {
        "home": str(home.root),
        "secrets_created": created_secrets,
        "admin_created": admin_created,
    }


def _reload_secret_key(home: DataHome) -> None:
    """Settings were loaded before the secrets existed: use the new key from now on."""
    from django.conf import settings

    settings.SECRET_KEY = home.load_secrets().django_secret_key

"""Initialising a data directory (``prepaid init``): idempotent."""

from __future__ import annotations

from typing import Any

from prepaid.core.errors import InvalidInput, PrepaidError, _, os_reason
from prepaid.home import DataHome


def initialise(home: DataHome, admin_password: str | None = None) -> dict[str, Any]:
    from django.core.management import call_command

    from prepaid.cards.site import require_site_key
    from prepaid.operators.services import check_admin_password, ensure_admin
    from prepaid.reports.time_zone import require_office_time_zone

    if admin_password is not None and not home.exists():
        # a new site's admin: a password refused leaves the directory as it was, not a site
        # made (secrets, database) without its administrator
        check_admin_password(admin_password)
    try:
        # refused before anything is made: a station joining without the site's secrets
        if not home.secrets_file.exists() and _site_exists():
            raise site_secrets_missing(home)
        home.create_dirs()
        created_secrets = home.ensure_secrets()
    except OSError as exc:
        raise InvalidInput(
            "cannot_create_home",
            _("Cannot create the data directory %(path)s: %(reason)s"),
            path=str(home.root),
            reason=os_reason(exc),
        ) from exc
    if created_secrets:
        _reload_secret_key(home)
    call_command("migrate", interactive=False, verbosity=0)
    # The first station records the office's time zone (so does the first station to run after
    # an upgrade); a further station in another zone is refused here, before it writes anything.
    require_office_time_zone()
    # The first station records the fingerprint of the site's card key (so does the first
    # station to run after an upgrade, in a database from before it was recorded); a further
    # station with another site's secrets.json is refused here, before it writes any card.
    require_site_key(home.load_secrets().card_key)
    admin_created = ensure_admin(admin_password)[1]
    return {
        "home": str(home.root),
        "secrets_created": created_secrets,
        "admin_created": admin_created,
    }


def site_secrets_missing(home: DataHome) -> PrepaidError:
    return PrepaidError(
        "site_secrets_missing",
        _(
            "This database already belongs to an initialised site, but %(path)s has no "
            "secrets.json: copy it from the first station (mode 0600), then run "
            "“prepaid init” again. New secrets would give this station a card key of its own."
        ),
        path=str(home.root),
    )


def _site_exists() -> bool:
    """Whether the database already holds a site (its operators): a further station, or a
    data directory whose secrets were lost. Either way new secrets must not be made."""
    from pathlib import Path

    from django.db import connection

    from prepaid.operators.models import Operator

    if connection.vendor == "sqlite" and not Path(str(connection.settings_dict["NAME"])).exists():
        return False  # no database file yet (connecting would make one): no site
    if Operator._meta.db_table not in connection.introspection.table_names():
        return False
    return Operator.objects.exists()


def _reload_secret_key(home: DataHome) -> None:
    """Settings were loaded before the secrets existed: use the new key from now on."""
    from django.conf import settings

    settings.SECRET_KEY = home.load_secrets().django_secret_key

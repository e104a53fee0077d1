"""Is this station's card key the site's? (docs/stations.md)

Stations sharing a database must share the site secrets too. A station whose ``secrets.json``
came from another site, or was made anew, would take every valid customer card for a torn or
forged one and "restore" it under its own key, destroying it. So the database records a
fingerprint of the card key (:func:`prepaid.core.card.mac.site_key_fingerprint`, never the key)
and a station with another key is refused before it reads or writes a card.

The check costs one query per database connection: the key found good is remembered on the
connection (a server thread's connection serves many requests, a CLI command has one), and
forgotten when the connection is replaced.
"""

from __future__ import annotations

from django.db import connection

from prepaid.core.card.mac import site_key_fingerprint
from prepaid.core.errors import PrepaidError, _
from prepaid.singletons import record_once

# On the connection wrapper: (the DB-API connection the key was checked on, the key).
_CHECKED = "_prepaid_site_key_checked"


def wrong_site_secrets() -> PrepaidError:
    return PrepaidError(
        "wrong_site_secrets",
        _(
            "This station's secrets.json holds another card key than the site of this "
            "database (it is another office's, or was made anew, or the database was "
            "restored from another site's backup): the cards it read it would take for forged "
            "and rewrite, destroying them. Nothing was done. Put the site's secrets.json "
            "(mode 0600) in this station's data directory, from another station of the site "
            "or from the site's backup (docs/backup.md), then start it again."
        ),
    )


def require_site_key(site_key: bytes) -> None:
    """Refuse (``wrong_site_secrets``) a card key that is not the site's. A database without
    a fingerprint yet (a site set up before it was recorded) takes this key's."""
    checked = getattr(connection, _CHECKED, None)
    if checked is not None and checked[1] == site_key and checked[0] is connection.connection:
        return
    fingerprint = site_key_fingerprint(site_key)
    recorded = recorded_fingerprint()
    if recorded is None:
        if _record(fingerprint) != fingerprint:
            raise wrong_site_secrets()
        # Not remembered before the row is committed: a caller's transaction might still
        # roll it back. The next check finds it recorded.
        return
    if recorded != fingerprint:
        raise wrong_site_secrets()
    setattr(connection, _CHECKED, (connection.connection, site_key))


def recorded_fingerprint() -> str | None:
    from prepaid.cards.models import SiteKey

    return (
        SiteKey.objects.filter(pk=SiteKey.SINGLETON).values_list("fingerprint", flat=True).first()
    )


def _record(fingerprint: str) -> str:
    """Record ``fingerprint`` as the site's; returns the one recorded (another station's when
    it got there first)."""
    from prepaid.cards.models import SiteKey

    return record_once(SiteKey, "fingerprint", fingerprint, "site_key.record", recorded_fingerprint)

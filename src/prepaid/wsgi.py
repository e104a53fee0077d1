"""WSGI entry point, for running the web UI under another WSGI server than ``prepaid serve``
(``prepaid.wsgi:application``).

It makes the checks ``prepaid serve`` makes before serving
(:func:`prepaid.server.require_station_ready`): a station in another time zone than the
office's, with another site's card key, or with a bad reader setting is refused — the error,
in the station's language, in the server's log, and the application is not loaded.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.core.wsgi import get_wsgi_application

log = logging.getLogger("prepaid.wsgi")


class StationRefused(RuntimeError):
    """The station may not serve (the message says why, in the station's language)."""


def load() -> Any:
    """The application, once the station is found fit to serve."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepaid.settings")
    wsgi = get_wsgi_application()
    from django.utils import translation

    from prepaid.core.errors import PrepaidError
    from prepaid.server import require_station_ready
    from prepaid.web.station import data_home

    try:
        require_station_ready(data_home())
    except PrepaidError as exc:
        message = exc.translate(translation.gettext)
        log.critical("prepaid: %s", message)
        raise StationRefused(message) from None
    return wsgi


application = load()

# A server that loads the application before forking its workers: none inherits a connection.
# (One inside a transaction is left alone: closing it would end that transaction, as it would
# for a test importing this module.)
from django.db import connections  # noqa: E402

for _connection in connections.all(initialized_only=True):
    if not _connection.in_atomic_block:
        _connection.close()

"""The station a web request acts at: the operator, the card reader, the site key, the name.

One helper builds the :class:`~prepaid.vending.services.Station` for every page that reads or
writes a card, the way the CLI does (``prepaid.cli.vend.station``):

* the data directory is ``settings.HOME`` (read at call time, so tests can point it elsewhere);
* the site card key comes from its secrets (cached per data directory);
* the reader is ``reader_for_station(home, secrets, os.environ)`` (``PREPAID_READER``);
* the station name is ``PREPAID_STATION`` or the host name.

``PREPAID_WEB_CARD_STORE=per-operator`` (virtual reader only) gives every operator a card store
and reader of their own under ``cards/operators/<operator id>/``: a training room where each
trainee works on one server with their own virtual reader, and the web benchmark, whose
clients sell concurrently. The default (``shared``) is one reader per station, as in an office.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from django.conf import settings

from prepaid.cards.site import require_site_key
from prepaid.home import DataHome, SiteSecrets, station_name
from prepaid.readers.base import CardReader
from prepaid.readers.virtual import CardStore, VirtualReader
from prepaid.vending.services import Station

CARD_STORE_ENV = "PREPAID_WEB_CARD_STORE"
PER_OPERATOR = "per-operator"


def data_home() -> DataHome:
    home: DataHome = settings.HOME
    return home


@functools.lru_cache(maxsize=16)
def _secrets(root: Path) -> SiteSecrets:
    return DataHome(root).load_secrets()


def site_secrets() -> SiteSecrets:
    return _secrets(data_home().root)


def reader_kind() -> str:
    return os.environ.get("PREPAID_READER", "virtual")


def is_virtual() -> bool:
    return reader_kind() == "virtual"


def card_store(operator: Any) -> CardStore | None:
    """The virtual card store this operator's reader uses; ``None`` with a real reader."""
    if not is_virtual():
        return None
    root = data_home().cards
    if os.environ.get(CARD_STORE_ENV) == PER_OPERATOR and getattr(operator, "pk", None):
        root = root / "operators" / str(operator.pk)
    if not root.is_dir():  # one stat on every request; made once
        root.mkdir(parents=True, exist_ok=True)
    return CardStore(root)


def reader_for(operator: Any) -> CardReader:
    store = card_store(operator)
    if store is not None and os.environ.get(CARD_STORE_ENV) == PER_OPERATOR:
        return VirtualReader(store)
    from prepaid.readers import reader_for_station

    return reader_for_station(data_home(), site_secrets(), os.environ)


def station_for(request: Any) -> Station:
    """The station of this request: who acts, with which reader, under which site key
    (refused when it is not the site's: ``wrong_site_secrets``)."""
    site_key = site_secrets().card_key
    require_site_key(site_key)
    return Station(
        operator=request.user,
        reader=reader_for(request.user),
        site_key=site_key,
        name=station_name(),
    )

"""Card readers: the port (`base.CardReader`), the virtual reader and the PC/SC reader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from prepaid.core.errors import InvalidInput, _

if TYPE_CHECKING:
    from prepaid.home import DataHome, SiteSecrets
    from prepaid.readers.base import CardReader


def reader_for_station(home: DataHome, secrets: SiteSecrets, env: Mapping[str, str]) -> CardReader:
    """The reader chosen by ``PREPAID_READER`` (``virtual``, the default, or ``pcsc``)."""
    kind = env.get("PREPAID_READER", "virtual")
    if kind == "virtual":
        from prepaid.readers.virtual import CardStore, VirtualReader

        return VirtualReader(CardStore(home.cards))
    if kind == "pcsc":
        from prepaid.readers.pcsc import PcscReader

        return PcscReader.from_environment(env, psc=secrets.psc, mifare_key=secrets.mifare_key)
    raise InvalidInput(
        "bad_reader", _("PREPAID_READER must be “virtual” or “pcsc”, not “%(kind)s”."), kind=kind
    )

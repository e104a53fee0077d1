"""Key derivation and MACs of the card image (layout v1, see docs/card-format.md).

One secret per site (the *site key*) protects every card of the site. No card is MAC'd with
the site key itself: each card gets two keys of its own, derived from the site key and the
card serial, one for the office area and one for the meter area. A key of one card is
therefore useless on another card, and content copied onto a card with another serial (or
from another site) fails its MAC.

The labels carry the layout version, so a future layout derives unrelated keys and an image
of one version can never verify as another.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct
from typing import Final

MAC_SIZE: Final = 16  # HMAC-SHA256 truncated to 128 bits: forging needs ~2**128 tries
SERIAL_SIZE: Final = 8
# A shorter secret could be found by trying keys against one card image.
MIN_SITE_KEY_SIZE: Final = 16

OFFICE_KEY_LABEL: Final = b"prepaid/office/v1"
METER_KEY_LABEL: Final = b"prepaid/meter/v1"
FINGERPRINT_LABEL: Final = b"prepaid/site-key-fingerprint/v1"

_GENERATION: Final = struct.Struct(">H")


def check_site_key(site_key: bytes) -> None:
    """Refuse a site key that is not a secret of at least 16 bytes (a programming error)."""
    if not isinstance(site_key, bytes):
        raise TypeError(f"site key must be bytes, not {type(site_key).__name__}")
    if len(site_key) < MIN_SITE_KEY_SIZE:
        raise ValueError(f"site key must be at least {MIN_SITE_KEY_SIZE} bytes")


# Per-card keys are a pure function of (site key, label, serial), and a meter or an office
# station sees the same cards again and again: keep the keyed HMAC states of the last 4096
# (a derivation costs as much as a MAC). The cache holds the site key as part of its keys;
# it is in memory anyway while the codec runs.
_KEY_CACHE_SIZE: Final = 4096


def _derive(site_key: bytes, label: bytes, serial_bytes: bytes) -> bytes:
    check_site_key(site_key)
    assert len(serial_bytes) == SERIAL_SIZE, "a card serial is 8 bytes"
    return hmac.digest(site_key, label + serial_bytes, hashlib.sha256)


@functools.lru_cache(maxsize=_KEY_CACHE_SIZE)
def _keyed(site_key: bytes, label: bytes, serial_bytes: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 state keyed with the per-card key. Shared, so never updated itself:
    :func:`_mac` copies it per message, which also saves the key set-up of a one-shot HMAC."""
    return hmac.new(_derive(site_key, label, serial_bytes), digestmod=hashlib.sha256)


def _mac(site_key: bytes, label: bytes, serial_bytes: bytes, message: bytes) -> bytes:
    # bytes() so that the cache key is hashable and cannot change under it (bytearray).
    state = _keyed(site_key, label, bytes(serial_bytes)).copy()
    state.update(message)
    return state.digest()[:MAC_SIZE]


def office_key(site_key: bytes, serial_bytes: bytes) -> bytes:
    """The per-card key of the office area: HMAC-SHA256(site_key, label + serial)."""
    return _derive(site_key, OFFICE_KEY_LABEL, serial_bytes)


def meter_key(site_key: bytes, serial_bytes: bytes) -> bytes:
    """The per-card key of the meter area: HMAC-SHA256(site_key, label + serial)."""
    return _derive(site_key, METER_KEY_LABEL, serial_bytes)


def office_mac(site_key: bytes, serial_bytes: bytes, content: bytes) -> bytes:
    """The office MAC over header and body (image bytes 0x20..0x7F).

    The serial is inside ``content`` too; it also selects the key, which is what binds the
    content to this one card.
    """
    assert len(content) == 0x60, "the office MAC covers exactly header + body"
    check_site_key(site_key)
    return _mac(site_key, OFFICE_KEY_LABEL, serial_bytes, content)


def meter_mac(site_key: bytes, serial_bytes: bytes, generation: int, records: bytes) -> bytes:
    """The meter MAC over serial, card generation and the meter records (0x90..0xDF).

    The generation is in the message so that write-backs made on one generation of a card do
    not verify after the office rewrites the card with another generation.
    """
    assert len(records) == 0x50, "the meter MAC covers exactly the four records"
    check_site_key(site_key)
    message = serial_bytes + _GENERATION.pack(generation) + records
    return _mac(site_key, METER_KEY_LABEL, serial_bytes, message)


def site_key_fingerprint(site_key: bytes) -> str:
    """What the database records of the site key, to recognise a station whose secrets are
    another site's: HMAC-SHA256 of a fixed label under the key, 64 hex digits. It reveals
    nothing of the key, and no card MAC is made with that label."""
    check_site_key(site_key)
    return hmac.digest(site_key, FINGERPRINT_LABEL, hashlib.sha256).hex()


def macs_equal(expected: bytes, found: bytes) -> bool:
    """Compare two MACs in constant time, so timing does not reveal a correct prefix."""
    return hmac.compare_digest(expected, found)

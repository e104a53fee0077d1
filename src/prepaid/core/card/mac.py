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

_GENERATION: Final = struct.Struct(">H")


def check_site_key(site_key: bytes) -> None:
    """Refuse a site key that is not a secret of at least 16 bytes (a programming error)."""
    if not isinstance(site_key, bytes):
        raise TypeError(f"site key must be bytes, not {type(site_key).__name__}")
    if len(site_key) < MIN_SITE_KEY_SIZE:
        raise ValueError(f"site key must be at least {MIN_SITE_KEY_SIZE} bytes")


def _derive(site_key: bytes, label: bytes, serial_bytes: bytes) -> bytes:
    check_site_key(site_key)
    assert len(serial_bytes) == SERIAL_SIZE, "a card serial is 8 bytes"
    return hmac.digest(site_key, label + serial_bytes, hashlib.sha256)


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
    key = office_key(site_key, serial_bytes)
    return hmac.digest(key, content, hashlib.sha256)[:MAC_SIZE]


def meter_mac(site_key: bytes, serial_bytes: bytes, generation: int, records: bytes) -> bytes:
    """The meter MAC over serial, card generation and the meter records (0x90..0xDF).

    The generation is in the message so that write-backs made on one generation of a card do
    not verify after the office rewrites the card with another generation.
    """
    assert len(records) == 0x50, "the meter MAC covers exactly the four records"
    key = meter_key(site_key, serial_bytes)
    message = serial_bytes + _GENERATION.pack(generation) + records
    return hmac.digest(key, message, hashlib.sha256)[:MAC_SIZE]


def macs_equal(expected: bytes, found: bytes) -> bool:
    """Compare two MACs in constant time, so timing does not reveal a correct prefix."""
    return hmac.compare_digest(expected, found)

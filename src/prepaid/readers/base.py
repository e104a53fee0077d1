"""The card reader port.

Every backend (the virtual file reader, PC/SC readers) maps the 256-byte logical card image
onto its physical card. Offsets are offsets in the logical image.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from prepaid.core.errors import ReaderError, _

CARD_IMAGE_SIZE = 256


@runtime_checkable
class CardReader(Protocol):
    """A card reader/writer with at most one card in it."""

    def card_present(self) -> bool:
        """Whether a card is in the reader now."""
        ...

    def serial(self) -> str:
        """An identifier of the physical card in the reader (file name, chip UID…).

        Raises ``ReaderError("no_card")`` when the reader is empty.
        """
        ...

    def read(self) -> bytes:
        """The whole logical image, ``CARD_IMAGE_SIZE`` bytes."""
        ...

    def write(self, data: bytes, offset: int = 0) -> None:
        """Write ``data`` at ``offset`` of the logical image, then verify by reading it back.

        Raises ``ReaderError("write_failed")`` when the read-back differs or the card left the
        reader during the write; the card may then hold a torn image.
        """
        ...


def no_card() -> ReaderError:
    return ReaderError("no_card", _("There is no card in the reader."))


def write_failed() -> ReaderError:
    return ReaderError(
        "write_failed",
        _("Writing the card failed; keep the card in the reader and read it again."),
    )


def check_region(data: bytes, offset: int) -> None:
    """Refuse a write that does not fit in the card image (a programming error)."""
    if offset < 0 or offset + len(data) > CARD_IMAGE_SIZE:
        raise ValueError(f"write of {len(data)} bytes at {offset} exceeds the card image")

"""The virtual card reader: cards are 256-byte files in the card store.

One card at a time is "in the reader" (its name in ``cards/READER``). Writes go to the card
file in place, as on a chip (``pwrite`` + ``fdatasync``), and are verified by reading back; a
crash in the middle leaves a torn card, which the codec detects and the office restores. For
tests a write can be cut after N bytes (``cut_after``), leaving the card as a real chip would
be when pulled out mid-write: the first N bytes new, the rest as before.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prepaid.core.errors import InvalidInput, PrepaidError, ReaderError, _
from prepaid.home import atomic_write
from prepaid.readers.base import CARD_IMAGE_SIZE, check_region, no_card, write_failed

# Letters of any script (an office names its training cards 设置卡1), digits, "_", "-", ".":
# a file name in the card store, never a path.
CARD_NAME = re.compile(r"^[^\W_][\w.-]{0,63}$")
SUFFIX = ".card"


def check_card_name(name: str) -> str:
    if not CARD_NAME.match(name) or name.endswith(SUFFIX):
        raise InvalidInput(
            "bad_card_name",
            _(
                "Card name “%(name)s” is not valid: use letters, digits, “_”, “-” or “.” "
                "(at most 64)."
            ),
            name=name,
        )
    return name


class CardStore:
    """The virtual cards of one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.slot_file = root / "READER"
        self._paths: dict[str, Path] = {}

    def path(self, name: str) -> Path:
        path = self._paths.get(name)
        if path is None:
            path = self.root / (check_card_name(name) + SUFFIX)
            if len(self._paths) < 1024:  # names seen are few; checked once each
                self._paths[name] = path
        return path

    def names(self) -> list[str]:
        return sorted(p.name[: -len(SUFFIX)] for p in self.root.glob("*" + SUFFIX))

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def require(self, name: str) -> Path:
        path = self.path(name)
        if not path.is_file():
            raise InvalidInput(
                "unknown_card", _("There is no card named “%(name)s” in the card store."), name=name
            )
        return path

    def create(self, name: str, image: bytes) -> None:
        path = self.path(name)
        if path.exists():
            raise PrepaidError(  # the name is well formed, only taken: a refusal (exit 1)
                "card_exists", _("A card named “%(name)s” already exists."), name=name
            )
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write(path, image)

    def inserted(self) -> str | None:
        name = self.in_slot()
        return name if name and self.exists(name) else None

    def in_slot(self) -> str:
        """The name written in the reader's slot ("" when none), whether or not that card
        is in the store. Read anew each time: another process puts cards in."""
        try:
            fd = os.open(self.slot_file, os.O_RDONLY)
        except FileNotFoundError:
            return ""
        try:
            return os.read(fd, 4096).decode("utf-8").strip()
        finally:
            os.close(fd)

    def insert(self, name: str) -> None:
        self.require(name)
        atomic_write(self.slot_file, name.encode())

    def eject(self) -> str | None:
        name = self.inserted()
        self.slot_file.unlink(missing_ok=True)
        return name


class VirtualReader:
    """A `CardReader` over the card store."""

    def __init__(self, store: CardStore, cut_after: int | None = None) -> None:
        self.store = store
        self.cut_after = cut_after  # fault injection: pull the card after N bytes written

    def card_present(self) -> bool:
        return self.store.inserted() is not None

    def serial(self) -> str:
        name = self.store.inserted()
        if name is None:
            raise no_card()
        return name

    def read(self) -> bytes:
        # A damaged file of the wrong size is handed over as it is: the codec refuses it.
        name = self.store.in_slot()
        if not name:
            raise no_card()
        try:
            fd = os.open(self.store.path(name), os.O_RDONLY)
        except FileNotFoundError:
            raise no_card() from None
        try:
            return _read_all(fd)
        except IsADirectoryError:  # not a card file
            raise no_card() from None
        finally:
            os.close(fd)

    def write(self, data: bytes, offset: int = 0) -> None:
        check_region(data, offset)
        path = self.store.path(self.serial())
        if self.cut_after is not None and self.cut_after < len(data):
            old = _whole_image(path.read_bytes())
            torn = old[:offset] + data[: self.cut_after] + old[offset + self.cut_after :]
            atomic_write(path, torn)
            self.store.eject()  # the card left the reader mid-write
            raise ReaderError(
                "card_removed",
                _("The card was removed during the write; put it back and read it again."),
            )
        written = _write_in_place(path, data, offset)
        if written is None:  # a file of the wrong size: rewrite it whole
            old = _whole_image(path.read_bytes())
            atomic_write(path, old[:offset] + data + old[offset + len(data) :])
            written = path.read_bytes()[offset : offset + len(data)]
        if written != data:
            raise write_failed()


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _whole_image(image: bytes) -> bytes:
    return image[:CARD_IMAGE_SIZE].ljust(CARD_IMAGE_SIZE, b"\0")


def _write_in_place(path: Path, data: bytes, offset: int) -> bytes | None:
    """Write ``data`` at ``offset`` of the card file, wait until it is on the disk and read
    it back, as a reader verifies a write; ``None`` (nothing written) if the file is not a
    whole card image. A crash in the middle leaves a torn card, as a chip pulled out
    mid-write would: the codec detects it and the office restores it from its records."""
    fd = os.open(path, os.O_RDWR)
    try:
        if os.fstat(fd).st_size != CARD_IMAGE_SIZE:
            return None
        view = memoryview(data)
        at = offset
        while view:
            written = os.pwrite(fd, view, at)
            view, at = view[written:], at + written
        os.fdatasync(fd)
        return os.pread(fd, len(data), offset)
    finally:
        os.close(fd)

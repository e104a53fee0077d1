"""The PC/SC test stack for every test group that needs it (a pytest plugin).

Registered from ``tests/conftest.py`` (``pytest_plugins``) so that ``tests/readers`` and
``tests/vending_pcsc`` share one stack per session: pcsc-lite reads ``PCSCLITE_CSOCK_NAME``
once per process, at the first PC/SC call, so there can only be one pcscd per test process,
and it must start before any PC/SC call.

``pcsc_stack`` starts on first use: a private pcscd with vpcd. Each test inserts its own
cards (``insert_card``, or ``EmulatedCards`` from ``prepaid.readers.testing_stack``) and they
are taken out (and their departure seen by pcscd) after it. When the stack cannot start, the
tests are skipped with the reason — or fail when ``CI=true``, so that CI never passes without
having run them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from prepaid.readers.emulator import EmulatedCard, VpcdEmulator
from prepaid.readers.testing_stack import PcscStack, StackUnavailable

InsertCard = Callable[..., VpcdEmulator]


@pytest.fixture(scope="session")
def pcsc_stack() -> Iterator[PcscStack]:
    stack = PcscStack()
    try:
        stack.start()
    except StackUnavailable as exc:
        reason = f"PC/SC test stack unavailable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def insert_card(pcsc_stack: PcscStack) -> Iterator[InsertCard]:
    """``insert_card(card, cut_after=None, trace=None)`` -> the emulator; ejected afterwards."""
    inserted: list[VpcdEmulator] = []

    def insert(
        card: EmulatedCard,
        cut_after: int | None = None,
        trace: list[tuple[str, str]] | None = None,
    ) -> VpcdEmulator:
        emulator = pcsc_stack.insert(card, cut_after=cut_after, trace=trace)
        inserted.append(emulator)
        return emulator

    yield insert
    for emulator in reversed(inserted):
        pcsc_stack.eject(emulator)

"""Test data in a transaction rolled back afterwards, of the kind Django's TestCase opens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def rolled_back() -> Iterator[None]:
    """A transaction (a savepoint inside a test's) rolled back at the end of the block, opened
    as Django's TestCase opens the one around each test and its ``setUpTestData``. The use
    cases that write a card refuse to run inside a caller's transaction (docs/decisions/0012)
    but run inside this one, as inside a test's: test data made by them (a demo office, a
    form posted and undone) is rolled back like the test's own."""
    from django.test import TestCase

    atomics = TestCase._enter_atomics()
    try:
        yield
    finally:
        TestCase._rollback_atomics(atomics)

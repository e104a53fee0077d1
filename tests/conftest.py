"""Fixtures shared by the whole suite.

Database tests run on migrations (pytest-django's test database). Each test gets its own
virtual card store and a site key; an initialised admin and operator are at hand.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest


@pytest.fixture
def site_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def card_store(tmp_path: Path):
    from prepaid.readers.virtual import CardStore

    root = tmp_path / "cards"
    root.mkdir()
    return CardStore(root)


@pytest.fixture
def reader(card_store):
    """A virtual reader with a factory-blank card ``c1`` in it."""
    from prepaid.core.card.codec import blank_image
    from prepaid.readers.virtual import VirtualReader

    card_store.create("c1", blank_image())
    card_store.insert("c1")
    return VirtualReader(card_store)


@pytest.fixture
def admin(db):
    from prepaid.operators.models import Operator, Role

    operator = Operator(username="admin", role=Role.ADMIN, is_staff=True)
    operator.set_password("s3cret-admin")
    operator.save()
    return operator


@pytest.fixture
def clerk(db):
    from prepaid.operators.models import Operator, Role

    operator = Operator(username="clerk", role=Role.OPERATOR)
    operator.set_password("s3cret-clerk")
    operator.save()
    return operator

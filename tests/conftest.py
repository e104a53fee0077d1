"""Fixtures shared by the whole suite.

Database tests run on migrations (pytest-django's test database). Each test gets its own
virtual card store and a site key; an initialised admin and operator are at hand.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["pcsc_fixtures"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(request):
    """Argon2 is slow on purpose; tests in this process hash with a fast hasher instead."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield  # core tests run without Django at all
        return
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


@pytest.fixture(scope="session", autouse=True)
def _flush_lifts_the_append_only_guard(request):
    """Django empties every table after a transactional test, which the ledger's and the audit
    log's append-only triggers refuse: the flush drops them and creates them again in its own
    transaction (tests/append_only_guard.py). Only the test run does this; production flushes
    nothing."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield  # core tests run without Django at all
        return
    from django.db.backends.base.operations import BaseDatabaseOperations

    from append_only_guard import flush_with_guard_lifted

    original = BaseDatabaseOperations.execute_sql_flush
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            BaseDatabaseOperations, "execute_sql_flush", flush_with_guard_lifted(original)
        )
        yield


@pytest.fixture(autouse=True)
def _language_restored(request):
    """A command run in this process activates its language for the thread (as a program it
    runs once and exits): each test starts from the site's default language again."""
    yield
    if request.config.pluginmanager.hasplugin("django"):
        from django.conf import settings

        if settings.configured:
            from django.utils import translation

            translation.deactivate()


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


# -- the database: SQLite by default, a throwaway PostgreSQL server on request ---------------
#
# PREPAID_TEST_DATABASE=postgres runs every database test on a PostgreSQL server this run
# starts itself (tests/postgres_server.py). When the server cannot start the database tests
# are skipped with the reason, or fail under CI=true so that CI never passes without them.


def selected_database() -> str:
    return os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower()


def postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """The throwaway PostgreSQL server of this run (started on first use)."""
    from postgres_server import PostgresServer, PostgresUnavailable

    server = PostgresServer()
    try:
        server.start()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        postgres_unavailable(f"PostgreSQL test server unavailable: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_modify_db_settings_parallel_suffix):
    """Point Django's default database at the PostgreSQL server before the test database
    is created (PREPAID_TEST_DATABASE=postgres); SQLite is left alone."""
    if selected_database() != "postgres":
        return
    from django.conf import settings
    from django.db import connections

    from prepaid.settings import database_from_url

    server = request.getfixturevalue("postgres_server")
    config = database_from_url(server.url("prepaid"))  # as a station configures it
    settings.DATABASES["default"].clear()
    settings.DATABASES["default"].update(config)
    connections._settings = settings.DATABASES
    connections.__dict__.pop("settings", None)  # a cached_property: read them again
    try:
        del connections["default"]  # a SQLite connection made before now
    except AttributeError:
        pass

"""A database or file that cannot be written (a full disk) is a clear page in the operator's
language, not a bare "Server Error (500)"."""

from __future__ import annotations

import errno

import pytest
from django.db import OperationalError
from web_helpers import codes, html

pytestmark = pytest.mark.django_db


def test_a_full_database_during_a_sale_is_a_localized_page(clerk_client, office, monkeypatch):
    office.open()

    def full(*_args, **_kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr("prepaid.vending.services.read_user_card", full)
    response = clerk_client.post("/vending/sell/", {"action": "read"})
    assert response.status_code == 503
    assert "database_error" in codes(response)
    page = html(response)
    assert 'data-testid="refused"' in page
    assert "磁盘空间已满" in page and "prepaid reconcile" in page
    # a card written just before may carry a purchase not yet booked: read it before money
    assert "尚未记账的购买" in page and "收款或退款之前，请先重新读卡" in page
    assert "database or disk is full" not in page


def test_a_lost_database_connection_names_the_reason(clerk_client, office, monkeypatch):
    office.open()

    def dropped(*_args, **_kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("prepaid.vending.services.read_user_card", dropped)
    response = clerk_client.post("/vending/sell/", {"action": "read"})
    assert response.status_code == 503 and "database_error" in codes(response)
    assert "server closed the connection unexpectedly" in html(response)


def test_the_database_refusing_to_change_a_ledger_entry_is_a_localized_refusal(
    clerk_client, office, monkeypatch
):
    """The ledger is append-only in the database (docs/decisions/0014): should a change of an
    entry ever reach it, the operator reads why it was refused (409), not a storage failure."""
    from django.db import connection, transaction

    office.open()

    def edits_the_ledger(*_args, **_kwargs):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE vending_ledgerentry SET amount_fen = 1")

    monkeypatch.setattr("prepaid.vending.services.read_user_card", edits_the_ledger)
    response = clerk_client.post("/vending/sell/", {"action": "read"})
    assert response.status_code == 409
    assert codes(response) >= {"ledger_append_only"} and "database_error" not in codes(response)
    page = html(response)
    assert "流水只能追加" in page and "ledger_append_only: UPDATE refused" not in page


def test_a_full_disk_on_a_meter_swipe_is_a_localized_page(clerk_client, office, monkeypatch):
    clerk_client.post("/simulator/", {"meter_id": "M1"})

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("prepaid.simulator.meter_store.MeterStore.save", full)
    office.open()
    response = clerk_client.post("/simulator/M1/swipe/")
    assert response.status_code == 503
    assert "file_error" in codes(response)
    assert "磁盘空间已满" in html(response)

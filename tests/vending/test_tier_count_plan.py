"""The quantity a tier counts is read from the account's completed purchases in their covering
index, not by walking every purchase the office made since the period began."""

from __future__ import annotations

import datetime
import os

import pytest
from django.db import connection

from prepaid.vending import services as vending

pytestmark = pytest.mark.django_db
POSTGRES = os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() == "postgres"


@pytest.mark.skipif(POSTGRES, reason="SQLite's query plan")
def test_the_period_s_quantity_is_read_from_the_account_s_covering_index(office, key, monkeypatch):
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.tiered, quantity="5", key=key()
    )
    customer_account = office.customer.accounts.get()
    statements: list[tuple[str, list]] = []
    scalar = vending.scalar

    def capture(sql, params=()):
        statements.append((sql.replace("%s", "?"), list(params)))
        return scalar(sql, params)

    monkeypatch.setattr(vending, "scalar", capture)
    bought = vending._period_quantity(customer_account, datetime.date(2000, 1, 1))
    assert bought == 500
    [(sql, params)] = statements
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [row[3] for row in cursor.fetchall()]
    assert plan == [
        "SEARCH vending_purchase USING COVERING INDEX purchase_completed_cover "
        "(customer_account_id=? AND serial>?)"
    ], plan

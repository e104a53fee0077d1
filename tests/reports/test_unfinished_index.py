"""Pending and voided sales are read from their own partial index (migration reports 0010):
the totals and the page never walk the office's completed purchases, whichever statuses are
chosen."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from prepaid.reports import services

pytestmark = pytest.mark.django_db
# Known when the module is collected, before any database connection is made.
POSTGRES = os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() == "postgres"


def test_the_unfinished_purchases_have_a_partial_index_and_the_status_index_is_gone():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "vending_purchase")
    assert constraints["reports_purchase_unfinished"]["columns"] == [
        "created_at",
        "customer_account_id",
        "amount_fen",
        "quantity_centi",
        "status",
    ]
    assert "reports_purchase_status_cover" not in constraints


@pytest.mark.skipif(POSTGRES, reason="SQLite's query plan")
@pytest.mark.parametrize("statuses", [(), ("pending",), ("voided",)])
def test_pending_and_voided_sales_read_the_partial_index(statuses):
    """Planned as the statements are run, with their bound parameters: SQLite never matches
    an IN list of parameters to a partial index's condition."""
    statements: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        table = services.pending_and_voided(services.Filters(statuses=statuses))
        list(table.rows)
    reads = [(sql, params) for sql, params in statements if "vending_purchase" in sql]
    assert len(reads) >= 2  # the totals, the page's ids (and its rows, if any)
    for sql, params in reads[:2]:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = [row[3] for row in cursor.fetchall()]
        assert any("COVERING INDEX reports_purchase_unfinished" in step for step in plan), plan
        assert not any(step.startswith("SCAN vending_customeraccount") for step in plan), plan

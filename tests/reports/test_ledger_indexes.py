"""The ledger's covering indexes hold what the sales detail totals: a filtered period is counted
and its quantity totalled per account from the index alone (migration reports 0007)."""

from __future__ import annotations

import datetime
import os

import pytest
from django.db import connection
from django.db.models import Count, Sum

from prepaid.reports import services

pytestmark = pytest.mark.django_db
# Known when the module is collected, before any database connection is made.
POSTGRES = os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() == "postgres"

COVER = ["time", "kind", "amount_fen", "quantity_centi", "account_id"]
INDEXES = {
    "reports_ledger_time_cover": COVER,
    "reports_ledger_operator_cover": ["operator_id", *COVER],
    "reports_ledger_payment_cover": ["payment_method", *COVER],
    "reports_ledger_version_cover": ["price_version_id", *COVER],
    "reports_ledger_account_cover": ["account_id", *COVER[:-1]],
}


def test_the_covering_indexes_carry_the_account():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "vending_ledgerentry")
    assert {name: constraints[name]["columns"] for name in INDEXES} == INDEXES


@pytest.mark.skipif(POSTGRES, reason="SQLite's query plan")
@pytest.mark.parametrize(
    "filters",
    [
        {"date_from": datetime.date(2026, 1, 1), "date_to": datetime.date(2026, 3, 1)},
        {"operator_id": 1},
        {"payment": "cash", "date_from": datetime.date(2026, 1, 1)},
        {},
    ],
)
def test_the_sales_detail_totals_read_only_an_index(filters):
    totals = (
        services.sales_queryset(services.Filters(**filters))
        .order_by()
        .values("account_id")
        .annotate(n=Count("id"), quantity=Sum("quantity_centi"), amount=Sum("amount_fen"))
    )
    sql, params = totals.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [row[3] for row in cursor.fetchall()]
    reads = [step for step in plan if "vending_ledgerentry" in step]
    assert reads and all("COVERING INDEX" in step for step in reads), plan

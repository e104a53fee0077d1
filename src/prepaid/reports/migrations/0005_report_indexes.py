"""Indexes measured with ``bench/reports.py`` (100,000 customers, 2,000,000 sales):

* the ledger filters of the sales detail become *covering* (filter column, time, kind, amount,
  quantity): counting and totalling a filtered period reads the index only, and the page's ids
  are sorted from it before the page's rows are joined;
* the ledger's amount index goes: sorted by amount, a period is sorted from the covering time
  index instead of walking every entry in amount order;
* monthly purchases get a covering index in (customer, account, month) order, so the
  suspicious analysis groups them without touching the table;
* meter readings with an unexplained difference or a tamper / valve / wrong-meter flag get
  partial indexes: the analysis reads only those few rows.
"""

from django.db import migrations

COVER = "time, kind, amount_fen, quantity_centi"
INDEXES = [
    ("reports_ledger_time_cover", "vending_ledgerentry", COVER),
    ("reports_ledger_operator_cover", "vending_ledgerentry", f"operator_id, {COVER}"),
    ("reports_ledger_account_cover", "vending_ledgerentry", f"account_id, {COVER}"),
    ("reports_ledger_payment_cover", "vending_ledgerentry", f"payment_method, {COVER}"),
    ("reports_ledger_version_cover", "vending_ledgerentry", f"price_version_id, {COVER}"),
    ("reports_purchase_status_cover", "vending_purchase",
     "status, created_at, amount_fen, quantity_centi"),
    ("reports_monthly_cover", "reports_monthlypurchase",
     "customer_id, account_id, month, quantity_centi, sale_count, reversal_count, "
     "first_sale_at, last_sale_at"),
]
PARTIAL = [
    ("reports_wbo_unexplained", "reports_writebackobservation", "meter_time",
     "unexplained_centi <> 0"),
    ("reports_wbo_flagged", "reports_writebackobservation", "meter_time", "(status & 56) <> 0"),
]
# Replaced by the covering indexes above (created again if this migration is reversed).
REPLACED = [
    ("reports_ledger_operator_time", "vending_ledgerentry", "operator_id, time"),
    ("reports_ledger_account_time", "vending_ledgerentry", "account_id, time"),
    ("reports_ledger_payment_time", "vending_ledgerentry", "payment_method, time"),
    ("reports_ledger_version_time", "vending_ledgerentry", "price_version_id, time"),
    ("reports_ledger_amount", "vending_ledgerentry", "amount_fen"),
    ("reports_purchase_status_time", "vending_purchase", "status, created_at"),
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_observation_deltas_sales_month")]

    operations = [
        *(migrations.RunSQL(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})",
                            f"DROP INDEX IF EXISTS {name}")
          for name, table, columns in INDEXES),
        *(migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}) WHERE {condition}",
            f"DROP INDEX IF EXISTS {name}") for name, table, columns, condition in PARTIAL),
        *(migrations.RunSQL(f"DROP INDEX IF EXISTS {name}",
                            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")
          for name, table, columns in REPLACED),
    ]

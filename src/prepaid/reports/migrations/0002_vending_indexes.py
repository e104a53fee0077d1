"""Indexes on the vending and card tables for the reports (sales detail filters and sorts,
pending and voided sales, card operations). Created here so that the vending app stays as it
is; ``IF NOT EXISTS`` keeps this safe if the vending app adds the same index later."""

from django.db import migrations

INDEXES = [
    ("reports_ledger_customer_time", "vending_ledgerentry", "customer_id, time"),
    ("reports_ledger_operator_time", "vending_ledgerentry", "operator_id, time"),
    ("reports_ledger_account_time", "vending_ledgerentry", "account_id, time"),
    ("reports_ledger_payment_time", "vending_ledgerentry", "payment_method, time"),
    ("reports_ledger_version_time", "vending_ledgerentry", "price_version_id, time"),
    ("reports_ledger_amount", "vending_ledgerentry", "amount_fen"),
    ("reports_purchase_status_time", "vending_purchase", "status, created_at"),
    ("reports_cardop_kind_time", "cards_cardoperation", "kind, time"),
    ("reports_cardop_customer_time", "cards_cardoperation", "customer_id, time"),
    ("reports_shift_opened", "vending_shift", "opened_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("vending", "0001_initial"),
        ("cards", "0002_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, columns in INDEXES
    ]

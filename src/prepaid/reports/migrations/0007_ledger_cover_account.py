"""The ledger's covering indexes carry the account too: the sales detail totals its quantity per
account (m³ and kWh are never added), so a filtered period is totalled from the index alone
again, as it was when the quantity was one sum (``reports_ledger_account_cover`` starts with
the account already)."""

from django.db import migrations

COVER = "time, kind, amount_fen, quantity_centi"
WIDENED = [
    ("reports_ledger_time_cover", "vending_ledgerentry", ""),
    ("reports_ledger_operator_cover", "vending_ledgerentry", "operator_id, "),
    ("reports_ledger_payment_cover", "vending_ledgerentry", "payment_method, "),
    ("reports_ledger_version_cover", "vending_ledgerentry", "price_version_id, "),
]


def _rebuild(name: str, table: str, columns: str) -> list[str]:
    return [f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX {name} ON {table} ({columns})"]


class Migration(migrations.Migration):
    dependencies = [("reports", "0006_fewer_observation_indexes")]

    operations = [
        migrations.RunSQL(
            _rebuild(name, table, f"{lead}{COVER}, account_id"),
            _rebuild(name, table, f"{lead}{COVER}"),
        )
        for name, table, lead in WIDENED
    ]

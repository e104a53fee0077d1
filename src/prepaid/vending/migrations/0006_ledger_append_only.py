"""The ledger is append-only in the database itself (docs/decisions/0014).

A ledger entry is inserted, never updated or deleted: a mistake is corrected by a reversing
entry. Triggers refuse ``UPDATE`` and ``DELETE`` of ``vending_ledgerentry`` on SQLite and
PostgreSQL, and ``TRUNCATE`` on PostgreSQL (SQLite has none; its ``DELETE`` without ``WHERE``
fires the row trigger). The refusal starts with ``ledger_append_only:``, which the CLI and the
web turn into the refusal of that code (``prepaid.append_only``).

On SQLite a migration that rebuilds the table (an ``AlterField``) drops these triggers with it:
such a migration must create them again (tests/vending/test_ledger_append_only.py fails if not).
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS vending_ledger_append_only_update
       BEFORE UPDATE ON vending_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger_append_only: UPDATE refused, the ledger is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS vending_ledger_append_only_delete
       BEFORE DELETE ON vending_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger_append_only: DELETE refused, the ledger is append-only'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS vending_ledger_append_only_update",
    "DROP TRIGGER IF EXISTS vending_ledger_append_only_delete",
]

# TRUNCATE fires no row trigger: a statement trigger refuses it, so that the ledger cannot be
# emptied by the one statement that skips the row triggers (nor by a TRUNCATE … CASCADE of a
# table it refers to). A restore drops the tables instead (prepaid.backup.DROP_TABLES).
POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION vending_ledger_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION USING
           ERRCODE = 'restrict_violation',
           MESSAGE = 'ledger_append_only: ' || TG_OP || ' refused, the ledger is append-only';
       END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS vending_ledger_append_only ON vending_ledgerentry",
    """CREATE TRIGGER vending_ledger_append_only BEFORE UPDATE OR DELETE ON vending_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION vending_ledger_append_only()""",
    "DROP TRIGGER IF EXISTS vending_ledger_append_only_truncate ON vending_ledgerentry",
    """CREATE TRIGGER vending_ledger_append_only_truncate BEFORE TRUNCATE ON vending_ledgerentry
       FOR EACH STATEMENT EXECUTE FUNCTION vending_ledger_append_only()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS vending_ledger_append_only ON vending_ledgerentry",
    "DROP TRIGGER IF EXISTS vending_ledger_append_only_truncate ON vending_ledgerentry",
    "DROP FUNCTION IF EXISTS vending_ledger_append_only()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("vending", "0005_purchase_cover_by_time_and_period")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]

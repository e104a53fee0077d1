"""A closed shift is immutable, enforced by the database as well as by the services.

* no ledger entry may be booked into a closed shift;
* a closed shift's row may not change (its ``closed_at`` is set once, by ``close_shift``);
* a settlement, once written, may not change.

On PostgreSQL the ledger trigger takes a share lock on the shift row, so a sale committing
while the shift is being closed either lands before the settlement counts it or is refused
(the vending code then books it into the operator's next shift when the card is read again).
SQLite serialises writers, so a plain check suffices there.
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS reports_ledger_closed_shift
       BEFORE INSERT ON vending_ledgerentry
       WHEN (SELECT closed_at FROM vending_shift WHERE id = NEW.shift_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'shift_closed: no ledger entry may go into a closed shift'); END""",
    """CREATE TRIGGER IF NOT EXISTS reports_closed_shift_immutable
       BEFORE UPDATE ON vending_shift
       WHEN OLD.closed_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'shift_closed: a closed shift cannot change'); END""",
    """CREATE TRIGGER IF NOT EXISTS reports_settlement_immutable
       BEFORE UPDATE ON reports_shiftsettlement
       BEGIN SELECT RAISE(ABORT, 'shift_closed: a settlement cannot change'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS reports_ledger_closed_shift",
    "DROP TRIGGER IF EXISTS reports_closed_shift_immutable",
    "DROP TRIGGER IF EXISTS reports_settlement_immutable",
]

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION reports_refuse_closed_shift_entry() RETURNS trigger AS $$
       DECLARE closed timestamptz;
       BEGIN
         SELECT closed_at INTO closed FROM vending_shift WHERE id = NEW.shift_id FOR SHARE;
         IF closed IS NOT NULL THEN
           RAISE EXCEPTION 'shift_closed: no ledger entry may go into a closed shift';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION reports_refuse_closed_shift_change() RETURNS trigger AS $$
       BEGIN
         IF OLD.closed_at IS NOT NULL THEN
           RAISE EXCEPTION 'shift_closed: a closed shift cannot change';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION reports_refuse_settlement_change() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION 'shift_closed: a settlement cannot change';
       END $$ LANGUAGE plpgsql""",
    """DROP TRIGGER IF EXISTS reports_ledger_closed_shift ON vending_ledgerentry""",
    """CREATE TRIGGER reports_ledger_closed_shift BEFORE INSERT ON vending_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION reports_refuse_closed_shift_entry()""",
    """DROP TRIGGER IF EXISTS reports_closed_shift_immutable ON vending_shift""",
    """CREATE TRIGGER reports_closed_shift_immutable BEFORE UPDATE ON vending_shift
       FOR EACH ROW EXECUTE FUNCTION reports_refuse_closed_shift_change()""",
    """DROP TRIGGER IF EXISTS reports_settlement_immutable ON reports_shiftsettlement""",
    """CREATE TRIGGER reports_settlement_immutable BEFORE UPDATE ON reports_shiftsettlement
       FOR EACH ROW EXECUTE FUNCTION reports_refuse_settlement_change()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS reports_ledger_closed_shift ON vending_ledgerentry",
    "DROP TRIGGER IF EXISTS reports_closed_shift_immutable ON vending_shift",
    "DROP TRIGGER IF EXISTS reports_settlement_immutable ON reports_shiftsettlement",
    "DROP FUNCTION IF EXISTS reports_refuse_closed_shift_entry()",
    "DROP FUNCTION IF EXISTS reports_refuse_closed_shift_change()",
    "DROP FUNCTION IF EXISTS reports_refuse_settlement_change()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_vending_indexes")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]

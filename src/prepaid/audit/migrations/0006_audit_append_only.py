"""The audit log is append-only in the database itself (docs/decisions/0014).

An audit entry is appended, never updated or deleted (``audit_audithead``, the chain's head,
is updated by every append and is not guarded). Triggers refuse ``UPDATE`` and ``DELETE`` of
``audit_auditentry`` on SQLite and PostgreSQL, and ``TRUNCATE`` on PostgreSQL (SQLite has none;
its ``DELETE`` without ``WHERE`` fires the row trigger). The refusal starts with
``audit_append_only:``, which the CLI and the web turn into the refusal of that code
(``prepaid.append_only``). The hash chain still detects an edit made by someone who drops the
triggers first (``prepaid audit verify``).

On SQLite a migration that rebuilds the table (an ``AlterField``) drops these triggers with it:
such a migration must create them again (tests/audit/test_audit_append_only.py fails if not).
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS audit_entries_append_only_update
       BEFORE UPDATE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit_append_only: UPDATE refused, the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_entries_append_only_delete
       BEFORE DELETE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit_append_only: DELETE refused, the audit log is append-only'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_entries_append_only_update",
    "DROP TRIGGER IF EXISTS audit_entries_append_only_delete",
]

# TRUNCATE fires no row trigger: a statement trigger refuses it, so that the audit log cannot
# be emptied by the one statement that skips the row triggers (nor by a TRUNCATE … CASCADE of
# a table it refers to). A restore drops the tables instead (prepaid.backup.DROP_TABLES).
POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION USING
           ERRCODE = 'restrict_violation',
           MESSAGE = 'audit_append_only: ' || TG_OP || ' refused, the audit log is append-only';
       END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_auditentry",
    """CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
       FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()""",
    "DROP TRIGGER IF EXISTS audit_entries_append_only_truncate ON audit_auditentry",
    """CREATE TRIGGER audit_entries_append_only_truncate BEFORE TRUNCATE ON audit_auditentry
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_auditentry",
    "DROP TRIGGER IF EXISTS audit_entries_append_only_truncate ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_entries_append_only()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_receipt_prints_of_any_object")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]

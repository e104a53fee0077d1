"""The audit log keeps only the index it is read by.

It is read in id order (``audit verify``) and by object (a receipt's prints). Its time, action
and operator indexes served no query, and the unique index on ``hash`` guarded nothing the chain
does not: each entry's hash covers the previous one, so a copied row breaks the chain anyway.
Every sale appends four entries in two transactions; with a random hash in a unique index and
three more to keep in order, the audit log was two fifths of the pages a sale writes.

The three plain indexes are dropped without rebuilding the table (see :mod:`prepaid.schema`);
dropping the unique constraint rebuilds it on SQLite, once."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from prepaid.schema import create_field_indexes, drop_field_indexes

UNREAD = [
    ("audit_auditentry", "time"),
    ("audit_auditentry", "action"),
    ("audit_auditentry", "operator_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="time",
                    field=models.DateTimeField(),
                ),
                migrations.AlterField(
                    model_name="auditentry",
                    name="action",
                    field=models.CharField(max_length=64),
                ),
                migrations.AlterField(
                    model_name="auditentry",
                    name="operator",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_field_indexes(UNREAD), create_field_indexes(UNREAD)),
            ],
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(max_length=64),
        ),
    ]

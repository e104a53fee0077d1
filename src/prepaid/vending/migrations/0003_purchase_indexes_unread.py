"""Three purchase indexes no query reads go: ``created_at`` (the reports read purchases by
status and time through their covering index), ``operator`` and ``supersedes`` (a corrected
purchase is read by its id). A sale writes three index entries less. Dropped without rebuilding
the table (see :mod:`prepaid.schema`)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from prepaid.schema import create_field_indexes, drop_field_indexes

UNREAD = [
    ("vending_purchase", "created_at"),
    ("vending_purchase", "operator_id"),
    ("vending_purchase", "supersedes_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("vending", "0002_fewer_indexes_to_write"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="purchase",
                    name="created_at",
                    field=models.DateTimeField(),
                ),
                migrations.AlterField(
                    model_name="purchase",
                    name="operator",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="purchase",
                    name="supersedes",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="vending.purchase",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_field_indexes(UNREAD), create_field_indexes(UNREAD)),
            ],
        ),
    ]

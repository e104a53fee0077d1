"""The meter readings' customer and customer-account indexes go: ``wbo_customer_time`` and
``wbo_account_segment_time`` start with them and serve the same look-ups. Dropped without
rebuilding the table (see :mod:`prepaid.schema`)."""

import django.db.models.deletion
from django.db import migrations, models

from prepaid.schema import create_field_indexes, drop_field_indexes

SERVED = [
    ("reports_writebackobservation", "customer_id"),
    ("reports_writebackobservation", "customer_account_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("reports", "0005_report_indexes"),
        ("vending", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="writebackobservation",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="writebackobservation",
                    name="customer_account",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="vending.customeraccount",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_field_indexes(SERVED), create_field_indexes(SERVED)),
            ],
        ),
    ]

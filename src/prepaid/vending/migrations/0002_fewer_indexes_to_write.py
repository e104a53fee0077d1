"""Fewer indexes to write on every sale, one index to read the completed purchases by.

The ledger's time, customer, account, price-version and operator indexes and the purchase's
status index each start a covering index of the ``reports`` app (its migrations 0002 and 0005),
which serves the same look-ups: they go. A sale writes six index entries less. The fields are
changed in the migration state only; their indexes are dropped without rebuilding the tables
(see :mod:`prepaid.schema`)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from prepaid.schema import create_field_indexes, drop_field_indexes

SERVED = [
    ("vending_ledgerentry", "time"),
    ("vending_ledgerentry", "customer_id"),
    ("vending_ledgerentry", "account_id"),
    ("vending_ledgerentry", "price_version_id"),
    ("vending_ledgerentry", "operator_id"),
    ("vending_purchase", "status"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("customers", "0001_initial"),
        ("reports", "0005_report_indexes"),
        ("vending", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="time",
                    field=models.DateTimeField(),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="price_version",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.priceversion",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
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
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("completed", "Completed"),
                            ("voided", "Voided"),
                            ("corrected", "Corrected"),
                        ],
                        max_length=16,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_field_indexes(SERVED), create_field_indexes(SERVED)),
            ],
        ),
        migrations.AddIndex(
            model_name="purchase",
            index=models.Index(
                condition=models.Q(("status", "completed")),
                fields=[
                    "customer_account",
                    "serial",
                    "quantity_centi",
                    "kind",
                    "period_start",
                    "status",
                ],
                name="purchase_completed_cover",
            ),
        ),
    ]

"""A tier counts what the customer bought at tiered prices on the account since its period
began, by the purchases' time: the covering index of completed purchases carries
``created_at`` beside the ``period_start`` a purchase was priced in (a price changed from
yearly to monthly tiers, or back, part-way through a period counts the period's earlier
tiered purchases)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vending", "0004_meterchange_last_taken"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="purchase",
            name="purchase_completed_cover",
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
                    "created_at",
                    "period_start",
                    "status",
                ],
                name="purchase_completed_cover",
            ),
        ),
    ]

"""A meter change records the admin's answer, read off the old meter's display, when the
office could not tell whether the old meter took the last purchase (written on a card
reissued since): ``last_taken``, None when it was not asked."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vending", "0003_purchase_indexes_unread"),
    ]

    operations = [
        migrations.AddField(
            model_name="meterchange",
            name="last_taken",
            field=models.BooleanField(null=True),
        ),
    ]

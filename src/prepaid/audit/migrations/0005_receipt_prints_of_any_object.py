"""A receipt's prints are looked up for reissues too, not only purchases: the partial index
of receipt prints takes the object type as its first column, and every receipt print."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_receipt_prints_index'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='auditentry',
            name='audit_receipt_prints',
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('action', 'receipt.print')), fields=['object_type', 'object_id'], name='audit_receipt_prints'),
        ),
    ]

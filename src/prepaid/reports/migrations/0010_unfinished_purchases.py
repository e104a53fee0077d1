"""Pending and voided purchases get a partial covering index of their own, and the index of
every purchase by status goes.

查询 → pending and voided sales read a few thousand rows among millions of completed ones. With
one index of all purchases by status, SQLite's statistics (an average over three statuses) made
the planner walk every customer account and each one's purchases to total them: 8 s at
2,000,000 sales. The partial index holds the unfinished purchases only, and all the totals
read (the status too, or SQLite reads each row), so the totals and the page read it alone. A sale writes fewer index entries too: its
pending purchase enters this index and leaves it at completion, where the index by status took
an entry for each status it passed through and kept the last one.
"""

from django.db import migrations

UNFINISHED = "status IN ('pending', 'voided')"
COLUMNS = "created_at, customer_account_id, amount_fen, quantity_centi, status"
STATUS_COVER = "status, created_at, amount_fen, quantity_centi"


class Migration(migrations.Migration):
    dependencies = [("reports", "0009_office_time_zone")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reports_purchase_unfinished "
            f"ON vending_purchase ({COLUMNS}) WHERE {UNFINISHED}",
            "DROP INDEX IF EXISTS reports_purchase_unfinished",
        ),
        migrations.RunSQL(
            "DROP INDEX IF EXISTS reports_purchase_status_cover",
            f"CREATE INDEX IF NOT EXISTS reports_purchase_status_cover "
            f"ON vending_purchase ({STATUS_COVER})",
        ),
    ]

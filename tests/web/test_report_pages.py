"""The report pages as a new operator reads them in English (the reports app tests its own
pages against a large demo office; these need an office of exactly one customer)."""

from __future__ import annotations

import pytest
from web_helpers import html

pytestmark = pytest.mark.django_db


def test_the_suspicious_report_counts_one_account_in_the_singular(clerk_client, clerk, office):
    office.open()
    clerk.language = "en"
    clerk.save(update_fields=["language"])
    page = html(clerk_client.get("/reports/suspicious/"))
    used = page.split('class="report-filters-used">')[1].split("</p>")[0]
    assert used.endswith("; 1 customer account checked."), used  # not “1 customer accounts”

"""The 审计日志 page: administrators read the audit log (filters, pages, a CSV download);
operators neither see it in their menus nor may open it."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction
from django.urls import reverse

from prepaid.audit.services import log_action

pytestmark = pytest.mark.django_db

URL = "reports:audit"


def _log(operator, action, object_id, **state):
    with transaction.atomic():
        return log_action(
            operator, action, object_type="thing", object_id=object_id, station="desk-1", **state
        )


def test_an_administrator_reads_what_changed_newest_first(client, admin):
    _log(admin, "thing.create", "1", after={"name": "甲"})
    modified = _log(admin, "thing.modify", "1", before={"name": "甲"}, after={"name": "乙"})
    client.force_login(admin)  # itself audited (operator.login)
    response = client.get(reverse(URL), {"action": "thing"})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 class="page-title">审计日志</h1>' in page
    assert response.context["table"].rows[0]["id"] == modified.pk
    assert "name: 甲 → 乙" in page
    assert page.index("thing.modify") < page.index("thing.create")
    # reachable from 查询, beside the other reports
    index = client.get(reverse("reports:index")).content.decode()
    assert f'href="{reverse(URL)}"' in index


def test_an_operator_neither_sees_nor_opens_it(client, clerk):
    client.force_login(clerk)
    index = client.get(reverse("reports:index")).content.decode()
    assert reverse(URL) not in index
    assert client.get(reverse(URL)).status_code == 403
    assert client.get(reverse(URL), {"format": "csv"}).status_code == 403


def test_the_page_needs_a_login(client):
    response = client.get(reverse(URL))
    assert response.status_code == 302 and "login" in response["Location"]


def test_filters_and_pages(client, admin, clerk):
    mine = [_log(clerk, "sale.complete", str(n)) for n in range(3)]
    _log(admin, "customer.register", "9")
    client.force_login(admin)
    url = reverse(URL)
    response = client.get(url, {"operator": "clerk", "action": "sale", "size": 2})
    table = response.context["table"]
    assert (table.count, table.pages) == (3, 2)
    assert [row["id"] for row in table.rows] == [mine[2].pk, mine[1].pk]
    assert 'rel="next"' in response.content.decode()
    second = client.get(url, {"operator": "clerk", "action": "sale", "size": 2, "page": 2})
    assert [row["id"] for row in second.context["table"].rows] == [mine[0].pk]
    found = client.get(url, {"object": "thing:9"}).context["table"]
    assert [row["action"] for row in found.rows] == ["customer.register"]
    # a wrong day is shown beside its field, not a refusal page
    bad = client.get(url, {"date_from": "2026-02-30"})
    assert bad.status_code == 200 and bad.context["form"].errors
    backwards = client.get(url, {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert backwards.status_code == 200 and backwards.context["form"].errors


def test_csv_download_holds_every_filtered_entry(client, admin):
    entries = [_log(admin, "thing.create", str(n), after={"n": n}) for n in range(3)]
    _log(admin, "other.thing", "x")
    client.force_login(admin)
    response = client.get(reverse(URL), {"action": "thing", "size": 1, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert records[0] == ["记录号", "时间", "操作员", "工作站", "操作", "对象", "变更内容"]
    # every entry the filters match, not the page of one on screen
    assert [r[0] for r in records[1:]] == [str(e.pk) for e in reversed(entries)]
    assert records[1][6] == "n: 2"

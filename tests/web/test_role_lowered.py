"""An administrator whose role is lowered to operator while on an admin page: the next post is
refused with the office's own 403 page (localized, with a way back to the start page, the admin
entries gone from the menus) and does nothing. No command or page lowers a role: the database is
changed under the page, as another administrator's tool would."""

from __future__ import annotations

import datetime
import uuid

import pytest
from web_helpers import codes, html, tr

pytestmark = pytest.mark.django_db


def _state(office):
    from prepaid.accounts.models import Account, PriceVersion
    from prepaid.audit.models import AuditEntry
    from prepaid.operators.models import Operator

    return (
        # the station's first use of the site key is recorded whoever reads a card
        list(AuditEntry.objects.exclude(action="site_key.record").values_list("pk", flat=True)),
        list(PriceVersion.objects.values_list("pk", "tiers")),
        list(Account.objects.values_list("name", "limit_centi")),
        list(Operator.objects.values_list("username", "is_active", "role")),
        office.store.path("c").read_bytes(),
    )


def _tomorrow():
    return (datetime.date.today() + datetime.timedelta(days=1)).isoformat()


# the admin page the administrator is on, what its form posts to, and what it sends
PAGES = {
    "价格调整": (
        "/prices/{price}/adjust/",
        "/prices/{price}/adjust/",
        lambda office: {"kind": "flat", "unit_price": "3.80", "effective_from": _tomorrow()},
    ),
    "卡片制作": (
        "/cards/",
        "/cards/",
        lambda office: {
            "action": "make",
            "tool": "setting",
            "account": str(office.account.pk),
            "key": uuid.uuid4().hex,
        },
    ),
    "卡片制作 格式化": (
        "/cards/",
        "/cards/",
        lambda office: {"action": "format", "key": uuid.uuid4().hex},
    ),
    "换表卡调整": (
        "/vending/meter-change/",
        "/vending/meter-change/",
        lambda office: {"action": "read"},
    ),
    "账户修改": (
        "/accounts/{account}/modify/",
        "/accounts/{account}/modify/",
        lambda office: {
            "name": "生活用水",
            "limit": "500",
            "prestore": "0",
            "alarm": "20",
            "overdraft": "5",
            "maintenance_code": "4321",
        },
    ),
    "操作员": ("/operators/", "/operators/clerk/disable/", lambda office: {}),
}


@pytest.mark.parametrize("name", PAGES)
def test_an_administrator_lowered_on_an_admin_page_is_refused_and_nothing_is_done(
    admin_client, office, admin, clerk, name
):
    from prepaid.operators.models import Operator, Role

    on, url, data = (
        part.format(price=office.price.pk, account=office.account.pk)
        if isinstance(part, str)
        else part
        for part in PAGES[name]
    )
    office.blank("c")
    office.insert("c")
    assert admin_client.get(on).status_code == 200
    Operator.objects.filter(pk=admin.pk).update(role=Role.OPERATOR, is_staff=False)
    before = _state(office)

    refused = admin_client.post(url, data(office))

    assert refused.status_code == 403
    page = html(refused)
    assert 'data-testid="forbidden"' in page and codes(refused) == {"permission_denied"}
    assert tr("Only an administrator may do this.") in page  # the office's page, in Chinese
    assert tr("Ask an administrator if you need this page.") in page
    assert f'href="/">{tr("Back to the start page")}</a>' in page  # a way back
    assert 'href="/cards/"' not in page  # the menus are an operator's now
    assert _state(office) == before
    assert admin_client.get("/").status_code == 200  # still logged in, as an operator

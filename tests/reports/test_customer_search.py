"""查询 › customer history: the search lists every customer it matches, a page at a time as
用户管理 does, and goes straight to the history of a user number or of its only match."""

from __future__ import annotations

import html as markup
import re

import pytest
from django.urls import reverse

from prepaid.customers.services import register_customer

pytestmark = pytest.mark.django_db

SEARCH = "翻页"


@pytest.fixture
def browser(client, clerk):
    client.force_login(clerk)
    return client


def _many_customers(operator, count=120) -> set[str]:
    return {
        register_customer(operator, name=f"{SEARCH}{n}", phone=f"1390000{n:04d}").user_number
        for n in range(count)
    }


def _listed(page: str) -> list[str]:
    return re.findall(r'data-customer="([^"]+)"', page)


def _next_url(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return markup.unescape(found.group(1)) if found else None


def test_every_one_of_120_matches_is_on_exactly_one_page(browser, clerk):
    numbers = _many_customers(clerk)
    register_customer(clerk, name="别人", phone="13700000000")  # not matched
    path = reverse("reports:customers")
    url: str | None = f"?q={SEARCH}"
    seen: list[str] = []
    pages = 0
    while url is not None:
        response = browser.get(path + url)
        assert response.status_code == 200
        page = response.content.decode()
        pages += 1
        assert 'data-testid="bad-page"' not in page
        listed = _listed(page)
        assert len(listed) == (50 if pages < 3 else 20)
        seen.extend(listed)
        url = _next_url(page)
        if url is not None:
            assert "q=%E7%BF%BB%E9%A1%B5" in url and f"page={pages + 1}" in url
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == numbers and seen == sorted(seen)


def test_a_page_that_is_not_there_shows_the_first_and_says_so(browser, clerk):
    numbers = sorted(_many_customers(clerk, count=60))
    response = browser.get(reverse("reports:customers"), {"q": SEARCH, "page": "9"})
    page = response.content.decode()
    assert _listed(page) == numbers[:50]
    assert 'data-testid="bad-page"' in page


def test_a_user_number_or_an_only_match_goes_to_the_history(browser, clerk):
    """Other customers may be on file (the package's demo office): names and phone numbers
    here are of these two alone."""
    zhang = register_customer(clerk, name="查户甲", phone="19988770000")
    register_customer(clerk, name="查户乙", phone="19988770001")
    url = reverse("reports:customers")
    history = reverse("reports:customer", args=[zhang.user_number])
    # typed without its zeros (which a phone number may hold too), it is still 查户甲's
    for typed in (zhang.user_number, str(int(zhang.user_number)), "查户甲"):
        response = browser.get(url, {"q": typed})
        assert response.status_code == 302, typed
        assert response["Location"] == history
    both = browser.get(url, {"q": "1998877"}).content.decode()
    assert len(_listed(both)) == 2


def test_a_search_text_refused_is_said_and_lists_nothing(browser, clerk):
    register_customer(clerk, name="张三")
    response = browser.get(reverse("reports:customers"), {"q": "张" * 65})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="search-error"' in page
    assert _listed(page) == []


def test_a_report_narrowed_to_a_name_counts_every_customer_it_matches(clerk):
    """A name typed in a report's customer filter may match more customers than a list of
    ids once held (500): the report's totals still count every one of them."""
    from django.utils import timezone

    from prepaid.customers.models import Customer
    from prepaid.reports import services
    from prepaid.reports.services import Filters
    from prepaid.vending.models import LedgerEntry, Shift

    now = timezone.now()
    matched = 501
    Customer.objects.bulk_create(
        Customer(user_number=f"9{n:07d}", name=f"上限{n}", created_at=now) for n in range(matched)
    )
    other = Customer.objects.create(user_number="98888888", name="别人", created_at=now)
    shift = Shift.objects.create(operator=clerk, station="cap-desk", opened_at=now)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            kind="fee",
            time=now,
            customer=customer,
            amount_fen=100 + (customer == other) * 900,
            payment_method="cash",
            operator=clerk,
            shift=shift,
            station="cap-desk",
            idempotency_key=f"cap-{customer.pk}",
        )
        for customer in Customer.objects.filter(user_number__startswith="9")
    )
    table = services.sales_detail(Filters(customer="上限", station="cap-desk"), page_size=None)
    assert (table.count, table.totals["amount"]) == (matched, matched * 100)
    everyone = services.sales_detail(Filters(station="cap-desk"), page_size=None)
    assert (everyone.count, everyone.totals["amount"]) == (matched + 1, matched * 100 + 1000)
    one = services.sales_detail(Filters(customer="98888888", station="cap-desk"))
    assert (one.count, one.totals["amount"]) == (1, 1000)

"""A station's card key must be the site's: the database keeps its fingerprint.

A station with another site's (or regenerated) secrets would take every valid card for a
forged or torn one and rewrite it under its own key, destroying it.
"""

from __future__ import annotations

import secrets

import pytest

from prepaid.audit.models import AuditEntry
from prepaid.cards.models import SiteKey
from prepaid.cards.services import format_card
from prepaid.cards.site import require_site_key
from prepaid.core.card.mac import site_key_fingerprint
from prepaid.core.errors import PrepaidError
from prepaid.vending import services as vending
from prepaid.vending.models import Purchase


def _elsewhere(office, site_key: bytes) -> vending.Station:
    station = office.station
    return vending.Station(station.operator, station.reader, site_key, "counter-2")


@pytest.mark.django_db
def test_a_station_with_another_card_key_is_refused_before_touching_the_card(office, key):
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    card = office.store.path("u1").read_bytes()
    wrong = _elsewhere(office, secrets.token_bytes(32))

    for use in (
        lambda: vending.read_user_card(wrong),
        lambda: vending.sell(wrong, quantity="1", key=key()),
        lambda: vending.reissue(wrong, office.customer, key=key()),
        lambda: format_card(wrong),
    ):
        with pytest.raises(PrepaidError) as refused:
            use()
        assert refused.value.code == "wrong_site_secrets"
        assert "backup" in refused.value.message  # the way back: the site's file, or its backup
        assert office.store.path("u1").read_bytes() == card  # not "restored" under its key
    assert Purchase.objects.count() == 1
    assert vending.read_user_card(office.station).card.slot(1).serial == 1


@pytest.mark.django_db
def test_the_first_station_records_the_fingerprint_and_it_is_checked_once_per_connection(
    office, django_assert_num_queries
):
    assert not SiteKey.objects.exists()  # a database from before the fingerprint
    office.new_card("u1")  # the first use records the key's fingerprint
    row = SiteKey.objects.get()
    assert row.fingerprint == site_key_fingerprint(office.site_key)
    assert office.site_key.hex() not in row.fingerprint
    assert AuditEntry.objects.filter(action="site_key.record").count() == 1
    require_site_key(office.site_key)  # found recorded: remembered on this connection
    with django_assert_num_queries(0):
        require_site_key(office.site_key)
    with pytest.raises(PrepaidError, match=r"secrets\.json"):
        require_site_key(secrets.token_bytes(32))
    assert SiteKey.objects.get().fingerprint == row.fingerprint

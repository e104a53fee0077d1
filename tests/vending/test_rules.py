"""Vending rules and refusals through the service layer: permissions, wrong cards, bad input.

A refusal changes nothing: no purchase, no ledger entry, no audit entry, the card untouched.
"""

from __future__ import annotations

import pytest
from django.utils import translation

from prepaid.audit.models import AuditEntry
from prepaid.cards import services as cards
from prepaid.core.errors import CardError, InvalidInput, PrepaidError
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Purchase

pytestmark = pytest.mark.django_db


def _as(office, operator):
    return vending.Station(
        operator=operator, reader=office.station.reader, site_key=office.site_key, name="counter-2"
    )


def _opened(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.read_user_card(office.station)  # 读卡: the swipe is seen (and recorded) once
    return meter


class Unchanged:
    """Snapshot of everything a refused operation must leave as it was."""

    def __init__(self, office):
        self.office = office
        self.counts = self._counts()
        self.image = office.station.reader.read() if office.store.inserted() else None

    def _counts(self):
        return (Purchase.objects.count(), LedgerEntry.objects.count(), AuditEntry.objects.count())

    def check(self):
        assert self._counts() == self.counts
        if self.image is not None:
            assert self.office.station.reader.read() == self.image


def test_operator_cannot_make_tool_cards_format_or_change_meters(office, clerk, key):
    _opened(office, key)
    clerk_station = _as(office, clerk)
    before = Unchanged(office)
    for attempt in (
        lambda: cards.make_tool_card(clerk_station, "setting", office.account),
        lambda: cards.format_card(clerk_station),
        lambda: cards.recycle_card(clerk_station),
        lambda: vending.meter_change(clerk_station, remaining="1", key=key()),
    ):
        with pytest.raises(PrepaidError) as refused:
            attempt()
        assert refused.value.code == "permission_denied"
    before.check()


def test_operator_may_sell(office, clerk, key):
    _opened(office, key)
    sale = vending.sell(_as(office, clerk), quantity="1", key=key())
    assert sale.operator == clerk and sale.status == "completed"


@pytest.mark.parametrize(
    "quantity,code",
    [
        ("-1", "negative"),
        ("0", "zero"),
        ("abc", "not_a_number"),
        ("1.234", "too_many_decimals"),
        ("99999999999", "too_large"),
        ("1e3", "not_a_number"),
        ("", "not_a_number"),
    ],
)
def test_bad_quantity_changes_nothing(office, key, quantity, code):
    _opened(office, key)
    before = Unchanged(office)
    with pytest.raises(InvalidInput) as refused:
        vending.sell(office.station, quantity=quantity, key=key())
    assert refused.value.code == code
    before.check()


def test_bad_amount_and_payment_change_nothing(office, key):
    _opened(office, key)
    before = Unchanged(office)
    for kwargs, code in (
        ({"amount": "-5"}, "negative"),
        ({"amount": "0.001"}, "too_many_decimals"),
        ({"amount": "0.01"}, "amount_too_small"),
        ({"quantity": "1", "payment": "bitcoin"}, "bad_payment_method"),
        ({"quantity": "1", "amount": "1"}, "quantity_or_amount"),
    ):
        with pytest.raises(InvalidInput) as refused:
            vending.sell(office.station, key=key(), **kwargs)
        assert refused.value.code == code
    before.check()


def test_sale_needs_a_user_card(office, key):
    _opened(office, key)
    office.new_card("n1")
    before = Unchanged(office)
    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="1", key=key())
    assert refused.value.code == "not_a_user_card"
    # the card's type by its name, in the operator's language
    assert refused.value.message.endswith("(it is a new card).")
    with translation.override("zh-hans"):
        assert refused.value.translate(translation.gettext).endswith("（而是新卡）。")
    before.check()
    office.store.eject()
    before = Unchanged(office)
    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, quantity="1", key=key())
    assert refused.value.code == "no_card"
    before.check()


def test_card_of_another_site_is_a_bad_card(office, key):
    from prepaid.core.card import codec
    from prepaid.core.card.model import Card, CardType, MeterType, Slot

    _opened(office, key)
    foreign = Card(
        type=CardType.USER,
        serial=codec.new_serial(),
        generation=1,
        user_number=1,
        slots=(Slot(1, MeterType.WATER, 1234, 1, 1000),),
    )
    office.store.create("foreign", codec.encode(foreign, b"\x01" * 32))
    office.insert("foreign")
    before = Unchanged(office)
    with pytest.raises(CardError) as refused:
        vending.sell(office.station, quantity="1", key=key())
    assert refused.value.code == "bad_card"
    before.check()


def test_edited_card_is_restored_from_the_office_records(office, key):
    _opened(office, key)
    image = bytearray(office.station.reader.read())
    image[0x4C] ^= 0x40  # raise the quantity of slot 1 by hand
    office.store.eject()
    office.store.path("u1").write_bytes(bytes(image))
    office.insert("u1")
    card = vending.read_user_card(office.station).card
    assert card.slot(1).quantity_centi == 1000


def test_open_requires_a_new_card_and_refuses_a_second_open(office, key):
    office.meter()
    office.blank("b1")
    office.insert("b1")
    with pytest.raises(PrepaidError) as refused:
        vending.open_account(
            office.station, office.customer, office.account, office.price, quantity="1", key=key()
        )
    assert refused.value.code == "not_a_new_card"
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    with pytest.raises(PrepaidError) as refused:
        vending.open_account(
            office.station, office.customer, office.account, office.price, quantity="1", key=key()
        )
    assert refused.value.code == "already_open"


def test_opening_on_another_customers_card_says_to_take_a_new_card(office, admin, key):
    from prepaid.customers.services import register_customer

    _opened(office, key)  # 张三's card u1 is in the reader
    other = register_customer(admin, name="李四")
    with pytest.raises(PrepaidError) as refused:
        vending.open_account(
            office.station, other, office.account, office.price, quantity="1", key=key()
        )
    assert refused.value.code == "not_a_new_card"
    with translation.override("zh-hans"):
        message = refused.value.translate(translation.gettext)
    assert "回收" in message and "格式化" not in message  # a user card is recycled, not formatted
    assert not other.cards.exists()


@pytest.mark.parametrize(
    "in_reader", ["another customer's card", "the customer's old card", "a setting card"]
)
def test_adding_an_account_with_another_card_in_the_reader_names_the_customers_card(
    office, admin, key, in_reader
):
    """A customer with a card in use adds an account on that card: any other card in the
    reader is refused as not that card (customer_has_card, naming it), not as "a new card is
    needed" — a new card would be refused all the same."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.customers.services import register_customer

    _opened(office, key)  # 张三's card u1
    electricity = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="999",
        prestore="5",
        alarm="10",
        overdraft="5",
        maintenance_code="1234",
    )
    price = add_price(admin, account_id=electricity.pk, name="居民用电", unit_price="0.50")
    if in_reader == "another customer's card":
        other = register_customer(admin, name="李四")
        office.new_card("u2")
        vending.open_account(
            office.station, other, office.account, office.price, quantity="1", key=key()
        )
    elif in_reader == "the customer's old card":
        office.new_card("u2")
        vending.reissue(office.station, office.customer, key=key())
        office.insert("u1")  # revoked by the reissue
    else:
        office.blank("s1")
        office.insert("s1")
        cards.make_tool_card(office.station, "setting", office.account)
    in_use = office.customer.cards.get(status="active")
    before = Unchanged(office)
    with pytest.raises(PrepaidError) as refused:
        vending.open_account(
            office.station, office.customer, electricity, price, quantity="1", key=key()
        )
    assert refused.value.code == "customer_has_card"
    assert in_use.serial in refused.value.message
    before.check()


def test_open_refuses_above_the_limit(office, key):
    office.new_card("u1")
    before = Unchanged(office)
    with pytest.raises(PrepaidError) as refused:
        vending.open_account(
            office.station, office.customer, office.account, office.price, quantity="995", key=key()
        )  # pre-stored 5 + 995 > 999
    assert refused.value.code == "over_limit"
    before.check()


def test_a_second_account_is_added_to_the_same_card(office, admin, key):
    from prepaid.accounts.services import add_price, create_account

    _opened(office, key)
    power = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="1234",
    )
    tariff = add_price(admin, account_id=power.pk, name="居民用电", unit_price="0.4883")
    opened = vending.open_account(
        office.station, office.customer, power, tariff, amount="100", key=key()
    )
    assert (opened.serial, opened.quantity_centi, opened.amount_fen) == (1, 20480, 10000)
    card = vending.read_user_card(office.station).card
    assert [s.sub_meter for s in card.slots] == [1, 2]
    with pytest.raises(InvalidInput) as refused:
        vending.sell(office.station, quantity="1", key=key())
    assert refused.value.code == "account_required"
    # the accounts to choose from, by the id the sale takes
    water, power = office.account, power
    listed = f"{water.pk} [1] {water.name} / {power.pk} [2] {power.name}"
    with translation.override("zh-hans"):
        assert refused.value.translate(translation.gettext) == (
            f"该卡上有多个账户，请选择一个账户（{listed}）。"
        )


def test_revoked_card_is_refused_everywhere_in_the_office(office, key):
    _opened(office, key)
    office.new_card("u2")
    vending.reissue(office.station, office.customer, key=key())
    office.insert("u1")
    before = Unchanged(office)
    for attempt in (
        lambda: vending.sell(office.station, quantity="1", key=key()),
        lambda: vending.correct(office.station, quantity="1", key=key()),
        lambda: vending.meter_change(office.station, remaining="1", key=key()),
    ):
        with pytest.raises(PrepaidError) as refused:
            attempt()
        assert refused.value.code == "card_revoked"
    before.check()


def test_recycle_refuses_an_unswiped_card_and_recycles_a_swiped_one(office, key):
    meter = _opened(office, key)
    vending.sell(office.station, quantity="1", key=key())
    with pytest.raises(PrepaidError) as refused:
        cards.recycle_card(office.station)
    assert refused.value.code == "card_not_swiped"
    office.swipe(meter)
    card = cards.recycle_card(office.station)
    assert card.type.code == "new"
    assert office.customer.cards.get().status == "recycled"


def test_a_setting_card_written_while_its_account_was_modified_is_not_registered(
    office, admin, monkeypatch
):
    """Another administrator changes the account's limit while the card is being written:
    the card carries the old limit, so it is refused (and not registered), never left in the
    register with parameters the account no longer has."""
    from prepaid.accounts.services import modify_account

    write = cards._write_whole

    def written_meanwhile(station, card):
        done = write(station, card)
        modify_account(admin, office.account.pk, limit="500")
        return done

    monkeypatch.setattr(cards, "_write_whole", written_meanwhile)
    office.blank("t-race")
    office.insert("t-race")
    with pytest.raises(PrepaidError) as refused:
        cards.make_tool_card(office.station, "setting", office.account)
    assert refused.value.code == "account_changed"
    assert cards.tool_card_register() == []
    monkeypatch.setattr(cards, "_write_whole", write)
    office.account.refresh_from_db()
    cards.make_tool_card(office.station, "setting", office.account)  # made again: registered
    assert [op.tool_type for op in cards.tool_card_register()] == ["setting"]


def test_tool_cards_are_registered(office, key):
    for tool in ("setting", "clear-all", "zero", "check"):
        office.blank(f"t-{tool}")
        office.insert(f"t-{tool}")
        cards.make_tool_card(office.station, tool, office.account)
    register = cards.tool_card_register()
    assert sorted(op.tool_type for op in register) == ["check", "clear_all", "setting", "zero"]
    assert all(op.account_id == office.account.pk for op in register)
    with pytest.raises(InvalidInput):
        office.blank("t-x")
        office.insert("t-x")
        cards.make_tool_card(office.station, "setting", None)


def test_a_tool_card_written_again_is_marked_overwritten_in_the_register(office, key):
    """A zero card made over a setting card: both were issued, but only the zero card is
    still in hand; formatting it as a new card leaves none."""
    office.blank("t")
    office.insert("t")
    cards.make_tool_card(office.station, "setting", office.account)
    cards.make_tool_card(office.station, "zero", office.account)
    register = {op.tool_type: op.overwritten for op in cards.tool_card_register()}
    assert register == {"setting": True, "zero": False}
    cards.format_card(office.station)
    assert all(op.overwritten for op in cards.tool_card_register())


def _power(admin):
    from prepaid.accounts.services import add_price, create_account

    power = create_account(
        admin,
        meter_type="electricity",
        sub_meter=2,
        limit="500",
        prestore="0",
        alarm="5",
        overdraft="0",
        maintenance_code="1234",
    )
    return power, add_price(admin, account_id=power.pk, name="居民用电", unit_price="0.50")


def test_an_opening_voided_does_not_count_as_an_account_of_the_card(office, admin, key):
    """An opening whose card write was cut and voided leaves its account row behind, with no
    purchase: the card still carries one account, so a sale needs no account chosen."""
    from prepaid.readers.virtual import VirtualReader

    _opened(office, key)
    power, tariff = _power(admin)
    cutting = vending.Station(
        operator=office.station.operator,
        reader=VirtualReader(office.store, cut_after=0),
        site_key=office.site_key,
        name=office.station.name,
    )
    with pytest.raises(PrepaidError):
        vending.open_account(cutting, office.customer, power, tariff, quantity="10", key=key())
    office.insert("u1")
    card = vending.read_user_card(office.station).card  # settles the opening: voided
    assert [s.sub_meter for s in card.slots] == [1]
    assert Purchase.objects.filter(customer_account__account=power, status="voided").exists()
    with pytest.raises(PrepaidError) as refused:
        vending.sell(office.station, account_id=power.pk, quantity="1", key=key())
    assert refused.value.code == "account_not_open"  # not “swipe the card” for no slot
    sold = vending.sell(office.station, quantity="1", key=key())
    assert (sold.customer_account.account_id, sold.serial) == (office.account.pk, 2)

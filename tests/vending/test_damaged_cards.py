"""A customer's card that cannot be read — garbled, torn beyond the office's restore, or of
another site — is refused as damaged or not this office's card, never taken for a blank or
new card: no account is opened on it, nothing is written to it but by an administrator's
format, and the refusal says what is wrong and the way forward (补卡).
"""

from __future__ import annotations

import pytest
from django.utils import translation

from prepaid.audit.models import AuditEntry
from prepaid.cards import services as cards
from prepaid.cards.models import CardOperation
from prepaid.core.card import codec
from prepaid.core.card.model import Card, CardType, MeterType, Slot
from prepaid.core.errors import CardError, PrepaidError, ReaderError
from prepaid.readers.virtual import VirtualReader
from prepaid.vending import services as vending
from prepaid.vending.models import CustomerCard, LedgerEntry, Purchase

pytestmark = pytest.mark.django_db


def _opened(office, key):
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )


def _garble(office, name, *positions):
    path = office.store.path(name)
    image = bytearray(path.read_bytes())
    for position in positions:
        image[position] ^= 0xFF
    path.write_bytes(bytes(image))


def _magic_garbled(office, key):
    _opened(office, key)
    _garble(office, "u1", 0x20, 0x29)  # read as a factory-blank card before; no serial known


def _serial_garbled(office, key):
    _opened(office, key)
    _garble(office, "u1", 0x29)  # fails its MAC, and its serial is no card of this office


def _of_another_site(office, key):
    _opened(office, key)
    foreign = Card(
        type=CardType.USER,
        serial=codec.new_serial(),
        generation=1,
        user_number=int(office.customer.user_number),
        slots=(Slot(1, MeterType.WATER, 1234, 1, 1000),),
    )
    office.store.path("u1").write_bytes(codec.encode(foreign, b"\x01" * 32))


def _torn_format(office, key):
    """A format cut mid-write: the card has no serial the office registered to restore."""
    office.blank("u1")
    office.insert("u1")
    cutting = vending.Station(
        operator=office.station.operator,
        reader=VirtualReader(office.store, cut_after=40),
        site_key=office.site_key,
        name=office.station.name,
    )
    with pytest.raises(ReaderError):
        cards.format_card(cutting)
    office.insert("u1")


DAMAGES = {
    "magic garbled": _magic_garbled,
    "serial garbled": _serial_garbled,
    "another site": _of_another_site,
    "torn format": _torn_format,
}


class Unchanged:
    def __init__(self, office):
        self.office = office
        self.counts = self._counts()
        self.image = office.station.reader.read()

    def _counts(self):
        return (
            Purchase.objects.count(),
            LedgerEntry.objects.count(),
            AuditEntry.objects.count(),
            CustomerCard.objects.count(),
        )

    def check(self):
        assert self._counts() == self.counts
        assert self.office.station.reader.read() == self.image


def _zh(error) -> str:
    with translation.override("zh-hans"):
        return error.translate(translation.gettext)


@pytest.fixture
def neighbour(admin):
    from prepaid.customers.services import register_customer

    return register_customer(admin, name="李四", phone="13900000000", address="幸福路2号")


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_card_is_refused_as_damaged_by_every_use_case(office, key, neighbour, damage):
    DAMAGES[damage](office, key)
    refusals = {
        "read": lambda: vending.read_user_card(office.station),
        "sell": lambda: vending.sell(office.station, quantity="1", key=key()),
        "open": lambda: vending.open_account(
            office.station, neighbour, office.account, office.price, quantity="1", key=key()
        ),
        "reissue": lambda: vending.reissue(office.station, office.customer, fee="5", key=key()),
        "tool card": lambda: cards.make_tool_card(office.station, "zero", office.account),
    }
    before = Unchanged(office)
    for name, attempt in refusals.items():
        with pytest.raises(CardError) as refused:
            attempt()
        assert refused.value.code == "bad_card", name  # not not_a_new_card / not_a_user_card
        text = _zh(refused.value)
        assert "不是本单位的卡，或卡片已损坏" in text and "补卡" in text, (name, text)
        assert "管理员可将此卡制作成新卡" in text, (name, text)
        before.check()


def test_a_garbled_card_is_not_blank_and_only_a_format_writes_it(office, key):
    _magic_garbled(office, key)
    with pytest.raises(CardError) as refused:
        codec.decode(office.station.reader.read(), office.site_key)
    assert "卡片内容不是本系统的格式，也不是空白卡。" in _zh(refused.value)
    card = cards.format_card(office.station)  # the administrator's explicit format
    assert card.type == CardType.NEW
    assert codec.decode(office.station.reader.read(), office.site_key).type == CardType.NEW


# Its office MAC, or its magic: garbled, the serial in its header still says whose it is.
CUSTOMERS_DAMAGES = {"MAC garbled": 0x85, "magic garbled": 0x20}


@pytest.mark.parametrize("damage", CUSTOMERS_DAMAGES)
def test_the_customers_own_damaged_card_names_the_customer_and_the_restore(
    office, key, neighbour, damage
):
    """Its serial is still readable and registered: reading it at the sale screen restores
    it; any other use refuses it, saying whose it is — an administrator's format or
    recycling too, which would leave the customer's credit on no card."""
    _opened(office, key)
    _garble(office, "u1", CUSTOMERS_DAMAGES[damage])
    before = Unchanged(office)
    for attempt in (
        lambda: vending.open_account(
            office.station, neighbour, office.account, office.price, quantity="1", key=key()
        ),
        lambda: cards.make_tool_card(office.station, "zero", office.account),
        lambda: cards.format_card(office.station),
        lambda: cards.recycle_card(office.station),
    ):
        with pytest.raises(CardError) as refused:
            attempt()
        assert refused.value.code == "bad_card"
        text = _zh(refused.value)
        assert f"这是用户 {office.customer.user_number} 张三 的卡" in text
        assert "请在销售界面读卡" in text and "补卡" in text
        before.check()
    card = vending.read_user_card(office.station).card  # restored from the records
    assert card.slot(1).quantity_centi == 1000


@pytest.mark.parametrize("damage", CUSTOMERS_DAMAGES)
def test_a_damaged_card_the_customer_no_longer_uses_is_refused_and_kept(office, key, damage):
    _opened(office, key)
    office.new_card("u2")
    vending.reissue(office.station, office.customer, key=key())
    office.insert("u1")
    _garble(office, "u1", CUSTOMERS_DAMAGES[damage])
    before = Unchanged(office)
    with pytest.raises(CardError) as refused:
        vending.read_user_card(office.station)
    assert refused.value.code == "bad_card"
    assert f"这是用户 {office.customer.user_number} 张三 已不再使用的卡" in _zh(refused.value)
    before.check()
    recycled = cards.recycle_card(office.station)  # the way to use it again: 卡片回收
    assert recycled.type == CardType.NEW
    old = CustomerCard.objects.get(customer=office.customer, generation=1)
    assert old.status == CustomerCard.Status.RECYCLED


@pytest.mark.parametrize("cut", ["opening", "reissue"])
def test_a_customers_card_in_use_left_unwritten_is_not_written_over(office, key, neighbour, cut):
    """An opening or a reissue registers the new card as the customer's card in use before
    writing it; a write cut before its first byte leaves a card that still reads as new. It
    is the customer's card all the same: a format, a recycling or a tool card over it would
    leave the card in use (and the opening's pending purchase) on no card. Reading it at the
    sale screen writes it from the records."""
    cutting = vending.Station(
        operator=office.station.operator,
        reader=VirtualReader(office.store, cut_after=0),
        site_key=office.site_key,
        name=office.station.name,
    )
    customer = neighbour
    if cut == "reissue":
        _opened(office, key)
        customer = office.customer
    office.new_card("u2")
    with pytest.raises(ReaderError):
        if cut == "reissue":
            vending.reissue(cutting, customer, key=key())
        else:
            vending.open_account(
                cutting, customer, office.account, office.price, quantity="1", key=key()
            )
    office.insert("u2")
    assert codec.decode(office.station.reader.read(), office.site_key).type == CardType.NEW
    before = Unchanged(office)
    operations_before = CardOperation.objects.count()
    for attempt in (
        lambda: cards.format_card(office.station),
        lambda: cards.recycle_card(office.station),
        lambda: cards.make_tool_card(office.station, "setting", office.account),
        lambda: cards.make_tool_card(office.station, "check", None),
    ):
        with pytest.raises(PrepaidError) as refused:
            attempt()
        assert refused.value.code == "card_not_written"
        text = _zh(refused.value)
        assert f"用户 {customer.user_number} {customer.name} 正在使用的卡" in text, text
        assert "请在销售界面读卡" in text, text
        before.check()
        assert CardOperation.objects.count() == operations_before
    assert customer.cards.get(serial=vending.read_user_card(office.station).card.serial).status == (
        CustomerCard.Status.ACTIVE
    )
    assert not Purchase.objects.filter(status="pending").exists()

"""Acceptance of lost cards: reissue (补卡), revocation, recycling (回收) and formatting, rule
by rule of DESIGN §3 and the manual's 补卡 section, through the service layer."""

from __future__ import annotations

import pytest
from django.utils import translation

from prepaid.cards import services as cards
from prepaid.core.errors import PrepaidError
from prepaid.vending import services as vending

pytestmark = pytest.mark.django_db


def _opened(office, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.swipe(meter)
    vending.read_user_card(office.station)
    return meter


def test_recycling_a_card_in_use_with_credit_not_swiped_says_whose_and_which_credit(office, key):
    """The manual's sentence first, then why: the customer's card in use, and the purchase
    the meter has not taken, which recycling would lose. The code is unchanged."""
    _opened(office, key)
    vending.sell(office.station, quantity="7", key=key())
    before = office.station.reader.read()
    with pytest.raises(PrepaidError) as refused:
        cards.recycle_card(office.station)
    assert refused.value.code == "card_not_swiped"
    number = office.customer.user_number
    with translation.override("zh-hans"):
        text = refused.value.translate(translation.gettext)
    assert text.startswith("该卡没有刷表，请刷表后再进行操作")
    assert f"用户 {number} 张三" in text
    assert "子表 1，购买序号 2：7.00 m³" in text
    with translation.override("en"):
        text = refused.value.translate(translation.gettext)
    assert "sub-meter 1, purchase 2: 7.00 m³" in text
    assert office.station.reader.read() == before
    assert office.customer.cards.get().status == "active"


def _transfer_written(office, key):
    """A meter change whose transfer (serial 2, 13.00 − 5.00 = 8.00) is on the card, not yet
    swiped on the new meter; the old meter and the new one, set."""
    old_meter = _opened(office, key)
    old_meter.use(200, office.tick())  # 15.00 − 2.00 = 13.00 left
    office.swipe(old_meter)
    vending.read_user_card(office.station)
    new_meter = office.meter("NEW")
    transfer, _record = vending.meter_change(office.station, remaining="13", key=key())
    return transfer, new_meter


def test_a_reissue_records_and_says_a_transfer_the_revoked_card_still_carries(office, key):
    """Meters cannot tell a revoked card's transfer from a valid one: a set meter not yet
    bound takes it. After the new card gave it to the new meter, the lost card gives it to a
    second new meter too. The office cannot stop that, so the reissue records the transfer
    at risk (its operation, the revocation's audit entry) and says so on its result."""
    from prepaid.audit.models import AuditEntry
    from prepaid.core.meter import SwipeResult

    transfer, new_meter = _transfer_written(office, key)
    old_image = office.station.reader.read()
    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, key=key())
    at_risk = [{"sub_meter": 1, "serial": transfer.serial, "quantity": "8.00"}]
    assert vending.reissue_document(result)["transfers_at_risk"] == at_risk
    assert result.operation.details["transfers_at_risk"] == at_risk
    revoke = AuditEntry.objects.get(action="card.revoke", object_id=str(result.revoked.pk))
    assert revoke.after["transfers_at_risk"] == at_risk

    # What the warning is about: the new card's meter takes it, and a second new meter
    # takes it from the lost card as well (only recycling that card prevents it).
    assert office.swipe(new_meter).result is SwipeResult.OK
    second = office.meter("SECOND")
    assert second.swipe(old_image, office.site_key, office.tick()).result is SwipeResult.OK
    assert second.balance_centi == new_meter.balance_centi == 500 + 800


def test_a_reissue_after_the_transfer_was_taken_warns_of_nothing(office, key):
    transfer, new_meter = _transfer_written(office, key)
    office.swipe(new_meter)
    vending.read_user_card(office.station)  # the office sees the new meter took it
    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, key=key())
    assert vending.reissue_document(result)["transfers_at_risk"] == []
    assert result.card.slot(1).serial == transfer.serial


def _unchanged_by(office, check):
    """Run ``check`` and assert it wrote and audited nothing: no audit entry, card operation,
    card record or ledger row more, the card in the reader as it was."""
    from prepaid.audit.models import AuditEntry
    from prepaid.cards.models import CardOperation
    from prepaid.vending.models import CustomerCard, LedgerEntry

    def counts():
        return [
            model.objects.count()
            for model in (AuditEntry, CardOperation, CustomerCard, LedgerEntry)
        ]

    before, image = counts(), office.station.reader.read()
    result = check()
    assert counts() == before and office.station.reader.read() == image
    assert office.customer.cards.get(status="active").generation == 1
    return result


def test_the_reissue_confirm_step_gives_the_transfer_at_risk_the_reissue_then_records(office, key):
    """The operator hears of the transfer the lost card still carries before 写卡, to tell
    the customer first: the confirm step's check finds the same list the reissue records,
    and writes nothing."""
    transfer, _new_meter = _transfer_written(office, key)
    office.new_card("u2")
    review = _unchanged_by(
        office, lambda: vending.check_reissue(office.station, office.customer, fee="5")
    )
    at_risk = [{"sub_meter": 1, "serial": transfer.serial, "quantity": "8.00"}]
    assert (review.fee_fen, review.risks.transfers_at_risk) == (500, at_risk)
    assert review.risks.first_purchases_at_risk == []
    assert vending.reissue_risks(office.customer).transfers_at_risk == at_risk
    result = vending.reissue(office.station, office.customer, key=key())
    document = vending.reissue_document(result)
    assert document["transfers_at_risk"] == review.risks.transfers_at_risk
    assert document["first_purchases_at_risk"] == review.risks.first_purchases_at_risk


def test_the_reissue_confirm_step_gives_the_first_purchase_at_risk_the_reissue_then_records(
    office, key
):
    """The meter took the opening, the office never read it back: the confirm step says the
    new card will carry the first purchase unmarked, as 补卡成功 then does. Once a
    write-back shows it taken, neither says so."""
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    assert office.swipe(meter).ok  # not read by the office
    office.new_card("u2")
    review = _unchanged_by(office, lambda: vending.check_reissue(office.station, office.customer))
    first = [{"sub_meter": 1, "serial": 1, "quantity": "10.00"}]
    assert (review.fee_fen, review.risks.first_purchases_at_risk) == (0, first)
    assert review.risks.transfers_at_risk == []
    result = vending.reissue(office.station, office.customer, key=key())
    document = vending.reissue_document(result)
    assert document["first_purchases_at_risk"] == review.risks.first_purchases_at_risk == first
    assert document["transfers_at_risk"] == []

    assert office.swipe(meter).ok
    vending.read_user_card(office.station)  # the write-back shows purchase 1 taken
    office.new_card("u3")
    review = vending.check_reissue(office.station, office.customer)
    assert review.risks.first_purchases_at_risk == review.risks.transfers_at_risk == []
    result = vending.reissue(office.station, office.customer, key=key())
    assert vending.reissue_document(result)["first_purchases_at_risk"] == []


def test_the_confirm_step_of_a_reissue_whose_write_failed_gives_what_it_recorded(office, key):
    """The card of a reissue whose write was cut is back in the reader: 写卡 finishes that
    reissue, so the confirm step gives the warnings it recorded, not those of a new one."""
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    assert office.swipe(meter).ok
    from prepaid.cards.models import CardOperation
    from prepaid.core.errors import ReaderError
    from prepaid.readers.virtual import VirtualReader

    office.new_card("u2")
    pulled = vending.Station(
        operator=office.station.operator,
        reader=VirtualReader(office.store, cut_after=0),
        site_key=office.site_key,
        name=office.station.name,
    )
    with pytest.raises(ReaderError):
        vending.reissue(pulled, office.customer, key=key())
    recorded = CardOperation.objects.get(kind="reissue").details["first_purchases_at_risk"]
    assert recorded == [{"sub_meter": 1, "serial": 1, "quantity": "10.00"}]
    office.insert("u2")
    review = vending.check_reissue(office.station, office.customer)
    assert review.risks.first_purchases_at_risk == recorded and review.risks.transfers_at_risk == []
    finished = vending.reissue(office.station, office.customer, key=key())
    assert vending.reissue_document(finished)["first_purchases_at_risk"] == recorded


def test_a_reissue_onto_the_customer_s_own_card_in_use_says_so(office, key):
    """Not "recycle it if no longer used": the office knows it is this customer's card in
    use, and a reissue replaces a lost or broken card. Nothing changes."""
    _opened(office, key)
    before = office.station.reader.read()
    with pytest.raises(PrepaidError) as refused:
        vending.reissue(office.station, office.customer, key=key())
    assert refused.value.code == "not_a_new_card"
    with translation.override("zh-hans"):
        text = refused.value.translate(translation.gettext)
    assert "该用户正在使用的卡" in text and "回收" not in text
    assert office.station.reader.read() == before
    assert office.customer.cards.get().status == "active"


def test_a_reissued_first_purchase_a_meter_took_is_refused_by_a_spare_meter(office, key):
    """DESIGN §3.8: the meter never credits the same purchase twice. The old card showed the
    office that the meter took purchase 1; the reissued card carries purchase 1 with no meter
    record (a new card). A spare meter of the account, set and not yet bound, refuses it
    (E12) and stays unbound; the customer's meter takes the new card as ever."""
    from prepaid.core.meter import MeterState, SwipeResult

    meter = _opened(office, key)  # purchase 1 taken, and read back by the office
    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, key=key())
    assert result.card.slot(1).serial == 1

    spare = office.meter("SPARE")
    outcome = office.swipe(spare)
    assert outcome.result is SwipeResult.E12
    assert spare.state is MeterState.SET and spare.balance_centi == 500  # its pre-store only
    assert office.swipe(meter).result is SwipeResult.OK
    assert meter.balance_centi == 500 + 1000  # nothing added again
    assert meter.generation == result.record.generation
    assert vending.read_user_card(office.station).card.swiped(1)


def test_a_reissued_transfer_the_new_meter_took_is_refused_by_the_old_meter_set_again(office, key):
    """After a meter change, the old meter cleared and set again (as a spare) must not take
    the transfer from the reissued card when the office saw the new meter take it."""
    from prepaid.core.meter import MeterState, SwipeResult

    transfer, new_meter = _transfer_written(office, key)
    office.swipe(new_meter)
    vending.read_user_card(office.station)  # the office sees the new meter took it
    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, key=key())
    assert result.card.slot(1).serial == transfer.serial

    old_reset = office.meter("OLD-RESET")
    assert office.swipe(old_reset).result is SwipeResult.E12
    assert old_reset.state is MeterState.SET
    assert office.swipe(new_meter).result is SwipeResult.OK
    assert new_meter.balance_centi == 500 + 800


def test_a_reissued_card_keeps_its_taken_mark_until_a_new_purchase_replaces_it(office, admin, key):
    """The office writes the whole office area each time (an account opened, a sale on
    another account): the mark of the purchase the reissued card carries stays, and the card
    read back is the card the office expects, until a new purchase replaces that slot."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.cards.services import make_tool_card
    from prepaid.core.meter import SwipeResult, new_meter

    meter = _opened(office, key)
    office.new_card("u2")
    vending.reissue(office.station, office.customer, key=key())
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
    tariff = add_price(admin, account_id=power.pk, name="居民用电", unit_price="0.50")
    vending.open_account(office.station, office.customer, power, tariff, quantity="20", key=key())
    card = vending.read_user_card(office.station).card
    assert card.slot(1).taken and not card.slot(2).taken
    assert office.swipe(meter).result is SwipeResult.OK  # its own meter: applied already
    power_meter = new_meter("P1", office.tick())
    office.blank("setting-P1")
    office.insert("setting-P1")
    make_tool_card(office.station, "setting", power)
    assert power_meter.swipe(office.station.reader.read(), office.site_key, office.tick()).ok
    office.insert("u2")
    assert office.swipe(power_meter).applied_centi == 2000
    vending.sell(office.station, quantity="10", account_id=power.pk, key=key())
    card = vending.read_user_card(office.station).card
    assert (card.slot(1).serial, card.slot(1).taken) == (1, True)
    assert (card.slot(2).serial, card.slot(2).taken) == (2, False)
    vending.sell(office.station, quantity="3", account_id=office.account.pk, key=key())
    card = vending.read_user_card(office.station).card
    assert (card.slot(1).serial, card.slot(1).taken) == (2, False)
    assert office.swipe(meter).applied_centi == 300


def test_a_reissued_purchase_no_write_back_showed_taken_is_written_unmarked(office, key):
    """The office does not know whether a meter took it: the new card must still give it to
    a meter (the customer's, or a new one after a lost card never swiped)."""
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="10", key=key()
    )
    office.new_card("u2")
    result = vending.reissue(office.station, office.customer, key=key())
    assert not result.card.slot(1).taken
    assert office.swipe(meter).ok and meter.balance_centi == 500 + 1000

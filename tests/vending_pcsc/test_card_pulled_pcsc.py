"""A card pulled out of a real PC/SC reader in the middle of a sale.

The emulated chip leaves the reader after N data bytes of the sale's writes (``cut_after``);
the sale fails, the purchase stays pending, the operator puts the card back and reads it: the
two-phase sale resolves it. A card the write never reached voids it; a torn card is restored
from the database and completes it; a card written whole (pulled before the reader heard
back) completes it. Then the card and the ledger agree, and the meter model credits exactly
what was paid for. The cuts: before the first byte, after the first, half-way, all but the
last byte (the office MAC incomplete), after the last.
"""

from __future__ import annotations

from collections import Counter

import pytest

from prepaid.cards.models import CardOperation
from prepaid.core.errors import ReaderError
from prepaid.core.meter import SwipeResult
from prepaid.vending import services as vending
from prepaid.vending.models import LedgerEntry, Purchase

pytestmark = [pytest.mark.django_db, pytest.mark.pcsc]


def _bytes_written_by_a_sale(office, cards, key) -> int:
    """Data bytes the reader writes on the chip for one sale (a sale that is let through)."""
    chip = cards.card("u1")
    before = chip.written_bytes
    vending.sell(office.station, quantity="1", key=key())
    return chip.written_bytes - before


def test_card_pulled_mid_sale_then_put_back_leaves_card_and_ledger_agreeing(office, cards, key):
    meter = office.meter()
    office.new_card("u1")
    vending.open_account(
        office.station, office.customer, office.account, office.price, quantity="1", key=key()
    )
    office.swipe(meter)
    written = _bytes_written_by_a_sale(office, cards, key)
    assert written > 16  # a slot and the office MAC at least
    office.swipe(meter)

    restores = CardOperation.objects.filter(kind=CardOperation.Kind.RESTORE)
    outcomes: Counter[str] = Counter()
    for cut in sorted({0, 1, written // 2, written - 1, written}):
        cards.insert("u1", cut_after=cut)
        try:
            vending.sell(office.station, quantity="1", key=key())
        except ReaderError as failed:
            assert failed.code == "write_failed", cut
            assert cards.inserted() is None  # the card left the reader mid-write
            assert Purchase.objects.filter(status="pending").count() == 1
        else:
            # Only the last cuts may miss: this sale changed fewer bytes than the measured one
            # (a byte of a MAC happened to equal the old one), so the card never left.
            assert cut >= written - 2, cut
            assert not Purchase.objects.filter(status="pending").exists()
            outcomes["whole before the cut"] += 1

        cards.insert("u1")  # the operator puts it back
        restored_before = restores.count()
        user_card = vending.read_user_card(office.station)  # restores / settles
        assert not Purchase.objects.filter(status="pending").exists()
        status = Purchase.objects.order_by("-id").first().status
        outcomes[status if restores.count() == restored_before else f"{status}, restored"] += 1
        last = Purchase.objects.filter(status="completed").order_by("-serial").first()
        slot = user_card.card.slot(1)
        assert (slot.serial, slot.quantity_centi) == (last.serial, last.quantity_centi), cut
        assert vending.read_user_card(office.station).card == user_card.card  # as written
        assert office.swipe(meter).result is SwipeResult.OK

    completed = Purchase.objects.filter(status="completed")
    charged = sum(e.amount_fen for e in LedgerEntry.objects.all())
    assert charged == sum(p.amount_fen for p in completed)
    assert meter.balance_centi == 500 + sum(p.quantity_centi for p in completed)
    assert meter.last_serial == max(p.serial for p in completed)
    # Whole-written is the usual outcome of the last cut, but a sale may change a byte more or
    # less than the measured one (the MACs differ from sale to sale), so only these two are
    # certain.
    assert outcomes["voided"] > 0 and outcomes["completed, restored"] > 0, outcomes
    allowed = {"voided", "completed", "completed, restored", "whole before the cut"}
    assert set(outcomes) <= allowed, outcomes

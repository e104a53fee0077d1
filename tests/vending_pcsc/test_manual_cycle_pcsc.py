"""The back office's manual cycle once more, through a real PcscReader and emulated chips.

These are the test functions of ``tests/vending/test_manual_cycle.py`` themselves, run with
this folder's ``office`` (pcscd + vpcd + the emulator, SLE4442 and Mifare Classic 1K), so the
two groups cannot drift apart: open an account on a new card, sell, refuse a sale while the
last purchase is not swiped, correct, reissue (the old card revoked in the office, the new
one swiped first, nothing credited twice in the meter model), the limit guard on the meter's
write-back and the meter change. (The idempotent retry and the tiered price do nothing
the reader could change, and stay with the virtual reader.)
"""

from __future__ import annotations

import pytest

from vending import test_manual_cycle as virtual

pytestmark = [pytest.mark.django_db, pytest.mark.pcsc]

test_open_sell_refuse_unswiped_then_swipe_and_sell = (
    virtual.test_open_sell_refuse_unswiped_then_swipe_and_sell
)
test_correction_reverses_and_rewrites_same_serial = (
    virtual.test_correction_reverses_and_rewrites_same_serial
)
test_reissue_revokes_old_card_and_never_credits_twice = (
    virtual.test_reissue_revokes_old_card_and_never_credits_twice
)
test_limit_guard_uses_meter_write_back = virtual.test_limit_guard_uses_meter_write_back
test_meter_change_moves_remaining_minus_prestore_plus_unswiped = (
    virtual.test_meter_change_moves_remaining_minus_prestore_plus_unswiped
)

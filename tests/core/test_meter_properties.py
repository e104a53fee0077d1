"""Property tests of the meter model (DESIGN §4): any history of purchases, swipes of the
card and its old copies, reissues, other customers' cards and use keeps the meter's rules.

* the balance is always pre-stored + credit applied − use, and never below −overdraft;
* purchase serials are applied once each, in order, with the quantity the office wrote;
* a credit never lifts the balance above the purchase limit;
* the valve is closed whenever the balance is at or below −overdraft; closed above it only
  because the balance came down to the alarm level (the alarm's one closing);
* use stops short of what was asked only where the valve closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from prepaid.core.card import codec
from prepaid.core.card.model import Card, CardType, MeterParameters, MeterType, Slot
from prepaid.core.meter import Meter, MeterState, SwipeResult, new_meter

KEY = bytes(range(32))
CODE = 1234
USER = 42
CARD_SERIAL = "00112233445566aa"
T0 = 1_700_000_000

quantities = st.integers(min_value=0, max_value=60_00)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), quantities),
        st.tuples(st.just("swipe"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("use"), quantities),
        st.tuples(st.just("reissue"), st.just(0)),
        st.tuples(st.just("stranger"), st.just(0)),
    ),
    max_size=40,
)
parameters = st.builds(
    MeterParameters,
    sub_meter=st.just(1),
    meter_type=st.just(MeterType.WATER),
    maintenance_code=st.just(CODE),
    limit_centi=st.integers(min_value=1_00, max_value=100_00),
    prestore_centi=st.integers(min_value=0, max_value=10_00),
    alarm_centi=st.integers(min_value=0, max_value=20_00),
    overdraft_centi=st.integers(min_value=0, max_value=10_00),
).filter(lambda p: p.prestore_centi <= p.limit_centi and p.alarm_centi < p.limit_centi)


def user_card(serial: int, quantity_centi: int, generation: int, user: int = USER) -> bytes:
    slot = Slot(1, MeterType.WATER, CODE, serial, quantity_centi)
    card = Card(CardType.USER, CARD_SERIAL, generation, user_number=user, slots=(slot,))
    return codec.encode(card, KEY)


@dataclass
class History:
    """The office's purchases and every image of the customer's card it ever handed out."""

    params: MeterParameters
    generation: int = 1
    written: dict[int, int] = field(default_factory=dict)  # purchase serial → quantity
    images: list[bytes] = field(default_factory=list)  # the card as it was; the last is current
    applied: list[tuple[int, int]] = field(default_factory=list)  # (serial, quantity) applied
    used_centi: int = 0
    now: int = T0

    def tick(self) -> int:
        self.now += 60
        return self.now


def check(meter: Meter, history: History) -> None:
    params = history.params
    floor = -params.overdraft_centi
    applied = sum(q for _serial, q in history.applied)
    assert meter.balance_centi == params.prestore_centi + applied - history.used_centi
    assert meter.cumulative_centi == history.used_centi
    assert meter.balance_centi >= floor
    serials = [serial for serial, _q in history.applied]
    assert serials == list(range(1, len(serials) + 1))  # once each, in order
    assert all(history.written[serial] == q for serial, q in history.applied)
    assert meter.last_serial == len(serials)
    if meter.balance_centi <= floor:
        assert not meter.valve_open
    if not meter.valve_open:
        assert meter.balance_centi <= max(params.alarm_centi, floor)


def swipe(meter: Meter, history: History, image: bytes, current: bool) -> None:
    balance = meter.balance_centi
    outcome = meter.swipe(image, KEY, history.tick())
    if outcome.applied_serial:
        assert outcome.ok
        history.applied.append((outcome.applied_serial, outcome.applied_centi))
        assert meter.balance_centi == balance + outcome.applied_centi
        assert meter.balance_centi <= history.params.limit_centi
    else:
        assert meter.balance_centi == balance
    if outcome.ok and meter.state is MeterState.BOUND:
        assert outcome.meter_area is not None  # written back after the customer's swipe
        assert meter.valve_open == (meter.balance_centi > meter.floor_centi)
    if current and outcome.meter_area is not None:
        area = codec.METER_AREA
        history.images[-1] = image[: area.start] + outcome.meter_area + image[area.stop :]


@settings(max_examples=300, deadline=None)
@given(params=parameters, steps=steps)
def test_any_history_keeps_the_meters_rules(
    params: MeterParameters, steps: list[tuple[str, int]]
) -> None:
    history = History(params)
    meter = new_meter("M1", history.tick())
    setting = Card(CardType.SETTING, codec.new_serial(), 1, parameters=params)
    assert meter.swipe(codec.encode(setting, KEY), KEY, history.tick()).ok
    check(meter, history)
    for action, value in steps:
        if action == "buy":
            serial = len(history.written) + 1
            history.written[serial] = value
            history.images.append(user_card(serial, value, history.generation))
        elif action == "swipe" and history.images:
            index = max(0, len(history.images) - 1 - value)  # the card, or an older copy
            swipe(meter, history, history.images[index], index == len(history.images) - 1)
        elif action == "use":
            balance, valve_open = meter.balance_centi, meter.valve_open
            used = meter.use(value, history.tick())
            history.used_centi += used
            assert 0 <= used <= value and meter.balance_centi == balance - used
            assert used == 0 or valve_open
            if used < value and valve_open:  # the flow stopped: the valve closed
                assert not meter.valve_open
        elif action == "reissue" and history.written:
            history.generation += 1
            serial = len(history.written)
            history.images.append(user_card(serial, history.written[serial], history.generation))
        elif action == "stranger" and meter.state is MeterState.BOUND:
            outcome = meter.swipe(user_card(1, 5_00, 1, user=USER + 1), KEY, history.tick())
            assert outcome.result is SwipeResult.E04 and outcome.meter_area is None
        check(meter, history)

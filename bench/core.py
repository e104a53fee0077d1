"""Benchmarks of the domain core, one CPU core: card codec and meter swipes.

Run: ``.venv/bin/python bench/core.py [seconds]`` (default 5 s per figure, the median of 5
rounds). Prints figures, asserts nothing about time (target: at least 20,000 per second each).
Set ``BENCH_PROFILE=1`` to print a profile of each benchmark as well.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable

from prepaid.core.card import codec
from prepaid.core.card.model import Card, CardType, MeterParameters, MeterType, Slot
from prepaid.core.meter import Meter, SwipeResult, new_meter

SITE_KEY = bytes(range(32))
CODE = 1234
PARAMS = MeterParameters(1, MeterType.WATER, CODE, 2_000_000_00, 5_00, 3_00, 5_00)
POOL = 4_000  # pre-encoded purchases for the "apply" benchmark


def user_card(serial: int, card_serial: str = "0011223344556677") -> Card:
    slots = (
        Slot(1, MeterType.WATER, CODE, serial, 10_00),
        Slot(2, MeterType.ELECTRICITY, CODE, 7, 30_00),
    )
    return Card(CardType.USER, card_serial, 1, user_number=4_200_001, slots=slots)


def rate(work: Callable[[int], int], seconds: float) -> float:
    """Operations per second of ``work(n)`` (which does n operations and returns how many)."""
    done, elapsed, batch = 0, 0.0, 64
    while elapsed < seconds:
        start = time.process_time()
        done += work(batch)
        elapsed += time.process_time() - start
        batch = min(batch * 2, 4096)
    return done / elapsed


def bench_codec(seconds: float) -> float:
    card = user_card(3)

    def work(n: int) -> int:
        for _ in range(n):
            codec.decode(codec.encode(card, SITE_KEY), SITE_KEY)
        return n

    return rate(work, seconds)


def bound_meter() -> Meter:
    meter = new_meter("B1", 0)
    setting = Card(CardType.SETTING, codec.new_serial(), 1, parameters=PARAMS)
    assert meter.swipe(codec.encode(setting, SITE_KEY), SITE_KEY, 1).ok
    assert meter.swipe(codec.encode(user_card(1), SITE_KEY), SITE_KEY, 2).ok
    return meter


def bench_swipe_applied(seconds: float) -> float:
    """The customer's card swiped again: decode, checks, write-back (nothing to apply)."""
    meter = bound_meter()
    image = codec.encode(user_card(1), SITE_KEY)

    def work(n: int) -> int:
        for i in range(n):
            meter.swipe(image, SITE_KEY, 10 + i)
        return n

    return rate(work, seconds)


def bench_swipe_written_back(seconds: float) -> float:
    """As a card really goes: each swipe's write-back is written onto the card, so every
    decode also verifies the meter MAC and reads the records (nothing to apply)."""
    meter = bound_meter()
    image = codec.encode(user_card(1), SITE_KEY)

    def work(n: int) -> int:
        nonlocal image
        for i in range(n):
            area = meter.swipe(image, SITE_KEY, 10 + i).meter_area
            assert area is not None
            image = image[: codec.METER_AREA.start] + area + image[codec.METER_AREA.stop :]
        return n

    return rate(work, seconds)


def bench_swipe_purchase(seconds: float) -> float:
    """Each swipe applies a new purchase (serials 2, 3, … from pre-encoded cards)."""
    images = [codec.encode(user_card(serial), SITE_KEY) for serial in range(2, POOL + 2)]
    snapshot = bound_meter().to_dict()
    state = {"meter": Meter.from_dict(snapshot), "next": 0}

    def work(n: int) -> int:
        meter, index = state["meter"], state["next"]
        assert isinstance(meter, Meter) and isinstance(index, int)
        n = min(n, POOL - index)
        for image in images[index : index + n]:
            outcome = meter.swipe(image, SITE_KEY, 100)
            assert outcome.result is SwipeResult.OK and outcome.applied_centi
        state["next"] = index + n
        if index + n == POOL:  # start over from the same bound meter
            state["meter"], state["next"] = Meter.from_dict(snapshot), 0
        return n

    return rate(work, seconds)


ROUNDS = 5


def report(name: str, bench: Callable[[float], float], seconds: float) -> None:
    """The figure is the median of ``ROUNDS`` rounds sharing ``seconds`` (the slowest and
    fastest round beside it): on a shared machine one round can run at half speed."""
    if os.environ.get("BENCH_PROFILE"):
        profile = cProfile.Profile()
        profile.runcall(bench, seconds)
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    rounds = sorted(bench(seconds / ROUNDS) for _ in range(ROUNDS))
    print(
        f"{name:<44} {statistics.median(rounds):>10,.0f} /s"
        f"   (rounds {rounds[0]:,.0f} to {rounds[-1]:,.0f})"
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    print(
        f"prepaid core benchmarks, {seconds:g} s each in {ROUNDS} rounds, one core "
        "(target 20,000/s)"
    )
    report("user card encode + MAC + decode", bench_codec, seconds)
    report("meter swipe, purchase applied + write-back", bench_swipe_purchase, seconds)
    report("meter swipe, already applied + write-back", bench_swipe_applied, seconds)
    report("meter swipe, card carrying write-backs", bench_swipe_written_back, seconds)


if __name__ == "__main__":
    main()

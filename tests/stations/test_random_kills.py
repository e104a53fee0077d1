"""Corrections and reissues killed at random lines, not only a sale at its named steps.

A seeded choice of kill points: each operation is first run undisturbed to count the lines
of the product's code it runs (``faulty_prepaid.py``'s ``line:0``), then killed at a line
drawn from that count, retried with its request key (the card in the reader), and settled
by ``prepaid reconcile``. After each round the card carries the office's last purchase, the
ledger books every completed purchase once, nothing is pending, the card is the customer's
active card, and the meter has credited exactly what was charged.
"""

from __future__ import annotations

import random
import re
import signal
import sys
import uuid

import pytest
from station_kit import (
    HERE,
    Site,
    check_ledger_matches_purchases,
    credited_centi,
    database_url_for,
    open_customer,
)

from prepaid.core.card import codec

FAULTY = [sys.executable, str(HERE / "faulty_prepaid.py")]
SEED = 34


class Customer:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.number, self.meter = open_customer(site, "c1")
        self.card = "u1"
        self.clock = 1_700_100_000

    def swipe(self) -> None:
        self.clock += 60
        assert self.site.swipe(self.meter, "c1", self.card, self.clock).ok

    def new_card(self, name: str) -> None:
        self.site.put_card("c1", name, codec.blank_image())
        self.site.json("card", "format", station="c1")

    def faulty(self, fault: str, *args: str):
        return self.site.run(
            *args, "--json", station="c1", argv0=FAULTY, env={"PREPAID_FAULT": fault}
        )


def lines_run(result) -> int:
    return int(re.search(r"^LINES (\d+)$", result.stderr, re.M).group(1))


def check_agreement(customer: Customer) -> None:
    site = customer.site
    doc = site.json("reconcile", station="c1")
    assert doc["pending"] == [] and doc["card_error"] is None, doc
    card = site.json("card", "read", station="c1")
    (serial, generation, last_serial) = site.sql(
        "SELECT c.serial, c.generation, a.last_serial FROM vending_customercard c "
        "JOIN vending_customeraccount a ON a.customer_id = c.customer_id "
        "WHERE c.status = 'active'"
    )[0]
    assert (card["serial"], card["generation"]) == (serial, generation)
    assert card["slots"][0]["serial"] == last_serial
    check_ledger_matches_purchases(site)
    customer.swipe()
    booked = site.sql("SELECT sum(quantity_centi) FROM vending_ledgerentry")[0][0]
    assert credited_centi(customer.meter) == int(booked)


def correct(customer: Customer, fault: str, key: str, quantity: str):
    return customer.faulty(fault, "correct", "--quantity", quantity, "--key", key)


def reissue(customer: Customer, fault: str, key: str, card: str):
    return customer.faulty(fault, "reissue", customer.number, "--key", key)


@pytest.fixture
def customer(request, tmp_path) -> Customer:
    site = Site(tmp_path, database_url_for(request, f"kills_{uuid.uuid4().hex[:12]}"))
    site.init()
    site.account, site.price = site.water_account()
    site.add_station("c1")
    return Customer(site)


def test_corrections_and_reissues_killed_at_random_lines(customer):
    rng = random.Random(SEED)
    site = customer.site
    lines: dict[str, int] = {}
    kills = 0
    for round_ in range(4):
        operation = ("correct", "reissue")[round_ % 2]
        key = f"kill-{round_}-{uuid.uuid4().hex[:6]}"
        if operation == "correct":
            site.json("sell", "--quantity", "2", station="c1")  # the purchase to correct
            run, args = correct, (f"{rng.randint(1, 500) / 100:.2f}",)
        else:
            customer.card = f"u{round_ + 2}"
            customer.new_card(customer.card)
            run, args = reissue, (customer.card,)
        if operation not in lines:  # undisturbed, counting the lines it runs
            result = run(customer, "line:0", key, *args)
            assert result.returncode == 0, result.stdout + result.stderr
            lines[operation] = lines_run(result)
        else:
            line = rng.randint(1, lines[operation])
            result = run(customer, f"line:{line}", key, *args)
            if result.returncode == -signal.SIGKILL:  # retried with its key, card in the reader
                kills += 1
                retry = site.run(*_argv(operation, customer, key, args), station="c1")
                assert retry.returncode in (0, 1), retry.stdout + retry.stderr
        check_agreement(customer)
    assert kills == 2
    assert site.json("audit", "verify")["ok"]


def _argv(operation: str, customer: Customer, key: str, args: tuple[str, ...]) -> list[str]:
    if operation == "correct":
        return ["correct", "--quantity", args[0], "--key", key, "--json"]
    return ["reissue", customer.number, "--key", key, "--json"]

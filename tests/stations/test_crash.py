"""A station killed at each step of a sale, its database connection cut, its disk full.

After each fault the sale retried with its request key (the card in the reader) finishes
what a kill left pending, or ``prepaid reconcile`` settles it; then the card and the ledger
must agree: the card carries the office's last purchase, every completed purchase is booked
once, nothing is pending, the meter credits exactly what was charged, and a retry with the
same request key is never charged twice.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import uuid
from dataclasses import dataclass
from typing import Any

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
OFFICE_BYTES = codec.OFFICE_AREA.stop - codec.OFFICE_AREA.start
KILLED = -signal.SIGKILL
POSTGRES = os.environ.get("PREPAID_TEST_DATABASE", "sqlite").lower() == "postgres"


@dataclass
class Counter:
    site: Site
    number: str
    meter: Any
    clock: int = 1_700_010_000

    def swipe(self) -> None:
        self.clock += 60
        assert self.site.swipe(self.meter, "c1", "u1", self.clock).ok

    def last_serial(self) -> int:
        return int(self.site.sql("SELECT last_serial FROM vending_customeraccount")[0][0])

    def card_serial(self) -> int:
        doc = self.site.json("card", "read", station="c1")
        return int(doc["slots"][0]["serial"])


@pytest.fixture(scope="module")
def counter(request, tmp_path_factory) -> Counter:
    site = Site(
        tmp_path_factory.mktemp("crash"),
        database_url_for(request, f"crash_{uuid.uuid4().hex[:12]}"),
    )
    site.init()
    site.account, site.price = site.water_account()
    site.add_station("c1")
    number, meter = open_customer(site, "c1")
    return Counter(site, number, meter)


def purchase_status(site: Site, key: str) -> str | None:
    rows = site.sql("SELECT status FROM vending_purchase WHERE idempotency_key = %s", key)
    return rows[0][0] if rows else None


def settle_and_check(counter: Counter, key: str) -> None:
    """Reconcile with the card in the reader; then card, ledger and meter agree."""
    site = counter.site
    doc = site.json("reconcile", station="c1")
    assert doc["pending"] == [] and doc["card_error"] is None, doc
    assert counter.card_serial() == counter.last_serial()
    check_ledger_matches_purchases(site)
    status = purchase_status(site, key)
    retry = site.run("sell", "--quantity", "1", "--key", key, "--json", station="c1")
    if status == "completed":  # the retry returns the first result, charged once
        assert retry.returncode == 0 and json.loads(retry.stdout)["status"] == "completed"
    elif status == "voided":
        assert json.loads(retry.stdout)["error"] == "purchase_voided"
    else:  # never committed: the retry is the first sale
        assert retry.returncode == 0, retry.stdout + retry.stderr
    assert site.sql(
        "SELECT count(*) FROM vending_ledgerentry WHERE idempotency_key = %s", f"{key}:book"
    )[0][0] == (1 if purchase_status(site, key) == "completed" else 0)
    counter.swipe()
    booked = site.sql("SELECT sum(quantity_centi) FROM vending_ledgerentry")[0][0]
    assert credited_centi(counter.meter) == int(booked)


FAULTS = [
    ("before_commit", None),
    ("after_commit", "pending"),
    ("mid_write:1", "pending"),
    (f"mid_write:{OFFICE_BYTES // 2}", "pending"),
    (f"mid_write:{OFFICE_BYTES - 1}", "pending"),
    ("after_write", "pending"),
]


@pytest.mark.parametrize(("fault", "left"), FAULTS)
def test_station_killed_during_a_sale(counter, fault, left):
    key = f"crash-{uuid.uuid4().hex[:8]}"
    result = counter.site.run(
        "sell",
        "--quantity",
        "1",
        "--key",
        key,
        "--json",
        station="c1",
        argv0=FAULTY,
        env={"PREPAID_FAULT": fault},
    )
    assert result.returncode == KILLED, result.stdout + result.stderr
    assert purchase_status(counter.site, key) == left
    if left == "pending":  # retried with its card in the reader: finished, charged once
        (purchase_id,) = counter.site.sql(
            "SELECT id FROM vending_purchase WHERE idempotency_key = %s", key
        )[0]
        retry = counter.site.json("sell", "--quantity", "1", "--key", key, station="c1")
        assert (retry["purchase_id"], retry["status"]) == (purchase_id, "completed"), retry
        assert counter.card_serial() == retry["serial"] == counter.last_serial()
    settle_and_check(counter, key)


@pytest.mark.skipif(not POSTGRES, reason="cuts a PostgreSQL connection")
@pytest.mark.parametrize(
    ("fault", "left"), [("drop_before_commit", None), ("drop_connection", "pending")]
)
def test_database_connection_dropped_mid_sale(counter, fault, left):
    key = f"drop-{uuid.uuid4().hex[:8]}"
    result = counter.site.run(
        "sell",
        "--quantity",
        "1",
        "--key",
        key,
        "--json",
        station="c1",
        argv0=FAULTY,
        env={"PREPAID_FAULT": fault},
    )
    assert result.returncode != 0
    assert json.loads(result.stdout)["error"] == "database_error", result.stdout
    reason = json.loads(result.stdout)["message"]
    assert "terminating connection" in reason or "server closed" in reason, reason
    assert purchase_status(counter.site, key) == left
    settle_and_check(counter, key)


def limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.skipif(POSTGRES, reason="SQLite's own files")
@pytest.mark.parametrize("limit_kib", [4, 64, 112, 128, 144, 192, 1024])
def test_sqlite_disk_full_mid_sale(counter, limit_kib):
    """The write-ahead log emptied, then at most ``limit_kib`` may be written to any file:
    the sale fails before phase one commits (small limits), between phase one and phase
    two (around 128 KiB here), or not at all; SQLite reports the failed write as a disk
    I/O error."""
    counter.site.sql("PRAGMA wal_checkpoint(TRUNCATE)")
    key = f"full-{limit_kib}-{uuid.uuid4().hex[:6]}"
    result = counter.site.run(
        "sell",
        "--quantity",
        "1",
        "--key",
        key,
        "--json",
        station="c1",
        preexec_fn=limit_file_size(limit_kib * 1024),
    )
    if result.returncode != 0:
        # A clear refusal, not a traceback: the database error comes back as JSON.
        assert json.loads(result.stdout)["error"] == "database_error", result.stdout
        assert "Traceback" not in result.stderr, result.stderr
    settle_and_check(counter, key)


def test_a_full_sqlite_disk_is_named_in_the_operators_language(counter):
    """SQLite's own "database or disk is full" is not shown inside a Chinese message: the
    reason is the translated 磁盘空间已满 (English with --lang en)."""
    for lang, reason in (("zh-hans", "磁盘空间已满"), ("en", "no space left on the device")):
        key = f"full-{lang}-{uuid.uuid4().hex[:6]}"
        result = counter.site.run(
            "sell", "--quantity", "1", "--key", key, "--json", "--lang", lang,
            station="c1", argv0=FAULTY, env={"PREPAID_FAULT": "disk_full"},
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        refused = json.loads(result.stdout)
        assert refused["error"] == "database_error", refused
        assert reason in refused["message"], refused
        assert "database or disk is full" not in refused["message"], refused
        assert purchase_status(counter.site, key) is None
        settle_and_check(counter, key)


def test_reissue_after_a_crashed_sale_says_how_to_settle_its_pending_purchase(site):
    """The station died after phase one, then the card was lost: ``reissue`` names the
    pending purchase and the ``prepaid reconcile`` that settles it, instead of telling the
    operator to wait for a sale that no station is running."""
    site.add_station("c1")
    number, _meter = open_customer(site, "c1")
    key = f"lost-{uuid.uuid4().hex[:8]}"
    result = site.run(
        "sell", "--quantity", "1", "--key", key, "--json",
        station="c1", argv0=FAULTY, env={"PREPAID_FAULT": "after_commit"},
    )  # fmt: skip
    assert result.returncode == KILLED, result.stdout + result.stderr
    (purchase_id,) = site.sql("SELECT id FROM vending_purchase WHERE status = 'pending'")[0]
    for args in (("card", "blank", "u2"), ("card", "insert", "u2"), ("card", "format")):
        site.json(*args, station="c1")

    refused = site.json("reissue", number, station="c1", status=1)
    assert refused["error"] == "stale_pending_purchase", refused
    assert f"prepaid reconcile --void {purchase_id}" in refused["message"]
    chinese = site.run("reissue", number, station="c1", env={"PREPAID_LANG": "zh-hans"})
    assert chinese.returncode == 1 and f"prepaid reconcile --void {purchase_id}" in chinese.stderr
    assert "结清" in chinese.stderr, chinese.stderr

    site.json("reconcile", "--void", str(purchase_id), station="c1")
    reissued = site.json("reissue", number, station="c1")
    assert reissued["serial"] == 1

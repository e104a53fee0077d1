"""CLI benchmark: the wall time of one ``prepaid`` command, start to exit (target ≤ 400 ms).

Builds a data directory as an office would have it: ``prepaid init``, then ``prepaid demo``
(households, cards, meters, months of sales at several stations, through the real services),
then a customer of its own opened on a card in the virtual reader, on a meter set by a setting
card, so that ``sell`` can be timed too (the customer swipes the card on the meter between two
sales: that swipe is not timed). Then runs each command ``--runs`` times as a new process, the
way an operator or a script runs it (``python -m prepaid --json …``, authenticated as
$PREPAID_OPERATOR by $PREPAID_PASSWORD like every database command), and prints the median and
the fastest run against the target. For reference it also times what every database command
pays before it does anything: the interpreter, ``django.setup()`` alone, and one check of a
password with the operators' Argon2id parameters. Asserts nothing about time.

    .venv/bin/python bench/cli.py [--runs 7] [--customers 60] [--months 6] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MS = 400
PASSWORD = "Bench-cli-2025"


class Office:
    def __init__(self, home: Path) -> None:
        self.env = {
            **os.environ,
            "PREPAID_HOME": str(home),
            "PREPAID_OPERATOR": "admin",
            "PREPAID_PASSWORD": PASSWORD,
            "PREPAID_STATION": "bench-1",
            "PREPAID_LANG": "zh-hans",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        # As installed, Python keeps compiled modules; without that, every run would compile
        # again each module edited since its cache was written.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def run(self, *args: str, stdin: str = "") -> Any:
        result = subprocess.run(
            [sys.executable, "-m", "prepaid", "--json", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"prepaid {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return json.loads(result.stdout) if result.stdout.strip() else None

    def time(self, argv: list[str]) -> tuple[float, float]:
        """Milliseconds from start to exit of one process, and of processor time it used (user
        and system); it must succeed."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
        elapsed = (time.perf_counter() - started) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {result.stdout}{result.stderr}")
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
        return elapsed, cpu


def build(office: Office, customers: int, months: int) -> None:
    started = time.perf_counter()
    office.run("init", "--admin-password", PASSWORD)
    office.run("demo", "--customers", str(customers), "--months", str(months), "--quiet")
    account = 1  # the demo's water account, and its first price
    prices = [p for p in office.run("price", "list") if p["account"] == account]
    for name in ("bench-setting", "bench-user"):
        office.run("card", "blank", name)
    office.run("card", "insert", "bench-setting")
    office.run("card", "make", "setting", "--account", str(account))
    office.run("meter", "add", "BENCH-M1")
    office.run("meter", "swipe", "BENCH-M1")
    office.run("card", "insert", "bench-user")
    office.run("card", "format")
    office.run(
        "user",
        "register",
        "--name",
        "王测试",
        "--phone",
        "13900000000",
        "--open",
        "--account",
        str(account),
        "--price",
        str(prices[0]["id"]),
        "--quantity",
        "10",
    )
    office.run("meter", "swipe", "BENCH-M1")
    print(
        f"data directory: {customers} customers, {months} months of sales "
        f"({time.perf_counter() - started:.1f} s to build)"
    )


def report_line(
    name: str, samples: list[tuple[float, float]], target: int | None = TARGET_MS
) -> None:
    wall = [w for w, _ in samples]
    cpu = [c for _, c in samples]
    median = statistics.median(wall)
    verdict = "" if target is None else ("ok" if median <= target else "OVER")
    print(f"  {name:<34} {median:7.0f} {min(wall):7.0f} {statistics.median(cpu):7.0f}  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (median)")
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--home", type=Path, help="data directory to build (default: a temp one)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="prepaid-bench-cli-") as temp:
        home = (options.home or Path(temp) / "data").resolve()
        if home.exists() and any(home.iterdir()):
            raise SystemExit(f"{home} is not empty: the benchmark builds a fresh data directory")
        office = Office(home)
        build(office, options.customers, options.months)
        prepaid = [sys.executable, "-m", "prepaid", "--json"]
        commands: list[tuple[str, list[str]]] = [
            ("card read (no database)", [*prepaid, "card", "read"]),
            ("meter show (no database)", [*prepaid, "meter", "show", "BENCH-M1"]),
            ("operator list", [*prepaid, "operator", "list"]),
            ("account list", [*prepaid, "account", "list"]),
            ("user find (a name)", [*prepaid, "user", "find", "王"]),
            ("user show", [*prepaid, "user", "show", "00000001"]),
            ("report sales", [*prepaid, "report", "sales"]),
            ("report summary", [*prepaid, "report", "summary"]),
            ("report sales --format csv", [*prepaid, "report", "sales", "--format", "csv"]),
        ]
        reference: list[tuple[str, list[str]]] = [
            ("python (interpreter alone)", [sys.executable, "-c", "pass"]),
            (
                "django.setup() alone",
                [
                    sys.executable,
                    "-c",
                    "import os, django; "
                    "os.environ['DJANGO_SETTINGS_MODULE'] = 'prepaid.settings'; django.setup()",
                ],
            ),
        ]
        for _, argv in commands + reference:  # warm up: caches of compiled modules and files
            office.time(argv)
        samples: dict[str, list[tuple[float, float]]] = {n: [] for n, _ in commands + reference}
        sales: list[tuple[float, float]] = []
        for _ in range(options.runs):  # interleaved, so that a busy moment hits every command
            for name, argv in commands + reference:
                samples[name].append(office.time(argv))
            sales.append(office.time([*prepaid, "sell", "--quantity", "1"]))
            office.run("meter", "swipe", "BENCH-M1")  # the customer uses the card: not timed

        hash_ms = _password_check_ms(office)
        print(f"\none command, ms ({options.runs} runs; target {TARGET_MS} ms of wall time):")
        print(f"  {'command':<34} {'wall':>7} {'fastest':>7} {'cpu':>7}")
        for name, _ in commands:
            report_line(name, samples[name])
        report_line("sell --quantity 1", sales)
        print("\nwhat every database command pays first, ms:")
        for name, _ in reference:
            report_line(name, samples[name], target=None)
        print(f"  {'Argon2id password check (in-process)':<34} {hash_ms:7.0f}")
        print(
            "\nwall: median and fastest run; cpu: median processor time (user + system), what the"
            "\nwall time comes down to when nothing else runs on the machine."
        )
    return 0


def _password_check_ms(office: Office) -> float:
    """One check of a password hashed with the operators' hasher (median of 5), in a process
    of its own with Django set up."""
    code = (
        "import os, time, statistics, django\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'prepaid.settings'\n"
        "django.setup()\n"
        "from django.contrib.auth.hashers import check_password, make_password\n"
        "encoded = make_password('x' * 12)\n"
        "runs = []\n"
        "for _ in range(5):\n"
        "    started = time.perf_counter()\n"
        "    check_password('x' * 12, encoded)\n"
        "    runs.append((time.perf_counter() - started) * 1000)\n"
        "print(statistics.median(runs))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=office.env, capture_output=True, text=True, check=True
    )
    return float(result.stdout)


if __name__ == "__main__":
    raise SystemExit(main())

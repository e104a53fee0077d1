"""``prepaid demo``: fill a fresh data directory with months of realistic history.

Households, cards, meters, sales at several stations, reissues, meter changes, shifts closed
every evening, and planted anomalies for the suspicious-customer report — all through the real
services, with a simulated clock (see ``prepaid.demo``). Runs as an administrator. A progress
bar goes to stderr; ``--anomalies FILE`` writes the list of planted anomalies as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from prepaid.cli.options import whole_number
from prepaid.core.errors import _

BAR = 30


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "demo", parents=[common], help=_("build a demo office history (fresh data directory)")
    )
    parser.add_argument(
        "--customers",
        type=whole_number,
        default=60,
        help=_("number of customers, 1 to 100000 (default 60)"),
    )
    parser.add_argument(
        "--months", type=whole_number, default=12, help=_("months of history, 1 to 60 (default 12)")
    )
    parser.add_argument(
        "--seed",
        type=whole_number,
        default=1,
        help=_("random seed: the same seed, sizes and --end make the same history (default 1)"),
    )
    parser.add_argument(
        "--stations",
        type=whole_number,
        default=3,
        help=_("number of stations, 1 to 20 (default 3)"),
    )
    parser.add_argument(
        "--end",
        type=datetime.date.fromisoformat,
        help=_("last day of the history (default yesterday)"),
    )
    parser.add_argument("--anomalies", help=_("write the planted anomalies to this JSON file"))
    parser.add_argument("--quiet", action="store_true", help=_("no progress bar"))
    parser.set_defaults(handler=handle)


def progress_bar(stream: Any) -> Any:
    def show(done: int, total: int, sales: str) -> None:
        filled = BAR * done // max(total, 1)
        percent = 100 * done // max(total, 1)
        stream.write(
            f"\r[{'#' * filled}{'.' * (BAR - filled)}] {percent:3d}% "
            f"day {done}/{total}, {sales} sales"
        )
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def _faster_sqlite() -> None:
    """WAL with synchronous=NORMAL for the demo's thousands of small transactions: still
    crash-safe (no corruption), only the last commits may be lost on power failure."""
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=NORMAL")


def handle(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.core.errors import InvalidInput, _
    from prepaid.demo.generator import DemoConfig, generate
    from prepaid.operators.services import require_admin
    from prepaid.reports.aggregates import rebuild_aggregates

    ctx.home.require()
    admin = ctx.operator
    require_admin(admin)
    if not (1 <= args.customers <= 100_000 and 1 <= args.months <= 60 and 1 <= args.stations <= 20):
        raise InvalidInput(
            "bad_demo_size", _("Use 1–100000 customers, 1–60 months and 1–20 stations.")
        )
    _faster_sqlite()
    config = DemoConfig(
        customers=args.customers,
        months=args.months,
        seed=args.seed,
        stations=args.stations,
        end=args.end,
        cards_to=ctx.home.cards,
        meters_to=ctx.home.meters,
    )
    quiet = args.quiet or not getattr(ctx.stderr, "isatty", lambda: False)()
    result = generate(
        admin,
        ctx.site_key,
        config,
        progress=None if quiet else progress_bar(ctx.stderr or sys.stderr),
    )
    rebuild_aggregates()
    document = result.to_json()
    if args.anomalies:
        with open(args.anomalies, "w", encoding="utf-8") as stream:
            json.dump(
                {
                    "seed": result.seed,
                    "as_of": result.as_of.isoformat(),
                    "anomalies": result.anomalies,
                },
                stream,
                ensure_ascii=False,
                indent=2,
            )
    record = result.record
    ctx.say(
        ctx.gettext(
            "Demo history from %(start)s to %(end)s: %(customers)s customers, "
            "%(sales)s sales, %(money)s taken."
        )
        % {
            "start": result.start,
            "end": result.end,
            "customers": result.customers,
            "sales": record.sales,
            "money": document["record"]["money"],
        }
    )
    ctx.say(
        ctx.gettext("%(count)s planted anomalies; see prepaid report suspicious.")
        % {"count": len(result.anomalies)}
    )
    ctx.say(
        ctx.gettext(
            "The customers' cards are in the card store, named by user number; their meters "
            "are in the meter simulator, named by user number and sub-meter number "
            "(00000001-1)."
        )
    )
    return document

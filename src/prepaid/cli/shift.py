"""``prepaid shift close``: close your shift at this station (日结/交班) with the counted cash.

The settlement (takings per payment method, expected and counted cash, the variance) is shown
and kept; ``prepaid report shift [--id N]`` shows it again. A closed shift never changes: the
next sale opens a new shift.
"""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.core.errors import _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("shift", parents=[common], help=_("shifts (日结/交班)"))
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    close = sub.add_parser("close", parents=[common], help=_("close your shift at this station"))
    close.add_argument("--counted-cash", required=True, help=_("cash counted in the drawer"))
    close.add_argument("--remarks", default="", help=_("remarks on the settlement (optional)"))
    close.add_argument("--id", help=_("close this shift instead (its operator or an admin)"))
    close.set_defaults(handler=handle_close)


def handle_close(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.cli.report import say_shift
    from prepaid.reports.shifts import (
        close_shift,
        shift_report,
        shift_report_document,
        shift_settlement_table,
    )

    ctx.home.require()
    settlement = close_shift(
        ctx.operator,
        ctx.station,
        counted_cash=args.counted_cash,
        remarks=args.remarks,
        shift_id=args.id,
    )
    report = shift_report(settlement.shift)
    document = shift_report_document(report)
    ctx.say(ctx.gettext("Shift %(shift_id)s closed.") % document)
    say_shift(ctx, document, shift_settlement_table(report))
    return document

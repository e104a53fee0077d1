"""``prepaid office time-zone [ZONE]``: the office's time zone, which every station of the
database runs in (docs/stations.md); with ZONE an administrator changes it deliberately.

It runs at a station in any zone (the others are refused in another zone than the office's,
``wrong_time_zone``): to see why a station is refused, and to change the office's zone from a
station not yet set to the new one.
"""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.core.errors import _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "office", parents=[common], help=_("the office's settings for every station")
    )
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    zone = sub.add_parser(
        "time-zone",
        parents=[common],
        help=_(
            "show the office's time zone, or change it (admin): every station must then run in it"
        ),
    )
    zone.add_argument(
        "zone",
        nargs="?",
        metavar=_("ZONE"),
        help=_("the office's new time zone, such as Asia/Shanghai"),
    )
    zone.set_defaults(handler=handle_time_zone, time_zone_check="none")


def handle_time_zone(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.reports.time_zone import (
        change_office_time_zone,
        office_time_zone,
        station_time_zone,
    )

    ctx.home.require()
    operator = ctx.operator
    if args.zone is None:
        office, station = office_time_zone(), station_time_zone()
        ctx.say(
            ctx.gettext("The office's time zone: %(office)s; this station's: %(station)s.")
            % {"office": office or ctx.gettext("not recorded yet"), "station": station}
        )
        return {"time_zone": office, "station_time_zone": station}
    change = change_office_time_zone(operator, args.zone)
    document = change.document()
    if not change.changed:
        ctx.say(
            ctx.gettext("The office's time zone is already %(zone)s: nothing was changed.")
            % {"zone": change.after}
        )
        return document
    if change.renamed:
        ctx.say(
            ctx.gettext(
                "The office's time zone is now recorded as %(zone)s (it was %(before)s), "
                "another name of the same zone: its days are the same, the stored report "
                "totals stand and the stations go on as they are."
            )
            % {"zone": change.after, "before": change.before}
        )
        return document
    ctx.say(
        ctx.gettext(
            "The office's time zone is now %(zone)s (it was %(before)s); the stored report "
            "totals are counted in it."
        )
        % {"zone": change.after, "before": change.before or ctx.gettext("not recorded yet")}
    )
    ctx.say(
        ctx.gettext(
            "Set PREPAID_TIME_ZONE=%(zone)s on every station of this database, this one too, "
            "and start them again: a station still in another zone is refused."
        )
        % {"zone": change.after}
    )
    if change.open_shifts:
        ctx.say(
            ctx.gettext(
                "Shifts still open: %(count)s. They go on with the same takings; their times "
                "now read in the new zone (docs/stations.md)."
            )
            % {"count": change.open_shifts}
        )
    return document

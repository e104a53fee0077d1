"""``prepaid init``: create or complete the data directory. Safe to run again."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.core.errors import _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "init", parents=[common], help=_("create the data directory and database")
    )
    parser.add_argument(
        "--admin-password",
        help=_(
            "password of the admin operator "
            "(unattended installs; otherwise 1111, to be changed at first login)"
        ),
    )
    # the office's time zone is checked once the tables exist (prepaid.setup)
    parser.set_defaults(handler=handle, time_zone_check="own")


def handle(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.setup import initialise

    result = initialise(ctx.home, admin_password=args.admin_password)
    ctx.say(ctx.gettext("Data directory ready: %(path)s") % {"path": result["home"]})
    if result["admin_created"] and args.admin_password is None:
        ctx.say(
            ctx.gettext(
                "Operator “admin” created with the password 1111, which must be changed at "
                "the first login."
            )
        )
    elif result["admin_created"]:
        ctx.say(ctx.gettext("Operator “admin” created."))
    return result

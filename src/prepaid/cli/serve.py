"""``prepaid serve``: the operator web UI (a threaded WSGI server for one station).

Like every command on the database it holds the data directory's lock shared while it runs
(taken by ``prepaid.cli.main``, inherited by the workers): ``prepaid restore`` is refused
meanwhile."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.cli.options import port_number
from prepaid.core.errors import _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("serve", parents=[common], help=_("serve the web UI"))
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help=_("address to listen on (default 127.0.0.1: this computer only)"),
    )
    parser.add_argument(
        "--port", type=port_number, default=8000, help=_("port to listen on (default 8000)")
    )
    # the office's time zone is checked once the port is known to be free
    parser.set_defaults(handler=handle, time_zone_check="own")


def handle(ctx: Any, args: argparse.Namespace) -> None:
    from prepaid.server import require_free_port, require_station_ready, serve

    ctx.home.require()
    require_free_port(args.host, args.port)
    # before the server starts: refused in another zone, with another site's key…
    require_station_ready(ctx.home)
    serve(args.host, args.port)

"""The ``prepaid`` command.

Exit status: 0 done; 1 refused by a business rule; 2 bad usage or input (DESIGN §8).
With ``--json`` one JSON document goes to stdout: the result, or
``{"error": "<code>", "message": "<localized text>"}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

# Command groups, each a module of prepaid.cli with a register(subparsers) function.
COMMAND_MODULES = (
    "init",
    "serve",
    "operator",
    "account",
    "price",
    "user",
    "card",
    "vend",
    "meter",
    "reconcile",
    "audit",
    "backup",
    "restore",
    "report",
    "shift",
    "demo",
)

LANGUAGES = {"zh-hans": "zh-hans", "zh": "zh-hans", "zh-cn": "zh-hans", "en": "en"}


class UsageError(Exception):
    """argparse found the command line wrong (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON document on stdout",
    )
    common.add_argument(
        "--lang", default=argparse.SUPPRESS, help="message language: zh-hans (default) or en"
    )
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="data directory (default $PREPAID_HOME or ./prepaid-data)",
    )
    parser = _Parser(prog="prepaid", description="Prepaid IC-card vending", parents=[common])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"prepaid.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"prepaid.cli.{name}":
                raise
            continue
        module.register(subparsers, common)
    return parser


def _language(args: argparse.Namespace) -> str:
    raw = getattr(args, "lang", None) or os.environ.get("PREPAID_LANG") or "zh-hans"
    lang = LANGUAGES.get(raw.lower())
    if lang is None:
        raise UsageError(f"unknown language {raw!r}: use zh-hans or en")
    return lang


def _setup_django(language: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepaid.settings")
    import django
    from django.utils import translation

    django.setup()
    translation.activate(language)


def main(argv: Sequence[str] | None = None) -> int:
    from prepaid.cli.context import Context
    from prepaid.home import DataHome, default_home

    argv = list(sys.argv[1:] if argv is None else argv)
    json_output = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        language = _language(args)
    except UsageError as exc:
        return _fail(json_output, "usage", str(exc), 2)
    json_output = getattr(args, "json", False)
    if getattr(args, "home", None):
        os.environ["PREPAID_HOME"] = str(Path(args.home).resolve())
    ctx = Context(home=DataHome(default_home()), json_output=json_output, language=language)
    if getattr(args, "needs_django", True):
        _setup_django(language)
    return run(ctx, args)


def run(ctx: Any, args: argparse.Namespace) -> int:
    from prepaid.core.errors import PrepaidError

    try:
        document = args.handler(ctx, args)
    except PrepaidError as exc:
        message = exc.translate(ctx.gettext)
        extra = getattr(exc, "extra", None) or {}
        return _fail(ctx.json_output, exc.code, message, exc.exit_status, extra)
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        # A dropped connection or a full disk: the transaction was rolled back, and anything
        # left pending is settled by the next read of the card or by `prepaid reconcile`.
        message = ctx.gettext(
            "The database could not complete the operation (%(reason)s). Nothing was "
            "half-written; read the card again or run “prepaid reconcile”."
        ) % {"reason": str(exc).strip() or type(exc).__name__}
        return _fail(ctx.json_output, "database_error", message, 1)
    ctx.emit(document)
    return 0


def _is_database_error(exc: Exception) -> bool:
    try:
        from django.db import Error as DatabaseError
    except ImportError:  # pragma: no cover - Django is a dependency
        return False
    return isinstance(exc, DatabaseError)


def _fail(
    json_output: bool, code: str, message: str, status: int, extra: dict[str, Any] | None = None
) -> int:
    if json_output:
        document = {"error": code, "message": message, **(extra or {})}
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"prepaid: {message}\n")
    return status


if __name__ == "__main__":
    raise SystemExit(main())

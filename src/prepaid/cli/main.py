"""The ``prepaid`` command.

Exit status: 0 done; 1 refused by a business rule; 2 bad usage or input (DESIGN §8).
With ``--json`` one JSON document goes to stdout: the result, or
``{"error": "<code>", "message": "<localized text>"}``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import gettext
import importlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from prepaid.cli.text import width as text_width
from prepaid.cli.text import wrap

# Each command and the module of prepaid.cli that registers it (a register(subparsers)
# function), so that a command line builds the parser of its own command only (importing and
# registering every module costs a command tens of milliseconds).
# tests/cli/test_cli_startup.py keeps this in step with what the modules register.
COMMANDS = {
    "init": "init",
    "serve": "serve",
    "operator": "operator",
    "account": "account",
    "price": "price",
    "user": "user",
    "card": "card",
    "open": "vend",
    "sell": "vend",
    "correct": "vend",
    "reissue": "vend",
    "meter-change": "vend",
    "meter": "meter",
    "reconcile": "reconcile",
    "audit": "audit",
    "backup": "backup",
    "restore": "restore",
    "report": "report",
    "shift": "shift",
    "demo": "demo",
    "office": "office",
}
# Command groups in the order help lists them.
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))
# Options of the top level, before the command.
_FLAGS = {"--json"}
_VALUED = {"--lang", "--home"}

LANGUAGES = {"zh-hans": "zh-hans", "zh": "zh-hans", "zh-cn": "zh-hans", "en": "en"}
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def _(message: str) -> str:
    """Mark a string for translation (extracted by makemessages); returns it unchanged."""
    return message


# argparse's own messages about a wrong command line, translated in the project catalog so
# that a usage error reads in the operator's language like every other error.
ARGPARSE_MESSAGES = (
    _("argument %(argument_name)s: %(message)s"),
    _("not allowed with argument %s"),
    _("one of the arguments %s is required"),
    _("the following arguments are required: %s"),
    _("invalid %(type)s value: %(value)r"),
    _("invalid choice: %(value)r (choose from %(choices)s)"),
    _("unrecognized arguments: %s"),
    _("expected one argument"),
    _("expected at most one argument"),
    _("expected at least one argument"),
    _("ambiguous option: %(option)s could match %(matches)s"),
    _("ignored explicit argument %r"),
    _("unknown parser %(parser_name)r (choices: %(choices)s)"),
    # and the words of its help
    _("usage: "),
    _("positional arguments"),
    _("options"),
    _("show this help message and exit"),
)


class UsageError(Exception):
    """argparse found the command line wrong (exit status 2)."""


class _HelpFormatter(argparse.HelpFormatter):
    """Help in the command line's language: the commands' help texts, descriptions, headings
    and worded placeholders are looked up as the help is printed (argparse's ``_`` speaks the
    command line's language while parsing, see :func:`_argparse_language`), so building a
    parser translates nothing. Lines are wrapped and aligned by the columns a Chinese
    character takes, where argparse counts characters."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return argparse._(action.help) if action.help else action.help  # type: ignore[attr-defined]

    def add_text(self, text: str | None) -> None:
        if text is not None and text is not argparse.SUPPRESS:
            text = argparse._(text)  # type: ignore[attr-defined]
        super().add_text(text)

    def start_section(self, heading: str | None) -> None:
        super().start_section(argparse._(heading) if heading else heading)  # type: ignore[attr-defined]

    class _Section(argparse.HelpFormatter._Section):  # type: ignore[name-defined]
        def format_help(self) -> str:
            formatted: str = super().format_help()
            if self.heading and _has_wide(self.heading):  # “选项：”, with a full-width colon
                formatted = formatted.replace(f"{self.heading}:\n", f"{self.heading}：\n", 1)
            return formatted

    def _metavar_formatter(self, action: argparse.Action, default_metavar: str) -> Any:
        # A word (COMMAND, PURCHASE_ID), not a value; nor a command's name in the list of
        # commands (the metavar of its pseudo-action), which is typed as it is.
        if isinstance(action.metavar, str) and not isinstance(action, _CommandName):
            metavar = argparse._(action.metavar)  # type: ignore[attr-defined]
            return lambda size: (metavar,) * size
        return super()._metavar_formatter(action, default_metavar)

    def _split_lines(self, text: str, width: int) -> list[str]:
        if not _has_wide(text):
            return super()._split_lines(text, width)
        return wrap(self._whitespace_matcher.sub(" ", text), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if not _has_wide(text):
            return super()._fill_text(text, width, indent)
        lines = wrap(self._whitespace_matcher.sub(" ", text), width - len(indent))
        return "\n".join(indent + line for line in lines)

    def _format_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None) -> str:
        if prefix is None:
            prefix = argparse._("usage: ")  # type: ignore[attr-defined]
        # argparse indents the lines that follow by the characters of the prefix, and wraps
        # them by the characters of the placeholders: wrap narrower, indent by the columns.
        extra = text_width(prefix) - len(prefix)
        wider = sum(
            text_width(argparse._(a.metavar)) - len(argparse._(a.metavar))  # type: ignore[attr-defined]
            for a in actions
            if isinstance(a.metavar, str)
        )
        self._width -= extra + wider
        try:
            formatted = super()._format_usage(usage, actions, groups, prefix)
        finally:
            self._width += extra + wider
        first, *rest = formatted.split("\n")
        return "\n".join([first, *(" " * extra + line if line else line for line in rest)])

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            invocations = [self._format_action_invocation(action)]
            invocations += map(
                self._format_action_invocation, self._iter_indented_subactions(action)
            )
            columns = max(map(text_width, invocations)) + self._current_indent
            self._action_max_length = max(self._action_max_length, columns)

    def _format_action(self, action: argparse.Action) -> str:
        formatted = super()._format_action(action)
        header = self._format_action_invocation(action)
        extra = text_width(header) - len(header)
        start = " " * self._current_indent + header
        if not extra or not action.help or not formatted.startswith(start + "  "):
            return formatted
        # argparse padded the invocation to the help column by characters: by columns it
        # takes ``extra`` spaces less, or the help starts on the next line.
        rest = formatted[len(start) :]
        spaces = len(rest) - len(rest.lstrip(" "))
        if spaces - extra >= 2:
            return start + rest[extra:]
        help_position = min(self._action_max_length + 2, self._max_help_position)
        return start + "\n" + " " * help_position + rest.lstrip(" ")


_CommandName = argparse._SubParsersAction._ChoicesPseudoAction  # type: ignore[attr-defined]


def _has_wide(text: str) -> bool:
    return text_width(text) != len(text)


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """A list of commands whose every command's help page starts with what it does: the
    one-line summary the list shows (translated as the page is printed, as every help)."""

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        summary = kwargs.get("help")
        if summary and summary is not argparse.SUPPRESS:
            kwargs.setdefault("description", summary)
        return super().add_parser(name, **kwargs)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The parser of the commands of ``modules`` (default: every command)."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help=_("print one JSON document on stdout"),
    )
    common.add_argument(
        "--lang", default=argparse.SUPPRESS, help=_("message language: zh-hans (default) or en")
    )
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help=_("data directory (default $PREPAID_HOME or ./prepaid-data)"),
    )
    parser = _Parser(prog="prepaid", description=_("Prepaid IC-card vending"), parents=[common])
    subparsers = parser.add_subparsers(dest="command", metavar=_("COMMAND"), parser_class=_Parser)
    subparsers.required = True
    for name in modules:
        try:
            module = importlib.import_module(f"prepaid.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"prepaid.cli.{name}":
                raise
            continue
        module.register(subparsers, common)
    return parser


def command_module(argv: Sequence[str]) -> str | None:
    """The module of the command on the command line, or None when that takes parsing to tell
    (help, an abbreviated or unknown option, no or an unknown command)."""
    args = iter(argv)
    for arg in args:
        option, equals, _value = arg.partition("=")
        if arg in _FLAGS or (equals and option in _VALUED):
            continue
        if arg in _VALUED:
            next(args, None)  # its value
            continue
        return COMMANDS.get(arg)
    return None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse with the named command's parser alone; anything it refuses is parsed again with
    every command, so that help and errors read exactly the same. argparse's messages come in
    the language the command line asks for."""
    argv = _descending_sorts(argv)
    module = command_module(argv)
    with _argparse_language(_requested_language(argv)):
        if module is not None:
            try:
                return build_parser((module,)).parse_args(argv)
            except UsageError:
                pass
        return build_parser().parse_args(argv)


def _descending_sorts(argv: Sequence[str]) -> list[str]:
    """``--sort -amount`` as ``--sort=-amount``: argparse would take the descending column,
    which starts with “-”, for an option of its own."""
    joined: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            joined.append(arg)
            joined.extend(args)
            break
        following = next(args, None) if arg == "--sort" else None
        if following is not None and following.startswith("-") and not following.startswith("--"):
            joined.append(f"--sort={following}")
        else:
            joined.append(arg)
            if following is not None:
                joined.append(following)
    return joined


def _requested_language(argv: Sequence[str]) -> str | None:
    """The language of ``--lang`` anywhere on the command line, else ``$PREPAID_LANG``, else
    the default; None when it is not one of ours (parsing reports that)."""
    raw = os.environ.get("PREPAID_LANG") or "zh-hans"
    args = iter(argv)
    for arg in args:
        if arg == "--":
            break
        if arg == "--lang":
            raw = next(args, raw)
        elif arg.startswith("--lang="):
            raw = arg.partition("=")[2]
    return LANGUAGES.get(raw.lower())


@contextlib.contextmanager
def _argparse_language(language: str | None) -> Iterator[None]:
    """argparse's messages through the project catalog while parsing (English as it is)."""
    if language in (None, "en"):
        yield
        return
    catalog = gettext.translation(
        "django", localedir=LOCALE_DIR, languages=["zh_Hans"], fallback=True
    )
    original = argparse._  # type: ignore[attr-defined]
    action_name = argparse._get_action_name  # type: ignore[attr-defined]

    def translated_action_name(action: argparse.Action | None) -> str | None:
        # An argument's name in an error (“缺少必需的参数：操作”) as the help shows it: a
        # worded placeholder in the operator's language; an option as it is typed.
        name: str | None = action_name(action)
        if action is None or action.option_strings or not isinstance(action.metavar, str):
            return name
        return catalog.gettext(name) if name == action.metavar else name

    argparse._ = catalog.gettext  # type: ignore[attr-defined]
    argparse._get_action_name = translated_action_name  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = original  # type: ignore[attr-defined]
        argparse._get_action_name = action_name  # type: ignore[attr-defined]


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
    # Run as a program, start-up (Django's imports and models) allocates hundreds of thousands
    # of objects and frees almost none: collecting them is wasted time. They are collected
    # again once the command runs; start-up's survivors are set aside for good (gc.freeze).
    collecting = argv is None and gc.isenabled()
    if collecting:
        gc.disable()
    try:
        started = _start(list(sys.argv[1:] if argv is None else argv))
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    if isinstance(started, int):
        return started
    try:
        status = run(*started)
    except BrokenPipeError:  # whoever read the output stopped reading (`| head`)
        _stop_writing()
        status = PIPE_CLOSED
    if argv is None and started[1].command != "serve":
        _exit_now(status)
    return status


# The status of a program whose output pipe was closed, as a shell reports SIGPIPE.
PIPE_CLOSED = 141


def _stop_writing() -> None:
    """Send what is still buffered for stdout nowhere: flushing it into the closed pipe at
    exit would print a traceback about output nobody reads."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _exit_now(status: int) -> None:
    """Exit without tearing down the interpreter: freeing every module and object Django
    loaded takes a command 15-20 ms. As at any exit, the functions registered with atexit run,
    then stdout and stderr are flushed; only when nothing else runs (one thread). If the
    flush fails this returns, and the interpreter exits and reports it as it always has."""
    import atexit
    import threading

    if threading.active_count() > 1:
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        _stop_writing()
        os._exit(PIPE_CLOSED)
    except (OSError, ValueError):
        return
    os._exit(status)


def _start(argv: list[str]) -> int | tuple[Any, argparse.Namespace]:
    """Parse the command line, and set up Django if the command needs it. Returns the context
    and the arguments, or the exit status of a usage error."""
    from prepaid.cli.context import Context
    from prepaid.home import DataHome, default_home
    from prepaid.logs import BadLogLevel, log_without_django

    json_output = "--json" in argv
    try:
        args = parse_args(argv)
        language = _language(args)
    except UsageError as exc:
        return _fail(json_output, "usage", str(exc), 2)
    json_output = getattr(args, "json", False)
    if getattr(args, "home", None):
        os.environ["PREPAID_HOME"] = str(Path(args.home).resolve())
    ctx = Context(home=DataHome(default_home()), json_output=json_output, language=language)
    if getattr(args, "needs_django", True):
        try:
            _setup_django(language)
        except Exception as exc:
            if _bad_time_zone(exc):
                message = ctx.gettext(
                    "PREPAID_TIME_ZONE is no time zone: %(zone)s. Give one such as Asia/Shanghai."
                ) % {"zone": os.environ.get("PREPAID_TIME_ZONE", "")}
                return _fail(json_output, "bad_time_zone", message, 2)
            if isinstance(exc, BadLogLevel):
                return _bad_log_level(ctx, exc)
            if not _postgres_driver_missing(exc):
                raise
            message = ctx.gettext(
                "DATABASE_URL names a PostgreSQL database, but its driver (psycopg) is not "
                "installed on this station. Nothing was done; install it with "
                "pip install 'prepaid[postgres]'."
            )
            return _fail(json_output, "postgres_driver_missing", message, 1)
    else:
        _speak_if_django_ready(language)
        try:
            log_without_django()
        except BadLogLevel as exc:
            return _bad_log_level(ctx, exc)
    return ctx, args


def _speak_if_django_ready(language: str) -> None:
    """A command that starts without Django speaks its own language when Django is set up in
    this process all the same (a program calling :func:`main` more than once, the tests):
    its messages go through Django's catalog then (``Context.gettext``), in the language
    active for the thread — the previous command's, or the site's default — unless the
    command activates its own, as a command on the database does."""
    if not _django_ready():
        return
    from django.utils import translation

    translation.activate(language)


def _django_ready() -> bool:
    """Whether Django is set up in this process, without importing it (a command that needs
    no database starts without it)."""
    apps_module = sys.modules.get("django.apps")
    return apps_module is not None and bool(apps_module.apps.ready)


def _bad_log_level(ctx: Any, exc: Any) -> int:
    """``$PREPAID_LOG_LEVEL`` names no level: refused before anything runs (exit 2)."""
    from prepaid.logs import LEVELS

    message = ctx.gettext(
        "PREPAID_LOG_LEVEL is no log level: %(level)s. Give one of %(levels)s."
    ) % {"level": exc.value, "levels": ", ".join(LEVELS)}
    return _fail(ctx.json_output, "bad_log_level", message, 2)


def _bad_time_zone(exc: Exception) -> bool:
    """Django refused the office's time zone (``$PREPAID_TIME_ZONE``)."""
    return isinstance(exc, ValueError) and str(exc).startswith("Incorrect timezone setting")


def _postgres_driver_missing(exc: Exception) -> bool:
    """Django could not load its PostgreSQL backend: psycopg is not installed (``make
    install`` installs without the ``postgres`` extra)."""
    from django.core.exceptions import ImproperlyConfigured

    return isinstance(exc, ImproperlyConfigured) and "psycopg" in str(exc)


def run(ctx: Any, args: argparse.Namespace) -> int:
    from prepaid.core.errors import PrepaidError
    from prepaid.home import leave_home

    if getattr(args, "needs_django", True):
        from django.db.backends.signals import connection_created

        connection_created.connect(_note_connection, dispatch_uid="prepaid.cli.connected")
    lock = _share_home(ctx, args)
    settled: list[Any] = []  # prepaid.vending.settled.Settled
    try:
        _require_office_time_zone(ctx, args)
        with _telling_settled(ctx, settled):
            document = args.handler(ctx, args)
    except PrepaidError as exc:
        message = exc.translate(ctx.gettext)
        extra = getattr(exc, "extra", None) or {}
        if settled:  # settled before the refusal: it stands, and the operator must know it
            extra = {**extra, "settled_by_read": [one.document() for one in settled]}
            if not ctx.json_output:
                sys.stderr.writelines(f"prepaid: {_notice(one, ctx)}\n" for one in settled)
        return _fail(ctx.json_output, exc.code, message, exc.exit_status, extra)
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        from prepaid.append_only import append_only_refusal

        refused = append_only_refusal(exc)
        if refused is not None:  # the database refused to change a ledger or audit entry
            message = refused.translate(ctx.gettext)
            return _fail(ctx.json_output, refused.code, message, refused.exit_status)
        reason = str(exc).strip() or type(exc).__name__
        if _never_connected() and not _storage_failed(reason):
            # Down, unreachable, or refused (a wrong DATABASE_URL or password): nothing ran.
            message = ctx.gettext(
                "Cannot connect to the database (%(reason)s). Nothing was done; check that "
                "the database server is running and that DATABASE_URL is right."
            ) % {"reason": reason}
            return _fail(ctx.json_output, "database_unavailable", message, 1)
        # A dropped connection or a full disk: the transaction was rolled back, and anything
        # left pending is settled by the next read of the card or by `prepaid reconcile`.
        message = ctx.gettext(
            "The database could not complete the operation (%(reason)s). Nothing was "
            "half-written, but a card written just before may carry a purchase not yet booked: "
            "read the card again (or run “prepaid reconcile”) to settle it before taking or "
            "giving back any money."
        ) % {"reason": _reason(reason, ctx.gettext)}
        return _fail(ctx.json_output, "database_error", message, 1)
    finally:
        if lock is not None:
            leave_home(ctx.home, lock)
    if settled and isinstance(document, dict):
        document["settled_by_read"] = [one.document() for one in settled]
    ctx.emit(document)
    return 0


@contextlib.contextmanager
def _telling_settled(ctx: Any, settled: list[Any]) -> Iterator[None]:
    """Pending purchases a read of the card settles while the command runs (a station that
    stopped mid-sale): each is said as it is settled, and listed in the JSON document as
    ``settled_by_read``."""
    if not _django_ready():
        yield
        return
    from prepaid.vending.settled import telling_settled

    def tell(one: Any) -> None:
        settled.append(one)
        ctx.say(_notice(one, ctx))

    with telling_settled(tell):
        yield


def _notice(settled: Any, ctx: Any) -> str:
    from prepaid.vending.settled import notice

    return notice(settled, ctx.gettext)


def _share_home(ctx: Any, args: argparse.Namespace) -> int | None:
    """A command on the database holds the data directory's lock shared while it runs, as
    ``prepaid serve`` does, so that ``prepaid restore`` (which takes it alone) is refused
    meanwhile; the card store and meter commands need no database and take none."""
    if not getattr(args, "needs_django", True) or getattr(args, "home_alone", False):
        return None
    from prepaid.home import share_home

    def waiting() -> None:
        message = ctx.gettext(
            "A restore is running on the data directory %(path)s: waiting for it to finish."
        ) % {"path": ctx.home.root}
        sys.stderr.write(f"prepaid: {message}\n")

    return share_home(ctx.home, waiting)


def _require_office_time_zone(ctx: Any, args: argparse.Namespace) -> None:
    """A command on the database runs in the office's time zone, or is refused before it does
    anything (``wrong_time_zone``): one query. A command with ``time_zone_check="own"`` checks
    itself (``init`` once the tables exist, ``serve`` once its port is free); ``"none"``: a
    restore brings back a database with its own, and the office's zone is changed at a
    station still set to the old one. Without a data directory the command says so itself."""
    if not getattr(args, "needs_django", True):
        return
    if getattr(args, "time_zone_check", "before") != "before":
        return
    if not ctx.home.exists():
        return
    from prepaid.reports.time_zone import require_office_time_zone

    require_office_time_zone()


def _reason(text: str, gettext: Any) -> str:
    """The database's reason, a full disk in the operator's language."""
    from prepaid.core.errors import Label, database_reason

    reason = database_reason(text)
    return str(gettext(reason)) if isinstance(reason, Label) else reason


def _storage_failed(reason: str) -> bool:
    """SQLite's own files could not be written (a full disk, an I/O error) — possibly while
    the connection was being set up (its shared-memory index is made then): not a database
    that cannot be reached, and a sale may have gone as far as its first phase."""
    return "disk is full" in reason or "disk I/O error" in reason


def _never_connected() -> bool:
    """Whether the command failed before any database connection was made (a connection
    dropped later may be closed by now: what counts is whether one was ever made)."""
    return not _connected


_connected = False


def _note_connection(**kwargs: Any) -> None:
    global _connected
    _connected = True


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

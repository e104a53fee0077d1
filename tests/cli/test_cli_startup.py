"""A command builds the parser of its own command only, and imports nothing it does not use;
what it parses, and the errors and help it prints, are those of the whole parser."""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prepaid.cli import main as cli
from prepaid.home import DataHome


def _names(module: str) -> list[str]:
    parser = cli._Parser(prog="prepaid")
    subparsers = parser.add_subparsers(dest="command", parser_class=cli._Parser)
    importlib.import_module(f"prepaid.cli.{module}").register(
        subparsers, cli._Parser(add_help=False)
    )
    return list(subparsers.choices)


def test_the_command_map_is_what_the_modules_register():
    registered = {name: module for module in cli.COMMAND_MODULES for name in _names(module)}
    assert cli.COMMANDS == registered


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["operator", "list"], "operator"),
        (["--json", "sell", "--quantity", "1"], "vend"),
        (["--lang", "en", "--home", "/tmp/x", "meter-change", "--remaining", "1"], "vend"),
        (["--lang=en", "--json", "report", "sales"], "report"),
        (["--home", "sell", "operator", "list"], "operator"),  # a data directory named “sell”
        (["--help"], None),
        (["-h", "card", "read"], None),
        (["--ho", "x", "card", "read"], None),  # abbreviated option: left to argparse
        (["bogus"], None),
        ([], None),
        (["--json"], None),
    ],
)
def test_the_command_is_told_from_the_command_line(argv, module):
    assert cli.command_module(argv) == module


def _outcome(parse, argv):
    try:
        namespace = parse(argv)
    except cli.UsageError as exc:
        return ("usage", str(exc))
    return ("parsed", vars(namespace))


@pytest.mark.parametrize(
    "argv",
    [
        ["operator", "list"],
        ["--json", "--lang", "en", "card", "read"],
        ["card", "make", "setting", "--account", "1"],
        ["sell", "--amount", "19.99", "--pay", "wechat", "--key", "k1"],
        ["open", "00000001", "--account", "1", "--price", "2", "--quantity", "10"],
        ["report", "sales", "--from", "2025-01-01", "--format", "csv", "-o", "x.csv"],
        ["user", "find", "王"],
        ["--home", "sell", "operator", "list"],
        # refused: the same message as the whole parser gives
        ["sell"],
        ["sell", "--quantity", "1", "--amount", "2"],
        ["--json", "sell", "--bogus"],
        ["report", "sales", "--from", "yesterday"],
        ["card", "make", "nothing"],
        ["operator"],
        ["bogus", "list"],
        ["--lang"],
        [],
    ],
)
def test_parsing_one_command_is_parsing_with_all(argv):
    def whole(argv):
        with cli._argparse_language(cli._requested_language(argv)):
            return cli.build_parser().parse_args(argv)

    assert _outcome(cli.parse_args, argv) == _outcome(whole, argv)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_help_of_a_command_is_unchanged(language, capsys):
    argv = ["--lang", language, "sell", "--help"]
    with pytest.raises(SystemExit), cli._argparse_language(language):
        cli.build_parser().parse_args(argv)
    whole = capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.parse_args(argv)
    assert capsys.readouterr().out == whole
    assert "--quantity" in whole


def _modules_after(home: Path, *argv: str) -> dict[str, object]:
    """Run one command as a program; report which modules it imported."""
    code = (
        "import json, sys\n"
        "from prepaid.cli.main import main\n"
        f"status = main({list(argv)!r})\n"
        "sys.stdout.flush()\n"
        "print('\\n' + json.dumps({'status': status, 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, "PREPAID_HOME": str(home), "PREPAID_PASSWORD": "Startup-pw-1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_command_imports_what_it_uses_only(tmp_path):
    home = tmp_path / "data"
    init = _modules_after(home, "--json", "init", "--admin-password", "Startup-pw-1")
    assert init["status"] == 0

    card = _modules_after(home, "--json", "card", "list")
    assert card["status"] == 0
    assert not any(m == "django" or m.startswith("django.") for m in card["modules"])
    assert [m for m in card["modules"] if m.startswith("prepaid.cli.")] == [
        "prepaid.cli.card",
        "prepaid.cli.context",
        "prepaid.cli.main",
        "prepaid.cli.options",  # the option types, no other command
        "prepaid.cli.text",  # the terminal-width helper
    ]

    report = _modules_after(home, "--json", "report", "sales", "--format", "csv")
    assert report["status"] == 0
    assert "openpyxl" not in report["modules"]
    assert "prepaid.cli.vend" not in report["modules"]


# What no command imports at start: Django's error report, with the debug page's template
# tags and views (imported when an error is reported).
NOT_AT_START = {
    "django.views.debug",
    "django.template.defaulttags",
    "django.template.defaultfilters",
}
# Nor a command that does not show the audit log: the log's reading side (its labels and
# tables, the card model); nor, while the system has the zone's data, the reader of the zone
# data package.
NOT_WITHOUT_USE = NOT_AT_START | {"importlib.resources", "prepaid.audit.log"}


def test_django_set_up_leaves_out_what_no_command_uses(tmp_path):
    code = "import json, sys, django\ndjango.setup()\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {
        **os.environ,
        "PREPAID_HOME": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "prepaid.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout))
    assert "prepaid.vending.models" in modules  # set up indeed
    assert not modules & NOT_AT_START


def test_commands_that_change_nothing_import_what_they_use_only(tmp_path):
    home = tmp_path / "data"
    assert _modules_after(home, "--json", "init", "--admin-password", "Startup-pw-1")["status"] == 0
    account = ["--meter-type", "water", "--sub-meter", "1", "--limit", "999", "--prestore", "5"]
    account += ["--alarm", "10", "--overdraft", "5", "--maintenance-code", "1234"]
    assert _modules_after(home, "--json", "account", "create", *account)["status"] == 0
    registered = _modules_after(home, "--json", "user", "register", "--name", "王五")
    assert registered["status"] == 0

    # the card, meter and pricing models: for the reports of swipes and cards, the lines of
    # an account list (the names of meter types), the commands that make tariffs; what makes
    # the lines of a customer or the table of a report for the terminal: --json prints none
    models = {"prepaid.core.card.model", "prepaid.core.meter", "prepaid.core.pricing"}
    lines = {"prepaid.reports.labels"}
    table = {"prepaid.reports.exports"}
    for argv, left_out in [
        (["operator", "list"], NOT_WITHOUT_USE | models),
        (["account", "list"], NOT_WITHOUT_USE | models),
        (["user", "find", "王"], NOT_WITHOUT_USE | models),
        (["user", "show", "00000001"], NOT_WITHOUT_USE | models | lines),
        (["report", "sales"], NOT_WITHOUT_USE | models | table),
        (["report", "summary"], NOT_WITHOUT_USE | models | table),
    ]:
        done = _modules_after(home, "--json", *argv)
        assert done["status"] == 0, argv
        assert not set(done["modules"]) & left_out, argv


def test_run_as_a_program_start_up_leaves_garbage_collection_on(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prepaid", "--lang", "xx", "operator", "list"])
    try:
        assert cli.main() == 2  # an unknown language: a usage error
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_called_in_process_start_up_does_not_touch_garbage_collection(monkeypatch):
    monkeypatch.setattr(gc, "disable", lambda: pytest.fail("gc.disable() in process"))
    monkeypatch.setattr(gc, "freeze", lambda: pytest.fail("gc.freeze() in process"))
    assert cli.main(["--lang", "xx", "operator", "list"]) == 2


def _program(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as the console script does, with a function registered with atexit."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "from prepaid.cli.main import main\n"
        f"sys.argv = ['prepaid', *{list(argv)!r}]\n"
        "sys.exit(main())\n"
    )
    env = {**os.environ, "PREPAID_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_program_exits_with_its_status_output_and_exit_functions(tmp_path):
    home = tmp_path / "data"
    DataHome(home).ensure_secrets()  # the card store needs no database
    done = _program(home, "--json", "card", "blank", "c1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.removesuffix("atexit ran\n")) == {"name": "c1", "type": "blank"}
    assert done.stdout.endswith("}\natexit ran\n")

    refused = _program(home, "--json", "card", "read")  # the reader is empty
    assert refused.returncode == 1
    assert json.loads(refused.stdout.splitlines()[0])["error"] == "no_card"
    assert refused.stdout.endswith("atexit ran\n")

    usage = _program(home, "--json", "card", "insert")
    assert usage.returncode == 2
    assert json.loads(usage.stdout.splitlines()[0])["error"] == "usage"
    assert usage.stdout.endswith("atexit ran\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--json", "sell", "--quantity", "1", "--account", "abc"],
            "参数 --account：不是整数：'abc'",
        ),
        (
            ["--json", "sell", "--quantity", "1", "--amount", "2"],
            "参数 --amount：不能与参数 --quantity 同时使用",
        ),
        (["--json", "sell"], "必须给出参数 --quantity --amount 中的一个"),
        (["--json", "report", "shifts", "--bogus"], "无法识别的参数：--bogus"),
        (
            ["--json", "report", "sales", "--from", "yesterday"],
            "参数 --from：不是日期（应为 YYYY-MM-DD）：'yesterday'",
        ),
        (
            ["--json", "sell", "--lang", "en", "--pay", "x", "--quantity", "1"],
            "argument --pay: invalid choice: 'x' (choose from 'cash', 'wechat', 'alipay', "
            "'bank_card', 'other')",
        ),
    ],
)
def test_usage_errors_read_in_the_language_asked_for(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("PREPAID_LANG", raising=False)
    assert cli.main(argv) == 2
    assert json.loads(capsys.readouterr().out) == {"error": "usage", "message": message}


def test_usage_errors_follow_prepaid_lang(capsys, monkeypatch):
    monkeypatch.setenv("PREPAID_LANG", "en")
    assert cli.main(["--json", "sell"]) == 2
    assert json.loads(capsys.readouterr().out)["message"] == (
        "one of the arguments --quantity --amount is required"
    )


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    """``prepaid … | head``: when the reader stops reading, no traceback about it."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes
    try:
        done = subprocess.run(
            [sys.executable, "-m", "prepaid", "--home", str(tmp_path / "home"), "init"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, "PREPAID_LANG": "en"},
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == cli.PIPE_CLOSED
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr
    assert DataHome(tmp_path / "home").database.exists()  # the work itself was done

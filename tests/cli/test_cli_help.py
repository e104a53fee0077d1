"""``prepaid … --help`` reads in the operator's language: every command's help, in Chinese by
default and in English with ``--lang en``, the same words as the catalog's."""

from __future__ import annotations

import argparse
import gettext
import os
import subprocess
import sys

import pytest

from prepaid.cli import main as cli
from prepaid.cli.text import width


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every command line that has a help page, with its parser: the whole parser tree."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from _commands(subparser, (*path, name))


COMMANDS = dict(_commands(cli.build_parser()))


def _texts(parser: argparse.ArgumentParser) -> list[str]:
    """What the help page of ``parser`` says in words: its description, and the help of its
    options, arguments and commands."""
    texts = [parser.description] if parser.description else []
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            texts.append(action.help)
        if isinstance(action, argparse._SubParsersAction):
            texts += [choice.help for choice in action._choices_actions if choice.help]
    return texts


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def _words(text: str) -> str:
    """``text`` without its spaces and line breaks (help is wrapped to the terminal)."""
    return "".join(text.split())


CATALOG = gettext.translation("django", localedir=cli.LOCALE_DIR, languages=["zh_Hans"])


@pytest.fixture(autouse=True)
def _default_language(monkeypatch):
    monkeypatch.delenv("PREPAID_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "100")


def test_the_parser_tree_is_walked_whole():
    assert ("card", "make") in COMMANDS and ("report", "suspicious") in COMMANDS
    assert all(len(path) <= 2 for path in COMMANDS)


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(path) or "prepaid")
def test_help_is_in_chinese_by_default(path, capsys):
    shown = _words(_help(list(path), capsys))
    assert shown.startswith("用法：prepaid")
    assert "选项：" in shown and "显示本帮助并退出" in shown
    for text in _texts(COMMANDS[path]):
        chinese = CATALOG.gettext(text)
        assert chinese != text, f"no Chinese for the help {text!r}"
        assert _words(chinese) in shown
        assert _words(text) not in shown
    for english in ("usage:", "options:", "showthishelpmessage", "positionalarguments"):
        assert english not in shown


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(path) or "prepaid")
def test_help_is_in_english_with_lang_en(path, capsys):
    shown = _words(_help(["--lang", "en", *path], capsys))
    assert shown.startswith("usage:prepaid")
    for text in _texts(COMMANDS[path]):
        chinese = _words(CATALOG.gettext(text))
        assert _words(text) in shown
        assert chinese in _words(text) or chinese not in shown  # “open an account (开户)”


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "prepaid")
def test_every_argument_and_option_has_a_help(path):
    """Each option and argument says what it does in the help page; a command list's entries
    (the sub-commands) each have their one-line summary."""
    undescribed = []
    for action in COMMANDS[path]._actions:
        if isinstance(action, argparse._HelpAction) or action.help is argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            undescribed += [c.dest for c in action._choices_actions if not c.help]
        elif not action.help:
            undescribed.append("/".join(action.option_strings) or action.dest)
    assert not undescribed, f"no help for {undescribed}"


@pytest.mark.parametrize("path", [path for path in COMMANDS if path], ids=" ".join)
def test_a_command_page_starts_with_what_the_command_does(path, capsys):
    *above, name = path
    summaries = {
        choice.dest: choice.help
        for action in COMMANDS[tuple(above)]._actions
        if isinstance(action, argparse._SubParsersAction)
        for choice in action._choices_actions
    }
    assert COMMANDS[path].description == summaries[name]
    usage, description, *_rest = _help(list(path), capsys).split("\n\n")
    assert usage.startswith("用法：prepaid")
    assert _words(description) == _words(CATALOG.gettext(summaries[name]))
    english = _help(["--lang", "en", *path], capsys).split("\n\n")[1]
    assert _words(english) == _words(summaries[name])


@pytest.mark.parametrize(
    ("argv", "chinese", "english"),
    [
        (["operator"], "缺少必需的参数：操作", "the following arguments are required: ACTION"),
        (["report"], "缺少必需的参数：报表", "the following arguments are required: REPORT"),
        ([], "缺少必需的参数：命令", "the following arguments are required: COMMAND"),
    ],
    ids=["operator", "report", "prepaid"],
)
def test_a_missing_argument_is_named_as_the_help_names_it(argv, chinese, english, capsys):
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == f"prepaid: {chinese}\n"
    assert cli.main(["--lang", "en", *argv]) == 2
    assert capsys.readouterr().err == f"prepaid: {english}\n"


def test_a_wrong_command_is_named_as_the_help_names_it_and_an_option_as_it_is_typed(capsys):
    assert cli.main(["operator", "promote"]) == 2
    assert capsys.readouterr().err.startswith("prepaid: 参数 操作：")
    assert cli.main(["report", "summary", "--by", "week"]) == 2
    assert capsys.readouterr().err.startswith("prepaid: 参数 --by：")


def test_help_follows_prepaid_lang(capsys, monkeypatch):
    monkeypatch.setenv("PREPAID_LANG", "en")
    assert "usage: prepaid sell" in _help(["sell"], capsys)
    assert "用法：prepaid sell" in _help(["--lang", "zh-hans", "sell"], capsys)


def test_worded_placeholders_are_translated_and_command_names_are_not(capsys):
    shown = _help([], capsys)
    assert "命令 ..." in shown
    assert "\n    open " in shown and "\n    sell " in shown  # typed as they are
    assert "--void 购买编号" in _help(["reconcile"], capsys)
    assert "--quantity QUANTITY" in _help(["sell"], capsys)  # a value stays as it is


def test_chinese_help_is_wrapped_and_aligned_by_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "62")
    lines = _help(["meter-change"], capsys).splitlines()
    assert max(map(width, lines)) <= 60, lines
    usage = lines[: lines.index("")]
    assert usage[0].startswith("用法：prepaid meter-change ") and len(usage) > 1
    continued = width("用法：prepaid meter-change ")  # under the first option, by columns
    assert all(line[:continued].isspace() and line[continued] != " " for line in usage[1:])
    helps = [line for line in _help(["reconcile"], capsys).splitlines() if "管理员：" in line]
    assert len({width(line.split("管理员：")[0]) for line in helps}) == 1  # one help column


def test_help_does_not_start_django(tmp_path):
    code = (
        "import sys\n"
        "from prepaid.cli.main import main\n"
        "try:\n"
        "    main(['report', 'sales', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('DJANGO' if any(m.split('.')[0] == 'django' for m in sys.modules) else 'NONE')\n"
    )
    env = {**os.environ, "PREPAID_HOME": str(tmp_path)}
    env.pop("PREPAID_LANG", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "用法：prepaid report sales" in done.stdout
    assert done.stdout.splitlines()[-1] == "NONE"

"""The command lines the README and docs/ show are the command line as it is: every
``prepaid …`` line of their shell blocks parses with the real parser, and every command and
``--option`` named in the running text exists, so that a renamed or removed option cannot
linger in the documentation."""

from __future__ import annotations

import argparse
import functools
import importlib
import re
import shlex
from pathlib import Path

import pytest

from prepaid.cli.main import UsageError, build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "docs" / "decisions").glob("*.md"),
        *(ROOT / "src" / "prepaid").glob("*/README.md"),
    ]
)
DECISIONS = sorted((ROOT / "docs" / "decisions").glob("*.md"))
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _page_name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def block_commands(page: Path) -> list[str]:
    """The ``prepaid`` command lines of the page's code blocks, continuations joined,
    comments, environment assignments and ``env -u NAME`` left out."""
    commands = []
    for block in FENCE.findall(page.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue  # not shell (Python, a table)
            for piece in _pieces(words):
                while piece and (ASSIGNMENT.match(piece[0]) or piece[0] == "env"):
                    piece = piece[3:] if piece[:2] == ["env", "-u"] else piece[1:]
                if piece and Path(piece[0]).name == "prepaid":
                    commands.append(shlex.join(piece[1:]))
    return commands


def _pieces(words: list[str]) -> list[list[str]]:
    pieces: list[list[str]] = [[]]
    for word in words:
        if word in ("&&", "||", "|", ";"):
            pieces.append([])
        else:
            pieces[-1].append(word)
    return pieces


def inline_commands(page: Path) -> list[str]:
    """The running text's code spans that start with ``prepaid``, joined across line breaks."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    spans = (" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text))
    return [span.removeprefix("prepaid ") for span in spans if span.startswith("prepaid ")]


def test_the_pages_show_commands():
    readme = ROOT / "README.md"
    assert "init" in block_commands(readme)
    assert "audit verify" in block_commands(readme)
    assert any(c.startswith("reconcile --void") for c in inline_commands(readme))


@pytest.mark.parametrize("page", PAGES, ids=_page_name)
def test_every_command_line_of_the_code_blocks_parses(page):
    parser = build_parser()
    for command in block_commands(page):
        try:
            parser.parse_args(shlex.split(command))
        except UsageError as exc:
            pytest.fail(f"{_page_name(page)}: prepaid {command}: {exc}")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _named_parsers(parser: argparse.ArgumentParser, words: list[str]) -> list[object]:
    """The parsers the words name (``card format|recycle`` names two), or the first word
    that names no command; a placeholder (``NAME``, ``…``) ends the command."""
    parsers: list[object] = [parser]
    for word in words:
        choices = _subcommands(parsers[0])  # type: ignore[arg-type]
        if not choices or not re.fullmatch(r"[a-z][a-z-]*(\|[a-z][a-z-]*)*", word):
            break
        alternatives = word.split("|")
        if not all(name in choices for name in alternatives):
            return [word]
        parsers = [choices[name] for name in alternatives]
    return parsers


def unknown_names(parser: argparse.ArgumentParser, command: str) -> str | None:
    """What in the command names no command or option (exactly: argparse would take an
    abbreviation), or None."""
    words = command.replace("[", " ").replace("]", " ").replace("(", " ").split()
    for named in _named_parsers(parser, words):
        if isinstance(named, str):
            return f"no command {named!r}"
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", command))
        unknown = options - _options(named)  # type: ignore[arg-type]
        if unknown:
            return f"no option {', '.join(sorted(unknown))}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=_page_name)
def test_every_command_and_option_named_in_the_text_exists(page):
    parser = build_parser()
    for command in inline_commands(page) + block_commands(page):
        unknown = unknown_names(parser, command)
        assert unknown is None, f"{_page_name(page)}: prepaid {command}: {unknown}"


# Django settings the code reads by a PREPAID_ name, not environment variables.
NOT_VARIABLES = {"PREPAID_SUSPICIOUS_RULES"}
# Variables of the test run, named where the pages tell how to run the tests.
TEST_VARIABLES = {"PREPAID_TEST_DATABASE"}
VARIABLE = re.compile(r"\bPREPAID_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def variables_read_by_the_code() -> set[str]:
    """The ``PREPAID_…`` names the package's Python code spells out as strings."""
    names: set[str] = set()
    for module in (ROOT / "src" / "prepaid").rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        names |= set(re.findall(r"[\"'](PREPAID_[A-Z][A-Z0-9_]*)[\"']", text))
    return names - NOT_VARIABLES


def variables_named_by(pages: list[Path]) -> set[str]:
    return {name for page in pages for name in VARIABLE.findall(page.read_text("utf-8"))}


def test_the_code_reads_variables():
    assert {"PREPAID_HOME", "PREPAID_WEB_WORKERS"} <= variables_read_by_the_code()


def test_every_variable_the_code_reads_is_in_the_readme_or_docs():
    """An engineer sets a station up from README.md and docs/: a variable named only in the
    code, or in a README under src/, is one they cannot find."""
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    missing = variables_read_by_the_code() - variables_named_by(pages)
    assert not missing, f"named in no page of README.md or docs/: {sorted(missing)}"


@pytest.mark.parametrize("page", PAGES, ids=_page_name)
def test_every_variable_a_page_names_is_read_by_the_code(page):
    """A variable the pages tell to set that the code never reads (misspelt, or removed)
    would be set and silently do nothing."""
    unknown = (
        variables_named_by([page]) - variables_read_by_the_code() - TEST_VARIABLES - NOT_VARIABLES
    )
    assert not unknown, f"{_page_name(page)}: no such variable: {sorted(unknown)}"


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=_page_name)
def test_every_link_to_a_file_of_the_repository_leads_to_one(page):
    """A link between the pages (or to a screenshot, a source file) that a move or a rename
    left behind."""
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{_page_name(page)}: no file {target}"


def test_the_decision_records_are_checked():
    assert {"README.md", "0001-money-as-integers.md"} <= {page.name for page in DECISIONS}
    assert all(page in PAGES for page in DECISIONS)


# Names of other software a record names (what it rules out, or a setting it needs), beside
# those of Python and Django's models, which are looked up there.
OTHER_SOFTWARE = {
    "ATOMIC_REQUESTS": "Django's per-database setting",
    "max_prepared_statements": "PgBouncer's setting",
}
PLATFORM_MODULES = ("builtins", "django.db.models", "django.db.models.signals")
DOTTED = re.compile(r"prepaid(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
REPOSITORY_PATH = re.compile(r"(?:src|tests|bench|docs)/[\w./-]*")


def _resolves(dotted: str) -> bool:
    """Whether ``prepaid.a.b.c`` names a module, or an attribute of the longest module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for name in parts[end:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


@functools.cache
def _words_of_the_code() -> frozenset[str]:
    words: set[str] = set()
    for folder in ("src", "tests", "bench"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".js", ".html", ".toml") and path.is_file():
                words |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text("utf-8")))
    words |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", (ROOT / "pyproject.toml").read_text()))
    return frozenset(words)


def _of_the_platform(name: str) -> bool:
    if name in OTHER_SOFTWARE:
        return True
    return any(hasattr(importlib.import_module(module), name) for module in PLATFORM_MODULES)


def unknown_code_names(page: Path) -> list[str]:
    """The code spans of a decision record that name nothing in the repository: a dotted
    ``prepaid.…`` name that does not import, a path that does not exist, or an identifier
    (a function, a constraint, an error code) that appears nowhere in the code."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    unknown = []
    for span in re.findall(r"`([^`]+)`", text):
        name = span.removesuffix("()")
        if DOTTED.fullmatch(name):
            found = _resolves(name)
        elif REPOSITORY_PATH.fullmatch(name):
            found = (ROOT / name).exists()
        elif IDENTIFIER.fullmatch(name):
            found = all(part in _words_of_the_code() for part in name.split(".")) or (
                _of_the_platform(name)
            )
        else:
            continue  # a command line, SQL, a value: checked elsewhere or not a name
        if not found:
            unknown.append(span)
    return unknown


@pytest.mark.parametrize("page", DECISIONS, ids=_page_name)
def test_every_name_a_decision_record_gives_is_in_the_code(page):
    """A decision record says where in the code it lives; a function renamed or a module
    moved must not leave it pointing at nothing."""
    unknown = unknown_code_names(page)
    assert not unknown, f"{_page_name(page)}: names found nowhere in the code: {unknown}"

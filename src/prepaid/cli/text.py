"""Fixed-width lines for a terminal, where a Chinese character takes two columns."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    """``text`` filled with spaces to ``columns`` (on the left when ``right``)."""
    gap = " " * max(0, columns - width(text))
    return gap + text if right else text + gap


# Full-width punctuation that never begins a line, and that never ends one.
_CLOSING = "，。、；：！？）》」』】”’"
_OPENING = "（《「『【“‘"


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` columns: broken at a space, or between two
    Chinese characters (which need none); a closing mark stays with what it closes, an
    opening one with what it opens. A word longer than a line is left whole."""
    lines: list[str] = []
    line = ""
    for space, chunk in _chunks(text):
        if line and width(line + space + chunk) > columns:
            lines.append(line)
            line = chunk
        else:
            line += space + chunk if line else chunk
    if line:
        lines.append(line)
    return lines


def _chunks(text: str) -> list[tuple[str, str]]:
    """The pieces a line may break between, each with the spaces before it."""
    chunks: list[tuple[str, str]] = []
    space = word = ""
    for ch in text.strip():
        wide = width(ch) == 2
        if ch.isspace():
            if word:
                chunks.append((space, word))
                space = word = ""
            space = " "
        elif ch in _CLOSING and (word or chunks) and not space:
            word += ch
        elif wide and word and word[-1] not in _OPENING:
            chunks.append((space, word))
            space, word = "", ch
        elif word and width(word[-1]) == 2 and word[-1] not in _OPENING:
            chunks.append((space, word))
            space, word = "", ch
        else:
            word += ch
    if word:
        chunks.append((space, word))
    return chunks


def labelled(gettext: Any, label: str, value: object) -> str:
    """“label: value” in the operator's language (a full-width colon in Chinese)."""
    return gettext("%(label)s: %(value)s") % {"label": label, "value": value}


def say_listed(
    ctx: Any,
    docs: list[dict[str, Any]],
    line: Callable[[dict[str, Any]], str],
    nothing: str,
) -> list[dict[str, Any]]:
    """A line for each document listed, or the catalog message ``nothing`` when none is;
    the documents, for ``--json`` (which prints no line: none is made then, nor what making
    them imports, such as the card model for the names of meter types)."""
    if ctx.json_output:
        return docs
    for doc in docs:
        ctx.say(line(doc))
    if not docs:
        ctx.say(ctx.gettext(nothing))
    return docs


def office_time(iso: str | None) -> str:
    """A moment of a JSON document (ISO 8601) as the operator reads it: the office's time
    zone, to the second; “-” for none."""
    if not iso:
        return "-"
    import datetime

    from django.utils import timezone

    return timezone.localtime(datetime.datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S")

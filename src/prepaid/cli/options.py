"""Option types shared by the commands: what argparse checks before a command runs, with its
refusal in the command line's language (argparse's ``_`` speaks it while parsing: see
``prepaid.cli.main``)."""

from __future__ import annotations

import argparse
import datetime

from prepaid.core import days


def _(message: str) -> str:
    """Mark a string for translation (extracted by makemessages); returns it unchanged."""
    return message


def whole_number(text: str) -> int:
    """An id, a count or a port: digits only (``x``, ``1.5`` or ``-1`` are refused here, not
    with argparse's “invalid int value”, which names a programming type)."""
    if text.strip().isdecimal():
        return int(text)
    message = argparse._(_("not a whole number: %r"))  # type: ignore[attr-defined]
    raise argparse.ArgumentTypeError(message % text)


def counting_number(text: str) -> int:
    """A page number or page size: a whole number from 1 on (0 or -1 is not quietly read as
    a page of one row)."""
    if text.strip().isdecimal() and int(text) >= 1:
        return int(text)
    message = argparse._(_("not a whole number of 1 or more: %r"))  # type: ignore[attr-defined]
    raise argparse.ArgumentTypeError(message % text)


# The ports a server can listen on (0 would be any free port, which no one could then open).
HIGHEST_PORT = 65535


def port_number(text: str) -> int:
    """A TCP port, 1 to 65535 (a larger one would reach the socket library as a number it
    cannot hold, or a port no browser can open)."""
    if text.strip().isdecimal() and 1 <= int(text) <= HIGHEST_PORT:
        return int(text)
    message = argparse._(_("not a port number (1 to 65535): %r"))  # type: ignore[attr-defined]
    raise argparse.ArgumentTypeError(message % text)


def iso_date(text: str) -> datetime.date:
    """A day as YYYY-MM-DD, from 1900 to 2999."""
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        message = argparse._(_("not a date (YYYY-MM-DD): %r"))  # type: ignore[attr-defined]
        raise argparse.ArgumentTypeError(message % text) from None
    if not days.in_range(day):
        message = argparse._(_("not a date from 1900 to 2999: %r"))  # type: ignore[attr-defined]
        raise argparse.ArgumentTypeError(message % text)
    return day

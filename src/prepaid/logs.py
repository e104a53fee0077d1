"""The server log's level and filters (``LOGGING`` in :mod:`prepaid.settings`)."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LEVEL = "WARNING"
HOSTS_VARIABLE = "PREPAID_ALLOWED_HOSTS"


class BadLogLevel(ValueError):
    """``$PREPAID_LOG_LEVEL`` names no level: Django's logging set-up would fail on it with a
    traceback at start-up; the command line refuses it in the operator's language instead."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(
            f"PREPAID_LOG_LEVEL is no log level: {value}. Give one of {', '.join(LEVELS)}."
        )


def log_level() -> str:
    """``$PREPAID_LOG_LEVEL`` (any case; unset or empty: ``WARNING``), or :class:`BadLogLevel`."""
    value = os.environ.get("PREPAID_LOG_LEVEL", "").strip()
    if not value:
        return DEFAULT_LEVEL
    if value.upper() not in LEVELS:
        raise BadLogLevel(value)
    return value.upper()


def log_without_django() -> None:
    """The log of a command that runs without Django (``card read``, ``card list``, the meter
    simulator): the root logger as ``LOGGING`` in :mod:`prepaid.settings` sets it up for the
    others — one handler on standard error, the messages as they are, at
    ``$PREPAID_LOG_LEVEL`` — so that ``PREPAID_LOG_LEVEL=DEBUG prepaid card read`` shows the
    PC/SC reader's APDU trace as ``card format`` does. Set by hand: ``logging.config`` alone
    would add tens of milliseconds to these commands' start. Raises :class:`BadLogLevel`."""
    level = log_level()
    root = logging.getLogger()
    # Called again in one process (tests), or after Django's set-up: one handler, not two.
    if not any(type(handler) is logging.StreamHandler for handler in root.handlers):
        root.addHandler(logging.StreamHandler())
    root.setLevel(level)


class OneWarningLine(logging.Filter):
    """A request refused for its Host header (``DisallowedHost``) is the client's mistake —
    a wrong address typed, a scanner — not the server's: Django logs it as an error with its
    traceback, once per request. It becomes one warning line, shown as the server's other
    warnings are (``PREPAID_LOG_LEVEL``); the request is still refused with 400. Django's
    advice to add the host to ``ALLOWED_HOSTS`` names the variable a station sets instead,
    ``PREPAID_ALLOWED_HOSTS`` (there is no ``ALLOWED_HOSTS`` variable to set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = re.sub(r"\bALLOWED_HOSTS\b", HOSTS_VARIABLE, record.getMessage())
        record.args = ()
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return logging.getLogger().isEnabledFor(logging.WARNING)


class ExceptionReporter:
    """Django's report of an unhandled error (``DEFAULT_EXCEPTION_REPORTER``: the debug error
    page, and the mail to administrators of Django's default logging, which the office never
    sends), imported when a report is made. Django's logging set-up takes the reporter class
    at every start: Django's own would import ``django.views.debug``, and with it the template
    engine's tags and filters, into every command, which reports nothing (about 5 ms)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from django.views.debug import ExceptionReporter

        return ExceptionReporter(*args, **kwargs)

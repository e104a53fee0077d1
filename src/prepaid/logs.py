"""Logging filters for the server log (``LOGGING`` in :mod:`prepaid.settings`)."""

from __future__ import annotations

import logging


class OneWarningLine(logging.Filter):
    """A request refused for its Host header (``DisallowedHost``) is the client's mistake —
    a wrong address typed, a scanner — not the server's: Django logs it as an error with its
    traceback, once per request. It becomes one warning line, shown as the server's other
    warnings are (``PREPAID_LOG_LEVEL``); the request is still refused with 400."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return logging.getLogger().isEnabledFor(logging.WARNING)

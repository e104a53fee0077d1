"""What every CLI command gets: the data directory, output, language, the operator, the reader.

Commands are thin: parse, call one service, return the JSON document. Heavy imports stay inside
the handlers and these lazy properties, so a command starts fast.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TextIO

from prepaid.home import DataHome, SiteSecrets

if TYPE_CHECKING:
    from prepaid.operators.models import Operator
    from prepaid.readers.base import CardReader


@dataclass
class Context:
    home: DataHome
    json_output: bool = False
    language: str = "zh-hans"
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    _lines: list[str] = field(default_factory=list)

    # -- output -------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """A line for the human reader (not printed with --json)."""
        self._lines.append(text)

    def emit(self, document: dict[str, Any] | list[Any] | None) -> None:
        if self.json_output:
            if document is not None:
                json.dump(document, self.stdout, ensure_ascii=False, indent=2, default=str)
                self.stdout.write("\n")
        else:
            for line in self._lines:
                self.stdout.write(line + "\n")
        self._lines.clear()

    def gettext(self, message: str) -> str:
        from django.apps import apps

        if apps.ready:
            from django.utils.translation import gettext

            return str(gettext(message))
        return self._catalog.gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        from django.apps import apps

        if apps.ready:
            from django.utils.translation import pgettext

            return str(pgettext(context, message))
        return str(self._catalog.pgettext(context, message))

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        from django.apps import apps

        if apps.ready:
            from django.utils.translation import ngettext

            return str(ngettext(singular, plural, count))
        return str(self._catalog.ngettext(singular, plural, count))

    @cached_property
    def _catalog(self) -> Any:
        """The compiled catalog read directly, for commands that start without Django (the
        card store and meter simulator commands start faster that way)."""
        import gettext as stdlib_gettext
        from pathlib import Path

        locale = Path(__file__).resolve().parent.parent / "locale"
        language = {"zh-hans": "zh_Hans"}.get(self.language, self.language)
        return stdlib_gettext.translation(
            "django", localedir=locale, languages=[language], fallback=True
        )

    # -- site ---------------------------------------------------------------------------
    @cached_property
    def secrets(self) -> SiteSecrets:
        return self.home.load_secrets()

    @property
    def site_key(self) -> bytes:
        return self.secrets.card_key

    def reader(self) -> CardReader:
        """The card reader of this station, chosen by ``PREPAID_READER`` (default virtual)."""
        from prepaid.readers import reader_for_station

        return reader_for_station(self.home, self.secrets, os.environ)

    # -- who is acting ------------------------------------------------------------------
    @cached_property
    def operator(self) -> Operator:
        """The operator named by $PREPAID_OPERATOR (default admin), authenticated by
        $PREPAID_PASSWORD. Refuses when the password must be changed first, and without a
        data directory (“run prepaid init”, not a database error)."""
        from prepaid.operators.services import authenticate_cli

        self.home.require()
        name = os.environ.get("PREPAID_OPERATOR") or "admin"
        password = os.environ.get("PREPAID_PASSWORD", "")
        return authenticate_cli(name, password)

    @property
    def station(self) -> str:
        from prepaid.home import station_name

        return station_name()

"""The error family of the whole system.

Every refusal carries a stable ``code`` (CLI JSON, API, tests rely on it) and a message
template in English marked for translation with :func:`_`. The domain core has no
framework, so it does not translate: the edge (CLI, web) translates ``message_template``
with the operator's language and fills in ``params``.
"""

from __future__ import annotations

import errno
from typing import Any


def _(message: str) -> str:
    """Mark a string for translation (extracted by makemessages); returns it unchanged."""
    return message


class Label(str):
    """A message parameter that is itself text to translate (the name of a card type, say),
    not a value shown as it is."""

    __slots__ = ()


class PrepaidError(Exception):
    """A refusal by a business rule (CLI exit status 1)."""

    exit_status = 1

    def __init__(self, code: str, message_template: str, **params: Any) -> None:
        self.code = code
        self.message_template = message_template
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The message in English (untranslated); the edge translates ``message_template``."""
        if not self.params:
            return self.message_template
        return self.message_template % {
            name: field_label(value) if name == "field" and isinstance(value, str) else value
            for name, value in self.params.items()
        }

    def translate(self, gettext: Any) -> str:
        """The message through a translation function, parameters filled in afterwards.

        A ``field`` parameter is the name of an input field: it is translated too, as is any
        :class:`Label`; a parameter that is itself a refusal (the reason of this one) is
        translated with its own parameters.
        """
        template = str(gettext(self.message_template))
        if not self.params:
            return template
        params = {name: _translated(name, value, gettext) for name, value in self.params.items()}
        text = template % params
        if template.startswith("%(field)s"):
            # "overdraft must be a number": the field name starts a sentence
            text = text[:1].upper() + text[1:]
        return text


def _translated(name: str, value: Any, gettext: Any) -> Any:
    if isinstance(value, PrepaidError):
        return value.translate(gettext)
    if name == "field" and isinstance(value, str):
        return str(gettext(field_label(value)))
    if isinstance(value, Label):
        return str(gettext(value))
    return value


def field_label(field: str) -> str:
    """The name people read for an input field (untranslated): ``field`` itself unless its
    key is short for it. The key stays in ``params`` (the web routes an error to its form
    field by it)."""
    return FIELD_LABELS.get(field, field)


class InvalidInput(PrepaidError):
    """Bad input: wrong number, wrong format, missing value (CLI exit status 2)."""

    exit_status = 2


class CardError(PrepaidError):
    """A card image that cannot be used: unreadable, forged, torn or of the wrong kind."""


class ReaderError(PrepaidError):
    """The card reader failed: no reader, no card, a write that did not complete."""


# Names of input fields that appear in messages as ``%(field)s``, marked for translation.
FIELD_NAMES = (
    _("quantity"),
    _("amount"),
    _("unit price"),
    _("fee"),
    _("remaining quantity"),
    _("reason"),
    _("name"),
    _("remarks"),
    _("phone"),
    _("address"),
    _("ID number"),
    _("search text"),
    _("purchase limit"),
    _("pre-stored quantity"),
    _("alarm level"),
    _("overdraft"),
    _("quantity bought before"),
    _("quantity used"),
    _("counted cash"),
    _("tiers"),
    _("maintenance code"),
    _("sub-meter number"),
)

# Fields whose key is not the name people read: the remaining quantity of a meter change
# (用户剩余量) is the ``remaining`` field of the service and the form.
FIELD_LABELS = {"remaining": _("remaining quantity")}


# Why a file could not be read or written, in words the edge translates (the system's own
# text, exc.strerror, is English whatever the operator's language).
OS_REASONS = {
    errno.ENOENT: _("no such file or directory"),
    errno.EACCES: _("permission denied"),
    errno.EPERM: _("permission denied"),
    errno.EISDIR: _("it is a directory"),
    errno.ENOTDIR: _("a part of the path is not a directory"),
    errno.ENOSPC: _("no space left on the device"),
    errno.EROFS: _("the file system is read-only"),
    errno.EEXIST: _("the file already exists"),
    errno.EIO: _("input/output error (the disk or the file may be damaged)"),
    errno.ENAMETOOLONG: _("the name is too long"),
}


def os_reason(exc: OSError) -> str:
    """The reason of a failed file operation as a message parameter: a :class:`Label` for
    the common ones, else the system's text."""
    known = OS_REASONS.get(exc.errno) if exc.errno is not None else None
    return Label(known) if known else (exc.strerror or str(exc))


def database_reason(text: str) -> str:
    """Why the database failed, as a message parameter: SQLite's full disk (SQLITE_FULL,
    "database or disk is full") as the translatable :class:`Label` a full file system gets,
    anything else in the database's own words."""
    return Label(OS_REASONS[errno.ENOSPC]) if "disk is full" in text else text

"""Every user-visible message has a zh-Hans translation, and the compiled catalog is current.

The messages are extracted from the code and templates exactly as ``scripts/messages.sh``
does (Django's makemessages), into a scratch copy, and compared with the committed catalog.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "prepaid"
CATALOG = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES"


def _needs_gettext() -> None:
    if shutil.which("xgettext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("GNU gettext (xgettext) is missing: make test installs it")
        pytest.skip("GNU gettext (xgettext) is not installed")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    _needs_gettext()
    copy = tmp_path_factory.mktemp("extract") / "prepaid"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__", "static"))
    (copy / "locale").mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "prepaid.settings",
        "PREPAID_HOME": str(tmp_path_factory.mktemp("home")),
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "-i",
            "migrations/*",
        ],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    return polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def test_every_message_has_a_chinese_translation(extracted):
    committed = polib.pofile(str(CATALOG / "django.po"))
    translated = {(e.msgctxt, e.msgid): e for e in committed if e.translated()}
    missing = [e.msgid for e in extracted if (e.msgctxt, e.msgid) not in translated]
    assert not missing, f"{len(missing)} messages without a zh-Hans translation: {missing[:20]}"


# Entries the catalog keeps on purpose although extracting the code and templates does not
# produce them, each with who asks for it at run time. Keep it short: a message the code
# translates through a variable is marked where it is defined (``gettext_noop``, or the
# module's own ``_`` marker), which extraction finds, rather than listed here.
DELIBERATE_EXTRAS: frozenset[tuple[str | None, str]] = frozenset()


def test_the_catalog_holds_no_message_nothing_uses(extracted):
    """An entry neither extracted nor listed above is a leftover (a wording since changed, a
    message since removed): it would pile up unnoticed, and translators would keep it."""
    in_use = {(e.msgctxt, e.msgid) for e in extracted} | DELIBERATE_EXTRAS
    committed = polib.pofile(str(CATALOG / "django.po"))
    leftovers = [e.msgid for e in committed if e.obsolete or (e.msgctxt, e.msgid) not in in_use]
    assert not leftovers, (
        f"{len(leftovers)} catalog entries no code or template uses (remove them, or mark the "
        f"message where the code defines it): {leftovers[:20]}"
    )


def test_the_deliberate_extras_are_still_extras(extracted):
    """A listed entry the catalog lost, or that extraction now finds, is listed for nothing."""
    keys = {(e.msgctxt, e.msgid) for e in polib.pofile(str(CATALOG / "django.po"))}
    assert DELIBERATE_EXTRAS <= keys, sorted(DELIBERATE_EXTRAS - keys, key=str)
    found = DELIBERATE_EXTRAS & {(e.msgctxt, e.msgid) for e in extracted}
    assert not found, sorted(found, key=str)


def test_translations_keep_their_placeholders():
    import re

    placeholder = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")
    for entry in polib.pofile(str(CATALOG / "django.po")).translated_entries():
        if entry.msgid_plural:
            continue
        assert sorted(placeholder.findall(entry.msgid)) == sorted(
            placeholder.findall(entry.msgstr)
        ), entry.msgid


def test_compiled_catalog_matches_the_source():
    source = {
        (e.msgctxt, e.msgid): e.msgstr
        for e in polib.pofile(str(CATALOG / "django.po")).translated_entries()
        if not e.msgid_plural
    }
    compiled = {
        (e.msgctxt, e.msgid): e.msgstr
        for e in polib.mofile(str(CATALOG / "django.mo"))
        if e.msgid and not e.msgid_plural
    }
    assert compiled == source, "run scripts/messages.sh to compile the catalog"


def test_the_manuals_messages_are_the_chinese_ones():
    from django.utils import translation

    from prepaid.vending.services import card_not_swiped

    with translation.override("zh-hans"):
        assert card_not_swiped().translate(translation.gettext) == (
            "该卡没有刷表，请刷表后再进行操作"
        )

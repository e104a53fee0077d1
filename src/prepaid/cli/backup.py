"""``prepaid backup FILE`` (admin): the database and the site secrets in one encrypted file.

The passphrase comes from ``$PREPAID_BACKUP_PASSPHRASE``, else the first line of standard
input when it is not a terminal, else a prompt (twice). See ``prepaid.backup``.
"""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path
from typing import Any

from prepaid.core.errors import InvalidInput, _

PASSPHRASE_ENV = "PREPAID_BACKUP_PASSPHRASE"


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "backup",
        parents=[common],
        help=_("back up the database and site secrets, encrypted (admin)"),
    )
    p.add_argument("file", help=_("backup file to write"))
    p.add_argument("--force", action="store_true", help=_("replace an existing file"))
    p.set_defaults(handler=handle)


def manifest_document(manifest: dict[str, Any]) -> dict[str, Any]:
    """A backup's manifest as the JSON gives it: when it was made in the documents' one
    form (the file keeps the moment as it was written)."""
    import datetime

    from prepaid.moments import office_moment

    created = datetime.datetime.fromisoformat(manifest["created_at"])
    return {**manifest, "created_at": office_moment(created)}


def read_passphrase(ctx: Any, *, confirm: bool) -> str:
    """The backup passphrase: environment, standard input, or a prompt."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase is None and not ctx.stdin.isatty():
        passphrase = ctx.stdin.readline().rstrip("\r\n")
    elif passphrase is None:
        passphrase = getpass.getpass(ctx.gettext("Backup passphrase: "))
        if confirm and getpass.getpass(ctx.gettext("Repeat the passphrase: ")) != passphrase:
            raise InvalidInput("passphrase_mismatch", _("The two passphrases differ."))
    if not passphrase:
        raise InvalidInput(
            "no_passphrase",
            _("No backup passphrase: set PREPAID_BACKUP_PASSPHRASE or give it on standard input."),
        )
    return passphrase


def handle(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from django.db import transaction

    from prepaid.audit.services import log_action
    from prepaid.backup import (
        check_backup_target,
        check_passphrase,
        make_backup,
        write_backup_file,
    )
    from prepaid.operators.services import require_admin

    ctx.home.require()
    require_admin(ctx.operator)
    path = Path(args.file).resolve()
    check_backup_target(ctx.home, path, args.force)  # before the passphrase and the dump
    passphrase = read_passphrase(ctx, confirm=True)
    check_passphrase(passphrase)
    blob, manifest = make_backup(ctx.home, passphrase)
    write_backup_file(path, blob, args.force)
    with transaction.atomic():
        log_action(
            ctx.operator,
            "site.backup",
            object_type="site",
            object_id="backup",
            after={
                "file": str(path),
                "engine": manifest["engine"],
                "audit_entries": manifest["audit"]["entries"],
            },
        )
    ctx.say(
        ctx.gettext("Backup written to %(path)s (%(size)s bytes, encrypted).")
        % {"path": path, "size": len(blob)}
    )
    return {"file": str(path), "bytes": len(blob), **manifest_document(manifest)}

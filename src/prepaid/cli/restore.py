"""``prepaid restore FILE``: put a backup's database and site secrets in place.

Into an empty site (no secrets, no tables) anyone holding the backup and its passphrase may
restore. A site in use is overwritten only with ``--force`` and by an administrator of it.
Stop every station of the site first. Afterwards the audit chain is verified.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prepaid.core.errors import PrepaidError, _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "restore", parents=[common], help="restore a backup (admin; --force to overwrite a site)"
    )
    p.add_argument("file", help="backup file made by “prepaid backup”")
    p.add_argument("--force", action="store_true", help="overwrite a site in use")
    p.set_defaults(handler=handle)


def _check_overwrite(ctx: Any, force: bool) -> str:
    """Who restores: an admin of the site when it is in use (and only with --force)."""
    from prepaid.backup import database_in_use
    from prepaid.operators.services import require_admin

    if not (ctx.home.exists() or database_in_use()):
        return "system"
    if not force:
        raise PrepaidError(
            "restore_would_overwrite",
            _(
                "This site already has data; restoring replaces all of it. Use "
                "--force to overwrite it."
            ),
        )
    require_admin(ctx.operator)
    return str(ctx.operator.username)


def handle(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from django.db import transaction

    from prepaid.audit.services import log_action
    from prepaid.backup import read_backup, restore_backup
    from prepaid.cli.backup import read_passphrase
    from prepaid.server import require_not_served

    require_not_served(ctx.home)
    actor = _check_overwrite(ctx, args.force)
    path = Path(args.file).resolve()
    backup = read_backup(path, read_passphrase(ctx, confirm=False))
    result = restore_backup(ctx.home, backup)
    with transaction.atomic():
        log_action(
            SimpleNamespace(pk=None, username=actor),
            "site.restore",
            object_type="site",
            object_id="restore",
            after={"file": str(path), "created_at": backup.manifest["created_at"]},
        )
    ctx.say(
        ctx.gettext(
            "Restored the backup of %(created)s: %(entries)s audit entries, chain intact: %(ok)s."
        )
        % {
            "created": backup.manifest["created_at"],
            "entries": result["audit_entries"],
            "ok": ctx.gettext("Yes") if result["audit_ok"] else ctx.gettext("No"),
        }
    )
    return {"file": str(path), "manifest": backup.manifest, **result}

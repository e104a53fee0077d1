"""``prepaid restore FILE``: put a backup's database and site secrets in place.

Into an empty site (no secrets, no tables) anyone holding the backup and its passphrase may
restore. A site in use is overwritten only with ``--force`` and by an administrator of it;
without it the refusal says whether the backup is of another site (another card key). The
file and what it holds are checked before anything is written, so a refused restore leaves
the site as it was. Stop every station of the site first. Afterwards the audit chain is
verified.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prepaid.cli.text import office_time
from prepaid.core.errors import PrepaidError, _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "restore", parents=[common], help=_("restore a backup (admin; --force to overwrite a site)")
    )
    p.add_argument("file", help=_("backup file made by “prepaid backup”"))
    p.add_argument(
        "--force", action="store_true", help=_("overwrite a site in use (stop every station first)")
    )
    # takes the data directory's lock alone itself, instead of shared as other commands do
    # the database restored brings the office's time zone of its backup
    p.set_defaults(handler=handle, home_alone=True, time_zone_check="none")


def _restorer(ctx: Any) -> str | None:
    """Who restores: None into an empty site (anyone holding the backup and its passphrase),
    else an admin of the site in use. An operator is refused as such first, not told to add
    --force."""
    from prepaid.backup import database_in_use
    from prepaid.operators.services import require_admin

    if not (ctx.home.exists() or database_in_use()):
        return None
    require_admin(ctx.operator)
    return str(ctx.operator.username)


def _would_overwrite(other_site: bool) -> PrepaidError:
    from django.db import connection

    if connection.vendor == "sqlite":  # this data directory's: its commands are noticed
        message = _(
            "This site already has data; restoring replaces all of it. Use --force to overwrite it."
        )
    else:  # the other stations are other computers: this one cannot tell whether they run
        message = _(
            "This site's database already has data; restoring replaces all of it, for every "
            "station that uses it. Stop prepaid (the web server and any command) on every "
            "station of this database first: this station cannot see whether the others are "
            "running. Then use --force to overwrite it."
        )
    refusal = PrepaidError("restore_would_overwrite", message)
    if not other_site:
        return refusal
    return PrepaidError(
        "restore_other_site",
        _(
            "This backup is of another site: its card key is not this site's, so the cards "
            "this site issued could no longer be read once it is restored (unless this site "
            "is a new set-up waiting for its backup). %(overwrite)s"
        ),
        overwrite=refusal,
    )


def handle(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.server import hold_home_alone, let_go_of_home

    had_lock_file = ctx.home.serving_lock.exists()
    lock = hold_home_alone(ctx.home)
    restored = False
    try:
        result = _restore(ctx, args)
        restored = True
        return result
    finally:
        if lock is not None:  # commands waiting for the restore go on
            # a refused restore leaves an empty data directory as empty as it was
            let_go_of_home(ctx.home, lock, remove=not (restored or had_lock_file))


def _restore(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from django.db import transaction

    from prepaid.audit.services import log_action
    from prepaid.backup import check_restorable, is_other_site, read_backup, restore_backup
    from prepaid.cli.backup import manifest_document, read_passphrase

    restorer = _restorer(ctx)
    path = Path(args.file).resolve()
    backup = read_backup(path, read_passphrase(ctx, confirm=False))
    check_restorable(backup)  # the file and what it holds, before anything is written
    other_site = restorer is not None and is_other_site(ctx.home, backup)
    if restorer is not None and not args.force:
        raise _would_overwrite(other_site)
    result = restore_backup(ctx.home, backup)
    actor = restorer or "system"
    with transaction.atomic():
        log_action(
            SimpleNamespace(pk=None, username=actor),
            "site.restore",
            object_type="site",
            object_id="restore",
            after={"file": str(path), "created_at": backup.manifest["created_at"]},
        )
    created = office_time(backup.manifest["created_at"])
    ctx.say(
        ctx.gettext(
            "Restored the backup of %(created)s: %(entries)s audit entries, chain intact: %(ok)s."
        )
        % {
            "created": created,
            "entries": result["audit_entries"],
            "ok": ctx.gettext("Yes") if result["audit_ok"] else ctx.gettext("No"),
        }
    )
    ctx.say(
        ctx.gettext(
            "The office is back at %(created)s, when the backup was made: what was done since "
            "(sales, new customers, reissued cards) is not in it. A card written since then is "
            "refused at its next sale (card_mismatch); docs/backup.md says how to bring such a "
            "customer back."
        )
        % {"created": created}
    )
    if other_site:
        ctx.say(
            ctx.gettext(
                "The backup was of another site: this site now has that site's card key "
                "(secrets.json), and the cards it issued before are not read any more."
            )
        )
    return {
        "file": str(path),
        "manifest": manifest_document(backup.manifest),
        **result,
        "other_site": other_site,
    }

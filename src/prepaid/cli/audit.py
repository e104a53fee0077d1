"""``prepaid audit verify``: check the hash chain of the audit log."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.core.errors import _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("audit", parents=[common], help=_("the audit log"))
    sub = p.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    sub.add_parser("verify", parents=[common], help=_("verify the hash chain")).set_defaults(
        handler=handle_verify
    )


def handle_verify(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.audit.services import verify_chain
    from prepaid.core.errors import Label, PrepaidError, _

    ctx.home.require()
    ctx.operator  # noqa: B018 - authenticates
    report = verify_chain()
    doc = {
        "ok": report.ok,
        "entries": report.entries,
        "first_bad_id": report.first_bad_id,
        "reason": report.reason,
    }
    if not report.ok:
        if report.first_bad_id is None:
            error = PrepaidError(
                "audit_broken",
                _("The audit log has been tampered with: %(reason)s."),
                reason=Label(report.reason),
            )
        else:
            error = PrepaidError(
                "audit_broken",
                _("The audit log has been tampered with at entry %(id)s: %(reason)s."),
                id=report.first_bad_id,
                reason=Label(report.reason),
            )
        error.extra = doc  # type: ignore[attr-defined]
        raise error
    ctx.say(ctx.gettext("Audit log intact: %(entries)s entries.") % doc)
    return doc

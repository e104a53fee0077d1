"""``prepaid audit verify``: check the hash chain of the audit log; ``prepaid audit list``:
read it (审计日志), newest first, as a table, JSON, CSV or Excel (administrators)."""

from __future__ import annotations

import argparse
from typing import Any

from prepaid.cli.options import iso_date
from prepaid.cli.report import _output
from prepaid.core.errors import _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("audit", parents=[common], help=_("the audit log"))
    sub = p.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    sub.add_parser("verify", parents=[common], help=_("verify the hash chain")).set_defaults(
        handler=handle_verify
    )
    p = sub.add_parser(
        "list", parents=[common], help=_("read the log, newest first (administrators)")
    )
    p.add_argument("--from", dest="date_from", type=iso_date, help=_("first day (YYYY-MM-DD)"))
    p.add_argument("--to", dest="date_to", type=iso_date, help=_("last day (YYYY-MM-DD)"))
    p.add_argument("--operator", help=_("operator name"))
    p.add_argument(
        "--action",
        dest="code",
        metavar="CODE",
        help=_("action code, or its start: sale.complete, sale, customer."),
    )
    p.add_argument(
        "--object",
        metavar="TEXT",
        help=_("object as the entries name it: TYPE:ID (vending.purchase:12), a type or an id"),
    )
    p.add_argument("--station", help=_("station name"))
    _output(p, sortable=False)  # the chain's order, newest first
    p.set_defaults(handler=handle_list)


def handle_list(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from prepaid.audit.log import AuditFilters, audit_document, audit_log
    from prepaid.cli.report import _paging, emit_table

    ctx.home.require()
    filters = AuditFilters(
        date_from=args.date_from,
        date_to=args.date_to,
        operator=args.operator,
        action=args.code,
        object=args.object,
        station=args.station,
    )
    table = audit_log(ctx.operator, filters, **_paging(args))
    # the JSON document (--format json, or --json with the table) carries each entry's state
    # before and after as recorded; a file is written from the rows as they come
    wants_json = args.format == "json" or (ctx.json_output and args.format == "table")
    document = audit_document(table) if wants_json else None
    return emit_table(ctx, args, table, document)


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

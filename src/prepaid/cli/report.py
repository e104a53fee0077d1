"""``prepaid report …``: the queries and reports (查询) in the terminal, as JSON, CSV or Excel.

``--format table`` (default) prints a table; ``json`` (or ``--json``) one document; ``csv`` and
``xlsx`` write a file with ``--output F`` (CSV without ``--output`` goes to stdout). Table and
JSON show one page (``--page``, ``--page-size``; ``--all`` for every row); files hold every row.
Any operator may run reports; exports have Chinese headers in zh-Hans (the default language).
"""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from prepaid.cli.options import counting_number, iso_date, whole_number
from prepaid.cli.text import labelled, office_time, pad, width
from prepaid.core.errors import _

FORMATS = ["table", "json", "csv", "xlsx"]
PAYMENTS = ["cash", "wechat", "alipay", "bank_card", "other"]
# The events of a customer's history (prepaid.reports.services.HISTORY_KINDS).
HISTORY_EVENTS = [
    "purchase",
    "correction",
    "reversal",
    "transfer",
    "fee",
    "swipe",
    "check_reading",
    "format",
    "open",
    "reissue",
    "restore",
    "recycle",
    "meter_change",
]
DEFAULT_DETAIL_DAYS = 31  # sales detail without dates: the last month


def cannot_write(path: str, exc: OSError) -> Exception:
    from prepaid.core.errors import InvalidInput, os_reason

    return InvalidInput(
        "cannot_write",
        _("Cannot write %(path)s: %(reason)s"),
        path=path,
        reason=os_reason(exc),
    )


def _output(
    parser: argparse.ArgumentParser,
    paged: bool = True,
    sortable: bool = True,
    sort_help: str = _("column to sort by, “-” for descending: -amount"),
) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help=_("table (default), json, csv or xlsx (an xlsx file needs --output)"),
    )
    parser.add_argument("--output", "-o", help=_("file to write (csv, xlsx)"))
    if paged:
        parser.add_argument(
            "--page", type=counting_number, default=1, help=_("page to show (default 1)")
        )
        parser.add_argument(
            "--page-size", type=counting_number, default=50, help=_("rows per page (default 50)")
        )
        parser.add_argument("--all", action="store_true", help=_("every row, not one page"))
    if paged and sortable:
        parser.add_argument("--sort", help=sort_help)


def _filters(parser: argparse.ArgumentParser, *, money: bool = True, customer: bool = True) -> None:
    parser.add_argument("--from", dest="date_from", type=iso_date, help=_("first day (YYYY-MM-DD)"))
    parser.add_argument("--to", dest="date_to", type=iso_date, help=_("last day (YYYY-MM-DD)"))
    parser.add_argument("--operator", help=_("operator name"))
    parser.add_argument("--account", type=whole_number, help=_("account id"))
    parser.add_argument("--station", help=_("station name"))
    if money:
        parser.add_argument("--price", type=whole_number, help=_("price id"))
        parser.add_argument("--pay", choices=PAYMENTS, help=_("payment method"))
    if customer:
        parser.add_argument("--customer", help=_("user number, or part of a name or phone number"))


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("report", parents=[common], help=_("queries and reports (查询)"))
    sub = parser.add_subparsers(dest="report", metavar=_("REPORT"), required=True)

    p = sub.add_parser("sales", parents=[common], help=_("sales detail (销售明细)"))
    _filters(p)
    p.add_argument(
        "--kind",
        action="append",
        choices=["sale", "reversal", "fee", "transfer"],
        help=_("ledger entry kinds (default: sale, reversal, fee)"),
    )
    _output(p)
    p.set_defaults(handler=handle_sales)

    p = sub.add_parser("summary", parents=[common], help=_("sales summary (销售汇总)"))
    # The summaries read the aggregates, which are not kept per customer: a customer's
    # totals are the totals of `report sales --customer` and `report customer`.
    _filters(p, customer=False)
    p.add_argument(
        "--by",
        choices=["day", "month", "year"],
        default="month",
        help=_("a row per day, month (default) or year"),
    )
    p.add_argument(
        "--group",
        choices=["none", "operator", "account", "price", "payment", "station"],
        default="none",
        help=_(
            "split each period by operator, account, price, payment method or station "
            "(default none)"
        ),
    )
    _output(p, paged=False)
    p.set_defaults(handler=handle_summary)

    p = sub.add_parser("customer", parents=[common], help=_("a customer's history (用户历史)"))
    p.add_argument("user_number", help=_("user number"))
    p.add_argument("--from", dest="date_from", type=iso_date, help=_("first day (YYYY-MM-DD)"))
    p.add_argument("--to", dest="date_to", type=iso_date, help=_("last day (YYYY-MM-DD)"))
    p.add_argument("--event", action="append", choices=HISTORY_EVENTS, help=_("only these events"))
    _output(p)
    p.set_defaults(handler=handle_customer)

    p = sub.add_parser("cards", parents=[common], help=_("card operations (卡片操作)"))
    _filters(p, money=False)
    p.add_argument(
        "--kind",
        action="append",
        choices=["format", "recycle", "tool_card", "open", "reissue", "meter_change", "restore"],
        help=_("card operation kinds (default: all)"),
    )
    _output(
        p, sort_help=_("column to sort by, “-” for descending: -time")
    )  # card operations carry no amount
    p.set_defaults(handler=handle_cards)

    p = sub.add_parser("pending", parents=[common], help=_("pending and voided sales"))
    _filters(p, money=False)
    p.add_argument(
        "--status",
        action="append",
        choices=["pending", "voided"],
        help=_("only pending or only voided sales (default: both)"),
    )
    _output(p)
    p.set_defaults(handler=handle_pending)

    p = sub.add_parser("shifts", parents=[common], help=_("shifts with their takings (班次)"))
    p.add_argument("--from", dest="date_from", type=iso_date, help=_("first day (YYYY-MM-DD)"))
    p.add_argument("--to", dest="date_to", type=iso_date, help=_("last day (YYYY-MM-DD)"))
    p.add_argument("--operator", help=_("operator name"))
    p.add_argument("--station", help=_("station name"))
    p.add_argument(
        "--status",
        choices=["open", "closed"],
        help=_("only open or only closed shifts (default: both)"),
    )
    _output(
        p, sort_help=_("column to sort by, “-” for descending: -opened_at")
    )  # shifts sort by id, operator, station or time
    p.set_defaults(handler=handle_shifts)

    p = sub.add_parser("shift", parents=[common], help=_("shift settlement (日结/交班)"))
    p.add_argument("--id", help=_("shift id (default: your open shift here, else your last one)"))
    _output(p, paged=False)
    p.set_defaults(handler=handle_shift)

    p = sub.add_parser("suspicious", parents=[common], help=_("suspicious customers (可疑用户)"))
    p.add_argument("--as-of", type=iso_date, help=_("analysis date (default today)"))
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="RULE=VALUE",
        help=_("a threshold for this run, e.g. no_purchase_days=90"),
    )
    p.add_argument(
        "--save",
        action="store_true",
        help=_("store the --set thresholds as the office's defaults (admin)"),
    )
    _output(p, sortable=False)  # the worklist is ranked by score
    p.set_defaults(handler=handle_suspicious)

    p = sub.add_parser("chart", parents=[common], help=_("a chart as SVG"))
    p.add_argument(
        "chart",
        choices=["daily-takings", "monthly-quantity"],
        help=_(
            "daily-takings (每日收款; without --from the 30 days up to --to or today) or "
            "monthly-quantity (每月售出量; without --from the 12 months up to --to or today)"
        ),
    )
    p.add_argument("--from", dest="date_from", type=iso_date, help=_("first day (YYYY-MM-DD)"))
    p.add_argument("--to", dest="date_to", type=iso_date, help=_("last day (YYYY-MM-DD)"))
    p.add_argument("--output", "-o", required=True, help=_("SVG file to write"))
    p.set_defaults(handler=handle_chart)


# -- arguments → filters ---------------------------------------------------------------------


def _operator_id(name: str | None) -> int | None:
    from prepaid.core.errors import InvalidInput, _
    from prepaid.operators.models import Operator

    if not name:
        return None
    pk = Operator.objects.filter(username=name).values_list("id", flat=True).first()
    if pk is None:
        raise InvalidInput("unknown_operator", _("There is no operator named %(name)s."), name=name)
    return int(pk)


def _known(find: Any, pk: int | None) -> int | None:
    """An account or price a filter names: one that does not exist is bad input, as an unknown
    operator is, not an empty report that reads as "no sales"."""
    return None if pk is None else int(find(pk).pk)


def filters_from(
    args: argparse.Namespace, *, kinds: tuple[str, ...] = (), statuses: tuple[str, ...] = ()
) -> Any:
    from prepaid.reports.services import Filters
    from prepaid.vending import lookups

    return Filters(
        date_from=getattr(args, "date_from", None),
        date_to=getattr(args, "date_to", None),
        operator_id=_operator_id(getattr(args, "operator", None)),
        account_id=_known(lookups.account, getattr(args, "account", None)),
        price_id=_known(lookups.price, getattr(args, "price", None)),
        payment=getattr(args, "pay", None),
        customer=getattr(args, "customer", None),
        station=getattr(args, "station", None),
        kinds=kinds,
        statuses=statuses,
    )


def _paging(args: argparse.Namespace) -> dict[str, Any]:
    exporting = args.format in ("csv", "xlsx")
    size = None if exporting or args.all else args.page_size
    sort = getattr(args, "sort", None)
    return {"page": args.page, "page_size": size, **({"sort": sort} if sort else {})}


def _ready(ctx: Any) -> None:
    ctx.home.require()
    ctx.operator  # noqa: B018 — authenticate: any operator may see reports


# -- rendering -------------------------------------------------------------------------------


def table_lines(table: Any) -> list[str]:
    """The table as fixed-width lines for a terminal (Chinese characters count double)."""
    from prepaid.reports.exports import TOTAL
    from prepaid.reports.tables import cell_text

    columns = table.columns
    rows = [
        [cell_text(c, row.get(c.key)).replace("\n", " | ") for c in columns] for row in table.rows
    ]
    header = [c.label.text() for c in columns]
    widths = [max([width(header[i])] + [width(r[i]) for r in rows]) for i in range(len(columns))]
    total = None
    if table.totals is not None:
        total = [
            cell_text(c, table.totals[c.key]) if c.key in table.totals else "" for c in columns
        ]
        total[0] = total[0] or TOTAL.text()  # “合计”, as in the CSV and Excel files
        spans = _total_spans(total, widths)
        for start, end in spans:  # a total wider than its columns widens the last of them
            room = sum(widths[start:end]) + 2 * (end - start - 1)
            widths[end - 1] += max(0, width(total[end - 1]) - room)
    widths = [min(w, 60) for w in widths]
    lines = [
        "  ".join(
            pad(h, w, c.numeric) for h, w, c in zip(header, widths, columns, strict=True)
        ).rstrip()
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                pad(v, w, c.numeric) for v, w, c in zip(row, widths, columns, strict=True)
            ).rstrip()
        )
    if total is not None:
        cells = []
        for start, end in _total_spans(total, widths):
            room = sum(widths[start:end]) + 2 * (end - start - 1)
            cells.append(pad(total[end - 1], room, columns[end - 1].numeric))
        lines.append("  ".join(cells).rstrip())
    return lines


def _total_spans(total: list[str], widths: list[int]) -> list[tuple[int, int]]:
    """The totals row's cells as column ranges: a total wider than its column (the quantities
    of several accounts, 自来水 30.44 m³ · 电 183.34 kWh) takes the empty cells on its left
    rather than widening its column on every row."""
    spans: list[tuple[int, int]] = []
    end = len(total)
    while end > 0:
        start = end - 1
        room = widths[start]
        while width(total[end - 1]) > room and start > 1 and total[start - 1] == "":
            start -= 1
            room += widths[start] + 2
        spans.append((start, end))
        end = start
    return spans[::-1]


def emit_table(
    ctx: Any, args: argparse.Namespace, table: Any, document: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Print, return as JSON, or write the table to a file, as ``--format`` says."""
    from prepaid.reports import tables as t

    _check_sort(args, table)
    if args.format in ("csv", "xlsx"):
        return _export(ctx, args, table)
    # Every row (--all) may come as a one-pass iterator: the JSON document and the terminal
    # table both read the rows.
    table.rows = list(table.rows)
    document = document or t.json_document(table)
    if args.format == "json":
        ctx.json_output = True
    if ctx.json_output:  # the document alone is printed: no terminal table is made for it
        return document
    ctx.say(table.title.text())
    for label, value in table.filters:
        ctx.say("  " + labelled(ctx.gettext, label.text(), value))
    for line in table_lines(table):
        ctx.say(line)
    if table.page_size:
        ctx.say(
            ctx.ngettext(
                "Page %(page)s of %(pages)s, %(count)s row.",
                "Page %(page)s of %(pages)s, %(count)s rows.",
                table.count or 0,
            )
            % {"page": table.page, "pages": table.pages, "count": table.count}
        )
    return document


def _check_sort(args: argparse.Namespace, table: Any) -> None:
    """A ``--sort`` the report has no column for is bad input (the web falls back to the
    default order for a tampered link; a command says so)."""
    from prepaid.core.errors import InvalidInput, _

    wanted = (getattr(args, "sort", None) or "").strip()
    sortable = [c.key for c in table.columns if c.sort]
    if wanted and wanted.lstrip("-") not in sortable:
        raise InvalidInput(
            "bad_sort",
            _("A report cannot be sorted by “%(sort)s”: sort by one of %(columns)s."),
            sort=wanted,
            columns=", ".join(sortable),
        )


def _export(ctx: Any, args: argparse.Namespace, table: Any) -> dict[str, Any] | None:
    from prepaid.core.errors import InvalidInput, _
    from prepaid.reports.exports import write_csv, write_xlsx

    if args.format == "xlsx" and not args.output:
        raise InvalidInput("output_required", _("An Excel file needs --output FILE."))
    if not args.output:
        write_csv(table, ctx.stdout, bom=False)
        ctx.json_output = False
        return None
    try:
        if args.format == "csv":
            with open(args.output, "w", encoding="utf-8", newline="") as stream:
                rows = write_csv(table, stream)
        else:
            with open(args.output, "wb") as binary:
                rows = write_xlsx(table, binary)
    except OSError as exc:
        raise cannot_write(args.output, exc) from exc
    ctx.say(
        ctx.ngettext("Wrote %(rows)s row to %(path)s.", "Wrote %(rows)s rows to %(path)s.", rows)
        % {"rows": rows, "path": args.output}
    )
    return {"output": args.output, "format": args.format, "rows": rows}


# -- handlers ----------------------------------------------------------------------------------


def handle_sales(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from django.utils import timezone

    from prepaid.reports.services import sales_detail

    _ready(ctx)
    if not (args.date_from or args.date_to or args.customer):
        args.date_from = timezone.localdate() - datetime.timedelta(days=DEFAULT_DETAIL_DAYS - 1)
    table = sales_detail(filters_from(args, kinds=tuple(args.kind or ())), **_paging(args))
    return emit_table(ctx, args, table)


def handle_summary(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from prepaid.reports.services import sales_summary, summary_document

    _ready(ctx)
    table = sales_summary(filters_from(args), period=args.by, group=args.group)
    return emit_table(ctx, args, table, summary_document(table))


def handle_customer(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from prepaid.customers.services import get_customer
    from prepaid.reports.services import Filters, customer_history

    _ready(ctx)
    customer = get_customer(args.user_number)
    filters = Filters(date_from=args.date_from, date_to=args.date_to, kinds=tuple(args.event or ()))
    return emit_table(ctx, args, customer_history(customer, filters, **_paging(args)))


def handle_cards(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from prepaid.reports.services import card_operations

    _ready(ctx)
    table = card_operations(filters_from(args, kinds=tuple(args.kind or ())), **_paging(args))
    return emit_table(ctx, args, table)


def handle_pending(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from prepaid.reports.services import pending_and_voided

    _ready(ctx)
    table = pending_and_voided(
        filters_from(args, statuses=tuple(args.status or ())), **_paging(args)
    )
    return emit_table(ctx, args, table)


def handle_shifts(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from prepaid.reports.services import shift_list

    _ready(ctx)
    table = shift_list(filters_from(args), status=args.status, **_paging(args))
    return emit_table(ctx, args, table)


def handle_shift(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from prepaid.core.errors import PrepaidError, _
    from prepaid.reports.shifts import (
        get_shift,
        latest_shift,
        shift_report,
        shift_report_document,
        shift_settlement_table,
    )

    _ready(ctx)
    shift = get_shift(args.id) if args.id else latest_shift(ctx.operator, ctx.station)
    if shift is None:
        raise PrepaidError("no_shift", _("This operator has no shift at this station yet."))
    report = shift_report(shift)
    document = shift_report_document(report)
    table = shift_settlement_table(report)
    if args.format in ("csv", "xlsx"):
        return _export(ctx, args, table)
    if args.format == "json":
        ctx.json_output = True
        return document
    say_shift(ctx, document, table)
    return document


def say_shift(ctx: Any, doc: dict[str, Any], table: Any) -> None:
    """The settlement as lines (the printed slip of the web page, for the terminal): who and
    when, the takings per payment method with their column headers, the cash."""
    from prepaid.reports.shifts import CLOSED, OPENED

    ctx.say(table.title.text())
    for label, value in table.filters:
        if label not in (OPENED, CLOSED):  # said in the next line
            ctx.say("  " + labelled(ctx.gettext, label.text(), value))
    if doc["closed_by"]:
        ctx.say("  " + labelled(ctx.gettext, ctx.gettext("Closed by"), doc["closed_by"]))
    if doc["remarks"]:
        ctx.say("  " + labelled(ctx.gettext, ctx.gettext("Remarks"), doc["remarks"]))
    ctx.say(
        ctx.gettext("Opened %(opened_at)s, closed %(closed_at)s")
        % {"opened_at": office_time(doc["opened_at"]), "closed_at": office_time(doc["closed_at"])}
    )
    for line in table_lines(table):
        ctx.say(line)
    ctx.say(ctx.gettext("Takings %(takings)s; expected cash %(expected_cash)s") % doc)
    if doc["counted_cash"] is not None:
        ctx.say(ctx.gettext("Counted cash %(counted_cash)s; variance %(variance)s") % doc)
    # what the web's shift page says below its table, in its words
    if doc["transfers"]:
        transfers = ctx.ngettext(
            "%(counter)s meter-change transfer (no money).",
            "%(counter)s meter-change transfers (no money).",
            doc["transfers"],
        )
        ctx.say(transfers % {"counter": doc["transfers"]})
    if doc["pending"]:
        pending = ctx.ngettext(
            "%(counter)s sale of this shift is still pending (card not written or not seen since).",
            "%(counter)s sales of this shift are still pending (card not written or not seen "
            "since).",
            len(doc["pending"]),
        )
        ctx.say(pending % {"counter": len(doc["pending"])})
    for item in doc["voided"]:
        ctx.say(
            ctx.gettext(
                "Voided, not booked: purchase No. %(purchase)s (serial %(serial)s) of "
                "%(user_number)s, %(amount)s, voided %(time)s; if the customer paid, the "
                "drawer holds it"
            )
            % {**item, "time": office_time(item["voided_at"])}
        )
    for item in doc["corrections_of_earlier_shifts"]:
        ctx.say(ctx.gettext("Correction of a sale of shift %(original_shift)s: %(amount)s") % item)
    for item in doc["corrected_in_later_shifts"]:
        ctx.say(
            ctx.gettext("Purchase serial %(serial)s corrected in shift %(shift)s: %(amount)s")
            % item
        )
    for item in doc["completed_from_earlier_shifts"]:
        ctx.say(
            ctx.gettext(
                "Sale of an earlier shift completed here: purchase %(serial)s of %(user_number)s, "
                "%(amount)s (sold in shift %(original_shift)s by %(original_operator)s)"
            )
            % item
        )
    for item in doc["completed_in_later_shifts"]:
        ctx.say(
            ctx.gettext(
                "Sale of this shift completed after it closed: purchase %(serial)s of "
                "%(user_number)s, %(amount)s (booked in shift %(shift)s of %(operator)s)"
            )
            % item
        )


def handle_suspicious(ctx: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    from django.db import transaction

    from prepaid.core.errors import InvalidInput, _
    from prepaid.reports.suspicious import analyse, analysis_document, save_rules, worklist

    _ready(ctx)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(
                "bad_rule", _("Give a threshold as RULE=VALUE, not “%(item)s”."), item=item
            )
        overrides[key.strip()] = value.strip()
    # Thresholds are saved with the report they run, or not at all (an Excel file without
    # --output, a file that cannot be written).
    with transaction.atomic():
        if args.save:
            save_rules(ctx.operator, overrides)
        analysis = analyse(args.as_of, overrides)
        table = worklist(analysis, **_paging(args))
        return emit_table(ctx, args, table, analysis_document(analysis))


def handle_chart(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.reports.figures import chart_svg

    _ready(ctx)
    svg = chart_svg(args.chart, args.date_from, args.date_to)
    try:
        with open(args.output, "w", encoding="utf-8") as stream:
            stream.write(svg)
    except OSError as exc:
        raise cannot_write(args.output, exc) from exc
    ctx.say(ctx.gettext("Chart written to %(path)s.") % {"path": args.output})
    return {"output": args.output, "chart": args.chart}

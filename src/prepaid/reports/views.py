"""Report pages (查询): thin views over ``prepaid.reports.services``.

Every page is for logged-in operators (any role), but 审计日志 for administrators. Each report
page shows a filter bar, a sortable, paginated table with totals, and download links: the same
URL with ``format=csv`` or ``format=xlsx`` returns the whole report (every page) as a file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from prepaid.audit import log as audit
from prepaid.core import days
from prepaid.core.errors import PrepaidError
from prepaid.core.money import fen_to_decimal
from prepaid.customers import services as customers
from prepaid.customers.models import Customer
from prepaid.home import station_name
from prepaid.reports import services, shifts, suspicious
from prepaid.reports import tables as t
from prepaid.reports.exports import BOM, CONTENT_TYPES, csv_records, write_xlsx
from prepaid.reports.figures import (
    CHART_PERIODS,
    chart_svg,
    daily_takings_period,
    daily_takings_svg,
    monthly_quantity_period,
    monthly_quantity_svgs,
)
from prepaid.reports.forms import AuditFilterForm, FilterForm
from prepaid.reports.labels import (
    CARD_OPERATION_LABELS,
    LEDGER_KIND_LABELS,
    PAYMENT_LABELS,
    PURCHASE_STATUS_LABELS,
    text_of,
)
from prepaid.vending.models import Shift
from prepaid.web import formatting
from prepaid.web.errors import message, raise_if_forbidden
from prepaid.web.views.customers import found_page

LOGIN = "web:login"
BASES = ["prepaid/web/base.html", "prepaid/base.html", "reports/standalone.html"]
SALES_DAYS = 31  # the sales detail without dates shows the last month
# the field a refusal of 交班 names → the form field it is shown next to
CLOSE_FIELDS = {"counted cash": "counted_cash", "remarks": "remarks"}


def reports_view(view: Any) -> Any:
    return login_required(view, login_url=LOGIN)


def base_template() -> Any:
    """The web UI's base template when it is installed, else the reports' own."""
    return select_template(BASES).template


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"base_template": base_template(), **context})


# -- tables on screen and as files ----------------------------------------------------------


def _page(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _page_size(request: HttpRequest) -> int:
    try:
        return max(1, min(t.MAX_PAGE_SIZE, int(request.GET.get("size", t.DEFAULT_PAGE_SIZE))))
    except ValueError:
        return t.DEFAULT_PAGE_SIZE


def export_format(request: HttpRequest) -> str | None:
    value = request.GET.get("format")
    return value if value in CONTENT_TYPES else None


def paging(request: HttpRequest) -> dict[str, Any]:
    """Page and size for the screen; every row for a download."""
    if export_format(request):
        return {"page": 1, "page_size": None}
    return {"page": _page(request), "page_size": _page_size(request)}


class _Echo:
    """A file-like object whose write returns what it was given (for streaming CSV)."""

    def write(self, value: str) -> str:
        return value


def download(table: t.Table, kind: str, name: str) -> HttpResponse:
    filename = f"{name}-{timezone.localdate().isoformat()}.{kind}"
    if kind == "csv":
        writer = csv.writer(_Echo())
        lines = (writer.writerow(record) for record in csv_records(table))
        response: HttpResponse = StreamingHttpResponse(
            itertools.chain([BOM], lines), content_type=CONTENT_TYPES["csv"]
        )
    else:
        buffer = io.BytesIO()
        write_xlsx(table, buffer)
        response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _query(request: HttpRequest, **changes: Any) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode()


LINKS = {"user_number": "reports:customer", "shift": "reports:shift"}


def table_context(
    request: HttpRequest, table: t.Table, links: dict[str, str] | None = None
) -> dict[str, Any]:
    """The table as the template draws it: header links, cells, totals, pages, downloads.
    ``links``: the columns whose values open a page (column key → URL name)."""
    links = LINKS if links is None else {**LINKS, **links}
    current = table.sort
    columns = []
    for column in table.columns:
        state = ""
        url = None
        if column.sort:
            state = (
                "desc" if current == "-" + column.key else "asc" if current == column.key else ""
            )
            url = _query(
                request, sort=column.key if state == "desc" else "-" + column.key, page=None
            )
        columns.append(
            {
                "label": column.label.text(),
                "numeric": column.numeric,
                "url": url,
                "state": state,
                "key": column.key,
            }
        )
    rows = []
    for row in table.rows:
        cells = []
        for column in table.columns:
            value = row.get(column.key)
            link = None
            if column.key in links and value:
                link = reverse(links[column.key], args=[value])
            text = screen_text(column, value)
            cells.append({"text": text, "link": link, "classes": _cell_classes(column, text)})
        rows.append(cells)
    totals = None
    if table.totals is not None:
        totals = [_total_cell(c, table.totals.get(c.key)) for c in table.columns]
    return {
        "table": table,
        "title": table.title.text(),
        "columns": columns,
        "rows": rows,
        "totals": totals,
        "previous_url": _query(request, page=table.page - 1) if table.page > 1 else None,
        "next_url": _query(request, page=table.page + 1) if table.page < table.pages else None,
        "csv_url": _query(request, format="csv", page=None),
        "xlsx_url": _query(request, format="xlsx", page=None),
    }


def respond(
    request: HttpRequest,
    table: t.Table,
    name: str,
    form: Any = None,
    template: str = "reports/table.html",
    links: dict[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    kind = export_format(request)
    if kind:
        return download(table, kind, name)
    context = {**table_context(request, table, links), "form": form, **extra}
    return _render(request, template, context)


def _sort(request: HttpRequest, default: str) -> str:
    return request.GET.get("sort") or default


# -- the pages -----------------------------------------------------------------------------


@reports_view
def index(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "reports/index.html",
        {
            "daily_svg": daily_takings_svg(*daily_takings_period(None, None)),
            "monthly_svgs": monthly_quantity_svgs(*monthly_quantity_period(None, None)),
            "open_shift": shifts.open_shift_of(request.user, station_name()),
        },
    )


def _kinds(labels: dict[str, Any], keys: Any = None) -> list[tuple[str, str]]:
    return [(k, text_of(labels, k)) for k in (keys or labels) if k]


@reports_view
def sales(request: HttpRequest) -> HttpResponse:
    form = FilterForm(
        request.GET or None,
        default_days=SALES_DAYS,
        fields=(
            "date_from",
            "date_to",
            "operator",
            "account",
            "price",
            "payment",
            "customer",
            "station",
            "kind",
        ),
        kinds=_kinds(LEDGER_KIND_LABELS),
    )
    table = services.sales_detail(form.filters(), sort=_sort(request, "-time"), **paging(request))
    return respond(request, table, "sales", form)


@reports_view
def summary(request: HttpRequest) -> HttpResponse:
    form = FilterForm(
        request.GET or None,
        fields=("date_from", "date_to", "operator", "account", "price", "payment", "station"),
    )
    period = request.GET.get("by", "month")
    group = request.GET.get("group", "none")
    try:
        table = services.sales_summary(form.filters(), period=period, group=group)
    except PrepaidError:
        table = services.sales_summary(form.filters())
        period, group = "month", "none"
    chart = None
    filters = form.filters()
    if (
        period == "day"
        and filters.date_from
        and filters.date_to
        and (filters.date_to - filters.date_from).days <= 366
    ):
        chart = daily_takings_svg(filters.date_from, filters.date_to, filters)
    return respond(
        request,
        table,
        "summary",
        form,
        template="reports/summary.html",
        period=period,
        group=group,
        chart=chart,
        periods=[(k, v.text()) for k, v in services.PERIOD_LABELS.items()],
        groups=[(k, v.text()) for k, v in services.GROUP_LABELS.items()],
    )


@reports_view
def customer_search(request: HttpRequest) -> HttpResponse:
    """Customers by user number, name or phone, a page at a time as 用户管理 finds them; a
    user number, or a search only one customer matches, goes straight to the history."""
    text = (request.GET.get("q") or "").strip()
    found = None
    error = None
    if text:
        with contextlib.suppress(PrepaidError):
            return redirect("reports:customer", customers.get_customer(text).user_number)
        try:
            found = found_page(request, customers.matching_customers(text))
        except PrepaidError as exc:
            error = message(exc)
        else:
            if found.page.paginator.count == 1:
                return redirect("reports:customer", found.page[0].user_number)
    return _render(
        request, "reports/customer_search.html", {"q": text, "found": found, "error": error}
    )


@reports_view
def customer(request: HttpRequest, user_number: str) -> HttpResponse:
    found = Customer.objects.filter(user_number=user_number).first()
    if found is None:
        raise Http404(_("There is no customer with this user number."))
    from prepaid.reports.services import EVENT_LABELS

    form = FilterForm(
        request.GET or None, fields=("date_from", "date_to", "kind"), kinds=_kinds(EVENT_LABELS)
    )
    table = services.customer_history(
        found, form.filters(), sort=_sort(request, "-time"), **paging(request)
    )
    return respond(
        request,
        table,
        f"customer-{found.user_number}",
        form,
        template="reports/customer.html",
        customer=found,
    )


@reports_view
def card_operations(request: HttpRequest) -> HttpResponse:
    form = FilterForm(
        request.GET or None,
        fields=("date_from", "date_to", "operator", "account", "customer", "station", "kind"),
        kinds=_kinds(CARD_OPERATION_LABELS),
    )
    table = services.card_operations(
        form.filters(), sort=_sort(request, "-time"), **paging(request)
    )
    return respond(request, table, "card-operations", form)


@reports_view
def pending(request: HttpRequest) -> HttpResponse:
    form = FilterForm(
        request.GET or None,
        fields=("date_from", "date_to", "operator", "account", "customer", "station", "status"),
        statuses=_kinds(PURCHASE_STATUS_LABELS, ("pending", "voided")),
    )
    table = services.pending_and_voided(
        form.filters(), sort=_sort(request, "-time"), **paging(request)
    )
    return respond(request, table, "pending-voided", form)


@reports_view
def shift_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(
        request.GET or None,
        fields=("date_from", "date_to", "operator", "station", "status"),
        statuses=[
            ("open", pgettext("shift status", "Open")),
            ("closed", pgettext("shift status", "Closed")),
        ],
    )
    filters = form.filters()
    status = filters.statuses[0] if filters.statuses else None
    table = services.shift_list(
        filters, status=status, sort=_sort(request, "-opened_at"), **paging(request)
    )
    return respond(
        request,
        table,
        "shifts",
        form,
        template="reports/shifts.html",
        links={"id": "reports:shift"},  # a shift opens its settlement (and its printout)
        open_shift=shifts.open_shift_of(request.user, station_name()),
        station=station_name(),
    )


def _shift_or_404(shift_id: int) -> Shift:
    found = Shift.objects.select_related("operator").filter(pk=shift_id).first()
    if found is None:
        raise Http404(_("There is no such shift."))
    return found


@reports_view
def shift(request: HttpRequest, shift_id: int) -> HttpResponse:
    """The settlement on screen; with ``format=csv`` or ``format=xlsx`` the file
    ``prepaid report shift --id N --format …`` writes (the same table, the same numbers)."""
    report = shifts.shift_report(_shift_or_404(shift_id))
    kind = export_format(request)
    if kind:
        return download(shifts.shift_settlement_table(report), kind, f"shift-{report.shift.pk}")
    return _render(request, "reports/shift.html", _shift_context(request, report))


@reports_view
def shift_print(request: HttpRequest, shift_id: int) -> HttpResponse:
    report = shifts.shift_report(_shift_or_404(shift_id))
    return render(request, "reports/shift_print.html", _shift_context(request, report))


def _shift_context(request: HttpRequest, report: shifts.ShiftReport) -> dict[str, Any]:
    payments = [
        {"label": text_of(PAYMENT_LABELS, method), "totals": totals}
        for method, totals in sorted(report.totals.payments.items())
    ]
    may_close = not report.closed and (
        report.shift.operator_id == request.user.pk or getattr(request.user, "is_admin", False)
    )
    return {
        "report": report,
        "shift": report.shift,
        "settlement": report.settlement,
        "payments": payments,
        "may_close": may_close,
        "printed_at": timezone.localtime(),
    }


@reports_view
@require_POST
def shift_close(request: HttpRequest) -> HttpResponse:
    shift_id = request.POST.get("shift") or None
    try:
        settlement = shifts.close_shift(
            request.user,
            station_name(),
            counted_cash=request.POST.get("counted_cash", ""),
            remarks=request.POST.get("remarks", ""),
            shift_id=shift_id,
        )
    except PrepaidError as exc:
        field = CLOSE_FIELDS.get(str(exc.params.get("field", "")))
        if field is not None and shift_id is not None and shift_id.isascii() and shift_id.isdigit():
            # a bad value: the form again, with what was typed and the refusal next to it
            report = shifts.shift_report(_shift_or_404(int(shift_id)))
            typed = {name: request.POST.get(name, "") for name in CLOSE_FIELDS.values()}
            return _render(
                request,
                "reports/shift.html",
                {
                    **_shift_context(request, report),
                    "close": typed,
                    "close_errors": {field: exc.translate(_)},
                    "close_codes": [exc.code],
                },
            )
        messages.error(request, exc.translate(_))
        known = shift_id is not None and shift_id.isascii() and shift_id.isdigit()
        target = reverse("reports:shift", args=[shift_id]) if known else reverse("reports:shifts")
        return redirect(target)
    messages.success(request, _("Shift %(id)s closed.") % {"id": settlement.shift_id})
    return redirect("reports:shift", settlement.shift_id)


@reports_view
def suspicious_customers(request: HttpRequest) -> HttpResponse:
    as_of = days.parse_day(request.GET.get("as_of"))
    analysis = suspicious.analyse(as_of)
    page = paging(request)
    table = suspicious.worklist(analysis, **page)
    suspects = analysis.suspects
    if page["page_size"]:
        suspects = suspects[(table.page - 1) * page["page_size"] : table.page * page["page_size"]]
    return respond(
        request,
        table,
        "suspicious",
        None,
        template="reports/suspicious.html",
        analysis=analysis,
        suspects=suspects,
        first_rank=(table.page - 1) * (page["page_size"] or 0) + 1,
        as_of=analysis.as_of,
    )


@reports_view
def audit_log(request: HttpRequest) -> HttpResponse:
    """审计日志, for administrators (403 for an operator): every change, newest first."""
    form = AuditFilterForm(request.GET or None)
    try:
        table = audit.audit_log(request.user, form.audit_filters(), **paging(request))
    except PrepaidError as exc:
        raise_if_forbidden(exc)
        raise
    return respond(request, table, "audit-log", form)


@reports_view
def chart(request: HttpRequest, name: str) -> HttpResponse:
    if name not in CHART_PERIODS:
        raise Http404(_("There is no such chart."))
    start, end = (days.parse_day(request.GET.get(key)) for key in ("from", "to"))
    svg = chart_svg(name, start, end)
    return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


def screen_text(column: t.Column, value: Any) -> str:
    """A cell as the page shows it: :func:`tables.cell_screen`, with money and quantities
    grouped as the operator's locale groups them (``48,520.86`` in English), as the vending
    pages give them; the CSV, Excel and terminal keep the plain ``48520.86``."""
    if isinstance(value, t.Quantities):
        if value.single is not None:
            return formatting.quantity_centi(value.single)
        return t.QUANTITIES_SEPARATOR.join(
            f"{name} {formatting.quantity_centi(centi)}\N{NO-BREAK SPACE}{unit}"
            for name, unit, centi in value.parts
        )
    if value is not None and column.kind == t.MONEY:
        return formatting.number(fen_to_decimal(value))
    if value is not None and column.kind == t.QUANTITY:
        return formatting.quantity_centi(value)
    return t.cell_screen(column, value)


# A word or a number this short is never broken over lines (销售, 已完成, 自来水, a user
# number, an operator): the long texts beside it (details, reasons) wrap instead. Two short
# words (WeChat Pay, Bank card) may go one under the other on a crowded screen, each whole.
SHORT_TEXT = 10


# A customer's history names each event on one line (刷表回读, Swipe seen on the card), not
# broken word by word under the next; its details beside it wrap instead.
TERM_COLUMNS = frozenset({"event"})
# A card serial (16 hexadecimal digits, no word to break at) may break in two halves rather
# than widen the table past the screen.
SERIAL_COLUMNS = frozenset({"card_serial"})


def _cell_classes(column: t.Column, text: str) -> str:
    classes = ["num"] if column.numeric else []
    if "\n" in text:
        classes.append("multiline")
    elif column.key in SERIAL_COLUMNS:
        classes.append("serial")
    elif column.numeric:
        pass
    elif column.kind in (t.DATE, t.DATETIME) or column.key in TERM_COLUMNS:
        classes.append("nowrap")
    elif len(text) <= SHORT_TEXT:
        classes.append("words" if " " in text else "nowrap")
    return " ".join(classes)


def _total_cell(column: t.Column, value: Any) -> dict[str, str]:
    """A total under its column. Quantities of several accounts (m³ and kWh, never added)
    are one line each, so that their column is as wide as one of them; on a crowded screen
    each breaks once more, after its account (自来水 / 91.08 m³), never inside a number
    and its unit."""
    if value is None:
        return {"text": "", "classes": "num"}
    text = screen_text(column, value)
    if isinstance(value, t.Quantities):
        text = text.replace(t.QUANTITIES_SEPARATOR, "\n")
    return {"text": text, "classes": _cell_classes(column, text)}

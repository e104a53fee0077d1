"""充值管理: 开户 (open), 销售 (sale), 充值修改 (correction), 补卡 (reissue), 换表卡调整.

Each page follows the manual: 读卡 (read the card in the reader) → the customer → quantity or
amount (the other computed live) → confirm → 写卡 → 写卡成功. The money forms carry an
idempotency key made when the form is rendered; the services charge a resubmitted key once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from prepaid.accounts import services as accounts
from prepaid.core.errors import PrepaidError
from prepaid.core.money import format_centi, format_fen, format_hao
from prepaid.customers import services as customers
from prepaid.vending import cardio
from prepaid.vending import services as vending
from prepaid.vending.models import CustomerAccount, MeterChange, Purchase
from prepaid.vending.settled import notice, telling_settled
from prepaid.web import station as stations
from prepaid.web.decorators import admin_required, operator_required
from prepaid.web.errors import raise_if_forbidden
from prepaid.web.forms import (
    MeterChangeForm,
    OpenForm,
    ReissueForm,
    SaleForm,
    WriteSaleForm,
    is_key,
    last_taken_answer,
    new_key,
    posted_account_id,
    posted_confirmation,
    posted_key,
)
from prepaid.web.presenters import card_view
from prepaid.web.views.common import done_before, or_404, page, refusal, remember_done
from prepaid.web.views.customers import customer_rows, search

FIRST_RESULT_WAIT = 5.0  # seconds a double submit waits for the first request to finish


# -- helpers ----------


def _telling_settled(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A page that reads the customer's card says which purchase left pending by a stopped
    station the read settled (voided: the customer may have paid for it there; completed:
    the card carries a purchase this operator did not sell), on this page or the next."""

    @functools.wraps(view)
    def run(request: HttpRequest) -> HttpResponse:
        def tell(settled: Any) -> None:
            messages.warning(request, notice(settled, gettext))

        with telling_settled(tell):
            return view(request)

    return run


def _rekeyed(data: QueryDict) -> QueryDict:
    """The posted form again, with a fresh idempotency key (the old one may be spent)."""
    fresh = data.copy()
    fresh["key"] = new_key()
    return fresh


def _first_result(key: str, refusal: PrepaidError) -> Purchase | None:
    """The purchase an earlier submit of this key made, once it is settled. A refusal saying
    this very request is pending (its card is not in the reader) is not waited on: nothing
    else is finishing it."""
    wait = 0.0 if refusal.code == "purchase_pending" else FIRST_RESULT_WAIT
    deadline = time.monotonic() + wait
    while True:
        purchase = Purchase.objects.filter(idempotency_key=key).first()
        if purchase is None or purchase.status in (Purchase.Status.VOIDED,):
            return None
        if purchase.status != Purchase.Status.PENDING:
            return purchase
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def _purchase_url(purchase: Purchase) -> str:
    return reverse("web:purchase", args=[purchase.pk])


def _written_before(request: HttpRequest, key: str | None) -> HttpResponse | None:
    """A form posted again after its purchase was written (the browser's Back, a reload): the
    written purchase, said so, instead of a second charge or an unrelated refusal."""
    if not is_key(key):
        return None
    purchase = Purchase.objects.filter(
        idempotency_key=key, status=Purchase.Status.COMPLETED
    ).first()
    if purchase is None:
        return None
    messages.warning(
        request,
        gettext(
            "This form was already sent: purchase #%(serial)s was written then. "
            "Nothing was charged or written again."
        )
        % {"serial": purchase.serial},
    )
    return HttpResponseRedirect(_purchase_url(purchase))


def _card_context(user_card: vending.UserCard) -> dict[str, Any]:
    customer = user_card.customer  # the card's record brings its customer along
    opened = [ca for ca in vending.customer_accounts(customer) if ca.last_serial]
    card = user_card.card
    doc = card_view(card, user_card.record)
    slots = {slot["sub_meter"]: slot for slot in doc.get("slots", [])}
    rows = [
        {
            "ca": ca,
            "unit": accounts.meter_unit(ca.account),
            "swiped": card.swiped(ca.account.sub_meter),
            "slot": slots.get(ca.account.sub_meter),
            "last": cardio.live_purchase(ca),
        }
        for ca in opened
    ]
    for row in rows:  # why no sale: not swiped, or what the meter showed when it refused
        if not row["swiped"]:
            row["not_swiped"] = refusal(vending.not_swiped(card, row["ca"], row["last"]))
    return {
        "user_card": user_card,
        "card": doc,
        "customer": customer,
        "opened": opened,
        "rows": rows,
        "unswiped": [row["ca"] for row in rows if not row["swiped"]],
        # the refusal of vending.correct for a swiped purchase, shown when the card is read
        "already_swiped": {
            "code": "already_swiped",
            "message": gettext(
                "The last purchase has already been swiped on the meter and can no longer be "
                "corrected."
            ),
        },
    }


def _pick(opened: list[CustomerAccount], account_id: str | None) -> CustomerAccount:
    for customer_account in opened:
        if str(customer_account.account_id) == str(account_id):
            return customer_account
    raise PrepaidError(
        "account_not_open", gettext_noop("This customer has no account opened on that utility.")
    )


def quote_view(priced: vending.Priced, unit: str, payment: str | None = None) -> dict[str, Any]:
    """A priced purchase for display: quantity, amount, change (cash only) and the tier
    split."""
    quote = priced.quote
    tendered = vending.tendered_fen(priced, payment or "cash")
    return {
        "quantity": format_centi(quote.quantity_centi),
        "amount": format_fen(quote.amount_fen),
        "tendered": format_fen(tendered),
        "change": format_fen(tendered - quote.amount_fen),
        "unit": unit,
        "version": priced.version.number,
        "lines": [
            {
                "tier": line.tier_index + 1,
                "quantity": format_centi(line.quantity_centi),
                "unit_price": format_hao(line.unit_price_hao),
                "amount": format_fen(line.amount_fen),
            }
            for line in quote.lines
        ],
        "tiered": len(quote.lines) > 1 or priced.period_start is not None,
    }


def _read_stage(
    request: HttpRequest,
    template: str,
    extra: dict[str, Any] | None = None,
    error: dict[str, str] | None = None,
) -> HttpResponse:
    return page(request, template, {"stage": "read", "error": error, **(extra or {})})


# -- 销售 sale and 充值修改 correction ----------


def _sale_like(request: HttpRequest, *, correction: bool) -> HttpResponse:
    template = "vending/correct.html" if correction else "vending/sell.html"
    if request.method != "POST":
        return _read_stage(request, template)
    station = stations.station_for(request)
    action = request.POST.get("action", "read")
    data: QueryDict | None = request.POST if action in ("review", "write") else None
    write_error = None
    written = _written_before(request, data.get("key")) if data is not None else None
    if written is not None:
        return written
    if action == "write" and data is not None:
        key = data.get("key", "")
        replay = done_before(request, key)
        if replay is not None:
            return replay
        outcome = _write_sale(request, station, data, correction=correction)
        if isinstance(outcome, HttpResponse):
            return outcome
        write_error = outcome
        data = _rekeyed(data)
    try:
        user_card = vending.read_user_card(station)
    except PrepaidError as exc:
        shown = write_error if write_error is not None else exc
        return _read_stage(request, template, error=refusal(shown))
    context = _card_context(user_card)
    initial = None
    if data is None and correction:
        initial = _correction_initial(context["rows"])
    sellable = [ca for ca in context["opened"] if ca not in context["unswiped"]]
    if data is None and not correction:  # a sale: the first account the card can buy on
        initial = {"account": str(sellable[0].account_id)} if sellable else None
    form = SaleForm(data, accounts=context["opened"], initial=initial)
    # a card swiped on none of its meters buys nothing: no form to type an amount into, only
    # the refusal and 读卡 again once the customer has swiped
    context.update(stage="form", form=form, correction=correction, sellable=sellable)
    if write_error is not None:
        form.is_valid()
        form.add_service_error(write_error)
        if not (correction or sellable) and write_error.code != "card_not_swiped":
            # no form to show the refusal in (the card in the reader now buys nothing): above
            # the card's own refusals; not swiped, those say it already
            context["error"] = refusal(write_error)
        return page(request, template, context)
    if action == "review" and form.is_valid():
        review = _review_sale(station, form, context, correction=correction)
        if review is not None:
            context.update(stage="review", **review)
    return page(request, template, context)


def _correction_initial(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first account whose last purchase can still be corrected (not yet swiped), paid as
    that purchase was unless the operator says otherwise: the shift's totals by payment
    method stay right. ``rows`` are the card's accounts as :func:`_card_context` read them."""
    row = next((row for row in rows if not row["swiped"]), None)
    if row is None:
        return None
    initial: dict[str, Any] = {"account": str(row["ca"].account_id)}
    if row["last"] is not None:
        initial["payment"] = row["last"].payment_method
    return initial


def _review_sale(
    station: vending.Station, form: SaleForm, context: dict[str, Any], *, correction: bool
) -> dict[str, Any] | None:
    user_card, wanted = context["user_card"], form.quantity_or_amount()
    original = None
    try:
        chosen = _pick(context["opened"], form.cleaned_data["account"])
        if correction:
            original, priced = vending.check_correction(user_card, chosen, **wanted)
        else:
            priced = vending.check_sale(user_card, chosen, **wanted)
    except PrepaidError as exc:
        if exc.code == "card_not_swiped" and chosen in context["unswiped"]:
            return None  # the page says so already, above the form, once is enough
        form.add_service_error(exc)
        return None
    unit = accounts.meter_unit(chosen.account)
    confirmed = vending.purchase_confirmation(
        station, user_card.record.serial, priced, chosen, replaces=original
    )
    review = {
        "chosen": chosen,
        "quote": quote_view(priced, unit, form.cleaned_data.get("payment")),
        "confirmed": confirmed.token(),
    }
    if original is not None:
        review["quote"]["corrected"] = _corrected_view(original, priced.quote.amount_fen, unit)
    return review


def _corrected_view(original: Purchase, amount_fen: int, unit: str) -> dict[str, Any]:
    """The purchase a correction replaces and the money that changes hands: the customer
    gets the difference back, or pays it (on the confirm step, the written page and the
    receipt alike)."""
    difference = amount_fen - original.amount_fen
    return {
        "serial": original.serial,
        "quantity": format_centi(original.quantity_centi),
        "amount": format_fen(original.amount_fen),
        "unit": unit,
        "collect": format_fen(difference) if difference > 0 else None,
        "refund": format_fen(-difference) if difference < 0 else None,
    }


def _write_sale(
    request: HttpRequest, station: vending.Station, data: QueryDict, *, correction: bool
) -> HttpResponse | PrepaidError:
    try:
        key = posted_key(data)
        confirmed = posted_confirmation(data)
    except PrepaidError as exc:
        return exc
    form = WriteSaleForm(data)
    form.is_valid()  # the services refuse what is wrong, as on the confirm page
    service = vending.correct if correction else vending.sell
    try:
        account_id = form.account_id()
    except PrepaidError as exc:
        return exc
    try:
        purchase = service(
            station,
            account_id=account_id,
            payment=form.text("payment") or (None if correction else "cash"),
            key=key,
            confirmed=confirmed,
            **form.quantity_or_amount(),
        )
    except PrepaidError as exc:
        first = _first_result(key, exc) if key else None
        if first is not None:
            return remember_done(request, key, _purchase_url(first), service_replays=True)
        raise_if_forbidden(exc)
        return exc
    return remember_done(request, key, _purchase_url(purchase), service_replays=True)


@operator_required
@_telling_settled
def sell(request: HttpRequest) -> HttpResponse:
    return _sale_like(request, correction=False)


@operator_required
@_telling_settled
def correct(request: HttpRequest) -> HttpResponse:
    return _sale_like(request, correction=True)


# -- the live quote (htmx) ----------


def _opened_on(customer: Any, account: Any) -> CustomerAccount | None:
    """The customer's account being opened, when an earlier attempt created it."""
    return CustomerAccount.objects.filter(customer=customer, account=account).first()


@require_POST
@operator_required
def quote(request: HttpRequest) -> HttpResponse:
    data = request.POST
    basis = data.get("basis") or "amount"
    typed = (data.get(basis) or "").strip()
    if not typed:
        return page(request, "vending/_quote.html", {"empty": True})
    arguments = {
        "quantity": typed if basis == "quantity" else None,
        "amount": typed if basis == "amount" else None,
    }
    try:
        customer = customers.get_customer(data.get("customer", ""))
        if data.get("mode") == "open":
            account = accounts.get_account(data.get("account", ""))
            price = accounts.get_price(data.get("price", ""))
            target = _opened_on(customer, account)
            exclude = None
        else:
            target = _pick(vending.customer_accounts(customer), data.get("account"))
            account, price = target.account, target.price
            exclude = cardio.live_purchase(target) if data.get("mode") == "correct" else None
        priced = vending.price_purchase(
            price, customer_account=target, exclude=exclude, **arguments
        )
    except PrepaidError as exc:
        return page(request, "vending/_quote.html", {"error": refusal(exc)})
    return page(
        request,
        "vending/_quote.html",
        {
            "quote": quote_view(priced, accounts.meter_unit(account), data.get("payment")),
            "basis": basis,
        },
    )


# -- 开户 open account ----------


def _customer_picker(request: HttpRequest, template: str) -> HttpResponse:
    form, found = search(request)
    return page(
        request,
        template,
        {
            "stage": "pick",
            "search": form,
            **customer_rows(found),
        },
    )


@operator_required
@_telling_settled
def open_account(request: HttpRequest) -> HttpResponse:
    number = request.POST.get("customer") or request.GET.get("customer")
    if not number:
        return _customer_picker(request, "vending/open.html")
    overview = or_404(customers.customer_overview, number)
    # Only the accounts the customer can still be opened on, and their prices.
    account_list = customers.accounts_to_open(overview)
    open_ids = {account.pk for account in account_list}
    price_list = [p for p in accounts.list_prices() if p.account_id in open_ids]
    action = request.POST.get("action") if request.method == "POST" else None
    data: QueryDict | None = request.POST if action in ("review", "write") else None
    written = _written_before(request, data.get("key")) if data is not None else None
    if written is not None:
        return written
    if action == "write" and data is not None:
        replay = done_before(request, data.get("key"))
        if replay is not None:
            return replay
    initial = {"account": request.GET.get("account", "")}
    form = OpenForm(data, accounts=account_list, prices=price_list, initial=initial)
    context: dict[str, Any] = {
        "stage": "form",
        "overview": overview,
        "form": form,
        "customer": overview.customer,
        "all_open": bool(overview.accounts) and not account_list,
    }
    if data is None or not form.is_valid():
        return page(request, "vending/open.html", context)
    price = None
    try:
        account = accounts.get_account(form.cleaned_data["account"])
        price = accounts.get_price(form.cleaned_data["price"])
        if action == "review":
            wanted = form.quantity_or_amount()
            priced, confirmed = vending.check_open(
                stations.station_for(request),
                overview.customer,
                account,
                price,
                wanted.get("quantity"),
                wanted.get("amount"),
            )
            context.update(
                stage="review",
                account=account,
                price=price,
                quote=quote_view(
                    priced, accounts.meter_unit(account), form.cleaned_data.get("payment")
                ),
                confirmed=confirmed.token(),
            )
            return page(request, "vending/open.html", context)
        station = stations.station_for(request)
        purchase = vending.open_account(
            station,
            overview.customer,
            account,
            price,
            payment=form.cleaned_data["payment"],
            key=form.cleaned_data["key"],
            confirmed=posted_confirmation(request.POST),
            **form.quantity_or_amount(),
        )
    except PrepaidError as exc:
        key = form.cleaned_data["key"]
        first = _first_result(key, exc) if action == "write" else None
        if first is not None:
            return remember_done(request, key, _purchase_url(first), service_replays=True)
        shown = _rekeyed(request.POST) if action == "write" else request.POST
        if price is not None:
            shown = _with_computed(shown, form, price, _opened_on(overview.customer, price.account))
        form = OpenForm(shown, accounts=account_list, prices=price_list)
        form.is_valid()
        context["form"] = form
        form.add_service_error(exc)
        return page(request, "vending/open.html", context)
    return remember_done(
        request, form.cleaned_data["key"], _purchase_url(purchase), service_replays=True
    )


def _with_computed(
    data: QueryDict, form: OpenForm, price: Any, target: CustomerAccount | None
) -> QueryDict:
    """The posted form with the half of quantity and amount the quote computes filled in, as
    the live quote filled it (an operator who confirmed before the quote came back posted it
    empty): a refused form comes back with both."""
    basis = form.cleaned_data.get("basis") or ""
    other = {"quantity": "amount", "amount": "quantity"}.get(basis)
    if other is None or form.text(basis) is None or form.text(other) is not None:
        return data
    try:
        quote = vending.price_purchase(
            price, customer_account=target, **form.quantity_or_amount()
        ).quote
    except PrepaidError:
        return data
    filled = data.copy()
    filled[other] = (
        format_fen(quote.amount_fen) if other == "amount" else format_centi(quote.quantity_centi)
    )
    return filled


# -- 补卡 reissue ----------


@operator_required
@_telling_settled
def reissue(request: HttpRequest) -> HttpResponse:
    number = request.POST.get("customer") or request.GET.get("customer")
    if not number:
        return _customer_picker(request, "vending/reissue.html")
    overview = or_404(customers.customer_overview, number)
    action = request.POST.get("action") if request.method == "POST" else None
    data = request.POST if action in ("review", "write") else None
    form = ReissueForm(data)
    context: dict[str, Any] = {
        "stage": "form",
        "overview": overview,
        "form": form,
        "customer": overview.customer,
        "last": {ca.account_id: cardio.live_purchase(ca) for ca in overview.accounts},
    }
    if data is None or not form.is_valid():
        return page(request, "vending/reissue.html", context)
    key = form.cleaned_data["key"]
    if action == "review":
        try:
            station = stations.station_for(request)
            review = vending.check_reissue(station, overview.customer, fee=form.text("fee"))
        except PrepaidError as exc:
            form.add_service_error(exc)
        else:
            context.update(
                stage="review",
                fee_fen=review.fee_fen,
                risks=review.risks,
                confirmed=review.confirmed.token(),
            )
        return page(request, "vending/reissue.html", context)
    replay = done_before(request, key)
    if replay is not None:  # the browser's Back and Confirm again: say nothing was done
        messages.warning(
            request,
            gettext(
                "This form was already sent: the new card was written then. "
                "Nothing was charged or written again."
            ),
        )
        return replay
    try:
        station = stations.station_for(request)
        result = vending.reissue(
            station,
            overview.customer,
            fee=form.text("fee"),
            payment=form.cleaned_data["payment"],
            key=key,
            confirmed=posted_confirmation(request.POST),
        )
    except PrepaidError as exc:
        form = ReissueForm(_rekeyed(request.POST))
        form.is_valid()
        form.add_service_error(exc)
        context["form"] = form
        return page(request, "vending/reissue.html", context)
    url = reverse("web:reissued", args=[overview.customer.user_number, result.record.serial])
    return remember_done(request, key, url)


@operator_required
def reissued(request: HttpRequest, user_number: str, serial: str) -> HttpResponse:
    """补卡成功: the new card, the one it revoked, the purchases it carries, and the receipt
    of the reissue (its fee as booked)."""
    from prepaid.web.receipts import REISSUE, prints

    overview = or_404(customers.customer_overview, user_number)
    result = vending.reissue_of_card(overview.customer, serial)
    if result is None:
        raise Http404(gettext("This customer has no card with this serial issued by a reissue."))
    return page(
        request,
        "vending/reissued.html",
        {
            "overview": overview,
            "customer": overview.customer,
            "reissue": result,
            "doc": vending.reissue_document(result),
            "last": {ca.account_id: cardio.live_purchase(ca) for ca in overview.accounts},
            "prints": prints(result.operation.pk, REISSUE),
        },
    )


@require_POST
@operator_required
def reissue_receipt_print(request: HttpRequest, reissue_id: int) -> HttpResponse:
    from prepaid.web.receipts import record_print

    result = or_404(vending.find_reissue, reissue_id)
    paper = _paper(request)
    copy = record_print(request.user, result.operation, stations.station_name(), paper)
    url = reverse("web:reissue_receipt", args=[reissue_id, copy])
    return HttpResponseRedirect(f"{url}?{urlencode({'paper': paper, 'print': 1})}")


@operator_required
def reissue_receipt(request: HttpRequest, reissue_id: int, copy: int) -> HttpResponse:
    from prepaid.web.receipts import REISSUE, prints

    result = or_404(vending.find_reissue, reissue_id)
    if not 1 <= copy <= prints(reissue_id, REISSUE):
        raise Http404(gettext("This receipt has not been printed yet."))
    paper = request.GET.get("paper") if request.GET.get("paper") in PAPERS else "80"
    context = {
        "reissue": result,
        "doc": vending.reissue_document(result),
        "copy": copy,
        "reprint": copy > 1,
        "paper": paper,
        "autoprint": request.GET.get("print") == "1",
    }
    return page(request, "vending/reissue_receipt.html", context)


# -- 换表卡调整 meter change (admin) ----------


def _write_meter_change(
    request: HttpRequest, station: vending.Station, data: QueryDict
) -> HttpResponse | PrepaidError:
    try:
        key = posted_key(data)
        confirmed = posted_confirmation(data)
    except PrepaidError as exc:
        return exc
    try:
        purchase, _record = vending.meter_change(
            station,
            remaining=(data.get("remaining") or "").strip(),
            account_id=posted_account_id(data.get("account")),
            reason=(data.get("reason") or "").strip(),
            last_taken=last_taken_answer(data.get("last_taken")),
            key=key,
            confirmed=confirmed,
        )
    except PrepaidError as exc:
        first = _first_result(key, exc)
        if first is not None:
            return remember_done(request, key, _purchase_url(first), service_replays=True)
        raise_if_forbidden(exc)
        return exc
    return remember_done(request, key, _purchase_url(purchase), service_replays=True)


@admin_required
@_telling_settled
def meter_change(request: HttpRequest) -> HttpResponse:
    template = "vending/meter_change.html"
    if request.method != "POST":
        return _read_stage(request, template)
    station = stations.station_for(request)
    action = request.POST.get("action", "read")
    data = request.POST if action in ("review", "write") else None
    write_error = None
    written = _written_before(request, data.get("key")) if data is not None else None
    if written is not None:
        return written
    if action == "write" and data is not None:
        replay = done_before(request, data.get("key"))
        if replay is not None:
            return replay
        outcome = _write_meter_change(request, station, data)
        if isinstance(outcome, HttpResponse):
            return outcome
        write_error = outcome
        data = _rekeyed(data)
    try:
        user_card = vending.read_user_card(station)
    except PrepaidError as exc:
        shown = write_error if write_error is not None else exc
        return _read_stage(request, template, error=refusal(shown))
    context = _card_context(user_card)
    asked = _meter_change_questions(user_card, context["opened"])
    form = MeterChangeForm(data, accounts=context["opened"], asked=asked)
    hints = [
        {
            "account": purchase.customer_account.account,
            "serial": purchase.serial,
            "quantity": format_centi(purchase.quantity_centi),
            "unit": accounts.meter_unit(purchase.customer_account.account),
            "damaged": user_card.card.write_back_damaged,  # else: on a card reissued since
        }
        for purchase in asked.values()
    ]
    context.update(stage="form", form=form, asked=hints)
    if write_error is not None:
        form.is_valid()
        form.add_service_error(write_error)
    elif action == "review" and form.is_valid():
        chosen = _pick(context["opened"], form.cleaned_data["account"])
        try:
            plan = vending.check_meter_change(
                user_card, chosen, form.text("remaining"), form.taken_answer()
            )
        except PrepaidError as exc:
            form.add_service_error(exc)
        else:
            unit = accounts.meter_unit(chosen.account)
            confirmed = vending.meter_change_confirmation(station, user_card, chosen, plan)
            context.update(
                stage="review", chosen=chosen, plan=plan, unit=unit, confirmed=confirmed.token()
            )
    return page(request, template, context)


def _meter_change_questions(
    user_card: vending.UserCard, opened: list[CustomerAccount]
) -> dict[str, Purchase]:
    """Account id → the last purchase the admin must say whether the old meter took: what
    the form asks, with a hint naming it."""
    questions: dict[str, Purchase] = {}
    for customer_account in opened:
        purchase = vending.meter_change_question(user_card, customer_account)
        if purchase is not None:
            questions[str(customer_account.account_id)] = purchase
    return questions


# -- 写卡成功: the result, the receipt ----------


def _purchase(purchase_id: int) -> Purchase:
    purchase = (
        Purchase.objects.select_related(
            "customer_account__customer",
            "customer_account__account",
            "customer_account__price",
            "price_version",
            "operator",
            "supersedes",
        )
        .filter(pk=purchase_id)
        .first()
    )
    if purchase is None:
        raise Http404(gettext("There is no such purchase."))
    return purchase


def _purchase_context(purchase: Purchase) -> dict[str, Any]:
    from prepaid.web.receipts import prints

    change = None
    if purchase.kind == Purchase.Kind.TRANSFER:
        record = MeterChange.objects.filter(transfer=purchase).first()
        change = vending.meter_change_document(record) if record is not None else None
    unit = accounts.meter_unit(purchase.customer_account.account)
    corrected = None
    if purchase.supersedes_id is not None:
        corrected = _corrected_view(purchase.supersedes, purchase.amount_fen, unit)
    return {
        "purchase": purchase,
        "doc": vending.purchase_document(purchase),
        "unit": unit,
        "meter_change": change,
        "corrected": corrected,
        "prints": prints(purchase.pk),
    }


@operator_required
def purchase_done(request: HttpRequest, purchase_id: int) -> HttpResponse:
    return page(request, "vending/done.html", _purchase_context(_purchase(purchase_id)))


PAPERS = ("58", "80", "a4")
PAPER_SESSION_KEY = "prepaid_receipt_paper"


def _paper(request: HttpRequest) -> str:
    """The paper a print was asked on (58 mm, 80 mm or A4), 80 mm by default; remembered for
    the session, so that the next receipt is offered on the station's paper again."""
    paper = request.POST.get("paper", "")
    paper = paper if paper in PAPERS else "80"
    request.session[PAPER_SESSION_KEY] = paper
    return paper


@require_POST
@operator_required
def receipt_print(request: HttpRequest, purchase_id: int) -> HttpResponse:
    from prepaid.web.receipts import record_print

    purchase = _purchase(purchase_id)
    paper = _paper(request)
    copy = record_print(request.user, purchase, stations.station_name(), paper)
    url = reverse("web:receipt", args=[purchase.pk, copy])
    return HttpResponseRedirect(f"{url}?{urlencode({'paper': paper, 'print': 1})}")


@operator_required
def receipt(request: HttpRequest, purchase_id: int, copy: int) -> HttpResponse:
    purchase = _purchase(purchase_id)
    context = _purchase_context(purchase)
    if not 1 <= copy <= context["prints"]:
        raise Http404(gettext("This receipt has not been printed yet."))
    paper = request.GET.get("paper") if request.GET.get("paper") in PAPERS else "80"
    context.update(
        copy=copy,
        reprint=copy > 1,
        paper=paper,
        autoprint=request.GET.get("print") == "1",
        station=stations.station_name(),
    )
    return page(request, "vending/receipt.html", context)


@operator_required
def overview(request: HttpRequest) -> HttpResponse:
    """充值管理 as in the manual's figure 4: find the customer, then 开户 / 补卡 / details."""
    form, found = search(request)
    return page(
        request,
        "vending/index.html",
        {"search": form, **customer_rows(found)},
    )

"""What a confirm step showed, checked again at 写卡.

A vending page runs in steps: 读卡, the confirm step (the customer, the quantity and the
amount computed), then 写卡 — three requests. Between the confirm step and 写卡 another
window of the same operator, or another station on the same database, may change what was
confirmed: the card in the reader swapped for another customer's, a purchase written on the
customer's card, the price adjusted, the operator's shift closed (日结/交班), the customer's
card reissued. The confirm step therefore posts back with 写卡 what it showed
(:class:`Confirmed`, one hidden field), and the use case — having read the card again —
refuses when it would now write or charge anything else: the operator is told what changed,
and nothing is charged, booked or written. Confirming again shows the new figures.

Without a confirmation (the command line, which has no confirm step) nothing is compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from prepaid.core.errors import PrepaidError, _
from prepaid.core.money import format_centi, format_fen
from prepaid.operators.models import Operator
from prepaid.rows import scalar
from prepaid.vending import cardio
from prepaid.vending.models import CustomerAccount, CustomerCard

_TOKEN = re.compile(
    r"([0-9A-Za-z-]{0,32})\.(\d{1,10})\.(\d{1,19})\.(-?\d{1,19})\.(-?\d{1,19})\.(\d{1,19})"
)


@dataclass(frozen=True)
class Confirmed:
    """What the operator confirmed, as the confirm step computed it.

    ``card``: the serial of the card read (the new card an opening writes; the card a reissue
    revokes, ``""`` when the customer had none); ``serial``: the purchase serial to be written
    (0: a reissue); ``replaces``: the id of the purchase a correction replaces (0: none);
    ``quantity_centi`` and ``amount_fen``: the purchase (a meter change: the quantity moved
    and its value; a reissue: the fee); ``closed_shift``: the id of the operator's last
    closed shift at the station then (0: none), so that a close since is seen."""

    card: str
    serial: int = 0
    replaces: int = 0
    quantity_centi: int = 0
    amount_fen: int = 0
    closed_shift: int = 0

    def token(self) -> str:
        """The hidden field's value."""
        return ".".join(
            str(value)
            for value in (
                self.card,
                self.serial,
                self.replaces,
                self.quantity_centi,
                self.amount_fen,
                self.closed_shift,
            )
        )

    @classmethod
    def parse(cls, text: Any) -> Confirmed | None:
        """The confirmation a page posted back; None when it is not one a page makes."""
        found = _TOKEN.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            return None
        card, *numbers = found.groups()
        serial, replaces, quantity, amount, shift = (int(number) for number in numbers)
        return cls(card, serial, replaces, quantity, amount, shift)


def last_closed_shift(operator: Operator, station: str) -> int:
    """The id of the operator's last closed shift at the station (0: none closed yet)."""
    found = scalar(
        "SELECT MAX(id) FROM vending_shift WHERE operator_id = %s AND station = %s "
        "AND closed_at IS NOT NULL",
        [operator.pk, station],
    )
    return int(found or 0)


def confirmation(
    operator: Operator,
    station: str,
    card: str,
    *,
    serial: int = 0,
    replaces: int = 0,
    quantity_centi: int = 0,
    amount_fen: int = 0,
) -> Confirmed:
    """What a confirm step shows, for its 写卡 to post back."""
    closed = last_closed_shift(operator, station)
    return Confirmed(card, serial, replaces, quantity_centi, amount_fen, closed)


# -- the checks at 写卡 ----------------------------------------------------------------------


def check_card(confirmed: Confirmed | None, serial: str) -> None:
    """The card in the reader is the one the confirm step read."""
    if confirmed is None or confirmed.card == serial:
        return
    record = CustomerCard.objects.select_related("customer").filter(serial=confirmed.card).first()
    if record is None:
        raise PrepaidError(
            "not_the_confirmed_card",
            _(
                "The card in the reader (%(serial)s) is not the card read at the confirm step "
                "(%(confirmed)s). Nothing was charged or written: put that card back in the "
                "reader and confirm again."
            ),
            serial=serial,
            confirmed=confirmed.card,
        )
    raise PrepaidError(
        "not_the_confirmed_card",
        _(
            "The card in the reader (%(serial)s) is not the card read at the confirm step: that "
            "was card %(confirmed)s of user %(user_number)s %(name)s. Nothing was charged or "
            "written: put that card back in the reader and confirm again."
        ),
        serial=serial,
        confirmed=confirmed.card,
        user_number=record.customer.user_number,
        name=record.customer.name,
    )


def check_purchase(
    confirmed: Confirmed | None,
    customer_account: CustomerAccount,
    *,
    serial: int,
    replaces: int = 0,
) -> None:
    """The purchase written is the one confirmed: no purchase was written on the customer's
    card since (another sale, a correction), so the serial — and the purchase a correction
    replaces — are still those shown."""
    if confirmed is None or (confirmed.serial, confirmed.replaces) == (serial, replaces):
        return
    from prepaid.accounts.services import meter_unit

    last = cardio.live_purchase(customer_account)
    if last is None:  # a purchase the confirm step saw was voided since
        raise PrepaidError(
            "written_since_confirmed",
            _(
                "The customer's card was written again after the confirm step (at another "
                "station or in another window). Nothing was charged or written: read the card "
                "again and confirm again."
            ),
        )
    raise PrepaidError(
        "written_since_confirmed",
        _(
            "The customer's card was written again after the confirm step (at another station "
            "or in another window): its last purchase is now #%(serial)s, %(quantity)s "
            "%(unit)s for ¥%(amount)s. Nothing was charged or written: read the card again "
            "and confirm again."
        ),
        serial=last.serial,
        quantity=format_centi(last.quantity_centi),
        unit=meter_unit(customer_account.account),
        amount=format_fen(last.amount_fen),
    )


def check_quote(
    confirmed: Confirmed | None,
    unit: str,
    quantity_centi: int,
    amount_fen: int,
) -> None:
    """The quantity and the amount are those confirmed (the price was not adjusted or
    corrected since, nor did a tariff period begin)."""
    if confirmed is None:
        return
    if (confirmed.quantity_centi, confirmed.amount_fen) == (quantity_centi, amount_fen):
        return
    raise PrepaidError(
        "price_changed",
        _(
            "The price changed after the confirm step: %(quantity)s %(unit)s now cost "
            "¥%(amount)s, where %(confirmed_quantity)s %(unit)s for ¥%(confirmed_amount)s was "
            "confirmed. Nothing was charged or written: tell the customer, and confirm again."
        ),
        quantity=format_centi(quantity_centi),
        amount=format_fen(amount_fen),
        confirmed_quantity=format_centi(confirmed.quantity_centi),
        confirmed_amount=format_fen(confirmed.amount_fen),
        unit=unit,
    )


def check_transfer(
    confirmed: Confirmed | None, unit: str, transfer_centi: int, value_fen: int
) -> None:
    """A meter change moves the quantity confirmed, of the value shown."""
    if confirmed is None:
        return
    if (confirmed.quantity_centi, confirmed.amount_fen) == (transfer_centi, value_fen):
        return
    raise PrepaidError(
        "transfer_changed",
        _(
            "What the meter change moves changed after the confirm step: %(transfer)s %(unit)s "
            "worth ¥%(value)s now, where %(confirmed_transfer)s %(unit)s worth "
            "¥%(confirmed_value)s was confirmed. Nothing was written: confirm again."
        ),
        transfer=format_centi(transfer_centi),
        value=format_fen(value_fen),
        confirmed_transfer=format_centi(confirmed.quantity_centi),
        confirmed_value=format_fen(confirmed.amount_fen),
        unit=unit,
    )


def check_shift(confirmed: Confirmed | None, operator: Operator, station: str) -> None:
    """The operator's shift at the station was not closed since the confirm step: the money
    would go into a new shift, after the closed one's settlement was counted."""
    if confirmed is None or last_closed_shift(operator, station) == confirmed.closed_shift:
        return
    raise PrepaidError(
        "shift_closed_since",
        _(
            "Your shift was closed after the confirm step. Nothing was charged or "
            "written, and the closed shift's settlement stands as counted. Confirm again: the "
            "money then goes into a new shift."
        ),
    )


def check_revoked(confirmed: Confirmed | None, old: CustomerCard | None) -> None:
    """A reissue revokes the card the confirm step named (``old``: the customer's card in use
    now, locked): not a card another station's reissue wrote meanwhile."""
    if confirmed is None or confirmed.card == (old.serial if old is not None else ""):
        return
    from prepaid.cards.models import CardOperation

    if old is None or not confirmed.card:  # a card issued, or none left in use, since
        raise PrepaidError(
            "reissued_meanwhile",
            _(
                "The customer's card changed after the confirm step (a card was issued or "
                "reissued at another station or in another window). Nothing was charged or "
                "written, and the new card in the reader stays new: start again if the customer "
                "still needs a card."
            ),
        )
    operation = (
        CardOperation.objects.filter(card_serial=old.serial)
        .select_related("operator")
        .order_by("-id")
        .first()
    )
    raise PrepaidError(
        "reissued_meanwhile",
        _(
            "The customer's card %(confirmed)s was replaced after the confirm step by card "
            "%(serial)s (at %(station)s by %(operator)s). Nothing was charged or written, and the "
            "new card in the reader stays new: start again if the customer still needs another "
            "card."
        ),
        confirmed=confirmed.card or "-",
        serial=old.serial,
        station=operation.station if operation is not None else "-",
        operator=operation.operator.username if operation is not None else "-",
    )

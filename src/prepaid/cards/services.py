"""Card operations of the office: format (new card), recycle, tool cards, read any card.

Tool cards and formatting are for administrators. None of them writes over a check card
carrying a meter reading the office has not recorded (记录表计读数): it would be lost. Every
card written is registered as a ``CardOperation``; tool cards so form the register of every
tool card issued. The card is written first, then registered in a transaction of its own
(durable); a use case called inside a caller's transaction is refused before the card is
touched (:func:`prepaid.vending.services.outside_transactions`).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from prepaid.accounts.models import Account
from prepaid.audit.services import log_action
from prepaid.cards.models import CardOperation
from prepaid.cards.site import require_site_key
from prepaid.core.card import codec
from prepaid.core.card.model import Card, CardType, MeterParameters, MeterType, Slot, SlotKind
from prepaid.core.errors import CardError, InvalidInput, PrepaidError, _
from prepaid.core.money import format_centi
from prepaid.operators.services import require_admin
from prepaid.readers.lock import at_the_reader
from prepaid.reports.writebacks import refuse_unrecorded_reading
from prepaid.vending import cardio
from prepaid.vending.models import CustomerCard
from prepaid.vending.services import (
    Station,
    card_not_swiped,
    meter_record_damaged,
    outside_transactions,
)

TOOL_TYPES = {
    "setting": CardType.SETTING,
    "clear-all": CardType.CLEAR_ALL,
    "clear_all": CardType.CLEAR_ALL,
    "zero": CardType.ZERO,
    "check": CardType.CHECK,
}


def _read_any(station: Station) -> cardio.ReadCard:
    """The card in the reader: ``card`` is None for one that fails its checks (torn,
    garbled, foreign), and ``serial`` then the one its header still shows."""
    return cardio.read(station.reader, station.site_key)


def _write_whole(station: Station, card: Card) -> Card:
    """Write a whole new image (office area and an empty meter area) and read it back."""
    require_site_key(station.site_key)
    image = codec.encode(card, station.site_key, base=station.reader.read())
    station.reader.write(
        image[codec.OFFICE_AREA.start : codec.RESERVED_AREA.stop], codec.OFFICE_AREA.start
    )
    written = codec.decode(station.reader.read(), station.site_key)
    if written != card:
        raise CardError("write_failed", _("The card does not read back as written; read it again."))
    return written


def _record(
    station: Station,
    kind: str,
    card: Card,
    *,
    tool_type: str = "",
    account: Account | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    operation = CardOperation.objects.create(
        kind=kind,
        card_serial=card.serial,
        tool_type=tool_type,
        account=account,
        operator=station.operator,
        station=station.name,
        time=timezone.now(),
        details=details or {},
    )
    log_action(
        station.operator,
        f"card.{kind}",
        operation,
        station=station.name,
        after={
            "serial": card.serial,
            "type": card.type.code,
            "tool_type": tool_type,
            "account": account.pk if account else None,
            **(details or {}),
        },
    )


@outside_transactions
@at_the_reader
def format_card(station: Station) -> Card:
    """Make the card in the reader a new card (新卡) with a fresh random serial (admin).

    Blank, new, tool, torn and foreign cards may be formatted; a user card is recycled. A
    card that fails its checks but still shows the serial of a customer's card in use is
    refused, naming the customer: formatting it would leave the customer's credit on no
    card, when reading it at the sale screen restores it. So is a new card that is a
    customer's card in use, left unwritten by a cut opening or reissue."""
    require_admin(station.operator)
    read = _read_any(station)
    current = read.card
    _refuse_unwritten(current)
    refuse_unrecorded_reading(current)
    record = _registered_user_card(read.serial) if current is None else None
    if record is not None and record.status == CustomerCard.Status.ACTIVE:
        raise cardio.damaged(read, record)
    if (current is not None and current.type == CardType.USER) or record is not None:
        raise PrepaidError(
            "user_card_recycle", _("This is a user card: recycle it instead of formatting it.")
        )
    card = _write_whole(station, Card(type=CardType.NEW, serial=codec.new_serial()))
    with transaction.atomic(durable=True):
        _record(
            station,
            CardOperation.Kind.FORMAT,
            card,
            details={
                "previous": current.type.code if current else "unreadable",
                "previous_serial": current.serial if current else read.serial,
            },
        )
    return card


def _registered_user_card(serial: str | None) -> CustomerCard | None:
    if serial is None:
        return None
    return CustomerCard.objects.select_related("customer").filter(serial=serial).first()


def _refuse_unwritten(current: Card | None) -> None:
    """Refuse (``card_not_written``) a new card that is a customer's card in use, left
    unwritten by a cut opening or reissue: only reading it at the sale screen writes it."""
    if current is None or current.type != CardType.NEW:
        return
    record = _registered_user_card(current.serial)
    if record is not None and record.status == CustomerCard.Status.ACTIVE:
        raise cardio.card_not_written(record)


@outside_transactions
@at_the_reader
def recycle_card(station: Station) -> Card:
    """卡片回收: format any card back to a new card. A customer's active card may be
    recycled only when its last purchases have been swiped (no credit is lost)."""
    require_admin(station.operator)
    read = _read_any(station)
    current, serial = read.card, read.serial
    _refuse_unwritten(current)
    refuse_unrecorded_reading(current)
    record = _registered_user_card(current.serial if current else serial)
    if record is not None and record.status == CustomerCard.Status.ACTIVE:
        if current is None:  # what is wrong, whose card it is, and its restore
            raise cardio.damaged(read, record)
        unswiped = [slot for slot in current.slots if not current.swiped(slot.sub_meter)]
        if unswiped:
            raise _recycle_not_swiped(record, unswiped, current.write_back_damaged)
    card = _write_whole(station, Card(type=CardType.NEW, serial=codec.new_serial()))
    with transaction.atomic(durable=True):
        if record is not None and record.status != CustomerCard.Status.RECYCLED:
            before = record.status
            record.status = CustomerCard.Status.RECYCLED
            record.revoked_at = record.revoked_at or timezone.now()
            record.save(update_fields=["status", "revoked_at"])
            log_action(
                station.operator,
                "card.recycle_user",
                record,
                station=station.name,
                before={"status": before},
                after={"status": "recycled"},
            )
        _record(
            station,
            CardOperation.Kind.RECYCLE,
            card,
            details={
                "previous_serial": record.serial if record else serial,
                "previous": current.type.code if current else "unreadable",
            },
        )
    return card


def _recycle_not_swiped(
    record: CustomerCard, unswiped: list[Slot], damaged: bool = False
) -> PrepaidError:
    """The manual's refusal (该卡没有刷表，请刷表后再进行操作), then why the office refuses to
    recycle this card: whose card in use it is and which credit on it the meter has not
    taken yet, which recycling would lose — or, when the meter's record on the card is
    ``damaged``, that the card cannot show it taken. The code stays ``card_not_swiped``."""
    customer = record.customer
    if damaged:
        return PrepaidError(
            "card_not_swiped",
            _(
                "%(damaged)s This is the card in use of user %(user_number)s %(name)s: "
                "recycling it could lose what it carries (%(credit)s). A card that is lost or "
                "broken is replaced by a reissue (补卡), which carries the credit."
            ),
            damaged=meter_record_damaged(),
            user_number=customer.user_number,
            name=customer.name,
            credit=_slots_text(unswiped),
        )
    return PrepaidError(
        "card_not_swiped",
        _(
            "%(not_swiped)s This is the card in use of user %(user_number)s %(name)s, and "
            "the meter has not taken what it carries yet (%(credit)s): recycling the card "
            "would lose that credit. Have the customer swipe it on the meter first; a card "
            "that is lost or broken is replaced by a reissue (补卡), which carries the credit."
        ),
        not_swiped=card_not_swiped(),
        user_number=customer.user_number,
        name=customer.name,
        credit=_slots_text(unswiped),
    )


def _slots_text(slots: list[Slot]) -> PrepaidError:
    """What each slot carries, in the operator's language (a refusal's parameter)."""
    slot = slots[0]
    text = PrepaidError(
        "slot",
        _("sub-meter %(sub_meter)s, purchase %(serial)s: %(quantity)s %(unit)s")
        if slot.kind is SlotKind.PURCHASE
        else _("sub-meter %(sub_meter)s, meter-change transfer %(serial)s: %(quantity)s %(unit)s"),
        sub_meter=slot.sub_meter,
        serial=slot.serial,
        quantity=format_centi(slot.quantity_centi),
        unit=slot.meter_type.unit,
    )
    if len(slots) == 1:
        return text
    return PrepaidError("slots", _("%(first)s; %(rest)s"), first=text, rest=_slots_text(slots[1:]))


def parameters_of(account: Account) -> MeterParameters:
    return MeterParameters(
        sub_meter=account.sub_meter,
        meter_type=MeterType(account.meter_type),
        maintenance_code=account.maintenance_code,
        limit_centi=account.limit_centi,
        prestore_centi=account.prestore_centi,
        alarm_centi=account.alarm_centi,
        overdraft_centi=account.overdraft_centi,
    )


@outside_transactions
@at_the_reader
def make_tool_card(station: Station, tool: str, account: Account | None) -> Card:
    """Write a setting, clear-all, zero or check card from an account's parameters (admin)."""
    require_admin(station.operator)
    card_type = TOOL_TYPES.get(tool)
    if card_type is None:
        raise InvalidInput(
            "bad_tool_card",
            _("Unknown tool card “%(tool)s”: use setting, clear-all, zero or check."),
            tool=tool,
        )
    if card_type == CardType.SETTING and account is None:
        raise InvalidInput("account_required", _("A setting card needs an account: choose one."))
    read = cardio.read(station.reader, station.site_key)
    if read.card is None:  # damaged, or not this office's: only a format may overwrite it
        raise cardio.damaged(read)
    current = read.card
    if current.type not in (CardType.NEW, CardType.BLANK) and not current.type.is_tool:
        raise cardio.not_a_new_card(current.type.code)
    _refuse_unwritten(current)
    refuse_unrecorded_reading(current)
    card = Card(
        type=card_type,
        # A fresh serial: a cut write can then never pair new content with an old reading.
        serial=codec.new_serial(),
        parameters=parameters_of(account) if card_type == CardType.SETTING and account else None,
        maintenance_code=account.maintenance_code
        if account and card_type in (CardType.CLEAR_ALL, CardType.ZERO)
        else 0,
    )
    card = _write_whole(station, card)
    with transaction.atomic(durable=True):
        if account is not None:
            _check_unchanged(account)
        _record(
            station,
            CardOperation.Kind.TOOL_CARD,
            card,
            tool_type=card_type.code,
            account=account,
            details={"previous_serial": current.serial} if current.type.is_tool else None,
        )
    return card


def _check_unchanged(account: Account) -> None:
    """The account's parameters were not modified while its tool card was being written (an
    administrator on another station): the card would carry the old ones into meters. Locked
    until the card is registered, after which a modification is refused (account_in_field)."""
    # FOR NO KEY UPDATE: openings referencing the account (and appending to the audit log
    # meanwhile) are not held up by it, so they cannot deadlock with this registration
    current = Account.objects.select_for_update(no_key=True).get(pk=account.pk)
    if (parameters_of(current), current.maintenance_code) != (
        parameters_of(account),
        account.maintenance_code,
    ):
        raise PrepaidError(
            "account_changed",
            _(
                "The account %(name)s was modified while the card was being written: the card "
                "carries its old parameters and was not registered. Make the card again."
            ),
            name=current.name,
        )


def tool_card_register() -> list[CardOperation]:
    """Every tool card issued, newest first. Each carries ``overwritten``: whether the office
    wrote that card again since (another tool card, a format, a recycling), so that the
    register tells the tool cards still in hand from the ones that no longer exist."""
    later = CardOperation.objects.annotate(
        previous_serial=KeyTextTransform("previous_serial", "details")
    ).filter(previous_serial=OuterRef("card_serial"))
    return list(
        CardOperation.objects.filter(kind=CardOperation.Kind.TOOL_CARD)
        .annotate(overwritten=Exists(later))
        .select_related("account", "operator")
        .order_by("-time", "-pk")
    )

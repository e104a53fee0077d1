"""Reading and writing customers' cards: identify, build the expected content, restore.

The office writes only the office area of a card (header, slots, office MAC); the meter area
belongs to the meters and is carried over untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from prepaid.accounts.models import Account
from prepaid.cards.damage import damaged_card
from prepaid.cards.documents import CARD_TYPE_NAMES
from prepaid.cards.models import CardOperation
from prepaid.cards.site import require_site_key
from prepaid.core.card import codec
from prepaid.core.card.model import Card, CardType, MeterType, Slot, SlotKind
from prepaid.core.errors import CardError, Label, PrepaidError, ReaderError, _
from prepaid.readers.base import CardReader
from prepaid.rows import table
from prepaid.vending.models import CustomerAccount, CustomerCard, Purchase


def card_revoked() -> PrepaidError:
    return PrepaidError(
        "card_revoked",
        _("This card has been replaced by a reissued card and is no longer valid."),
    )


def _card_type(code: str) -> Label:
    return Label(CARD_TYPE_NAMES.get(code, _("unreadable card")))


def not_a_user_card(card_type: str) -> PrepaidError:
    return PrepaidError(
        "not_a_user_card",
        _("The card in the reader is not a user card (it is a %(type)s)."),
        type=_card_type(card_type),
    )


def not_a_new_card(card_type: str) -> PrepaidError:
    if card_type == CardType.USER.code:  # a customer's card: formatting it is refused
        return PrepaidError(
            "not_a_new_card",
            _(
                "A new card is needed; the card in the reader is a customer's user card: take "
                "a new card, or recycle this one first if it is no longer used."
            ),
        )
    return PrepaidError(
        "not_a_new_card",
        _("A new card is needed (format it first); the card in the reader is a %(type)s."),
        type=_card_type(card_type),
    )


def own_card_in_use() -> PrepaidError:
    """A reissue onto the customer's own card in use: 补卡 replaces a lost or broken card."""
    return PrepaidError(
        "not_a_new_card",
        _(
            "A new card is needed; the card in the reader is this customer's card in use. A "
            "reissue writes a new card in place of a lost or broken one: put a new card in the "
            "reader."
        ),
    )


def card_not_written(record: CustomerCard) -> PrepaidError:
    """A new card that is a customer's card in use: the opening or reissue that registered
    it was cut before writing it. Reading it at the sale screen writes it from the office's
    records; formatting it, recycling it or writing a tool card over it would leave the
    customer's card in use, and what it is to carry, on no card."""
    customer = record.customer
    return PrepaidError(
        "card_not_written",
        _(
            "This new card is the card in use of customer %(user_number)s %(name)s: writing "
            "it (an opening or a reissue) was interrupted. Read it at the sale screen to write "
            "it from the office's records; nothing was written to it now."
        ),
        user_number=customer.user_number,
        name=customer.name,
    )


def unknown_card() -> PrepaidError:
    return PrepaidError("unknown_card", _("This user card is not known to this office."))


def raw_serial(image: bytes) -> str | None:
    """The serial in a card's header even when the card fails its checks: a torn write, or
    a header garbled elsewhere (its magic too). A random 64-bit serial found there that the
    office registered says whose card it was; on anything else it matches no card."""
    if len(image) != codec.CARD_SIZE:
        return None
    return image[codec.HEADER_AREA][8:16].hex()


@dataclass(frozen=True)
class ReadCard:
    """What was read: the decoded card, or the serial of a card that failed its MAC."""

    image: bytes
    card: Card | None
    error: CardError | None
    serial: str | None


def read(reader: CardReader, site_key: bytes) -> ReadCard:
    require_site_key(site_key)  # another site's key would take every card for a forged one
    image = reader.read()
    try:
        card = codec.decode(image, site_key)
    except CardError as exc:
        return ReadCard(image, None, exc, raw_serial(image))
    return ReadCard(image, card, None, card.serial or None)


def damaged(read: ReadCard, record: CustomerCard | None = None) -> CardError:
    """The refusal of a card that failed its checks (``read.card`` is None): what is wrong and
    the way forward, naming the customer whose card it was when its serial is registered
    here (``record``, if the caller has looked it up)."""
    assert read.card is None and read.error is not None
    if record is None and read.serial:
        record = CustomerCard.objects.select_related("customer").filter(serial=read.serial).first()
    if record is None:
        return damaged_card(read.error)
    return damaged_card(
        read.error,
        user_number=record.customer.user_number,
        name=record.customer.name,
        active=record.status == CustomerCard.Status.ACTIVE,
    )


PURCHASES = table(Purchase)
CUSTOMER_ACCOUNTS = table(CustomerAccount)
ACCOUNTS = table(Account)


def accounts_of(customer_id: int) -> list[CustomerAccount]:
    """A customer's accounts (four at most) with their account and price at hand, by
    sub-meter."""
    return CUSTOMER_ACCOUNTS.select(
        "t.customer_id = %s", [customer_id], related=["account", "price"], order="r0.sub_meter"
    )


def live_purchase(customer_account: CustomerAccount) -> Purchase | None:
    """What the card should carry for this account: a pending purchase, else the latest
    completed one."""
    # Each by its partial index (one pending per account; completed serials are unique), not
    # by sorting the account's history. The statuses are written out, not parameters: only
    # then may the database read a partial index without checking each row.
    purchase = PURCHASES.first(
        "id = COALESCE("
        "(SELECT id FROM vending_purchase WHERE customer_account_id = %s AND status = 'pending'), "
        "(SELECT id FROM vending_purchase WHERE customer_account_id = %s "
        "AND status = 'completed' ORDER BY serial DESC LIMIT 1))",
        [customer_account.pk, customer_account.pk],
    )
    if purchase is not None:
        purchase.customer_account = customer_account
    return purchase


def with_account(customer_account: CustomerAccount) -> CustomerAccount:
    """``customer_account`` with its account (sub-meter, meter type, limits) at hand."""
    if not CustomerAccount.account.is_cached(customer_account):
        customer_account.account = ACCOUNTS.get(customer_account.account_id)
    return customer_account


TakenMarks = frozenset[tuple[int, int]]  # (sub-meter, purchase serial)
NO_MARKS: TakenMarks = frozenset()


def slot_for(purchase: Purchase, taken: TakenMarks = NO_MARKS) -> Slot:
    """The slot carrying ``purchase``; marked taken when ``taken`` holds its sub-meter and
    serial (see :func:`taken_marks`)."""
    account = purchase.customer_account.account
    return Slot(
        sub_meter=account.sub_meter,
        meter_type=MeterType(account.meter_type),
        maintenance_code=account.maintenance_code,
        serial=purchase.serial,
        quantity_centi=purchase.quantity_centi,
        kind=SlotKind.TRANSFER if purchase.kind == Purchase.Kind.TRANSFER else SlotKind.PURCHASE,
        taken=(account.sub_meter, purchase.serial) in taken,
    )


def taken_marks(card_record: CustomerCard) -> TakenMarks:
    """The purchases a reissued card carries over from the card it replaced that the office
    had seen a meter apply (a write-back showing that serial or a later one), recorded by the
    reissue (``details["taken"]``): their slots are marked taken, so that no meter credits
    them again (a new card has no meter record to say so). Fixed when the card is written,
    so that the card the office expects does not change with what it reads later."""
    details = (
        CardOperation.objects.filter(
            kind=CardOperation.Kind.REISSUE, card_serial=card_record.serial
        )
        .values_list("details", flat=True)
        .first()
    )
    marks = details.get("taken", []) if details else []
    return frozenset((mark["sub_meter"], mark["serial"]) for mark in marks)


def slots_for(card_record: CustomerCard, purchases: list[Purchase]) -> list[Slot]:
    """The slots carrying ``purchases`` on the customer's card ``card_record``, sorted by
    sub-meter. Only a purchase carried over from an earlier card can be marked taken: the
    reissue's record is read only then (not on every sale)."""
    carried = any(purchase.card_serial != card_record.serial for purchase in purchases)
    marks = taken_marks(card_record) if carried else NO_MARKS
    slots = [slot_for(purchase, marks) for purchase in purchases]
    return sorted(slots, key=lambda slot: slot.sub_meter)


def expected_card(
    card_record: CustomerCard,
    write_backs: Card | None = None,
    known: Purchase | None = None,
    accounts: list[CustomerAccount] | None = None,
) -> Card:
    """The user card as the database says it should be, with any pending purchase on it.
    ``known``: the pending purchase this station has just committed for one of its accounts
    (it is that account's live purchase; not read again). ``accounts``: the customer's
    accounts with their account at hand, as the use case read them (else read here)."""
    purchases = []
    if accounts is None:
        accounts = accounts_of(card_record.customer_id)
    for customer_account in accounts:
        if known is not None and known.customer_account_id == customer_account.pk:
            purchase: Purchase | None = known
        else:
            purchase = live_purchase(customer_account)
        if purchase is not None:
            purchases.append(purchase)
    card = Card(
        type=CardType.USER,
        serial=card_record.serial,
        generation=card_record.generation,
        user_number=int(card_record.customer.user_number),
        slots=tuple(slots_for(card_record, purchases)),
    )
    if write_backs is not None:
        card = replace(card, write_backs=write_backs.write_backs)
    return card


def carries(card: Card, purchase: Purchase) -> bool:
    """Whether the card holds exactly this purchase in its slot."""
    slot = card.slot(purchase.customer_account.account.sub_meter)
    return (
        slot is not None
        and card.serial == purchase.card_serial
        and card.generation == purchase.card_generation
        and slot == slot_for(purchase)
    )


def write_office_area(reader: CardReader, card: Card, site_key: bytes) -> Card:
    """Write the office area and check that the card now reads back as ``card``."""
    require_site_key(site_key)
    reader.write(codec.encode_office_area(card, site_key), codec.OFFICE_AREA.start)
    written = codec.decode(reader.read(), site_key)
    if replace(written, write_backs=(), write_back_damaged=False) != replace(
        card, write_backs=(), write_back_damaged=False
    ):
        raise ReaderError(
            "write_failed", _("The card does not read back as written; read it again.")
        )
    return written

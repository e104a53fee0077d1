"""What the office says of a card that is neither a valid card of this site nor factory-blank:
what is wrong with it, and the way forward. Never "blank" or "new": such a card is not
offered to be formatted or opened as if it were fresh, and nothing is written to it but by
an administrator's explicit format (or, for a customer's card the office knows, the restore
of its office area from the database that reading it at the sale screen does).

Free of Django, so that ``prepaid card read`` says the same without a database.
"""

from __future__ import annotations

from prepaid.core.errors import CardError, PrepaidError, _


def damaged_card(
    reason: PrepaidError, *, user_number: str = "", name: str = "", active: bool = False
) -> CardError:
    """``bad_card`` with the codec's ``reason``. ``user_number``/``name``: the customer whose
    card the office registered under the serial the card still shows (``active``: the card in
    use, which the office can restore); none when the card is unknown here or shows no
    serial."""
    if not user_number:
        return CardError(
            "bad_card",
            _(
                "%(reason)s This is not a card of this office, or it is damaged; nothing was "
                "written to it. If it is a customer's card, reissue the customer's card onto a "
                "new card; an administrator may format this card to use it again."
            ),
            reason=reason,
        )
    if active:
        return CardError(
            "bad_card",
            _(
                "%(reason)s It is the card of customer %(user_number)s %(name)s: read it at the "
                "sale screen to restore it from the office's records; if it still cannot be "
                "read, reissue the customer's card onto a new card."
            ),
            reason=reason,
            user_number=user_number,
            name=name,
        )
    return CardError(
        "bad_card",
        _(
            "%(reason)s It is a card customer %(user_number)s %(name)s no longer uses "
            "(replaced by a reissued card, or recycled); nothing was written to it."
        ),
        reason=reason,
        user_number=user_number,
        name=name,
    )


def unknown_damaged_card(reason: PrepaidError) -> CardError:
    """The same without a database (``prepaid card read``): the card's owner is not looked
    up."""
    return CardError(
        "bad_card",
        _(
            "%(reason)s Read it at the sale screen: a customer's card the office knows is "
            "restored from its records. Otherwise, if it is a customer's card, reissue the "
            "customer's card onto a new card; an administrator may format this card to use it "
            "again."
        ),
        reason=reason,
    )

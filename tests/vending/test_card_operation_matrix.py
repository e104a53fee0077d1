"""Every card an office may find in its reader against every operation on the card in the
reader: the card operation matrix.

Each cell either does what the manual allows, or is refused with a stable, specific code
(a ``PrepaidError`` of exit status 1, in Chinese by default, naming the card that is really in
the reader) and changes nothing at all: the card's bytes, the purchases, the ledger, the
customers' cards and accounts, the card operations, the meters' readings and the audit log
are as they were. The one exception is written down in the table: a customer's card in use
that is torn, damaged or left unwritten is written from the office's records when it is read
at the sale screen (the 读卡 that selling, correcting, a meter change and adding an account to
the card start with), before the operation goes on or refuses — and then refuses again
without changing anything. A cell that succeeds leaves no purchase pending and a card that
reads.

The cards are made in tests/vending/card_deck.py; tests/cli and tests/web run a sample of the
same cells through the command line and the pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import translation

from prepaid.cards import services as cards
from prepaid.cards.documents import CARD_TYPE_NAMES
from prepaid.core.card import codec
from prepaid.core.card.model import CardType
from prepaid.core.errors import CardError, PrepaidError, ReaderError
from prepaid.reports.writebacks import record_check_reading
from prepaid.vending import services as vending
from prepaid.vending.models import Purchase
from rolled_back import rolled_back
from vending.card_deck import CARDS, Deck, Snapshot, build_deck, key

pytestmark = pytest.mark.django_db

OK = "ok"
TOOLS = ("setting card", "clear-all card", "zero card", "check card")
SALE_SCREEN = ("sell", "correct", "meter change", "read")


def restored(code: str) -> tuple[str, str]:
    """The card was restored from the office's records when read, then the operation was
    refused with ``code``."""
    return ("restored", code)


# -- the operations -------------------------------------------------------------------------


def _open(deck: Deck) -> Any:
    """开户 for 王五, who has no card, on the water account."""
    return vending.open_account(
        deck.station, deck.newcomer, deck.account, deck.price, quantity="10", key=key()
    )


def _add_account(deck: Deck) -> Any:
    """开户 for 张三 on the electricity account: it goes onto his card in use."""
    return vending.open_account(
        deck.station, deck.customer, deck.account2, deck.price2, quantity="10", key=key()
    )


def _tool(tool: str) -> Callable[[Deck], Any]:
    return lambda deck: cards.make_tool_card(deck.station, tool, deck.account)


OPERATIONS: dict[str, Callable[[Deck], Any]] = {
    "open": _open,
    "add account": _add_account,
    "sell": lambda deck: vending.sell(deck.station, quantity="1", key=key()),
    "correct": lambda deck: vending.correct(deck.station, quantity="2", key=key()),
    "reissue": lambda deck: vending.reissue(deck.station, deck.customer, fee="5", key=key()),
    "meter change": lambda deck: vending.meter_change(deck.station, remaining="3", key=key()),
    "setting card": _tool("setting"),
    "clear-all card": _tool("clear-all"),
    "zero card": _tool("zero"),
    "check card": _tool("check"),
    "format": lambda deck: cards.format_card(deck.station),
    "recycle": lambda deck: cards.recycle_card(deck.station),
    "read": lambda deck: vending.read_user_card(deck.station),
    "record reading": lambda deck: record_check_reading(deck.station),
}

# The confirm step of the screens that have one: it refuses as the write does.
CONFIRM_STEPS: dict[str, Callable[[Deck], Any]] = {
    "open": lambda deck: vending.check_open(
        deck.station, deck.newcomer, deck.account, deck.price, "10", None
    ),
    "add account": lambda deck: vending.check_open(
        deck.station, deck.customer, deck.account2, deck.price2, "10", None
    ),
    "reissue": lambda deck: vending.check_reissue(deck.station, deck.customer, fee="5"),
}


# -- what each card gets --------------------------------------------------------------------


def _no_customers_card(**cells: Any) -> dict[str, Any]:
    """A blank, new or tool card: nothing to sell on; opening and reissuing want a new card
    (a customer with a card in use wants that card); a tool card, a format or a recycling
    may be written over it."""
    return {
        "open": "not_a_new_card",
        "add account": "customer_has_card",
        **dict.fromkeys(SALE_SCREEN, "not_a_user_card"),
        "reissue": "not_a_new_card",
        **dict.fromkeys(TOOLS, OK),
        "format": OK,
        "recycle": OK,
        "record reading": "not_a_check_card",
        **cells,
    }


def _customers_card(**cells: Any) -> dict[str, Any]:
    """A customer's card: only the sale screen and a recycling use it; nothing else is
    written over it."""
    row = {
        "open": "not_a_new_card",
        "add account": "customer_has_card",
        "reissue": "not_a_new_card",
        **dict.fromkeys(TOOLS, "not_a_new_card"),
        "format": "user_card_recycle",
        "record reading": "not_a_check_card",
        **cells,
    }
    assert set(row) == set(OPERATIONS)
    return row


def _unreadable(**cells: Any) -> dict[str, Any]:
    """A card that fails its checks: only an administrator's format or recycling writes it
    (unless it is a customer's card in use, see below)."""
    return {**dict.fromkeys(OPERATIONS, "bad_card"), "format": OK, "recycle": OK, **cells}


_NEW = _no_customers_card(open=OK, reissue=OK)
_UNWRITTEN = {  # a new card that is a customer's card in use: written when read at the sale screen
    **dict.fromkeys((*TOOLS, "format", "recycle"), "card_not_written"),
    "sell": restored("card_not_swiped"),
    "meter change": OK,
    "read": OK,
}
_IN_USE_UNREADABLE = {  # 张三's card in use, restored when read at the sale screen
    "add account": OK,
    "meter change": OK,
    "read": OK,
    "format": "bad_card",  # would leave his credit on no card
    "recycle": "bad_card",
}

MATRIX: dict[str, dict[str, Any]] = {
    "blank": _no_customers_card(),
    "new": _NEW,
    "recycled": _NEW,
    "unwritten first card": _no_customers_card(**_UNWRITTEN, correct=OK),  # 李四's
    "unwritten reissue": _no_customers_card(  # 张三's: his old card is revoked
        **_UNWRITTEN, **{"add account": OK}, reissue=OK, correct=restored("already_swiped")
    ),
    "setting": _no_customers_card(),
    "clear-all": _no_customers_card(),
    "zero": _no_customers_card(),
    "check": _no_customers_card(**{"record reading": "no_check_reading"}),
    "check with reading": _no_customers_card(  # of 张三's meter, not recorded: it would be lost
        **dict.fromkeys((*TOOLS, "format", "recycle"), "check_reading_unrecorded"),
        **{"record reading": OK},
    ),
    "check with recorded reading": _no_customers_card(**{"record reading": OK}),
    "own": _customers_card(
        **{"add account": OK, "meter change": OK, "read": OK, "recycle": OK},
        sell=OK,
        correct="already_swiped",
    ),
    "own unswiped": _customers_card(
        **{"add account": OK, "meter change": OK, "read": OK},
        sell="card_not_swiped",
        correct=OK,
        recycle="card_not_swiped",  # the credit on it would be lost
    ),
    "neighbour's": _customers_card(  # the sale screen acts for 李四, whose card it is
        **{"meter change": OK, "read": OK},
        sell="card_not_swiped",
        correct=OK,
        recycle="card_not_swiped",
    ),
    "revoked": _customers_card(
        **dict.fromkeys(SALE_SCREEN, "card_revoked"),
        recycle=OK,
    ),
    "another site": _unreadable(),
    "torn format": _unreadable(),
    "garbled": _unreadable(),
    "garbage": _unreadable(),
    "wrong size": _unreadable(),
    "torn sale": _unreadable(  # its pending purchase completed by the restore: not swiped
        **_IN_USE_UNREADABLE, sell=restored("card_not_swiped"), correct=OK
    ),
    "damaged": _unreadable(**_IN_USE_UNREADABLE, sell=OK, correct=restored("already_swiped")),
    "meter write torn": _customers_card(  # it cannot show the swipe the office saw
        **{"add account": OK, "meter change": OK, "read": OK},
        sell="card_not_swiped",
        correct="already_swiped",
        recycle="card_not_swiped",
    ),
    "no card": dict.fromkeys(OPERATIONS, "no_card"),
}

ERROR_CLASSES = {"bad_card": CardError, "no_card": ReaderError}


def test_the_matrix_covers_every_card_and_operation():
    assert set(MATRIX) == set(CARDS)
    for card, row in MATRIX.items():
        assert set(row) == set(OPERATIONS), card


# -- running a cell -------------------------------------------------------------------------


def _outcome(attempt: Callable[[], Any]) -> str | PrepaidError:
    try:
        attempt()
    except PrepaidError as exc:
        return exc
    return OK


def _code(outcome: str | PrepaidError) -> str:
    return outcome if isinstance(outcome, str) else outcome.code


def _in_chinese(exc: PrepaidError) -> str:
    with translation.override("zh-hans"):
        return exc.translate(translation.gettext)


def _card_type_in_reader(deck: Deck) -> str | None:
    try:
        return codec.decode(deck.station.reader.read(), deck.station.site_key).type.code
    except (CardError, ReaderError):
        return None


def _refusal_problems(deck: Deck, exc: PrepaidError, code: str) -> list[str]:
    """What is wrong with a refusal besides its code: its kind, its language, the card it
    names."""
    problems = []
    expected_class = ERROR_CLASSES.get(code, PrepaidError)
    if not isinstance(exc, expected_class) or exc.exit_status != 1:
        problems.append(f"{type(exc).__name__} (exit {exc.exit_status})")
    text = _in_chinese(exc)
    if not re.search(r"[\u4e00-\u9fff]", text) or "%(" in text:
        problems.append(f"not in Chinese: {text!r}")
    named = exc.params.get("type")
    in_reader = _card_type_in_reader(deck)
    if named is not None and named != CARD_TYPE_NAMES.get(in_reader or "", "unreadable card"):
        problems.append(f"names a {named}, the reader holds a {in_reader}")
    return problems


def _run_cell(deck: Deck, operation: str, expected: Any) -> list[str]:
    """Run one cell, compare it with ``expected``, and undo whatever it did; the problems
    found."""
    before = Snapshot(deck)
    problems: list[str] = []
    try:
        with rolled_back():  # as a test's own transaction: the use cases run inside it
            problems = _check_cell(deck, operation, expected, before)
    finally:
        before.put_back()
    return problems


def _check_cell(deck: Deck, operation: str, expected: Any, before: Snapshot) -> list[str]:
    was_restored = isinstance(expected, tuple)
    code = expected[1] if was_restored else expected
    problems = []
    if operation in CONFIRM_STEPS:
        confirmed = _code(_outcome(lambda: CONFIRM_STEPS[operation](deck)))
        if confirmed != code:
            problems.append(f"its confirm step: {confirmed}")
        if code != OK and not was_restored and before.changes():
            problems.append(f"its confirm step changed {before.changes()}")
    outcome = _outcome(lambda: OPERATIONS[operation](deck))
    if _code(outcome) != code:
        return [*problems, f"{_code(outcome)}: {outcome}"]
    if code == OK:
        if Purchase.objects.filter(status=Purchase.Status.PENDING).exists():
            problems.append("a purchase left pending")
        if deck.store.inserted() and _card_type_in_reader(deck) is None:
            problems.append("the card written does not read")
        return problems
    assert isinstance(outcome, PrepaidError)
    problems += _refusal_problems(deck, outcome, code)
    if was_restored:
        if _card_type_in_reader(deck) != CardType.USER.code:
            problems.append("the card was not restored")
        before = Snapshot(deck)  # refused again, now as a pure refusal
        again = _outcome(lambda: OPERATIONS[operation](deck))
        if _code(again) != code:
            problems.append(f"then {_code(again)}")
    changed = before.changes()
    if changed:
        problems.append(f"refused, but changed {changed}")
    return problems


@pytest.mark.parametrize("card", MATRIX)
def test_every_operation_on_the_card_in_the_reader(office, card):
    deck = build_deck(office.station, office.store, office.account, office.price, office.customer)
    CARDS[card](deck)
    wrong = []
    for operation, expected in MATRIX[card].items():
        for problem in _run_cell(deck, operation, expected):
            wrong.append(f"{card} / {operation} (expected {expected}): {problem}")
    assert not wrong, "\n".join(wrong)

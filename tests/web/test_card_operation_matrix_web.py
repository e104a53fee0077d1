"""A sample of the card operation matrix (tests/vending/test_card_operation_matrix.py) through
the pages: each refusal is shown inline on the page the operator is on — its code and its
message in the operator's language — never as a server error or a bare 403, and nothing is
changed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from web_helpers import codes, html

from vending.card_deck import CARDS, Deck, Snapshot, build_deck

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def _read(path: str) -> Callable[[Any, Deck], Any]:
    """读卡 on a sale-screen page."""
    return lambda client, deck: client.post(path, {"action": "read"})


def _open(action: str, customer: str, account: str) -> Callable[[Any, Deck], Any]:
    def post(client: Any, deck: Deck) -> Any:
        who = getattr(deck, customer)
        on = deck.account if account == "water" else deck.account2
        price = deck.price if account == "water" else deck.price2
        data = {
            "customer": who.user_number,
            "action": action,
            "account": on.pk,
            "price": price.pk,
            "quantity": "10",
            "amount": "",
            "basis": "quantity",
            "payment": "cash",
            "key": uuid.uuid4().hex,
        }
        return client.post("/vending/open/", data)

    return post


def _reissue(action: str) -> Callable[[Any, Deck], Any]:
    def post(client: Any, deck: Deck) -> Any:
        data = {
            "customer": deck.customer.user_number,
            "action": action,
            "fee": "5",
            "payment": "cash",
            "key": uuid.uuid4().hex,
        }
        return client.post("/vending/reissue/", data)

    return post


def _card_making(action: str, **fields: str) -> Callable[[Any, Deck], Any]:
    def post(client: Any, deck: Deck) -> Any:
        data = {"action": action, "key": uuid.uuid4().hex, **fields}
        if action == "make":
            data["account"] = str(deck.account.pk)
        return client.post("/cards/", data)

    return post


@dataclass(frozen=True)
class Cell:
    card: str
    page: str
    request: Callable[[Any, Deck], Any]
    code: str
    zh: str  # in the message shown


CELLS = [
    Cell("revoked", "sale", _read("/vending/sell/"), "card_revoked", "该卡已被补办的新卡取代"),
    Cell(
        "blank",
        "correction",
        _read("/vending/correct/"),
        "not_a_user_card",
        "读卡器上的卡片不是用户卡（而是空白卡）。",
    ),
    Cell(
        "garbage",
        "meter change",
        _read("/vending/meter-change/"),
        "bad_card",
        "卡片内容不是本系统的格式，也不是空白卡。",
    ),
    Cell(
        "meter write torn",
        "sale",
        _read("/vending/sell/"),
        "card_not_swiped",
        "卡上的表回写数据已损坏（表写卡时卡片被拔出）",
    ),
    Cell("no card", "sale", _read("/vending/sell/"), "no_card", "读卡器上没有卡片。"),
    Cell(
        "setting",
        "opening, confirm",
        _open("review", "newcomer", "water"),
        "not_a_new_card",
        "读卡器上的卡片是设置卡。",
    ),
    Cell(
        "neighbour's",
        "opening, confirm",
        _open("review", "customer", "electricity"),
        "customer_has_card",
        "该用户已有卡片",
    ),
    Cell(
        "own",
        "reissue, write",
        _reissue("write"),
        "not_a_new_card",
        "读卡器中是该用户正在使用的卡",
    ),
    Cell(
        "torn format",
        "reissue, confirm",
        _reissue("review"),
        "bad_card",
        "卡片未通过认证校验",
    ),
    Cell(
        "damaged",
        "card making, format",
        _card_making("format"),
        "bad_card",
        "这是用户 00000001 张三 的卡",
    ),
    Cell(
        "unwritten first card",
        "card making, zero card",
        _card_making("make", tool="zero"),
        "card_not_written",
        "这张新卡是用户 00000002 李四 正在使用的卡",
    ),
    Cell(
        "meter write torn",
        "card making, recycle",
        _card_making("recycle"),
        "card_not_swiped",
        "这是用户 00000001 张三 正在使用的卡",
    ),
    Cell(
        "check with reading",
        "card making, check card",
        _card_making("make", tool="check"),
        "check_reading_unrecorded",
        "请先记录表计读数（读卡器面板上的“记录表计读数”，或 “prepaid card read --record”）",
    ),
    Cell(
        "check with reading",
        "card making, format",
        _card_making("format"),
        "check_reading_unrecorded",
        "该检查卡上的表计读数尚未记录（用户 00000001 张三，子表号 1）",
    ),
    Cell(
        "zero",
        "reader panel, record reading",
        lambda client, deck: client.post("/reader/record-reading/", **HX),
        "not_a_check_card",
        "读卡器上的卡片不是检查卡（而是清零卡）。",
    ),
    Cell(
        "own unswiped",
        "reader panel, format",
        lambda client, deck: client.post("/reader/format/", {"key": uuid.uuid4().hex}, **HX),
        "user_card_recycle",
        "这是用户卡：请进行卡片回收",
    ),
    Cell(
        "wrong size",
        "reader panel",
        lambda client, deck: client.get("/reader/", **HX),
        "bad_card",
        "卡片映像有 100 字节，而不是 256 字节。",
    ),
]


@pytest.fixture
def deck(office: Any, admin_client: Any) -> Deck:
    deck = build_deck(office.station(), office.store, office.account, office.price, office.customer)
    admin_client.get("/")  # whatever a first request records once is not a cell's doing
    return deck


@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: f"{cell.card}: {cell.page}")
def test_a_refusal_is_shown_on_the_page(admin_client, deck, cell):
    CARDS[cell.card](deck)
    before = Snapshot(deck)
    response = cell.request(admin_client, deck)
    assert response.status_code == 200, response
    assert cell.code in codes(response)
    assert cell.zh in html(response)
    assert before.changes() == []


def test_a_refusal_is_shown_in_english_to_an_operator_who_reads_english(admin_client, deck):
    admin_client.post("/language/", {"language": "en", "next": "/"})
    CARDS["revoked"](deck)
    response = admin_client.post("/vending/sell/", {"action": "read"})
    assert response.status_code == 200 and "card_revoked" in codes(response)
    assert "This card has been replaced by a reissued card and is no longer valid." in html(
        response
    )
    CARDS["blank"](deck)
    response = admin_client.post("/cards/", {"action": "recycle", "key": uuid.uuid4().hex})
    assert response.status_code == 302  # a blank card may be recycled: 回收 formats it
    response = admin_client.post("/vending/correct/", {"action": "read"})
    assert "(it is a new card)" in html(response) and "not_a_user_card" in codes(response)

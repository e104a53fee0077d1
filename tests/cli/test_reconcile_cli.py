"""``prepaid reconcile`` says how each pending purchase was settled in the operator's words
(已作废, 已完成), as the reports name purchase statuses; the JSON keeps the status codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db


def _run(capsys: pytest.CaptureFixture[str], *argv: str, lang: str = "zh-hans") -> Any:
    from django.utils import translation

    from prepaid.cli.main import main

    capsys.readouterr()
    try:
        status = main([*argv, "--lang", lang])
    finally:
        translation.deactivate()
    out = capsys.readouterr()
    assert status == 0, out
    return json.loads(out.out) if "--json" in argv else out.out


def _pending_sales(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Three customers' cards opened, each taken out at the first byte of its write: three
    purchases left pending."""
    from prepaid.accounts.services import add_price, create_account
    from prepaid.customers.services import register_customer
    from prepaid.operators.models import Operator
    from prepaid.readers.virtual import VirtualReader

    boss = Operator.objects.get(username="boss")
    account = create_account(
        boss, meter_type="water", sub_meter=1, limit="999", prestore="5", alarm="10",
        overdraft="5", maintenance_code="1234",
    )  # fmt: skip
    price = add_price(boss, account_id=account.pk, name="居民用水", unit_price="3.00")
    for name in ("u1", "u2", "u3"):
        _run(capsys, "card", "blank", name, "--json")
        _run(capsys, "card", "insert", name, "--json")
        _run(capsys, "card", "format", "--json")
    original = VirtualReader.__init__

    def pulled_at_once(self: VirtualReader, store: Any, cut_after: int | None = None) -> None:
        original(self, store, cut_after=0)

    monkeypatch.setattr(VirtualReader, "__init__", pulled_at_once)
    from prepaid.cli.main import main

    for name in ("u1", "u2", "u3"):
        customer = register_customer(boss, name=f"用户{name}")
        _run(capsys, "card", "insert", name, "--json")
        argv = ["open", customer.user_number, "--account", str(account.pk)]
        assert main([*argv, "--price", str(price.pk), "--quantity", "2", "--json"]) == 1
    monkeypatch.setattr(VirtualReader, "__init__", original)


@pytest.mark.parametrize(
    ("lang", "line", "words", "not_words"),
    [
        (
            "zh-hans",
            "用户 {user_number} 的购买序号 {serial}：{status}\n",
            ("已作废", "已完成"),
            ("voided", "completed"),  # not the status codes
        ),
        (
            "en",
            "Purchase {serial} of user {user_number}: {status}\n",
            ("voided", "completed"),  # lower case after the colon, as English says it
            ("Voided", "Completed"),  # not the reports' column labels
        ),
    ],
)
def test_reconcile_says_how_each_purchase_was_settled_in_words(
    home: DataHome,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
    line: str,
    words: tuple[str, str],
    not_words: tuple[str, str],
) -> None:
    _pending_sales(capsys, monkeypatch)
    pending = _run(capsys, "reconcile", "--json")["pending"]
    assert [p["status"] for p in pending] == ["pending"] * 3
    first, second, third = sorted(pending, key=lambda p: p["purchase_id"])

    _run(capsys, "card", "eject", "--json")  # the cards lost: an administrator settles them
    text = _run(capsys, "reconcile", "--void", str(first["purchase_id"]), lang=lang)
    assert line.format(**{**first, "status": words[0]}) in text, text
    assert not_words[0] not in text
    text = _run(capsys, "reconcile", "--complete", str(second["purchase_id"]), lang=lang)
    assert line.format(**{**second, "status": words[1]}) in text, text
    assert not_words[1] not in text

    settled = _run(capsys, "reconcile", "--void", str(third["purchase_id"]), "--json")
    assert [p["status"] for p in settled["settled"]] == ["voided"]  # the JSON keeps its codes


def test_reconcile_without_the_cards_says_which_purchases_are_pending_and_how_to_settle_them(
    home: DataHome, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a station without those cards a count alone ("3 purchases still pending") leaves the
    operator to find out whose cards to ask for: each is named, with the way to settle it."""
    _pending_sales(capsys, monkeypatch)
    pending = _run(capsys, "reconcile", "--json")["pending"]
    _run(capsys, "card", "eject", "--json")

    text = _run(capsys, "reconcile")
    assert "仍有 3 笔购买未完成。" in text, text
    for purchase in pending:
        assert f"{purchase['purchase_id']} 号：用户 {purchase['user_number']}" in text, text
        assert purchase["card_serial"] in text and "2.00 m³" in text
    assert "prepaid reconcile --void" in text and "--complete" in text, text
    english = _run(capsys, "reconcile", lang="en")
    first = pending[0]
    assert f"  No. {first['purchase_id']}: user {first['user_number']} " in english, english
    assert "an administrator settles the purchase of a card that is lost" in english

    for purchase in pending:
        _run(capsys, "reconcile", "--void", str(purchase["purchase_id"]), "--json")
    done = _run(capsys, "reconcile")
    assert "No." not in done and "号：" not in done and "--void" not in done, done


def test_a_read_that_settles_a_pending_purchase_says_so_in_text_and_json(
    home: DataHome, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The openings left pending are settled by the next read of each card — ``reconcile``'s
    or a sale's — and each command says which purchase it settled, how, and where booked."""
    from prepaid.cli.main import main
    from prepaid.vending.models import Purchase

    _pending_sales(capsys, monkeypatch)
    first, second, third = Purchase.objects.order_by("pk")

    _run(capsys, "card", "insert", "u1", "--json")
    done = _run(capsys, "reconcile", "--json")
    (told,) = done["settled_by_read"]
    assert {k: told[k] for k in ("outcome", "purchase_id", "serial", "quantity")} == {
        "outcome": "completed",
        "purchase_id": first.pk,
        "serial": 1,
        "quantity": "2.00",
    }
    assert (told["amount"], told["unit"], told["station"], told["operator"]) == (
        "6.00",
        "m³",
        first.station,
        "boss",
    )
    assert told["shift"] == first.shift_id and told["began_at"]
    assert [doc["purchase_id"] for doc in done["settled"]] == [first.pk]

    _run(capsys, "card", "insert", "u2", "--json")
    text = _run(capsys, "reconcile")
    assert (
        f"第 {second.pk} 号购买（序号 1，2.00 m³，¥6.00，工作站 {second.station}，操作员 boss"
        in text
    )
    assert f"已在卡上，现已记入班次 {second.shift_id}（boss，{second.station}）的流水。" in text
    assert "：已完成" not in text, text  # said once, in full

    # a sale whose read settles one and is then refused (the card not yet swiped): the
    # settlement stands and is said with the refusal
    _run(capsys, "card", "insert", "u3", "--json")
    capsys.readouterr()
    assert main(["sell", "--quantity", "1", "--lang", "en"]) != 0
    err = capsys.readouterr().err
    assert f"Purchase No. {third.pk} of user" in err and "is now booked in shift" in err, err
    assert main(["reconcile", "--json"]) == 0
    assert "settled_by_read" not in json.loads(capsys.readouterr().out)  # nothing more

"""The suspicious-customer worklist finds the anomalies the demo planted, with few others."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils import timezone, translation

from prepaid.reports.suspicious import (
    DEFAULT_RULES,
    RULES,
    analyse,
    analysis_document,
    effective_rules,
    save_rules,
)

pytestmark = pytest.mark.django_db

RECALL_FLOOR = Fraction(8, 10)
PRECISION_FLOOR = Fraction(7, 10)


def _two(value: Fraction) -> str:
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01")))


def _score(demo, analysis):
    planted = {a["user_number"]: a for a in demo.result.anomalies}
    flagged = {s.user_number: s for s in analysis.suspects}
    found = [
        number
        for number, anomaly in planted.items()
        if number in flagged and set(anomaly["rules"]) & set(flagged[number].rules)
    ]
    true_positives = [number for number in flagged if number in planted]
    recall = Fraction(len(found), len(planted))
    precision = Fraction(len(true_positives), len(flagged)) if flagged else Fraction(1)
    return planted, flagged, found, recall, precision


def test_detector_finds_the_planted_anomalies(demo):
    analysis = analyse(demo.result.as_of)
    planted, flagged, _found, recall, precision = _score(demo, analysis)
    print(
        f"\nsuspicious: {len(planted)} planted, {len(flagged)} flagged, "
        f"recall {_two(recall)}, precision {_two(precision)}"
    )
    for number, anomaly in sorted(planted.items()):
        rules = flagged[number].rules if number in flagged else []
        print(f"  {number} {anomaly['kind']:<20} expected {anomaly['rules']} got {rules}")
    for number in sorted(set(flagged) - set(planted)):
        print(f"  false positive {number}: {[r.text() for r in flagged[number].reasons]}")
    assert len(planted) >= 8
    assert recall >= RECALL_FLOOR
    assert precision >= PRECISION_FLOOR


def test_every_reason_has_its_rule_numbers_and_period(demo):
    analysis = analyse(demo.result.as_of)
    assert analysis.suspects
    for suspect in analysis.suspects:
        assert suspect.score == sum(r.weight for r in suspect.reasons)
        for reason in suspect.reasons:
            assert reason.rule in RULES
            assert reason.params
            assert reason.period_from <= reason.period_to <= analysis.as_of
            assert "%(" not in reason.text()
    scores = [s.score for s in analysis.suspects]
    assert scores == sorted(scores, reverse=True)


def test_recycled_customers_are_not_on_the_worklist(demo):
    analysis = analyse(demo.result.as_of)
    recycled = set(demo.record.recycled)
    assert not recycled & {s.user_number for s in analysis.suspects}


def test_thresholds_change_the_outcome(demo):
    strict = analyse(demo.result.as_of, {"no_purchase_days": "400", "weight_no_purchase": "0"})
    assert not any("no_purchase" in s.rules and s.score == 0 for s in strict.suspects)
    loose = analyse(demo.result.as_of, {"peer_median_pct": "100", "peer_percentile": "50"})
    peer = analyse(demo.result.as_of)
    count = sum("peer_low" in s.rules for s in loose.suspects)
    assert count >= sum("peer_low" in s.rules for s in peer.suspects)


def test_rules_are_validated_and_stored_by_an_admin(demo):
    from prepaid.core.errors import InvalidInput, PrepaidError
    from prepaid.operators.models import Operator

    with pytest.raises(InvalidInput):
        effective_rules({"no_such_rule": "1"})
    with pytest.raises(InvalidInput):
        effective_rules({"no_purchase_days": "-3"})
    clerk = Operator.objects.filter(role="operator").first()
    with pytest.raises(PrepaidError) as refused:
        save_rules(clerk, {"no_purchase_days": "90"})
    assert refused.value.code == "permission_denied"
    rules = save_rules(demo.admin, {"no_purchase_days": "90"})
    assert rules["no_purchase_days"] == 90
    assert effective_rules()["recent_months"] == DEFAULT_RULES["recent_months"]


def test_document_shape(demo):
    document = analysis_document(analyse(demo.result.as_of))
    assert document["count"] == len(document["customers"])
    first = document["customers"][0]
    assert {"user_number", "name", "score", "rules", "reasons"} <= set(first)
    assert {"rule", "weight", "period_from", "period_to", "numbers", "message"} <= set(
        first["reasons"][0]
    )


# -- the reasons in the operator's language ---------------------------------------------------

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _no_purchase_reason():
    import datetime

    from prepaid.reports.suspicious import Reason

    return Reason(
        "no_purchase",
        3,
        "自来水",
        datetime.date(2026, 1, 5),
        datetime.date(2026, 4, 10),
        "No purchase for %(days)s days since %(last)s, after %(count)s purchases about "
        "every %(interval)s days.",
        {"days": 95, "last": datetime.date(2026, 1, 5), "count": 6, "interval": "30"},
    )


def test_a_chinese_reason_writes_its_dates_and_brackets_as_the_chinese_pages_do():
    reason = _no_purchase_reason()
    with translation.override("zh-hans"):
        text = reason.text()
    assert text == (
        "【自来水】自 2026年1月5日 起已 95 天未购买，此前共购买 6 次，平均约每 30 天一次。"
        "（2026年1月5日 至 2026年4月10日）"
    )
    with translation.override("en"):
        assert reason.text() == (
            "[自来水] No purchase for 95 days since 2026-01-05, after 6 purchases about every "
            "30 days. (2026-01-05 – 2026-04-10)"
        )
        # the JSON keeps machine-readable dates beside the sentence
        document = reason.to_json()
    assert document["numbers"]["last"] == "2026-01-05"
    assert (document["period_from"], document["period_to"]) == ("2026-01-05", "2026-04-10")


def test_a_reason_names_the_unit_of_its_quantities_beside_the_account():
    import dataclasses

    reason = dataclasses.replace(_no_purchase_reason(), unit="m³")
    with translation.override("zh-hans"):
        assert reason.text().startswith("【自来水（m³）】自 2026年1月5日 起")
    with translation.override("en"):
        assert reason.text().startswith("[自来水 (m³)] No purchase for 95 days")
        assert reason.to_json()["unit"] == "m³"


def test_a_flag_reason_names_the_flag_in_the_language_it_is_shown_in():
    import datetime

    from prepaid.reports.suspicious import RULE_LABELS, Reason

    reason = Reason(
        "tamper",
        5,
        "电",
        datetime.date(2026, 3, 1),
        datetime.date(2026, 4, 1),
        "The meter reported “%(flag)s” on %(count)s readings since %(since)s.",
        {"flag": RULE_LABELS["tamper"], "count": 2, "since": datetime.date(2026, 3, 1)},
        "kWh",
    )
    with translation.override("en"):
        analysed_in_english = reason.text()
    with translation.override("zh-hans"):
        shown_in_chinese = reason.text()
        assert reason.to_json()["numbers"]["flag"] == "表计防拆/磁干扰报警"
    assert "Meter tamper flag" in analysed_in_english
    assert "表计防拆/磁干扰报警" in shown_in_chinese and "Meter tamper" not in shown_in_chinese


def _reason_texts(analysis):
    return ["\n".join(r.text() for r in s.reasons) for s in analysis.suspects]


def test_the_worklist_page_terminal_and_export_say_the_same_chinese_reasons(demo, client, capsys):
    import csv
    import io
    import json

    from django.urls import reverse
    from django.utils.html import escape

    from prepaid.cli.report import table_lines
    from prepaid.operators.models import Operator
    from prepaid.reports.exports import write_csv
    from prepaid.reports.suspicious import worklist

    as_of = demo.result.as_of
    with translation.override("zh-hans"):
        analysis = analyse(as_of)
        expected = _reason_texts(analysis)
        table = worklist(analysis, page_size=None)
        lines = "\n".join(table_lines(worklist(analysis, page_size=None)))
        buffer = io.StringIO()
        write_csv(table, buffer, bom=False)
    assert expected and all("（" in t and "年" in t for t in expected)
    assert not any(ISO_DATE.search(t) for t in expected)
    exported = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert [r[7] for r in exported[1:]] == expected
    assert all("、" in r[6] or "," not in r[6] for r in exported[1:])  # 长期未购买、强制开阀
    for text in expected:
        assert text.replace("\n", " | ") in lines
    clerk = Operator.objects.filter(role="operator").order_by("username").first()
    client.force_login(clerk)
    page = client.get(reverse("reports:suspicious"), {"as_of": as_of.isoformat()})
    html = page.content.decode()
    first = analysis.suspects[0].reasons[0]
    with translation.override("zh-hans"):
        label, text = escape(first.label()), escape(first.text())
    shown = f"<strong>{label}</strong>（{first.weight}）：{text}"
    assert shown in html
    assert not ISO_DATE.search(html.split('data-testid="worklist"')[1])
    # the JSON document keeps ISO dates for programs, its messages read as the worklist
    with translation.override("zh-hans"):
        document = json.loads(json.dumps(analysis_document(analysis)))
    reason = document["customers"][0]["reasons"][0]
    assert ISO_DATE.fullmatch(reason["period_from"]) and "年" in reason["message"]


def test_the_thresholds_in_a_header_are_the_ones_changed_from_the_defaults():
    """Twenty-six raw keys in a Chinese header told an inspector nothing: the header says the
    defaults were used, or which thresholds differed (as ``--rule`` takes them)."""
    from django.utils import translation

    from prepaid.reports.suspicious import DEFAULT_RULES, thresholds_text

    with translation.override("zh-hans"):
        assert thresholds_text(dict(DEFAULT_RULES)) == "默认值"
        changed = {**DEFAULT_RULES, "no_purchase_days": 90, "min_score": 2}
        assert thresholds_text(changed) == "默认值，以下除外：min_score=2、no_purchase_days=90"
    with translation.override("en"):
        assert thresholds_text(changed) == "defaults, but min_score=2, no_purchase_days=90"


def test_a_reissue_that_left_a_transfer_on_the_revoked_card_is_flagged_until_it_is_recycled(
    small_office,
):
    """The reissue records the meter-change transfer the lost card still carries (no meter
    known to have taken it): a second new meter would take it from that card too. The
    worklist names the reissue, the card, the transfer and its quantity, until the old card
    is recycled."""
    from prepaid.cards.services import format_card, recycle_card
    from prepaid.core.card import codec
    from prepaid.vending import services as vending

    office = small_office
    office.open(quantity="10")
    office.swipe()
    office.store.insert("user")
    vending.read_user_card(office.station())
    admin = office.station(office.admin)
    vending.meter_change(admin, remaining="12", reason="表坏", key=office.key())
    revoked = office.customer.cards.get(status="active").serial
    office.store.create("user2", codec.blank_image())
    office.store.insert("user2")
    format_card(admin)
    result = vending.reissue(office.station(), office.customer, key=office.key())
    transfer = result.operation.details["transfers_at_risk"][0]

    def reasons():
        analysis = analyse()
        mine = [s for s in analysis.suspects if s.customer_id == office.customer.pk]
        return [r for s in mine for r in s.reasons if r.rule == "transfer_at_risk"]

    (reason,) = reasons()
    assert reason.weight == DEFAULT_RULES["weight_transfer_at_risk"]
    assert reason.account == "热" and reason.unit == "GJ"
    assert reason.params["card"] == revoked
    assert (reason.params["serial"], reason.params["quantity"]) == (transfer["serial"], "10.00")
    assert reason.period_from == timezone.localtime(result.operation.time).date()
    assert reason.period_to >= reason.period_from  # to the analysis date
    with translation.override("zh-hans"):
        assert f"已作废的旧卡 {revoked} 上仍带有换表转移" in reason.text()
        assert "10.00" in reason.text() and reason.label() == "补卡时旧卡带有换表转移"

    office.store.insert("user")  # the lost card turns up: recycled, no longer at risk
    recycle_card(admin)
    assert reasons() == []


def _first_purchase_reasons(office, card: str | None = None) -> list:
    """The customer's ``first_purchase_at_risk`` reasons; those naming ``card`` if given."""
    analysis = analyse()
    mine = [s for s in analysis.suspects if s.customer_id == office.customer.pk]
    return [
        r
        for s in mine
        for r in s.reasons
        if r.rule == "first_purchase_at_risk" and card in (None, r.params["card"])
    ]


def _reissue_on_a_new_card(office, name: str = "user2") -> object:
    from prepaid.cards.services import format_card
    from prepaid.core.card import codec
    from prepaid.vending import services as vending

    office.store.create(name, codec.blank_image())
    office.store.insert(name)
    format_card(office.station(office.admin))
    return vending.reissue(office.station(), office.customer, key=office.key())


def test_a_reissue_of_a_first_purchase_no_meter_was_seen_taking_is_flagged_until_one_is(
    small_office,
):
    """The customer swiped the opening, then lost the card before the office saw the
    meter's write-back: the new card carries the first purchase unmarked, and a spare meter,
    set and not yet bound, would credit it as well. Flagged with the reissue's day, the new
    card and the purchase, until a write-back read from the new card shows it taken."""
    from prepaid.vending import services as vending

    office = small_office
    office.open(quantity="10")
    assert office.swipe().ok  # the meter took it; the office never read it
    result = _reissue_on_a_new_card(office)
    assert result.operation.details["taken"] == []  # written unmarked, as it must be
    card = result.record.serial

    (reason,) = _first_purchase_reasons(office, card)  # the lost card has its own (below)
    assert reason.weight == DEFAULT_RULES["weight_first_purchase_at_risk"]
    assert reason.account == "热" and reason.unit == "GJ"
    assert (reason.params["card"], reason.params["serial"]) == (card, 1)
    assert reason.params["quantity"] == "10.00"
    assert reason.period_from == timezone.localtime(result.operation.time).date()
    with translation.override("zh-hans"):
        text = reason.text()
        assert f"补卡：新卡 {card} 上带有首次购买（序号 1，10.00），" in text, text
        assert "已设置、尚未绑定用户的备用表也会充入这笔购买" in text, text
        assert reason.label() == "补卡时首次购买未见表计充入"
    with translation.override("en"):
        assert f"the new card {card} carries first purchase 1 of 10.00" in reason.text()
        assert reason.label() == "Reissued card carries a first purchase not seen taken"

    # the customer's meter takes the new card (nothing added) and writes back; the office
    # reads it: the first purchase is seen taken, and a spare meter now refuses that card
    office.store.insert("user2")
    assert office.swipe().ok
    vending.read_user_card(office.station())
    assert _first_purchase_reasons(office, card) == []


def test_a_reissue_of_a_first_purchase_seen_taken_is_not_flagged(small_office):
    """The office read the meter's write-back before the reissue: the new card's slot is
    marked taken, no meter credits it again, nothing to flag."""
    from prepaid.vending import services as vending

    office = small_office
    office.open(quantity="10")
    office.swipe()
    office.store.insert("user")
    vending.read_user_card(office.station())
    result = _reissue_on_a_new_card(office)
    assert result.operation.details["taken"] == [{"sub_meter": 4, "serial": 1}]
    assert _first_purchase_reasons(office) == []


def test_a_reissue_after_further_purchases_is_not_flagged_for_the_first(small_office):
    """A later purchase on the card: the reissue carries that one, not the opening (and it
    could be sold only once the opening was seen swiped)."""
    from prepaid.vending import services as vending

    office = small_office
    office.open(quantity="10")
    office.swipe()
    office.store.insert("user")
    vending.sell(office.station(), quantity="5", key=office.key())
    _reissue_on_a_new_card(office)
    assert _first_purchase_reasons(office) == []


def test_a_revoked_card_still_carrying_the_first_purchase_is_flagged_until_it_is_recycled(
    small_office,
):
    """The customer lost the card before ever swiping the opening: the lost card's copy is
    unmarked, and a spare meter, set and not yet bound, would credit it. The new card's copy
    is seen taken once the customer's meter writes back on it, but the lost card's is not:
    flagged with the reissue's day, the revoked card and the purchase until that card is
    recycled."""
    from prepaid.cards.services import recycle_card
    from prepaid.vending import services as vending

    office = small_office
    office.open(quantity="10")
    revoked = office.customer.cards.get(status="active").serial
    result = _reissue_on_a_new_card(office)
    assert result.revoked.serial == revoked
    assert len(_first_purchase_reasons(office, result.record.serial)) == 1

    (reason,) = _first_purchase_reasons(office, revoked)
    assert reason.weight == DEFAULT_RULES["weight_first_purchase_at_risk"]
    assert reason.account == "热" and reason.unit == "GJ"
    assert (reason.params["serial"], reason.params["quantity"]) == (1, "10.00")
    assert reason.period_from == timezone.localtime(result.operation.time).date()
    with translation.override("zh-hans"):
        text = reason.text()
        assert f"补卡：已作废的旧卡 {revoked} 上仍带有首次购买（序号 1，10.00），" in text, text
        assert "此后该卡也未回收" in text and "备用表也会从该卡充入这笔购买" in text, text
        assert reason.label() == "补卡时首次购买未见表计充入"
    with translation.override("en"):
        assert f"the revoked card {revoked} still carries first purchase 1 of 10.00" in (
            reason.text()
        )

    # the customer's meter takes the new card's copy and writes back; the office reads it:
    # the new card is done with, the lost card still carries its unmarked copy
    office.store.insert("user2")
    assert office.swipe().ok
    vending.read_user_card(office.station())
    assert _first_purchase_reasons(office) == [reason]

    office.store.insert("user")  # the lost card turns up: recycled, no longer at risk
    recycle_card(office.station(office.admin))
    assert _first_purchase_reasons(office) == []


def test_a_revoked_card_whose_first_purchase_was_seen_taken_on_it_or_marked_is_not_flagged(
    small_office,
):
    """Only a revoked card whose copy of the opening may be unmarked is flagged. The first
    card, lost before any swipe, is. The second card was swiped and its meter's write-back
    read before it was lost in turn: the meter's record on it makes a spare refuse it. The
    third was written by a reissue that had seen the opening taken: its slot is marked taken.
    Neither is flagged, and the card in use is marked too."""
    from prepaid.vending import services as vending

    office = small_office
    office.open(quantity="10")
    first = office.customer.cards.get(status="active").serial
    second = _reissue_on_a_new_card(office, "user2")
    assert second.operation.details["taken"] == []  # nothing seen taken yet: unmarked
    office.store.insert("user2")
    assert office.swipe().ok
    vending.read_user_card(office.station())  # the write-back on the second card
    third = _reissue_on_a_new_card(office, "user3")
    assert third.operation.details["taken"] == [{"sub_meter": 4, "serial": 1}]
    fourth = _reissue_on_a_new_card(office, "user4")
    assert fourth.operation.details["taken"] == [{"sub_meter": 4, "serial": 1}]

    (reason,) = _first_purchase_reasons(office)
    assert reason.params["card"] == first
    assert reason.period_from == timezone.localtime(second.operation.time).date()


def test_the_figures_of_a_reason_are_rounded_half_up_as_every_figure_is():
    """The one rounding rule (prepaid.core.money.round_half_up) holds for the percentages and
    day counts a reason shows too, not Decimal's default half-to-even."""
    from prepaid.reports.suspicious import _days, _pct

    assert _pct(Fraction(1, 8)) == "13"  # 12.5 %
    assert _pct(Fraction(5, 2)) == "250"
    assert _pct(Fraction(1, 3)) == "33"
    assert _days(Fraction(49, 4)) == "12.3"  # 12.25 days
    assert _days(Fraction(25, 2)) == "12.5"
    assert _days(Fraction(0)) == "0.0"
    assert _days(Fraction(7)) == "7.0"

"""``prepaid card make|read|tools`` through the CLI: what a person reads of tool cards."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

import pytest

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.account = ""  # the id of the fixture's account

    def __call__(self, *argv: str, json_output: bool = True, lang: str = "zh-hans") -> Any:
        from django.utils import translation

        from prepaid.cli.main import main

        self.capsys.readouterr()
        args = [*argv, "--lang", lang] + (["--json"] if json_output else [])
        try:
            status = main(args)
        finally:
            translation.deactivate()
        out = self.capsys.readouterr()
        assert status == 0, out
        return json.loads(out.out) if json_output else out.out


@pytest.fixture
def cli(home: DataHome, capsys: pytest.CaptureFixture[str]) -> Cli:
    from prepaid.accounts.services import create_account
    from prepaid.operators.models import Operator

    admin = Operator.objects.get(username="boss")
    account = create_account(
        admin,
        meter_type="water",
        sub_meter=1,
        limit="999",
        prestore="5",
        alarm="10",
        overdraft="5",
        maintenance_code="1234",
    )
    cli = Cli(capsys)
    cli.account = str(account.pk)  # not always 1: PostgreSQL's sequences outlive a test
    return cli


def test_a_check_card_read_back_shows_the_meters_readings_in_words(cli: Cli) -> None:
    from django.utils import timezone

    cli("card", "blank", "set1")
    cli("card", "insert", "set1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    cli("card", "blank", "chk1")
    cli("card", "insert", "chk1")
    cli("card", "make", "check", "--account", cli.account)
    cli("meter", "swipe", "M1")
    document = cli("card", "read")
    reading = document["reading"]
    assert (reading["state"], reading["balance"], reading["status"]) == ("set", "5.00", ["alarm"])
    text = cli("card", "read", json_output=False)
    assert "表状态：已设置" in text
    assert "状态：报警" in text
    local = timezone.localtime(datetime.datetime.fromtimestamp(reading["time"], tz=datetime.UTC))
    assert f"仪表时间：{local:%Y-%m-%d %H:%M:%S}" in text


def test_a_check_card_from_a_cleared_meter_shows_no_meter_type_or_codes(cli: Cli) -> None:
    """A cleared meter holds no parameters: its readings name no sub-meter, meter type or
    maintenance code (the card's bytes carry placeholders), and no customer."""
    cli("meter", "add", "M1")
    cli("card", "blank", "chk1")
    cli("card", "insert", "chk1")
    cli("card", "make", "check")
    cli("meter", "swipe", "M1")
    reading = cli("card", "read")["reading"]
    assert reading["state"] == "cleared"
    assert (reading["sub_meter"], reading["meter_type"], reading["maintenance_code"]) == (
        None,
        None,
        None,
    )
    assert (reading["user_number"], reading["generation"]) == ("", 0)
    text = cli("card", "read", json_output=False)
    assert "表状态：已清空" in text and "水表" not in text
    for label in ("子表号", "仪表类型", "系统维护码", "用户编号"):
        assert f"  {label}：-\n" in text, label


def test_a_user_card_read_shows_what_the_meter_refused_and_its_flags(cli: Cli) -> None:
    """The meter wrote back a refusal (E06, over the limit) and tamper/alarm flags: the
    operator reading the card sees them, in words, as the reader panel shows them."""
    from prepaid.core.card import codec
    from prepaid.core.card.model import Card, CardType, MeterStatus, MeterType, Slot, WriteBack
    from prepaid.readers.virtual import CardStore

    home = DataHome(Path(os.environ["PREPAID_HOME"]))
    slot = Slot(1, MeterType.WATER, 1234, 3, 50_00)
    flags = MeterStatus.ALARM | MeterStatus.TAMPER
    record = WriteBack(1, 2, 9_00, 40_00, flags, 6, 1_795_862_086)
    card = Card(CardType.USER, codec.new_serial(), 1, 7, slots=(slot,), write_backs=(record,))
    store = CardStore(home.cards)
    store.create("u1", codec.encode(card, home.load_secrets().card_key))
    store.insert("u1")
    meter = cli("card", "read")["slots"][0]["meter"]
    assert (meter["result"], meter["status"]) == ("E06", ["alarm", "tamper"])
    text = cli("card", "read", json_output=False)
    assert "未刷表" in text
    assert "  仪表显示 E06：本次购买将超过表的限购量。\n" in text, text
    assert "  状态：报警、防拆/磁干扰\n" in text, text


@pytest.mark.parametrize("tool", ["user", "check"])
def test_a_card_whose_meter_area_was_edited_says_so_when_read(cli: Cli, tool: str) -> None:
    """A byte of what the meter wrote changed (its own MAC fails): the card is still read,
    the sub-meter as not swiped or no reading shown, and the person reading it is told why
    rather than left to wonder where the meter's readings went."""
    from prepaid.core.card import codec
    from prepaid.readers.virtual import CardStore

    cli("card", "blank", "set1")
    cli("card", "insert", "set1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    cli("card", "blank", "c1")
    cli("card", "insert", "c1")
    if tool == "check":
        cli("card", "make", "check")
    else:
        cli("card", "format")
        number = cli("user", "register", "--name", "张三")["user_number"]
        price = cli("price", "add", "--account", cli.account, "--name", "R", "--unit-price", "3")
        price_id = str(price["id"])
        cli("open", number, "--account", cli.account, "--price", price_id, "--quantity", "1")
    cli("meter", "swipe", "M1")
    assert not cli("card", "read")["write_back_damaged"]
    path = CardStore(DataHome(Path(os.environ["PREPAID_HOME"])).cards).path("c1")
    image = bytearray(path.read_bytes())
    image[codec.METER_AREA.start + 9] ^= 0x01  # a byte of the balance (of the reading)
    path.write_bytes(bytes(image))

    assert cli("card", "read")["write_back_damaged"]
    text = cli("card", "read", json_output=False)
    assert "卡上的表数据区已损坏，下次刷表时将重写。\n" in text, text


def test_a_card_of_several_accounts_reads_with_each_slot_s_meter_type_and_unit(cli: Cli) -> None:
    """Water, electricity and gas on one card: each slot's quantity is read with its unit and
    meter type, not as bare numbers that might be m³ or kWh."""
    from prepaid.core.card import codec
    from prepaid.core.card.model import Card, CardType, MeterType, Slot
    from prepaid.readers.virtual import CardStore

    home = DataHome(Path(os.environ["PREPAID_HOME"]))
    slots = (
        Slot(1, MeterType.WATER, 1234, 2, 25_00),
        Slot(2, MeterType.ELECTRICITY, 1234, 3, 150_00),
        Slot(3, MeterType.GAS, 5678, 1, 35_08),
    )
    card = Card(CardType.USER, codec.new_serial(), 1, 7, slots=slots)
    store = CardStore(home.cards)
    store.create("u1", codec.encode(card, home.load_secrets().card_key))
    store.insert("u1")
    read = cli("card", "read")["slots"]
    assert [(s["sub_meter"], s["quantity"], s["unit"]) for s in read] == [
        (1, "25.00", "m³"),
        (2, "150.00", "kWh"),
        (3, "35.08", "m³"),
    ]
    text = cli("card", "read", json_output=False)
    assert "子表 1（水表）：购买序号 2，25.00 m³（购买），未刷表\n" in text, text
    assert "子表 2（电表）：购买序号 3，150.00 kWh（购买），未刷表\n" in text, text
    assert "子表 3（燃气表）：购买序号 1，35.08 m³（购买），未刷表\n" in text, text


def _english(cli: Cli, *argv: str) -> str:
    """A command that starts without Django, in English: here Django is set up, and its
    language is the one it reads in."""
    from django.utils import translation

    with translation.override("en"):
        return cli(*argv, json_output=False, lang="en")


def test_a_setting_card_and_a_check_card_read_with_the_unit_of_the_meter_type(cli: Cli) -> None:
    """限购量, 预存量, 报警量 and 透支量 of a setting card, 余量 and 累计用量 of a check card's
    reading: each with the unit of the meter type, in the documents as in the text."""
    cli("card", "blank", "set1")
    cli("card", "insert", "set1")
    cli("card", "make", "setting", "--account", cli.account)
    assert cli("card", "read")["parameters"]["unit"] == "m³"
    text = cli("card", "read", json_output=False)
    for label, value in (("限购量", "999.00"), ("预存量", "5.00"), ("报警量", "10.00")):
        assert f"  {label}：{value} m³\n" in text, text
    assert "  透支量：5.00 m³\n" in text, text
    assert "  系统维护码：1234\n" in text and "单位" not in text, text
    english = _english(cli, "card", "read")
    assert "  purchase limit: 999.00 m³\n" in english, english
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")

    cli("card", "blank", "chk1")
    cli("card", "insert", "chk1")
    cli("card", "make", "check", "--account", cli.account)
    cli("meter", "swipe", "M1")
    reading = cli("card", "read")["reading"]
    assert (reading["balance"], reading["cumulative"], reading["unit"]) == ("5.00", "0.00", "m³")
    text = cli("card", "read", json_output=False)
    assert "  余量：5.00 m³\n" in text and "  累计用量：0.00 m³\n" in text, text
    assert "  子表号：1\n" in text and "  已执行的最后购买序号：0\n" in text, text


def test_a_check_card_of_an_electricity_meter_reads_in_kwh(cli: Cli) -> None:
    from prepaid.core.card import codec
    from prepaid.core.card.model import Card, CardType, CheckReading, MeterStatus, MeterType
    from prepaid.readers.virtual import CardStore

    home = DataHome(Path(os.environ["PREPAID_HOME"]))
    reading = CheckReading(
        2, MeterType.ELECTRICITY, 1234, 2, 7, 1, 3, 12_50, 40_00, MeterStatus(0), 1_795_862_086
    )
    card = Card(CardType.CHECK, codec.new_serial(), 0, check=reading)
    store = CardStore(home.cards)
    store.create("chk", codec.encode(card, home.load_secrets().card_key))
    store.insert("chk")
    assert cli("card", "read")["reading"]["unit"] == "kWh"
    text = cli("card", "read", json_output=False)
    assert "  余量：12.50 kWh\n" in text and "  累计用量：40.00 kWh\n" in text, text


def test_a_slot_marked_taken_at_a_reissue_says_so_when_read(cli: Cli) -> None:
    """The slot's taken flag (a meter applied it before the card was reissued: no meter
    credits it again) is read in words, beside swiped or not; an unmarked slot says nothing
    of it. What the meter wrote back carries the unit of its meter type."""
    from prepaid.core.card import codec
    from prepaid.core.card.model import Card, CardType, MeterStatus, MeterType, Slot, WriteBack
    from prepaid.readers.virtual import CardStore

    home = DataHome(Path(os.environ["PREPAID_HOME"]))
    slots = (
        Slot(1, MeterType.WATER, 1234, 1, 20_00, taken=True),
        Slot(2, MeterType.ELECTRICITY, 1234, 3, 150_00),
    )
    record = WriteBack(2, 2, 9_00, 40_00, MeterStatus(0), 0, 1_795_862_086)
    card = Card(CardType.USER, codec.new_serial(), 2, 7, slots=slots, write_backs=(record,))
    store = CardStore(home.cards)
    store.create("u1", codec.encode(card, home.load_secrets().card_key))
    store.insert("u1")
    read = cli("card", "read")["slots"]
    assert [(s["sub_meter"], s["taken"], s["swiped"]) for s in read] == [
        (1, True, False),
        (2, False, False),
    ]
    text = cli("card", "read", json_output=False)
    assert (
        "子表 1（水表）：购买序号 1，20.00 m³（购买），未刷表，"
        "补卡前已被仪表接收，任何仪表都不会再次充入\n"
    ) in text, text
    assert "子表 2（电表）：购买序号 3，150.00 kWh（购买），未刷表\n" in text, text
    assert "  表回写：余量 9.00 kWh，累计用量 40.00 kWh，已执行的最后购买序号 2\n" in text, text
    english = _english(cli, "card", "read")
    assert (
        "(Purchase), not swiped, taken by a meter before the reissue: no meter credits it again\n"
    ) in english, english


def test_the_documents_of_a_card_written_name_it_as_card_read_does(cli: Cli) -> None:
    """make, format and recycle answer with the document ``card read`` gives of the same
    card: the same fields, its name in the card store among them (DESIGN §8)."""
    cli("card", "blank", "tool-1")
    cli("card", "insert", "tool-1")
    for argv in (
        ("card", "make", "setting", "--account", cli.account),
        ("card", "make", "check", "--account", cli.account),
        ("card", "format",),
        ("card", "recycle",),
    ):  # fmt: skip
        written = cli(*argv)
        assert written["name"] == "tool-1", argv
        assert written == cli("card", "read"), argv


@pytest.mark.parametrize(
    "argv",
    [("card", "make", "check"), ("card", "format"), ("card", "recycle")],
    ids=["make", "format", "recycle"],
)
def test_a_card_taken_out_once_written_is_named_as_the_card_written(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    """The card's name is asked of the reader before anything is written: a card taken out
    of the reader once written and read back was written and recorded, and the command says
    so with the card's name, not “no card in the reader” for a card it wrote."""
    from prepaid.cards.models import CardOperation
    from prepaid.readers.virtual import VirtualReader

    cli("card", "blank", "tool-1")
    cli("card", "insert", "tool-1")
    write, read = VirtualReader.write, VirtualReader.read

    def written(self: VirtualReader, data: bytes, offset: int = 0) -> None:
        write(self, data, offset)
        self.written = True  # type: ignore[attr-defined]

    def read_back_then_taken_out(self: VirtualReader) -> bytes:
        image = read(self)
        if getattr(self, "written", False):
            self.store.eject()
        return image

    monkeypatch.setattr(VirtualReader, "write", written)
    monkeypatch.setattr(VirtualReader, "read", read_back_then_taken_out)
    operations = CardOperation.objects.count()

    document = cli(*argv)

    assert document["name"] == "tool-1"
    assert CardOperation.objects.count() == operations + 1
    monkeypatch.setattr(VirtualReader, "write", write)
    monkeypatch.setattr(VirtualReader, "read", read)
    cli("card", "insert", "tool-1")
    assert cli("card", "read") == document


def test_a_card_command_with_an_empty_reader_writes_and_records_nothing(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    from prepaid.cards.models import CardOperation
    from prepaid.cli.main import main

    cli("card", "blank", "tool-1")
    for argv in (["card", "make", "check"], ["card", "format"], ["card", "recycle"]):
        capsys.readouterr()
        assert main([*argv, "--json"]) == 1
        assert json.loads(capsys.readouterr().out)["error"] == "no_card"
    capsys.readouterr()  # the input is refused before the card is asked for, as it was
    assert main(["card", "make", "setting", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"] == "account_required"
    assert not CardOperation.objects.exists()
    cli("card", "insert", "tool-1")
    assert cli("card", "read")["type"] == "blank"


def test_the_tool_card_register_shows_the_office_clock(cli: Cli) -> None:
    from django.utils import timezone

    cli("card", "blank", "z1")
    cli("card", "insert", "z1")
    cli("card", "make", "zero", "--account", cli.account)
    (row,) = cli("card", "tools")
    issued = datetime.datetime.fromisoformat(row["time"])
    text = cli("card", "tools", json_output=False)
    local = timezone.localtime(issued)
    assert f"{local:%Y-%m-%d %H:%M:%S}" in text, text
    assert "清零卡" in text


def test_the_tool_card_register_keeps_the_serials_in_one_column(cli: Cli) -> None:
    """A card type's name longer than another's (clear-all card, zero card) does not push
    its serial out of the column, in English as in Chinese."""
    serials = []
    for name, tool in (("t1", "clear-all"), ("t2", "zero"), ("t3", "check")):
        cli("card", "blank", name)
        cli("card", "insert", name)
        made = cli("card", "make", tool, *(["--account", cli.account] if tool == "zero" else []))
        serials.append(made["serial"])
    for lang in ("en", "zh-hans"):
        lines = cli("card", "tools", json_output=False, lang=lang).splitlines()
        columns = {line.index(serial) for line in lines for serial in serials if serial in line}
        assert len(columns) == 1, lines


def test_card_read_of_a_check_card_runs_without_django(tmp_path: Path) -> None:
    """``card read`` starts without Django: naming the flags and the meter clock must not
    need it."""
    import os
    import subprocess
    import sys

    from prepaid.core.card import codec
    from prepaid.core.card.model import Card, CardType, CheckReading, MeterStatus, MeterType
    from prepaid.readers.virtual import CardStore

    home = DataHome(tmp_path / "plain")
    home.ensure_secrets()
    reading = CheckReading(
        1, MeterType.WATER, 1234, 2, 7, 1, 3, 12_50, 40_00, MeterStatus.ALARM, 1_795_862_086
    )
    card = Card(CardType.CHECK, codec.new_serial(), 0, check=reading)
    store = CardStore(home.cards)
    store.create("chk", codec.encode(card, home.load_secrets().card_key))
    store.insert("chk")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREPAID_", "DJANGO_"))}
    env.update(PREPAID_HOME=str(home.root), PREPAID_TIME_ZONE="Asia/Shanghai")
    result = subprocess.run(
        [sys.executable, "-m", "prepaid", "card", "read"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "表状态：已绑定用户" in result.stdout
    assert "状态：报警" in result.stdout
    assert "仪表时间：2026-11-28 18:34:46" in result.stdout
    assert "  余量：12.50 m³\n" in result.stdout and "  累计用量：40.00 m³\n" in result.stdout


def test_a_garbled_user_card_reads_as_damaged_not_blank(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its header garbled, a customer's card once read as a factory-blank card, then took a
    tool card; now ``card read`` says it is damaged and what to do, and nothing writes it."""
    from django.utils import translation

    from prepaid.cli.main import main

    cli("user", "register", "--name", "张三")
    cli("price", "add", "--account", cli.account, "--name", "居民", "--unit-price", "3.45")
    price = cli("price", "list")[0]["id"]
    cli("card", "blank", "u1")
    cli("card", "insert", "u1")
    cli("card", "format")
    cli("open", "00000001", "--account", cli.account, "--price", str(price), "--quantity", "10")
    path = Path(os.environ["PREPAID_HOME"]) / "cards" / "u1.card"
    image = bytearray(path.read_bytes())
    image[0x20] ^= 0xFF
    path.write_bytes(bytes(image))

    def refused(*argv: str) -> dict[str, Any]:
        capsys.readouterr()
        try:
            status = main([*argv, "--lang", "zh-hans", "--json"])
        finally:
            translation.deactivate()
        assert status == 1
        return json.loads(capsys.readouterr().out)

    read = refused("card", "read")
    assert read["error"] == "bad_card"
    assert "卡片内容不是本系统的格式，也不是空白卡。" in read["message"]
    assert "补卡" in read["message"]
    tool = refused("card", "make", "zero", "--account", cli.account)
    assert tool["error"] == "bad_card" and "补卡" in tool["message"]
    assert path.read_bytes() == bytes(image)
    (listed,) = cli("card", "list")
    assert listed["type"] == "bad"


def test_card_read_record_records_a_check_cards_reading_once(cli: Cli) -> None:
    """``card read --record`` records the reading of the customer's meter (and says so);
    read and recorded again, nothing more; a plain ``card read`` records nothing."""
    from prepaid.audit.models import AuditEntry
    from prepaid.reports.models import WriteBackObservation

    cli("card", "blank", "set1")
    cli("card", "insert", "set1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    cli("card", "blank", "u1")
    cli("card", "insert", "u1")
    cli("card", "format")
    number = cli("user", "register", "--name", "张三")["user_number"]
    price = cli("price", "add", "--account", cli.account, "--name", "R", "--unit-price", "3")
    cli("open", number, "--account", cli.account, "--price", str(price["id"]), "--quantity", "1")
    cli("meter", "swipe", "M1")
    cli("card", "blank", "chk1")
    cli("card", "insert", "chk1")
    cli("card", "make", "check")
    cli("meter", "swipe", "M1")
    readings = WriteBackObservation.objects.filter(source="check_card")

    cli("card", "read")
    assert not readings.exists()
    recorded = cli("card", "read", "--record")
    assert recorded["type"] == "check" and recorded["reading"]["user_number"] == number
    assert recorded["recorded"]["new"] and recorded["recorded"]["user_number"] == number
    assert recorded["recorded"]["account"] == int(cli.account)
    reading = readings.get()
    assert reading.customer.user_number == number and reading.pk == recorded["recorded"]["id"]
    text = cli("card", "read", "--record", json_output=False)
    assert f"用户 {number} 张三 的这次表计读数此前已记录，未再记录。" in text, text
    assert readings.count() == 1
    assert AuditEntry.objects.filter(action="check_reading.record").count() == 1


def test_card_read_record_refuses_a_reading_of_a_meter_bound_to_nobody(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.utils import translation

    from prepaid.cli.main import main
    from prepaid.reports.models import WriteBackObservation

    cli("card", "blank", "set1")
    cli("card", "insert", "set1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    cli("card", "blank", "chk1")
    cli("card", "insert", "chk1")
    cli("card", "make", "check")
    cli("meter", "swipe", "M1")
    capsys.readouterr()
    try:
        status = main(["card", "read", "--record", "--json", "--lang", "zh-hans"])
    finally:
        translation.deactivate()
    refused = json.loads(capsys.readouterr().out)
    assert status == 1
    assert refused["error"] == "meter_not_bound"
    assert "表状态：已设置" in refused["message"], refused
    assert not WriteBackObservation.objects.filter(source="check_card").exists()


def test_a_check_card_with_an_unrecorded_reading_is_not_formatted_or_made_over(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    """``card format``, ``card recycle`` and ``card make`` over a check card carrying a reading
    of a customer's meter the office has not recorded: refused (exit 1), the card as it was;
    after ``card read --record``, done."""
    from django.utils import translation

    from prepaid.cli.main import main

    cli("card", "blank", "set1")
    cli("card", "insert", "set1")
    cli("card", "make", "setting", "--account", cli.account)
    cli("meter", "add", "M1")
    cli("meter", "swipe", "M1")
    cli("card", "blank", "u1")
    cli("card", "insert", "u1")
    cli("card", "format")
    number = cli("user", "register", "--name", "张三")["user_number"]
    price = cli("price", "add", "--account", cli.account, "--name", "R", "--unit-price", "3")
    cli("open", number, "--account", cli.account, "--price", str(price["id"]), "--quantity", "1")
    cli("meter", "swipe", "M1")
    cli("card", "blank", "chk1")
    cli("card", "insert", "chk1")
    cli("card", "make", "check")
    cli("meter", "swipe", "M1")
    path = Path(os.environ["PREPAID_HOME"]) / "cards" / "chk1.card"
    image = path.read_bytes()

    for argv in (["card", "format"], ["card", "recycle"], ["card", "make", "zero"]):
        capsys.readouterr()
        try:
            status = main([*argv, "--json", "--lang", "zh-hans"])
        finally:
            translation.deactivate()
        refused = json.loads(capsys.readouterr().out)
        assert status == 1 and refused["error"] == "check_reading_unrecorded", refused
        assert f"该检查卡上的表计读数尚未记录（用户 {number} 张三，子表号 1）" in refused["message"]
        assert "prepaid card read --record" in refused["message"]
        assert path.read_bytes() == image

    cli("card", "read", "--record")
    assert cli("card", "format")["type"] == "new"


@pytest.mark.parametrize("tool", ["clear-all", "zero"])
def test_a_clear_all_or_zero_card_without_an_account_reads_as_fit_for_any_meter(
    cli: Cli, tool: str
) -> None:
    """Made without an account, the card carries maintenance code 0, which every meter takes
    (docs/card-format.md): read, it says so rather than a bare 0 the operator would take for
    a code no meter has; made on an account, it shows that account's code."""
    cli("card", "blank", "t1")
    cli("card", "insert", "t1")
    made = cli("card", "make", tool, json_output=False)
    assert "系统维护码：0（任何仪表均可使用）\n" in made, made
    read = cli("card", "read", json_output=False, lang="en")
    assert "Maintenance code: 0 (any meter)\n" in read, read
    assert cli("card", "read")["maintenance_code"] == 0
    cli("card", "make", tool, "--account", cli.account)
    read = cli("card", "read", json_output=False)
    assert "系统维护码：1234\n" in read and "任何仪表" not in read, read

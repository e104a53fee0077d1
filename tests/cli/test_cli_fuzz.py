"""Bad input on the command line, fuzzed: every command of DESIGN §8 is run in this process
with arguments drawn from nasty values (empty, blank, negative, huge, NaN, too many decimals,
full-width digits, long text, injections, unknown ids, repeated and missing options) on one
prepared office. Whatever is typed, no traceback: a refusal exits 1 or 2 with a JSON error
document whose message is in the operator's language, and a refused command changes nothing
(every table's rows, the card store and the meters are as they were)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db

# Placeholders for the prepared office's own objects, filled in when a command runs.
ACCOUNT, PRICE, USER, CARD, METER = "{account}", "{price}", "{user}", "{card}", "{meter}"

NASTY = [
    "",
    " ",
    "\t",
    "\n",
    "-",
    "--",
    "-1",
    "-0.01",
    "0",
    "0.00",
    "00",
    "1",
    "2",
    "5",
    "1.5",
    "+5",
    " 5 ",
    "5.",
    ".5",
    "1,000",
    "1_000",
    "0x10",
    "1e5",
    "1E+30",
    "1e30",
    "1e-2",
    str(10**40),
    "9" * 19,
    "1.234",
    "0.001",
    "3.14159",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "１２",
    "１２．５",
    "－１",
    "٣",
    "²",
    "½",
    "水",
    "王五",
    "é",
    "\u200b",
    "x" * 5000,
    "水" * 300,
    "'; DROP TABLE customers_customer; --",
    "1 OR 1=1",
    "<script>alert(1)</script>",
    "%s%d%(name)s",
    "{}",
    "../x",
    "../../etc/passwd",
    "/tmp",
    ".",
    "..",
    "a/b",
    "99999999",
    "00000001",
    "2024-02-30",
    "2024-01-01",
    "9999-12-31",
    "0001-01-01",
    "cash",
    "water",
    "month",
    "setting",
    "--json",
    "--help",
]


def values(*own: str) -> st.SearchStrategy[str]:
    """A nasty value, one of the command's own sensible ones, or any short text."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from(own) if own else st.nothing(),
        st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12),
    )


@dataclass(frozen=True)
class Command:
    """A command line of DESIGN §8 to fuzz: its words, positional arguments and options (an
    option with None takes no value); ``stdin`` is what it reads (a password)."""

    words: tuple[str, ...]
    positionals: tuple[tuple[str, ...], ...] = ()
    options: tuple[tuple[str, tuple[str, ...] | None], ...] = ()
    stdin: str = "Fuzz-new-pw1\n"

    @property
    def id(self) -> str:
        return " ".join(self.words) or "--help"


NUMBER = ("5", "10", "19.99", "0.01")
PAY = ("cash", "wechat", "alipay", "bank_card", "other")
TIERS = ("0-180:5.00,180-260:7.00,260-:9.00", "0-:3", "180-0:5", "0-10:1,5-:2")
DATE = ("2024-01-01", "2030-06-30")
REPORT_OUTPUT = (
    ("--format", ("table", "json", "csv", "xlsx")),
    ("--output", ("out.csv", "out.xlsx")),
)
FILTERS = (
    ("--from", DATE),
    ("--to", DATE),
    ("--operator", ("boss", "nobody")),
    ("--account", (ACCOUNT,)),
    ("--station", ()),
)

COMMANDS = [
    Command((), options=(("--help", None), ("--lang", ("en", "zh", "fr")))),
    Command(("init",), options=(("--admin-password", ()),)),
    Command(("serve",), options=(("--host", ("127.0.0.1", "localhost")), ("--port", ("0",)))),
    Command(("operator", "add"), ((),), (("--role", ("operator", "admin")),)),
    Command(("operator", "passwd"), (("clerk",),)),
    Command(
        ("account", "create"),
        options=(
            ("--meter-type", ("water", "electricity", "gas", "heat")),
            ("--sub-meter", ("1", "2", "3", "4")),
            ("--limit", NUMBER),
            ("--prestore", NUMBER),
            ("--alarm", NUMBER),
            ("--overdraft", NUMBER),
            ("--maintenance-code", ("1234", "12345678", "123456789")),
            ("--name", ()),
        ),
    ),
    Command(("account", "list")),
    Command(
        ("price", "add"),
        options=(
            ("--account", (ACCOUNT,)),
            ("--name", ()),
            ("--unit-price", ("3.45", "0.0001", "3.45678")),
            ("--tiers", TIERS),
            ("--period", ("month", "year")),
            ("--remarks", ()),
            ("--effective", DATE),
        ),
    ),
    Command(
        ("price", "adjust"),
        ((PRICE,),),
        (
            ("--unit-price", ("3.45", "4")),
            ("--tiers", TIERS),
            ("--period", ("month", "year")),
            ("--effective", DATE),
        ),
    ),
    Command(
        ("price", "modify"),
        ((PRICE,),),
        (("--name", ()), ("--remarks", ()), ("--unit-price", ("3",)), ("--tiers", TIERS)),
    ),
    Command(("price", "delete"), ((PRICE,),)),
    Command(("price", "list"), options=(("--account", (ACCOUNT,)),)),
    Command(
        ("user", "register"),
        options=(
            ("--name", ("王五",)),
            ("--phone", ("13800138000",)),
            ("--address", ()),
            ("--id-number", ("11010519491231002X",)),
            ("--remarks", ()),
            ("--open", None),
            ("--account", (ACCOUNT,)),
            ("--price", (PRICE,)),
            ("--quantity", NUMBER),
            ("--amount", NUMBER),
        ),
    ),
    Command(("user", "show"), ((USER,),)),
    Command(("card", "blank"), ((),)),
    Command(("card", "insert"), ((CARD,),)),
    Command(("card", "eject")),
    Command(("card", "read")),
    Command(("card", "format")),
    Command(
        ("card", "make"),
        (("setting", "clear-all", "zero", "check"),),
        (("--account", (ACCOUNT,)),),
    ),
    Command(
        ("open",),
        ((USER,),),
        (
            ("--account", (ACCOUNT,)),
            ("--price", (PRICE,)),
            ("--quantity", NUMBER),
            ("--amount", NUMBER),
            ("--pay", PAY),
        ),
    ),
    Command(
        ("sell",),
        options=(
            ("--quantity", NUMBER),
            ("--amount", NUMBER),
            ("--account", (ACCOUNT,)),
            ("--pay", PAY),
            ("--key", ()),
        ),
    ),
    Command(
        ("correct",),
        options=(
            ("--quantity", NUMBER),
            ("--amount", NUMBER),
            ("--account", (ACCOUNT,)),
            ("--pay", PAY),
        ),
    ),
    Command(("reissue",), ((USER,),), (("--fee", NUMBER), ("--pay", PAY))),
    Command(
        ("meter-change",),
        options=(
            ("--remaining", (*NUMBER, "-3")),
            ("--account", (ACCOUNT,)),
            ("--reason", ()),
            ("--last-taken", ("yes", "no")),
        ),
    ),
    Command(("meter", "add"), ((),)),
    Command(("meter", "swipe"), ((METER,),)),
    Command(("meter", "use"), ((METER,), NUMBER)),
    Command(("meter", "show"), ((METER,),)),
    Command(
        ("report", "sales"),
        options=(
            *FILTERS,
            ("--price", (PRICE,)),
            ("--pay", PAY),
            ("--customer", (USER,)),
            ("--kind", ("sale", "reversal", "fee", "transfer")),
            ("--page", ("1", "2")),
            ("--page-size", ("1", "50")),
            ("--all", None),
            ("--sort", ("-amount", "time", "amount")),
            *REPORT_OUTPUT,
        ),
    ),
    Command(
        ("report", "summary"),
        options=(
            *FILTERS,
            ("--price", (PRICE,)),
            ("--by", ("day", "month", "year")),
            ("--group", ("none", "operator", "account", "price", "payment", "station")),
            *REPORT_OUTPUT,
        ),
    ),
    Command(
        ("report", "suspicious"),
        options=(
            ("--as-of", DATE),
            ("--set", ("no_purchase_days=90", "no_purchase_days=x", "nothing=1")),
            ("--save", None),
            *REPORT_OUTPUT,
        ),
    ),
    Command(("report", "shift"), options=(("--id", ("1",)), *REPORT_OUTPUT)),
    # Without a passphrase: a backup in this process would wait on the test database's lock.
    Command(("backup",), ((),), (("--force", None),), stdin=""),
    Command(("restore",), ((),), stdin="not-the-passphrase\n"),
]


@st.composite
def command_lines(draw: Any, command: Command) -> list[str]:
    """The command's words, each positional argument (now and then left out) and a few of its
    options (one may come twice, a required one may be missing)."""
    argv = list(command.words)
    for own in command.positionals:
        if draw(st.integers(0, 9)):
            argv.append(draw(values(*own)))
    if command.options:
        for flag, own_values in draw(st.lists(st.sampled_from(command.options), max_size=5)):
            argv.append(flag)
            if own_values is not None:
                argv.append(draw(values(*own_values)))
    return argv


# -- the prepared office ---------------------------------------------------------------------


class Office:
    """One office: an account with a price, a customer opened on card ``u1`` (in the reader,
    swiped on meter ``M1``), a blank card ``b1`` in the card store."""

    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.home = home
        self.capsys = capsys
        self.names: dict[str, str] = {CARD: "u1", METER: "M1"}
        self.served: list[tuple[str, int]] = []  # what ``prepaid serve`` would have served

    def run(self, argv: list[str], *, stdin: str = "") -> tuple[int, str, str]:
        """The command run in this process: its exit status, stdout and stderr."""
        from django.utils import translation

        from prepaid.cli.main import main

        self.capsys.readouterr()
        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            status = main([self.names.get(arg, arg) for arg in argv])
        except SystemExit as exc:  # argparse's --help
            status = -1 if exc.code is None else exc.code  # type: ignore[assignment]
        finally:
            sys.stdin = saved
            translation.deactivate()
        out = self.capsys.readouterr()
        return status, out.out, out.err

    def __call__(self, *argv: str) -> Any:
        status, out, err = self.run([*argv, "--json"])
        assert status == 0, (argv, out, err)
        return json.loads(out)

    def checksum(self) -> str:
        """Every table's rows, and every file of the data directory (card store, meters).

        Not what the office learns by reading a customer's card, whatever the command then
        does: the meters' write-back records (a swipe seen, audited), and so the audit
        chain's head; nor the report aggregates, which any report brings up to date with
        the ledger."""
        from django.db import connection

        digest = hashlib.sha256()
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table in sorted(connection.introspection.table_names(cursor)):
                if table in SEEN_AND_DERIVED:
                    continue
                observed = "write_back.observe"
                seen = f" WHERE action <> '{observed}'" if table == "audit_auditentry" else ""
                cursor.execute(f"SELECT * FROM {quote(table)}{seen}")
                rows = sorted(repr(row) for row in cursor.fetchall())
                digest.update(f"{table}:{rows!r}".encode())
        for path in sorted(self.home.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(self.home)).encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()


@pytest.fixture
def office(
    home: DataHome,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Office:
    from prepaid.accounts.services import add_price, create_account
    from prepaid.operators.models import Operator, Role

    monkeypatch.chdir(tmp_path)  # files a command writes (backup, --output) land here
    for name in ("PREPAID_LANG", "PREPAID_BACKUP_PASSPHRASE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    served: list[tuple[str, int]] = []
    monkeypatch.setattr("prepaid.server.serve", lambda host, port: served.append((host, port)))
    admin = Operator.objects.get(username="boss")
    clerk = Operator(username="clerk", role=Role.OPERATOR)
    clerk.set_password("Fuzz-clerk-pw1")
    clerk.save()
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
    price = add_price(admin, account_id=account.pk, name="居民用水", unit_price="3.45")
    office = Office(home.root, capsys)
    office.served = served
    office.names.update({ACCOUNT: str(account.pk), PRICE: str(price.pk)})
    office("card", "blank", "s1")
    office("card", "insert", "s1")
    office("card", "make", "setting", "--account", office.names[ACCOUNT])
    office("meter", "add", "M1")
    office("meter", "swipe", "M1")
    office("card", "blank", "u1")
    office("card", "insert", "u1")
    office("card", "format")
    customer = office("user", "register", "--name", "王五", "--phone", "13800138000")
    office.names[USER] = customer["user_number"]
    office(
        "open",
        customer["user_number"],
        "--account",
        office.names[ACCOUNT],
        "--price",
        office.names[PRICE],
        "--quantity",
        "10",
    )
    office("meter", "swipe", "M1")
    office("card", "blank", "b1")
    return office


SEEN_AND_DERIVED = {
    "reports_writebackobservation",
    "audit_audithead",
    "reports_aggregatestate",
    "reports_salesday",
    "reports_salesmonth",
    "reports_monthlypurchase",
}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Codes of bad input: exit 2, never 1 (a refusal by a rule).
INPUT_CODES = {"usage", "not_a_number", "too_many_decimals", "negative", "zero", "too_large"}


def check_outcome(
    office: Office, argv: list[str], stdin: str, lang: str, json_output: bool
) -> None:
    """Run one command line and hold it to the house standard."""
    before = office.checksum()
    full = [*argv, "--lang", lang] + (["--json"] if json_output else [])
    status, out, err = office.run(full, stdin=stdin)
    shown = (full, status, out[:2000], err[:2000])
    assert status in (0, 1, 2) or ("--help" in argv and status == 0), shown
    if status == 0:
        return
    if "--json" in full:  # asked for, or typed as a value that argparse took as the flag
        document = json.loads(out)
        assert isinstance(document, dict) and document.get("error"), shown
        message = document.get("message")
        assert isinstance(message, str) and message.strip(), shown
        if document["error"] in INPUT_CODES:
            assert status == 2, shown
    else:
        assert err.startswith("prepaid: ") and err[len("prepaid: ") :].strip(), shown
        message = err
    if lang == "zh-hans":
        assert CJK.search(message), f"an English message under zh-hans: {shown}"
    assert office.checksum() == before, f"changed despite the refusal: {shown}"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.id)
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_bad_input_never_crashes_and_changes_nothing(
    office: Office, command: Command, data: st.DataObject
) -> None:
    argv = data.draw(command_lines(command), label="argv")
    lang = data.draw(st.sampled_from(["zh-hans", "en"]), label="lang")
    json_output = data.draw(st.booleans(), label="json")
    check_outcome(office, argv, command.stdin, lang, json_output)


# -- what the fuzzing found ------------------------------------------------------------------


@pytest.mark.parametrize("port", ["0", "65536", str(10**40), "１２３４５６"])
def test_serve_refuses_a_port_no_server_can_listen_on(office: Office, port: str) -> None:
    """A port beyond 65535 reached the socket library as a number it cannot hold (a traceback);
    port 0 would listen on a port no one knows."""
    status, out, _err = office.run(["serve", "--port", port, "--json"])
    assert status == 2, out
    assert json.loads(out) == {
        "error": "usage",
        "message": f"参数 --port：不是端口号（1 至 65535）：{port!r}",
    }
    status, out, _err = office.run(["serve", "--port", port, "--json", "--lang", "en"])
    english = f"argument --port: not a port number (1 to 65535): {port!r}"
    assert json.loads(out)["message"] == english
    assert office.served == []


def test_serve_takes_the_highest_port(office: Office) -> None:
    assert office.run(["serve", "--port", "65535"])[0] == 0
    assert office.served == [("127.0.0.1", 65535)]


@pytest.mark.parametrize("host", ["../x", "a..b", "a" * 64])
def test_serve_refuses_what_is_no_host_name(office: Office, host: str) -> None:
    """An empty or too long label reached the host name encoder, which raised."""
    status, out, _err = office.run(["serve", "--host", host, "--json"])
    assert status == 2, out
    assert json.loads(out) == {
        "error": "bad_host",
        "message": f"“{host}”不是主机名或地址：请输入一个，如 127.0.0.1 或 0.0.0.0。",
    }
    status, out, _err = office.run(["serve", "--host", host, "--json", "--lang", "en"])
    assert json.loads(out)["message"].startswith(f"“{host}” is not a host name or address")
    assert office.served == []


@pytest.mark.parametrize("password", ["", "1111", "abc"])
def test_init_refuses_an_admin_password_no_operator_could_choose(
    office: Office, password: str
) -> None:
    """``init --admin-password ""`` made an admin with an empty password, never to be changed."""
    from prepaid.operators.models import Operator

    status, out, _err = office.run(["init", "--admin-password", password, "--json"])
    assert status == 2, out
    refused = json.loads(out)
    assert refused["error"] == "weak_password" and "密码" in refused["message"], refused
    assert not Operator.objects.filter(username="admin").exists()
    status, out, _err = office.run(["init", "--admin-password", "Given-pw-123", "--json"])
    assert (status, json.loads(out)["admin_created"]) == (0, True)


@pytest.mark.parametrize(
    "argv",
    [
        ("report", "sales", "--to", "9999-12-31"),
        ("report", "sales", "--from", "0001-01-01"),
        ("report", "summary", "--to", "9999-12-31"),
        ("report", "cards", "--from", "0001-01-01"),
        ("report", "shifts", "--to", "9999-12-31"),
        ("report", "suspicious", "--as-of", "0001-01-01"),
        ("report", "suspicious", "--as-of", "9999-12-31"),
    ],
)
def test_reports_refuse_a_day_at_the_ends_of_the_calendar(office: Office, argv: tuple[str, ...]):
    """The day after 9999-12-31, or 0001-01-01 in the office's time zone, overflowed Python's
    dates: a traceback instead of a report or a refusal."""
    option, day = argv[-2:]
    status, out, _err = office.run([*argv, "--json"])
    assert status == 2, out
    assert json.loads(out) == {
        "error": "usage",
        "message": f"参数 {option}：不是 1900 年至 2999 年之间的日期：'{day}'",
    }
    status, out, _err = office.run([*argv, "--json", "--lang", "en"])
    assert json.loads(out)["message"] == f"argument {option}: not a date from 1900 to 2999: '{day}'"


def test_reports_take_the_first_and_last_days_allowed(office: Office) -> None:
    sales = office("report", "sales", "--from", "1900-01-01", "--to", "2999-12-31")
    assert [row["quantity"] for row in sales["rows"]] == ["10.00"]
    assert office.run(["report", "suspicious", "--as-of", "1900-01-01", "--json"])[0] == 0


@pytest.mark.parametrize(
    "output", [("--format", "xlsx"), ("--format", "csv", "--output", "/")], ids=["xlsx", "dir"]
)
def test_suspicious_thresholds_are_not_saved_with_a_report_refused(
    office: Office, output: tuple[str, ...]
) -> None:
    """``--save`` stored the thresholds (audited) before the report was refused for its
    output: a refused command that changed the office's defaults."""
    from prepaid.audit.models import AuditEntry
    from prepaid.reports.models import SuspicionRules

    argv = ["report", "suspicious", "--set", "no_purchase_days=90", "--save", *output, "--json"]
    status, out, _err = office.run(argv)
    assert status == 2, out
    assert json.loads(out)["error"] in ("output_required", "cannot_write")
    assert not SuspicionRules.objects.exists()
    assert not AuditEntry.objects.filter(action="suspicious.rules").exists()
    assert office.run([*argv[:5], "--json"])[0] == 0  # saved with a report shown
    assert SuspicionRules.objects.get().overrides == {"no_purchase_days": 90}

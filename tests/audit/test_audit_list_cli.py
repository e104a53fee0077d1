"""``prepaid audit list``: the audit log in the terminal, as JSON and as CSV (administrators)."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from prepaid.home import DataHome
from prepaid.moments import office_moment

pytestmark = pytest.mark.django_db


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(
        self, *argv: str, operator: str = "admin", password: str = "s3cret-admin"
    ) -> tuple[int, str]:
        from django.utils import translation

        from prepaid.cli.main import main

        self.monkeypatch.setenv("PREPAID_OPERATOR", operator)
        self.monkeypatch.setenv("PREPAID_PASSWORD", password)
        self.capsys.readouterr()
        try:
            status = main(list(argv))
        finally:
            translation.deactivate()
        out = self.capsys.readouterr()
        return status, out.out + out.err


@pytest.fixture
def cli(admin, clerk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Cli:
    home = DataHome(tmp_path / "home")
    home.create_dirs()
    home.ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home.root))
    return Cli(capsys, monkeypatch)


def _log(operator: Any, action: str, object_id: str, **state: Any) -> Any:
    from prepaid.audit.services import log_action

    with transaction.atomic():
        return log_action(
            operator, action, object_type="thing", object_id=object_id, station="desk-1", **state
        )


def test_a_table_newest_first_with_what_changed(cli, admin):
    _log(admin, "thing.create", "1", after={"name": "甲"})
    _log(admin, "thing.modify", "1", before={"name": "甲"}, after={"name": "乙"})
    status, out = cli("audit", "list", "--object", "thing:1")
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0] == "审计日志"
    assert lines[1] == "  对象：thing:1"
    assert lines[2].split() == ["记录号", "时间", "操作员", "工作站", "操作", "对象", "变更内容"]
    assert lines[4].split()[3:] == [
        "admin",
        "desk-1",
        "thing.modify",
        "thing:1",
        "name:",
        "甲",
        "→",
        "乙",
    ]
    assert lines[5].split()[3:] == ["admin", "desk-1", "thing.create", "thing:1", "name:", "甲"]
    assert lines[-1] == "第 1/1 页，共 2 行。"


def test_json_a_page_with_the_state_before_and_after(cli, admin, clerk):
    first = _log(clerk, "thing.create", "7", after={"limit": 999})
    second = _log(clerk, "thing.modify", "7", before={"limit": 999}, after={"limit": 500})
    _log(admin, "thing.modify", "8", before={"limit": 1}, after={"limit": 2})
    argv = ["audit", "list", "--operator", "clerk", "--action", "thing", "--page-size", "1"]
    status, out = cli(*argv, "--format", "json", "--lang", "en")
    assert status == 0, out
    document = json.loads(out)
    assert (document["count"], document["page"], document["pages"]) == (2, 1, 2)
    assert document["filters"] == {"Operator": "clerk", "Action": "thing"}
    (row,) = document["rows"]
    assert row["id"] == second.pk
    # office time, ISO 8601 with its UTC offset, as every CLI document writes moments
    assert row["time"] == office_moment(second.time)
    assert datetime.datetime.fromisoformat(row["time"]).utcoffset() is not None
    assert {k: row[k] for k in ("operator", "station", "action", "object", "changes")} == {
        "operator": "clerk",
        "station": "desk-1",
        "action": "thing.modify",
        "object": "thing:7",
        "changes": "limit: 999 → 500",
    }
    assert (row["before"], row["after"]) == ({"limit": 999}, {"limit": 500})
    status, out = cli(*argv, "--page", "2", "--json")
    assert [r["id"] for r in json.loads(out)["rows"]] == [first.pk]
    assert json.loads(out)["rows"][0]["before"] is None


def test_csv_every_entry_with_chinese_headers(cli, admin):
    entries = [_log(admin, "thing.create", str(n), after={"n": n}) for n in range(3)]
    status, out = cli("audit", "list", "--action", "thing.", "--format", "csv", "--page-size", "1")
    assert status == 0, out
    records = list(csv.reader(io.StringIO(out)))
    assert records[0] == ["记录号", "时间", "操作员", "工作站", "操作", "对象", "变更内容"]
    # a file holds every entry, not one page
    assert [(r[0], r[5], r[6]) for r in records[1:]] == [
        (str(e.pk), f"thing:{n}", f"n: {n}") for n, e in reversed(list(enumerate(entries)))
    ]


@pytest.mark.parametrize(
    "wrong",
    [
        ["--from", "2026-13-01"],
        ["--to", "3000-01-01"],
        ["--from", "2026-03-02", "--to", "2026-03-01"],
        ["--operator", "nobody"],
        ["--page", "0"],
    ],
)
def test_bad_input_is_refused_with_exit_status_2(cli, wrong):
    status, out = cli("audit", "list", *wrong, "--json")
    assert status == 2, out
    assert json.loads(out)["error"] in ("usage", "bad_date_range", "unknown_operator")


def test_an_operator_is_refused(cli, clerk):
    status, out = cli("audit", "list", "--json", operator="clerk", password="s3cret-clerk")
    assert status == 1
    assert json.loads(out)["error"] == "permission_denied"

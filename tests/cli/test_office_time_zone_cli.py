"""Every command on the database runs in the office's time zone or is refused before it does
anything (``wrong_time_zone``); ``prepaid office time-zone`` shows the office's zone at any
station, and lets an administrator change it (docs/stations.md)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from prepaid.home import DataHome

pytestmark = pytest.mark.django_db

PASSWORD = "Zone-admin-pw1"
ELSEWHERE = "Europe/Paris"


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *argv: str, status: int = 0, lang: str = "en", text: bool = False) -> Any:
        from django.utils import translation

        from prepaid.cli.main import main

        self.monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        self.capsys.readouterr()
        try:
            result = main([*argv, "--lang", lang, *([] if text else ["--json"])])
        finally:
            translation.deactivate()
        out = self.capsys.readouterr()
        assert result == status, out
        return out.out + out.err if text else json.loads(out.out)


@pytest.fixture
def cli(admin, tmp_path: Path, monkeypatch, capsys, settings) -> Cli:
    settings.TIME_ZONE = "Asia/Shanghai"
    home = DataHome(tmp_path / "home")
    home.create_dirs()
    home.ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home.root))
    monkeypatch.setenv("PREPAID_OPERATOR", "admin")
    monkeypatch.setenv("PREPAID_PASSWORD", "s3cret-admin")
    monkeypatch.setenv("PREPAID_STATION", "counter-1")
    return Cli(capsys, monkeypatch)


def _office() -> list[str]:
    from prepaid.reports.models import OfficeTimeZone

    return list(OfficeTimeZone.objects.values_list("time_zone", flat=True))


def _audited(action: str) -> list[tuple[Any, Any]]:
    from prepaid.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(action=action).values_list("before", "after"))


def test_a_database_without_the_zone_takes_the_first_commands_without_refusing(cli):
    home = "Asia/Shanghai"
    assert _office() == []  # a database from before the zone was recorded
    assert cli("account", "list") == []
    assert _office() == [home]
    assert _audited("office.time_zone.record") == [
        (None, {"time_zone": home, "station": "counter-1"})
    ]


def test_a_command_in_another_zone_is_refused_before_it_does_anything(cli, settings, monkeypatch):
    from prepaid.audit.models import AuditEntry
    from prepaid.customers.models import Customer

    cli("account", "list")
    entries = AuditEntry.objects.count()
    settings.TIME_ZONE = ELSEWHERE
    monkeypatch.setenv("PREPAID_PASSWORD", "not-the-password")  # not even asked for
    refused = cli("user", "register", "--name", "王五", status=1)
    assert refused["error"] == "wrong_time_zone"
    assert f"(PREPAID_TIME_ZONE={ELSEWHERE})" in refused["message"]
    assert "Set PREPAID_TIME_ZONE=Asia/Shanghai on this station" in refused["message"]
    chinese = cli("report", "summary", status=1, lang="zh-hans", text=True)
    assert "请在本工作站设置 PREPAID_TIME_ZONE=Asia/Shanghai" in chinese
    assert "“prepaid office time-zone 时区”" in chinese
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.count() == entries  # not even a failed login


def test_a_command_under_another_name_of_the_offices_zone_runs(cli, settings):
    from prepaid.customers.models import Customer

    cli("account", "list")
    settings.TIME_ZONE = "PRC"  # a link to Asia/Shanghai: the same zone
    assert cli("user", "register", "--name", "王五")["user_number"]
    assert Customer.objects.count() == 1
    settings.TIME_ZONE = "Asia/Taipei"  # UTC+8 today as well, another zone in its history
    refused = cli("user", "register", "--name", "赵六", status=1)
    assert refused["error"] == "wrong_time_zone"
    assert "(PREPAID_TIME_ZONE=Asia/Taipei)" in refused["message"]
    assert "Set PREPAID_TIME_ZONE=Asia/Shanghai on this station" in refused["message"]
    assert Customer.objects.count() == 1
    assert _office() == ["Asia/Shanghai"]


def test_the_office_zone_is_shown_at_any_station(cli, settings):
    cli("account", "list")
    settings.TIME_ZONE = ELSEWHERE
    assert cli("office", "time-zone") == {
        "time_zone": "Asia/Shanghai",
        "station_time_zone": ELSEWHERE,
    }
    shown = cli("office", "time-zone", lang="zh-hans", text=True)
    assert shown == f"营业厅的时区：Asia/Shanghai；本工作站的时区：{ELSEWHERE}。\n"


def test_the_administrator_changes_the_zone_and_every_station_must_follow(cli, settings):
    cli("account", "list")
    said = cli("office", "time-zone", ELSEWHERE, text=True)
    assert f"now {ELSEWHERE} (it was Asia/Shanghai)" in said
    assert f"Set PREPAID_TIME_ZONE={ELSEWHERE} on every station" in said
    assert _office() == [ELSEWHERE]
    assert _audited("office.time_zone") == [
        ({"time_zone": "Asia/Shanghai"}, {"time_zone": ELSEWHERE})
    ]
    # this station, still in the old zone, is refused from its next command
    assert cli("account", "list", status=1)["error"] == "wrong_time_zone"
    settings.TIME_ZONE = ELSEWHERE
    assert cli("account", "list") == []
    again = cli("office", "time-zone", ELSEWHERE)
    assert (again["changed"], again["time_zone"]) == (False, ELSEWHERE)
    assert len(_audited("office.time_zone")) == 1


def test_another_name_of_the_offices_zone_is_recorded_and_the_stations_go_on(cli):
    cli("account", "list")
    said = cli("office", "time-zone", "PRC", text=True, lang="zh-hans")
    assert "营业厅时区现记录为 PRC（原为 Asia/Shanghai），这是同一时区的另一个名称" in said
    assert "PREPAID_TIME_ZONE" not in said  # no station has anything to change
    assert _office() == ["PRC"]
    assert _audited("office.time_zone") == [({"time_zone": "Asia/Shanghai"}, {"time_zone": "PRC"})]
    assert cli("account", "list") == []  # this station, set to Asia/Shanghai, runs


def test_an_unknown_zone_is_refused_in_the_operators_language(cli):
    cli("account", "list")
    refused = cli("office", "time-zone", "Asia/Beijing", status=2, lang="zh-hans")
    assert refused == {
        "error": "unknown_time_zone",
        "message": "“Asia/Beijing”不是时区。请填写一个时区，如 Asia/Shanghai。",
    }
    assert _office() == ["Asia/Shanghai"]


def test_the_command_is_in_the_chinese_help(capsys, monkeypatch):
    from prepaid.cli.main import main

    monkeypatch.delenv("PREPAID_LANG", raising=False)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "营业厅设置" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["office", "time-zone", "--help"])
    assert "营业厅的新时区" in capsys.readouterr().out

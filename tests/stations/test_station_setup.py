"""Setting up a further station (docs/stations.md): it must share the site's secrets."""

from __future__ import annotations

import json


def test_init_without_the_sites_secrets_is_refused(site):
    """A further station initialised before ``secrets.json`` was copied would make a card key
    of its own: cards it wrote no other station or meter could read, and the cards it read
    it would take for torn and rewrite under its own key. ``init`` refuses instead."""
    home = site.root / "counter-2"
    (home / "cards").mkdir(parents=True)
    if site.database_url is None:
        (home / "prepaid.sqlite3").symlink_to(site.home / "prepaid.sqlite3")
    result = site.run("init", "--json", station="counter-2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["error"] == "site_secrets_missing"
    assert "secrets.json" in json.loads(result.stdout)["message"]
    assert not (home / "secrets.json").exists()
    chinese = site.run("init", station="counter-2", env={"PREPAID_LANG": "zh-hans"})
    assert chinese.returncode == 1 and "secrets.json" in chinese.stderr
    assert "站点" in chinese.stderr, chinese.stderr
    # copied from the first station (工作站), for this station: not from a "site" (站点)
    assert "从第一个工作站复制" in chinese.stderr and "本工作站" in chinese.stderr, chinese.stderr

    site.add_station("counter-3")  # secrets copied first, as the docs say: harmless
    again = site.run("init", "--json", station="counter-3")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["secrets_created"] is False


def test_a_refused_station_init_makes_nothing(site):
    """Refused for want of the site's secrets, ``init`` leaves the station's directory as it
    found it: no card or meter folders, no secrets."""
    home = site.root / "counter-4"
    home.mkdir()
    if site.database_url is None:
        (home / "prepaid.sqlite3").symlink_to(site.home / "prepaid.sqlite3")
    before = sorted(p.name for p in home.iterdir())
    result = site.run("init", "--json", station="counter-4")
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["error"] == "site_secrets_missing"
    assert sorted(p.name for p in home.iterdir()) == before


def _foreign_secrets(home) -> None:
    """Give a station's data directory secrets of its own (another site's, or made anew)."""
    from prepaid.home import SiteSecrets

    (home / "secrets.json").write_text(SiteSecrets.generate().to_json())


def test_a_station_with_another_sites_secrets_is_refused_and_leaves_cards_alone(site):
    """A further station whose ``secrets.json`` is not the site's would take every customer
    card for a torn or forged one and restore it under its own key, destroying it. The
    database knows the fingerprint of the site's card key: such a station is refused before
    it touches a card, and ``init`` refuses it too."""
    from station_kit import open_customer

    number, _meter = open_customer(site)
    home = site.add_station("counter-2")
    _foreign_secrets(home)
    card = site.card("site", "u1")
    site.put_card("counter-2", "u1", card)

    for args in (
        ("init",),
        ("sell", "--quantity", "1"),
        ("reissue", number),
        ("reconcile",),
        ("card", "format"),
        ("card", "make", "check"),
    ):
        refused = site.json(*args, status=1, station="counter-2")
        assert refused["error"] == "wrong_site_secrets", (args, refused)
        assert "secrets.json" in refused["message"]
        assert site.card("counter-2", "u1") == card, args  # untouched
    assert site.sql("select count(*) from vending_purchase")[0][0] == 1  # the opening only
    chinese = site.run(
        "sell", "--quantity", "1", station="counter-2", env={"PREPAID_LANG": "zh-hans"}
    )
    assert chinese.returncode == 1 and "secrets.json" in chinese.stderr
    assert "卡密钥" in chinese.stderr, chinese.stderr

    # With the site's secrets copied, the station sells on the same card.
    site.add_station("counter-3")
    site.put_card("counter-3", "u1", card)
    assert site.json("init", station="counter-3")["secrets_created"] is False
    assert site.json("sell", "--quantity", "1", station="counter-3")["serial"] == 2
    fingerprint = site.sql("select fingerprint from cards_sitekey")[0][0]
    assert len(fingerprint) == 64 and bytes.fromhex(fingerprint) != site.site_key


def test_a_station_in_another_time_zone_is_refused_until_the_office_changes_zone(site):
    """The first ``init`` recorded the office's zone: a further station with another
    ``PREPAID_TIME_ZONE`` is refused by ``init``, every command and the web server, before
    anything is written; an administrator changes the office's zone, and then the stations
    still in the old one are refused."""
    from station_kit import open_customer

    open_customer(site)
    assert site.sql("select time_zone from reports_officetimezone") == [("Asia/Shanghai",)]
    site.add_station("counter-2")
    paris = {"PREPAID_TIME_ZONE": "Europe/Paris"}
    for args in (
        ("init",),
        ("user", "register", "--name", "赵六"),
        ("sell", "--quantity", "1"),
        ("report", "summary"),
        ("serve", "--port", "1"),  # refused before it starts listening
    ):
        refused = site.json(*args, status=1, station="counter-2", env=paris)
        assert refused["error"] == "wrong_time_zone", (args, refused)
        assert "PREPAID_TIME_ZONE=Asia/Shanghai" in refused["message"]
    assert site.sql("select count(*) from customers_customer")[0][0] == 1
    assert site.sql("select count(*) from vending_purchase")[0][0] == 1  # the opening only
    chinese = site.run(
        "report", "summary", station="counter-2", env={**paris, "PREPAID_LANG": "zh-hans"}
    )
    assert chinese.returncode == 1 and "营业厅的时区（Asia/Shanghai）" in chinese.stderr

    changed = site.json("office", "time-zone", "Europe/Paris", station="counter-2", env=paris)
    assert (changed["before"], changed["time_zone"], changed["changed"]) == (
        "Asia/Shanghai",
        "Europe/Paris",
        True,
    )
    assert site.json("report", "summary", station="counter-2", env=paris)
    assert site.json("report", "summary", status=1)["error"] == "wrong_time_zone"
    audited = site.sql(
        "select before, after from audit_auditentry where action = 'office.time_zone'"
    )
    assert [tuple(map(_document, row)) for row in audited] == [
        ({"time_zone": "Asia/Shanghai"}, {"time_zone": "Europe/Paris"})
    ]


def test_a_database_from_before_the_zone_was_recorded_takes_the_first_stations(site):
    site.sql("delete from reports_officetimezone")
    site.add_station("counter-2")
    paris = {"PREPAID_TIME_ZONE": "Europe/Paris"}
    site.json("user", "register", "--name", "赵六", station="counter-2", env=paris)
    assert site.sql("select time_zone from reports_officetimezone") == [("Europe/Paris",)]
    assert site.json("account", "list", status=1)["error"] == "wrong_time_zone"


def _document(value):
    return json.loads(value) if isinstance(value, str) else value

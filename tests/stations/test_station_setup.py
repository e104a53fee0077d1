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

    site.add_station("counter-3")  # secrets copied first, as the docs say: harmless
    again = site.run("init", "--json", station="counter-3")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["secrets_created"] is False

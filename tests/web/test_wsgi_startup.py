"""Under another WSGI server (prepaid.wsgi) the station is checked as ``prepaid serve`` checks
it before serving: the office's time zone, the site's card key, the reader's settings."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import pytest

from prepaid.cards.site import require_site_key
from prepaid.home import DataHome
from prepaid.reports.time_zone import require_office_time_zone

pytestmark = pytest.mark.django_db

ELSEWHERE = "America/New_York"


@pytest.fixture
def wsgi(web_home: DataHome) -> Any:
    """The entry point, imported as a server would (the checks pass here)."""
    from prepaid import wsgi

    return wsgi


def _refused(wsgi: Any, caplog: pytest.LogCaptureFixture) -> str:
    # on the logger itself: Django's set-up (in load) replaces the root logger's handlers
    logger = logging.getLogger("prepaid.wsgi")
    logger.addHandler(caplog.handler)
    try:
        with pytest.raises(wsgi.StationRefused) as refused:
            wsgi.load()
    finally:
        logger.removeHandler(caplog.handler)
    (record,) = [r for r in caplog.records if r.name == "prepaid.wsgi"]
    assert record.levelno == logging.CRITICAL
    assert record.getMessage() == f"prepaid: {refused.value}"
    return str(refused.value)


def test_a_station_fit_to_serve_gets_the_application(wsgi: Any) -> None:
    assert callable(wsgi.load())
    assert callable(wsgi.application)


def test_a_station_in_another_time_zone_is_refused(
    wsgi: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    office = require_office_time_zone()
    settings.TIME_ZONE = ELSEWHERE
    message = _refused(wsgi, caplog)
    # in the station's language (zh-hans), the same refusal `prepaid serve` gives
    assert f"PREPAID_TIME_ZONE={office}" in message and "营业厅的时区（" in message


def test_a_station_under_another_name_of_the_offices_zone_serves(
    wsgi: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    require_office_time_zone()
    settings.TIME_ZONE = "Asia/Chongqing"  # a link to Asia/Shanghai: the same zone
    assert callable(wsgi.load())
    settings.TIME_ZONE = "Asia/Taipei"  # UTC+8 today as well, another zone in its history
    message = _refused(wsgi, caplog)
    assert "PREPAID_TIME_ZONE=Asia/Taipei" in message
    assert "营业厅的时区（Asia/Shanghai）" in message


def test_a_station_with_another_sites_card_key_is_refused(
    wsgi: Any, web_home: DataHome, caplog: pytest.LogCaptureFixture
) -> None:
    require_site_key(secrets.token_bytes(32))  # the site's key: another one than this station's
    message = _refused(wsgi, caplog)
    assert "secrets.json" in message


def test_a_bad_reader_setting_is_refused(
    wsgi: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PREPAID_READER", "pcsc")
    monkeypatch.setenv("PREPAID_CARD_PROFILE", "mifare1k")
    monkeypatch.setenv("PREPAID_MIFARE_KEY_SLOT", "20h")
    message = _refused(wsgi, caplog)
    assert "PREPAID_MIFARE_KEY_SLOT" in message and "“20h”" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PREPAID_WEB_IDLE_MINUTES", "half an hour"),
        ("PREPAID_WEB_IDLE_MINUTES", "0"),
        ("PREPAID_WEB_WORKERS", "-2"),
        ("PREPAID_WEB_THREADS", "４"),
    ],
)
def test_a_web_count_that_is_no_whole_number_is_refused(
    wsgi: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    value: str,
) -> None:
    """Before, a non-numeric idle time failed every request once the server ran."""
    monkeypatch.setenv(name, value)
    message = _refused(wsgi, caplog)
    assert message == f"{name} 必须是不小于 1 的整数，而不是“{value}”。"


def test_web_counts_that_are_whole_numbers_serve(
    wsgi: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREPAID_WEB_IDLE_MINUTES", "45")
    monkeypatch.setenv("PREPAID_WEB_WORKERS", "")
    assert callable(wsgi.load())

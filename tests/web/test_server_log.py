"""What the server writes to its log (``LOGGING`` in prepaid.settings)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

HOST_LOGGER = "django.security.DisallowedHost"


def test_a_request_for_another_host_is_one_warning_line(
    client: Any, web_home: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A host not in PREPAID_ALLOWED_HOSTS (a scanner, an address typed wrong) gets 400 and
    one warning line in the log, not a traceback for every such request; the line names the
    variable to set, not Django's setting (an ALLOWED_HOSTS variable would do nothing)."""
    with caplog.at_level(logging.WARNING):
        response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    (record,) = (r for r in caplog.records if r.name == HOST_LOGGER)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None and record.exc_text is None
    line = logging.Formatter("%(levelname)s %(message)s").format(record)
    assert line == (
        "WARNING Invalid HTTP_HOST header: 'evil.example'. "
        "You may need to add 'evil.example' to PREPAID_ALLOWED_HOSTS."
    )
    assert not [r for r in caplog.records if r.exc_info is not None]


def test_the_warning_line_follows_the_log_level(
    client: Any, web_home: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """PREPAID_LOG_LEVEL=ERROR leaves the warnings out, this one too."""
    with caplog.at_level(logging.ERROR):
        response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not [r for r in caplog.records if r.name == HOST_LOGGER]


def test_an_allowed_host_logs_nothing(
    client: Any, web_home: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.get("/login/", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert not [r for r in caplog.records if r.name == HOST_LOGGER]


def test_an_unhandled_error_is_reported_as_django_reports_it(rf: Any) -> None:
    """Django's error report is imported when an error is reported, not at start-up
    (``DEFAULT_EXCEPTION_REPORTER``): the debug page and the report of Django's mail handler
    are Django's own, with the error in them."""
    import sys

    from django.utils.log import AdminEmailHandler
    from django.views import debug

    request = rf.get("/sell/")
    try:
        raise ValueError("the meter exploded")
    except ValueError:
        error = sys.exc_info()
    page = debug.technical_500_response(request, *error)
    assert page.status_code == 500
    assert b"the meter exploded" in page.content and b"ValueError" in page.content

    (handler,) = (
        h for h in logging.getLogger("django").handlers if isinstance(h, AdminEmailHandler)
    )
    report = handler.reporter_class(request, *error, is_email=True)
    assert isinstance(report, debug.ExceptionReporter)
    assert report.get_traceback_text().startswith("ValueError at /sell/\nthe meter exploded\n")

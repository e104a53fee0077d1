"""The site icon: linked from every page, and ``/favicon.ico`` answered for anyone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from web_helpers import html

pytestmark = pytest.mark.django_db


def _is_icon(response) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\x00\x00\x01\x00")  # an ICO header
    assert body == Path(finders.find("prepaid/favicon.ico")).read_bytes()


def test_favicon_for_anonymous_visitors(client, web_home):
    _is_icon(client.get("/favicon.ico"))


def test_favicon_before_the_forced_password_change(admin_client, admin):
    admin.must_change_password = True
    admin.save()
    assert admin_client.get("/")["Location"].startswith("/password/")
    _is_icon(admin_client.get("/favicon.ico"))


def test_pages_link_the_vendored_icon(client, admin_client):
    for page in (client.get("/login/"), admin_client.get("/accounts/")):
        link = re.search(r'<link rel="icon" href="([^"]+)"', html(page))
        assert link and link.group(1).endswith("prepaid/favicon.ico")
        assert not link.group(1).startswith(("http:", "https:", "//"))

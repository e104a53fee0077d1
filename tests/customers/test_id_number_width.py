"""ID numbers (身份证号) typed with a Chinese input method left in full-width mode: the
digits and the check character ｘ/Ｘ read as what they are, as a phone number's digits do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prepaid.audit.models import AuditEntry
from prepaid.core.errors import InvalidInput
from prepaid.customers.models import Customer
from prepaid.customers.services import clean_id_number, register_customer
from prepaid.home import DataHome

pytestmark = pytest.mark.django_db

RESIDENT_ID = "11010519491231002X"
FULL_WIDTH_ID = "１１０１０５１９４９１２３１００２ｘ"  # lower-case full-width ｘ
PASSWORD = "Id-admin-pw1"


@pytest.mark.parametrize(
    "typed",
    [
        FULL_WIDTH_ID,
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２X",  # the check character typed in half-width
        "110105１９４９１２３１002x",  # half the digits typed in full-width mode
        f"  {FULL_WIDTH_ID}\u3000",
    ],
)
def test_a_full_width_resident_id_reads_as_ascii(typed: str) -> None:
    assert clean_id_number(typed) == RESIDENT_ID


def test_other_documents_typed_in_full_width_keep_their_letters() -> None:
    assert clean_id_number("E１２３４５６７８") == "E12345678"


@pytest.mark.parametrize(
    "typed",
    [
        "１１０１０５１９４９１２３１００２１",  # wrong check digit, in full width
        "１１０１０５１９４９１２３１００２Ｙ",  # a full-width letter other than Ｘ
        "١١٠١٠٥",  # other scripts' digits stay refused
    ],
)
def test_a_wrong_id_number_in_full_width_is_still_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_id_number(typed)
    assert refused.value.code == "bad_id_number"


def test_the_refusal_shows_what_was_typed() -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_id_number("１１０１０５－１９４９")
    assert refused.value.params["value"] == "１１０１０５－１９４９"


def test_register_stores_the_ascii_id_number_and_audits_it(clerk: Any) -> None:
    customer = register_customer(clerk, name="张三", id_number=FULL_WIDTH_ID)
    customer.refresh_from_db()
    assert customer.id_number == RESIDENT_ID
    entry = AuditEntry.objects.get(action="customer.register")
    assert entry.after["id_number"] == RESIDENT_ID


def test_cli_user_register_reads_a_full_width_id_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.utils import translation

    from prepaid.cli.main import main
    from prepaid.operators.models import Operator, Role

    home = tmp_path / "home"
    DataHome(home).ensure_secrets()
    monkeypatch.setenv("PREPAID_HOME", str(home))
    monkeypatch.setenv("PREPAID_OPERATOR", "boss")
    monkeypatch.setenv("PREPAID_PASSWORD", PASSWORD)
    boss = Operator(username="boss", role=Role.ADMIN, is_staff=True)
    boss.set_password(PASSWORD)
    boss.save()
    capsys.readouterr()
    try:
        status = main(
            ["user", "register", "--name", "张三", "--id-number", FULL_WIDTH_ID, "--json"]
        )
    finally:
        translation.deactivate()
    out = capsys.readouterr()
    assert status == 0, out
    document = json.loads(out.out)
    assert document["id_number"] == RESIDENT_ID
    assert Customer.objects.get(pk=document["id"]).id_number == RESIDENT_ID


@pytest.fixture
def clerk_client(clerk: Any, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from django.test import Client

    from prepaid.web import station

    home = DataHome(tmp_path / "data")
    home.create_dirs()
    home.ensure_secrets()
    settings.HOME = home
    monkeypatch.setenv("PREPAID_READER", "virtual")
    monkeypatch.setenv("PREPAID_STATION", "web-test")
    station._secrets.cache_clear()
    client = Client()
    client.force_login(clerk)
    return client


def test_the_register_form_reads_a_full_width_id_number(clerk_client: Any) -> None:
    response = clerk_client.post(
        "/customers/register/", {"name": "李四", "id_number": FULL_WIDTH_ID}
    )
    customer = Customer.objects.get(name="李四")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.user_number}/"
    assert customer.id_number == RESIDENT_ID

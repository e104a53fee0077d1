from typing import Any

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "prepaid.reports"

    def ready(self) -> None:
        from prepaid.vending.signals import user_card_read

        user_card_read.connect(_observe_write_backs, dispatch_uid="reports.write_backs")


def _observe_write_backs(
    sender: Any,
    *,
    card_record: Any,
    card: Any,
    operator: Any,
    station: str,
    accounts: Any = None,
    **_: Any,
) -> None:
    """Every read of a customer's card records the swipes its meters wrote back."""
    from prepaid.reports.writebacks import record_write_backs

    record_write_backs(card_record, card, operator=operator, station=station, accounts=accounts)

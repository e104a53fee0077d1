from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "prepaid.operators"
    verbose_name = _("Operators")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        # Django's receiver writes last_login unaudited: ours writes it with an audit entry.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(_record_login, dispatch_uid="prepaid_record_login")


def _record_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from prepaid.home import station_name
    from prepaid.operators.services import record_login

    record_login(user, station_name())

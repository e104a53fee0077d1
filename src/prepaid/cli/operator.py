"""``prepaid operator add|passwd|list|disable|enable``. Passwords come from stdin, never
arguments. A password set for someone else (``add``, ``passwd`` of another operator) must be
changed by that operator with ``prepaid operator passwd`` before anything else."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from prepaid.cli.text import pad
from prepaid.core.errors import InvalidInput, _


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("operator", parents=[common], help=_("manage operators"))
    sub = parser.add_subparsers(dest="action", metavar=_("ACTION"), required=True)
    add = sub.add_parser(
        "add",
        parents=[common],
        help=_("add an operator (admin); they must change the password at first use"),
    )
    add.add_argument("name", help=_("operator name"))
    add.add_argument(
        "--role",
        choices=["operator", "admin"],
        default="operator",
        help=_("role: operator (收费员, default) or admin (管理员)"),
    )
    add.set_defaults(handler=handle_add)
    passwd = sub.add_parser(
        "passwd",
        parents=[common],
        help=_("change your password, or set another operator's (admin; they must change it)"),
    )
    passwd.add_argument("name", help=_("operator name"))
    passwd.set_defaults(handler=handle_passwd)
    lst = sub.add_parser("list", parents=[common], help=_("list operators (admin)"))
    lst.set_defaults(handler=handle_list)
    disable = sub.add_parser("disable", parents=[common], help=_("disable an operator (admin)"))
    disable.add_argument("name", help=_("operator name"))
    disable.set_defaults(handler=handle_disable)
    enable = sub.add_parser(
        "enable", parents=[common], help=_("enable a disabled operator (admin)")
    )
    enable.add_argument("name", help=_("operator name"))
    enable.set_defaults(handler=handle_enable)


def read_new_password(ctx: Any) -> str:
    """From stdin when it is not a terminal (first line); otherwise prompt twice."""
    if not ctx.stdin.isatty():
        password = ctx.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(ctx.gettext("New password: "))
        again = getpass.getpass(ctx.gettext("Repeat the new password: "))
        if password != again:
            raise InvalidInput("password_mismatch", _("The two passwords differ."))
    if not password:
        raise InvalidInput("empty_password", _("No password given on standard input."))
    return password


def _operator_json(operator: Any, **more: Any) -> dict[str, Any]:
    return {
        "id": operator.pk,
        "name": operator.username,
        "role": operator.role,
        "active": operator.is_active,
        "must_change_password": operator.must_change_password,
        **more,
    }


def handle_add(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.operators.services import add_operator, require_admin

    actor = ctx.operator
    require_admin(actor)  # before asking for a password it would refuse
    operator = add_operator(actor, args.name, args.role, read_new_password(ctx))
    ctx.say(
        ctx.gettext("Operator %(name)s added: they must change the password at first use.")
        % {"name": operator.username}
    )
    return _operator_json(operator)


def handle_passwd(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    import os

    from prepaid.operators.services import (
        authenticate,
        change_password,
        require_may_set_password,
    )

    # Changing one's own password is allowed while a change is required.
    actor = authenticate(
        os.environ.get("PREPAID_OPERATOR") or "admin", os.environ.get("PREPAID_PASSWORD", "")
    )
    require_may_set_password(actor, args.name)  # before asking for a password it would refuse
    operator = change_password(actor, args.name, read_new_password(ctx))
    if operator.must_change_password:
        message = _("Password of %(name)s set: they must change it at first use.")
    else:
        message = _("Password of %(name)s changed.")
    ctx.say(ctx.gettext(message) % {"name": operator.username})
    return _operator_json(operator)


def handle_list(ctx: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from prepaid.operators.services import list_operators

    operators = [_operator_json(o) for o in list_operators(ctx.operator)]
    roles = {"admin": _("Administrator"), "operator": _("Operator")}
    for o in operators:
        role = ctx.gettext(roles.get(o["role"], o["role"]))
        state = ctx.gettext(_("active") if o["active"] else _("disabled"))
        if o["must_change_password"]:
            state = ctx.gettext(_("%(state)s, must change password")) % {"state": state}
        ctx.say(f"{pad(o['name'], 20)} {pad(role, 10)} {state}")
    return operators


def handle_disable(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.operators.services import disable_operator

    return _switch(
        ctx,
        disable_operator(ctx.operator, args.name),
        _("Operator %(name)s disabled."),
        _("Operator %(name)s is already disabled: nothing changed."),
    )


def handle_enable(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    from prepaid.operators.services import enable_operator

    return _switch(
        ctx,
        enable_operator(ctx.operator, args.name),
        _("Operator %(name)s enabled."),
        _("Operator %(name)s is already enabled: nothing changed."),
    )


def _switch(ctx: Any, switched: tuple[Any, bool], done: str, unchanged: str) -> dict[str, Any]:
    """An operator disabled or enabled; doing it twice changes nothing and says so."""
    operator, changed = switched
    ctx.say(ctx.gettext(done if changed else unchanged) % {"name": operator.username})
    return _operator_json(operator, changed=changed)

"""Operators: log in (with throttling), add, change passwords, disable and enable; role checks.

A password someone else chose is known to that someone: the default ``1111`` of a fresh
install, the first password an administrator gives a new operator, a password an
administrator sets for another operator. Each must be changed by its operator before anything
else (``must_change_password``); only a password operators choose themselves is not.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext_lazy

from prepaid.audit.services import log_action
from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.operators.models import Operator, Role

DEFAULT_ADMIN = "admin"
DEFAULT_PASSWORD = "1111"  # as the manual says; must be changed at first login
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MAX_PASSWORD_LENGTH = 128  # what the web's login and password forms take


def auth_failed() -> PrepaidError:
    return PrepaidError("auth_failed", _("Wrong operator name or password."))


def operator_disabled(operator: Operator) -> PrepaidError:
    return PrepaidError(
        "operator_disabled",
        _("Operator %(name)s has been disabled. Ask an administrator to enable it again."),
        name=operator.username,
    )


def permission_denied() -> PrepaidError:
    return PrepaidError("permission_denied", _("Only an administrator may do this."))


def require_admin(operator: Operator) -> None:
    if not operator.is_admin:
        raise permission_denied()


def _snapshot(operator: Operator) -> dict[str, object]:
    return {
        "username": operator.username,
        "role": operator.role,
        "is_active": operator.is_active,
        "must_change_password": operator.must_change_password,
    }


@transaction.atomic
def ensure_admin(password: str | None) -> tuple[Operator, bool]:
    """Create the ``admin`` operator unless present. Returns (admin, created).

    Without a password admin gets the manual's 1111, to be changed at the first login; a
    password given (an unattended install) must be one an operator could choose."""
    existing = Operator.objects.filter(username=DEFAULT_ADMIN).first()
    if existing is not None:
        return existing, False
    admin = Operator(
        username=DEFAULT_ADMIN,
        role=Role.ADMIN,
        is_staff=True,
        must_change_password=password is None,
    )
    if password is not None:  # kept, never changed at first login: held to the same rules
        _validate_password(password, admin)
    admin.set_password(password if password is not None else DEFAULT_PASSWORD)
    admin.save()
    log_action(None, "operator.create", admin, after=_snapshot(admin))
    return admin, True


def check_admin_password(password: str) -> None:
    """The password given for ``admin`` (``prepaid init --admin-password``), held to the rules
    :func:`ensure_admin` holds it to, before anything of a new site is made."""
    _validate_password(password, Operator(username=DEFAULT_ADMIN, role=Role.ADMIN))


def authenticate(username: str, password: str) -> Operator:
    """Check a name and password; 5 failures lock the operator for 15 minutes.

    Returns the operator even when the password must still be changed: callers that do
    anything else first call :func:`require_password_changed`.

    A disabled operator is told so only with the right password (``operator_disabled``):
    a wrong one is ``auth_failed`` as for a name nobody has, counted towards the lock as any
    operator's, so that the password of a disabled operator cannot be guessed without limit.
    A name nobody has costs a password hash too: the time taken does not tell it apart.
    """
    now = timezone.now()
    with transaction.atomic():
        operator = Operator.objects.select_for_update(no_key=True).filter(username=username).first()
        if operator is None:
            Operator().set_password(password)
            raise auth_failed()
        if operator.locked_until is not None and operator.locked_until > now:
            raise account_locked(operator)
        if operator.check_password(password):
            if not operator.is_active:
                raise operator_disabled(operator)
            if operator.failed_logins or operator.locked_until:
                before = _login_state(operator)
                operator.failed_logins = 0
                operator.locked_until = None
                operator.save(update_fields=["failed_logins", "locked_until"])
                log_action(
                    operator,
                    "operator.login_failures_cleared",
                    operator,
                    before=before,
                    after=_login_state(operator),
                )
            return operator
        before = _login_state(operator)
        operator.failed_logins += 1
        if operator.failed_logins >= MAX_FAILED_LOGINS:
            operator.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            operator.failed_logins = 0
            log_action(
                operator,
                "operator.lock",
                operator,
                after={"locked_until": operator.locked_until.isoformat()},
            )
        else:
            log_action(
                operator,
                "operator.login_failed",
                operator,
                before=before,
                after=_login_state(operator),
            )
        operator.save(update_fields=["failed_logins", "locked_until"])
    # The failure that locks the operator says so (the lock is committed first).
    if operator.locked_until is not None and operator.locked_until > now:
        raise account_locked(operator)
    raise auth_failed()


def _login_state(operator: Operator) -> dict[str, object]:
    locked_until = operator.locked_until
    return {
        "failed_logins": operator.failed_logins,
        "locked_until": locked_until.isoformat() if locked_until is not None else None,
    }


@transaction.atomic
def record_login(operator: Operator, station: str = "") -> None:
    """A login to the web pages: its time is kept on the operator (``last_login``), audited.
    Takes the place of Django's own receiver of ``user_logged_in`` (OperatorsConfig.ready)."""
    before = operator.last_login
    operator.last_login = timezone.now()
    operator.save(update_fields=["last_login"])
    log_action(
        operator,
        "operator.login",
        operator,
        station=station,
        before={"last_login": before.isoformat() if before is not None else None},
        after={"last_login": operator.last_login.isoformat()},
    )


def account_locked(operator: Operator) -> PrepaidError:
    assert operator.locked_until is not None
    return PrepaidError(
        "account_locked",
        _(
            "Too many failed logins: operator %(name)s is locked until %(until)s. Try again "
            "then, or ask an administrator to set a new password."
        ),
        name=operator.username,
        until=timezone.localtime(operator.locked_until).strftime("%Y-%m-%d %H:%M"),
    )


def require_password_changed(operator: Operator) -> None:
    if operator.must_change_password:
        raise PrepaidError(
            "password_change_required",
            _("The password of %(name)s must be changed first (prepaid operator passwd %(name)s)."),
            name=operator.username,
        )


def authenticate_cli(username: str, password: str) -> Operator:
    operator = authenticate(username, password)
    require_password_changed(operator)
    return operator


# Django's own zh-Hans catalog lacks this message of MinimumLengthValidator (its msgid changed
# in Django 5.2): marked here so that the project catalog carries its translation.
MINIMUM_LENGTH_MESSAGE = ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
    6,
)


def _validate_password(password: str, operator: Operator | None) -> None:
    if len(password) > MAX_PASSWORD_LENGTH:  # the web's login form would not take it
        raise InvalidInput(
            "password_too_long",
            _("A password is at most %(maximum)s characters long."),
            maximum=MAX_PASSWORD_LENGTH,
        )
    if password == DEFAULT_PASSWORD:
        raise InvalidInput("weak_password", _("The new password must not be the default one."))
    try:
        password_validation.validate_password(password, operator)
    except ValidationError as exc:
        raise InvalidInput(
            "weak_password",
            _("The password is not acceptable: %(reasons)s"),
            reasons=_sentences([str(m) for m in exc.messages]),
        ) from None


def _sentences(messages: list[str]) -> str:
    """Sentences one after the other: a Chinese one ends in its full stop, with no space."""
    return "".join(m if m.endswith("。") else m + " " for m in messages).strip()


@transaction.atomic
def add_operator(actor: Operator, username: str, role: str, password: str) -> Operator:
    """A new operator, whose first password (given by the administrator) must be changed at
    first use."""
    require_admin(actor)
    username = username.strip()
    if not username or len(username) > 150 or any(c.isspace() for c in username):
        raise InvalidInput("bad_name", _("Operator names are 1 to 150 characters without spaces."))
    if role not in Role.values:
        raise InvalidInput("bad_role", _("The role must be “operator” or “admin”."))
    if Operator.objects.filter(username=username).exists():
        raise PrepaidError("operator_exists", _("Operator %(name)s already exists."), name=username)
    operator = Operator(
        username=username, role=role, is_staff=role == Role.ADMIN, must_change_password=True
    )
    _validate_password(password, operator)
    operator.set_password(password)
    operator.save()
    log_action(actor, "operator.create", operator, after=_snapshot(operator))
    return operator


def require_may_set_password(actor: Operator, username: str) -> None:
    """Anyone may change their own password; only an administrator (who has changed their
    own) sets another operator's."""
    if username != actor.username:
        require_password_changed(actor)
        require_admin(actor)


@transaction.atomic
def change_password(actor: Operator, username: str, new_password: str) -> Operator:
    """An operator changes their own password; an admin may set anyone's, which that operator
    must then change at first use. One's own new password must differ from the current one
    (else a required change would change nothing)."""
    operator = Operator.objects.select_for_update(no_key=True).filter(username=username).first()
    if operator is None:
        raise InvalidInput(
            "unknown_operator", _("There is no operator named %(name)s."), name=username
        )
    own = actor.pk == operator.pk
    require_may_set_password(actor, operator.username)
    _validate_password(new_password, operator)
    if own and operator.check_password(new_password):
        raise InvalidInput("weak_password", _("The new password must differ from the current one."))
    before = _snapshot(operator)
    operator.set_password(new_password)
    operator.must_change_password = not own
    operator.failed_logins = 0
    operator.locked_until = None
    operator.save()
    log_action(actor, "operator.password", operator, before=before, after=_snapshot(operator))
    return operator


def _operator_to_switch(actor: Operator, username: str) -> Operator:
    require_admin(actor)
    operator = Operator.objects.select_for_update(no_key=True).filter(username=username).first()
    if operator is None:
        raise InvalidInput(
            "unknown_operator", _("There is no operator named %(name)s."), name=username
        )
    return operator


def _set_active(actor: Operator, operator: Operator, active: bool) -> bool:
    """Whether anything changed: an operator already so is left alone, and not audited."""
    if operator.is_active == active:
        return False
    before = _snapshot(operator)
    operator.is_active = active
    operator.save(update_fields=["is_active"])
    action = "operator.enable" if active else "operator.disable"
    log_action(actor, action, operator, before=before, after=_snapshot(operator))
    return True


@transaction.atomic
def disable_operator(actor: Operator, username: str) -> tuple[Operator, bool]:
    """Disable an operator (who can no longer log in). Returns (operator, changed): disabling
    one already disabled changes nothing."""
    operator = _operator_to_switch(actor, username)
    if operator.pk == actor.pk:
        raise PrepaidError("cannot_disable_self", _("You cannot disable yourself."))
    return operator, _set_active(actor, operator, False)


@transaction.atomic
def enable_operator(actor: Operator, username: str) -> tuple[Operator, bool]:
    """Enable a disabled operator again, with the password they had. Returns (operator,
    changed): enabling one already enabled changes nothing."""
    operator = _operator_to_switch(actor, username)
    return operator, _set_active(actor, operator, True)


LANGUAGES = ("zh-hans", "en")


@transaction.atomic
def set_language(operator: Operator, language: str) -> Operator:
    """The operator's own language for the web pages and messages (中文 or English)."""
    if language not in LANGUAGES:
        raise InvalidInput(
            "bad_language",
            _("Unknown language “%(language)s”: use zh-hans or en."),
            language=language,
        )
    current = Operator.objects.select_for_update(no_key=True).get(pk=operator.pk)
    if current.language != language:
        before = {"language": current.language}
        current.language = language
        current.save(update_fields=["language"])
        log_action(
            operator, "operator.language", current, before=before, after={"language": language}
        )
    operator.language = language
    return current


def list_operators(actor: Operator) -> list[Operator]:
    """The operators, their roles and states (admin: the web page of operators is too)."""
    require_admin(actor)
    return list(Operator.objects.order_by("username"))


def get_operator(actor: Operator, username: str) -> Operator:
    """One operator by name (admin), for a page about them; refused when there is none."""
    require_admin(actor)
    operator = Operator.objects.filter(username=username).first()
    if operator is None:
        raise InvalidInput(
            "unknown_operator", _("There is no operator named %(name)s."), name=username
        )
    return operator

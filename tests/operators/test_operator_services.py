"""Operators: the default password must be changed first, logins are throttled, roles hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prepaid.audit.models import AuditEntry
from prepaid.core.errors import InvalidInput, PrepaidError
from prepaid.operators import services
from prepaid.operators.models import Operator

pytestmark = pytest.mark.django_db


def test_fresh_admin_has_the_manuals_password_and_must_change_it():
    admin, created = services.ensure_admin(None)
    assert created and admin.check_password("1111") and admin.must_change_password
    assert services.ensure_admin(None) == (admin, False)
    operator = services.authenticate("admin", "1111")
    with pytest.raises(PrepaidError) as refused:
        services.require_password_changed(operator)
    assert refused.value.code == "password_change_required"
    with pytest.raises(PrepaidError) as refused:
        services.authenticate_cli("admin", "1111")
    assert refused.value.code == "password_change_required"
    with pytest.raises(InvalidInput):
        services.change_password(operator, "admin", "1111")
    services.change_password(operator, "admin", "Better-pass-1")
    assert services.authenticate_cli("admin", "Better-pass-1").pk == admin.pk


def test_unattended_install_sets_the_given_password():
    admin, _ = services.ensure_admin("Given-pass-22")
    assert not admin.must_change_password
    assert services.authenticate_cli("admin", "Given-pass-22") == admin


@pytest.mark.parametrize("password", ["", " ", "1111", "12345678", "abc"])
def test_unattended_install_refuses_a_password_no_operator_could_choose(password):
    """An empty or weak admin password was kept as given, with no change asked for."""
    with pytest.raises(InvalidInput) as refused:
        services.ensure_admin(password)
    assert refused.value.code == "weak_password"
    assert not Operator.objects.filter(username="admin").exists()


def test_five_failures_lock_the_operator_for_fifteen_minutes(clerk):
    for _ in range(4):
        with pytest.raises(PrepaidError) as refused:
            services.authenticate("clerk", "wrong")
        assert refused.value.code == "auth_failed"
    with pytest.raises(PrepaidError) as locking:
        services.authenticate("clerk", "wrong")
    clerk.refresh_from_db()
    assert clerk.locked_until > timezone.now() + timedelta(minutes=14)
    # the fifth failure itself says so, with the day and time the lock ends
    assert locking.value.code == "account_locked"
    until = timezone.localtime(clerk.locked_until).strftime("%Y-%m-%d %H:%M")
    assert until in locking.value.translate(lambda message: message)
    with pytest.raises(PrepaidError) as refused:
        services.authenticate("clerk", "s3cret-clerk")  # right password, still locked
    assert refused.value.code == "account_locked"
    Operator.objects.filter(pk=clerk.pk).update(locked_until=timezone.now() - timedelta(1))
    assert services.authenticate("clerk", "s3cret-clerk").pk == clerk.pk
    assert AuditEntry.objects.filter(action="operator.lock").count() == 1


def test_unknown_and_disabled_operators_cannot_log_in(admin, clerk):
    """A disabled operator is told so with the right password only; with a wrong one the
    refusal is word for word that of a name nobody has."""
    with pytest.raises(PrepaidError) as nobody:
        services.authenticate("nobody", "x")
    assert nobody.value.code == "auth_failed"
    services.disable_operator(admin, "clerk")
    with pytest.raises(PrepaidError) as refused:
        services.authenticate("clerk", "s3cret-clerk")
    assert refused.value.code == "operator_disabled"
    assert refused.value.message == (
        "Operator clerk has been disabled. Ask an administrator to enable it again."
    )
    with pytest.raises(PrepaidError) as wrong:
        services.authenticate("clerk", "x")
    assert (wrong.value.code, wrong.value.message) == (nobody.value.code, nobody.value.message)


def test_wrong_passwords_of_a_disabled_operator_count_towards_the_lock(admin, clerk):
    """Else the password of a disabled operator could be tried without limit, the right one
    telling itself by “disabled”."""
    services.disable_operator(admin, "clerk")
    for _ in range(4):
        assert _code(services.authenticate, "clerk", "wrong") == "auth_failed"
    assert _code(services.authenticate, "clerk", "wrong") == "account_locked"
    assert _code(services.authenticate, "clerk", "s3cret-clerk") == "account_locked"
    actions = AuditEntry.objects.filter(object_id=str(clerk.pk)).values_list("action", flat=True)
    assert sorted(actions) == ["operator.disable", "operator.lock"] + ["operator.login_failed"] * 4
    Operator.objects.filter(pk=clerk.pk).update(locked_until=timezone.now() - timedelta(1))
    assert _code(services.authenticate, "clerk", "s3cret-clerk") == "operator_disabled"


def test_a_name_nobody_has_costs_a_password_hash_as_a_real_one_does(clerk, monkeypatch):
    """The time a refusal takes does not tell a name nobody has from an operator's."""
    from django.contrib.auth import base_user

    hashed = []
    real = base_user.make_password

    def make_password(password, *args, **kwargs):
        hashed.append(password)
        return real(password, *args, **kwargs)

    monkeypatch.setattr(base_user, "make_password", make_password)
    assert _code(services.authenticate, "nobody", "some-guess") == "auth_failed"
    assert hashed == ["some-guess"]


def test_only_admins_manage_operators(admin, clerk):
    with pytest.raises(PrepaidError) as refused:
        services.add_operator(clerk, "x1", "operator", "Long-enough-9")
    assert refused.value.code == "permission_denied"
    with pytest.raises(PrepaidError) as refused:
        services.change_password(clerk, "admin", "Long-enough-9")
    assert refused.value.code == "permission_denied"
    with pytest.raises(PrepaidError) as refused:
        services.disable_operator(clerk, "admin")
    assert refused.value.code == "permission_denied"
    added = services.add_operator(admin, "张收费员", "operator", "Long-enough-9")
    assert added.role == "operator" and not added.is_admin
    with pytest.raises(PrepaidError) as refused:
        services.add_operator(admin, "张收费员", "operator", "Long-enough-9")
    assert refused.value.code == "operator_exists"
    services.change_password(clerk, "clerk", "Own-new-pass-3")  # one's own password


@pytest.mark.parametrize(
    "name,role,password,code",
    [
        ("", "operator", "Long-enough-9", "bad_name"),
        ("a b", "operator", "Long-enough-9", "bad_name"),
        ("x" * 151, "operator", "Long-enough-9", "bad_name"),
        ("ok", "boss", "Long-enough-9", "bad_role"),
        ("ok", "operator", "123", "weak_password"),
        ("ok", "operator", "password", "weak_password"),
    ],
)
def test_bad_operator_input_writes_nothing(admin, name, role, password, code):
    before = (Operator.objects.count(), AuditEntry.objects.count())
    with pytest.raises(InvalidInput) as refused:
        services.add_operator(admin, name, role, password)
    assert refused.value.code == code
    assert (Operator.objects.count(), AuditEntry.objects.count()) == before


def test_a_short_password_is_refused_in_chinese(admin):
    from django.utils import translation

    with translation.override("zh-hans"):
        with pytest.raises(InvalidInput) as refused:
            services.add_operator(admin, "ok", "operator", "Ab-9")
        message = refused.value.translate(translation.gettext)
    assert message == "密码不符合要求：密码长度太短。密码必须包含至少 6 个字符。"


def test_several_reasons_read_as_sentences(admin):
    from django.utils import translation

    for language, expected in (
        ("zh-hans", "密码长度太短。密码必须包含至少 6 个字符。这个密码太常见了。密码只包含数字。"),
        ("en", "at least 6 characters. This password is too common. This password is entirely"),
    ):
        with translation.override(language):
            with pytest.raises(InvalidInput) as refused:
                services.add_operator(admin, "ok", "operator", "1234")
            assert expected in refused.value.translate(translation.gettext)


def _code(call, *args) -> str:
    with pytest.raises(PrepaidError) as refused:
        call(*args)
    return refused.value.code


def test_a_password_an_administrator_gives_must_be_changed_at_first_use(admin):
    added = services.add_operator(admin, "cashier", "operator", "Given-by-admin-1")
    assert added.must_change_password
    assert AuditEntry.objects.get(action="operator.create").after["must_change_password"]
    cashier = services.authenticate("cashier", "Given-by-admin-1")
    assert _code(services.authenticate_cli, "cashier", "Given-by-admin-1") == (
        "password_change_required"
    )
    # “changed” to the same password is no change
    assert _code(services.change_password, cashier, "cashier", "Given-by-admin-1") == (
        "weak_password"
    )
    assert (
        services.change_password(cashier, "cashier", "Own-choice-22").must_change_password is False
    )
    assert services.authenticate_cli("cashier", "Own-choice-22").pk == added.pk


def test_a_password_an_administrator_resets_must_be_changed_again(admin, clerk):
    reset = services.change_password(admin, "clerk", "Reset-by-admin-3")
    assert reset.must_change_password
    entry = AuditEntry.objects.get(action="operator.password")
    assert (entry.before["must_change_password"], entry.after["must_change_password"]) == (
        False,
        True,
    )
    assert _code(services.authenticate_cli, "clerk", "Reset-by-admin-3") == (
        "password_change_required"
    )
    clerk = services.authenticate("clerk", "Reset-by-admin-3")
    assert not services.change_password(clerk, "clerk", "Clerk-own-44").must_change_password
    # an administrator's own password is the administrator's choice
    assert not services.change_password(admin, "admin", "Admin-own-55").must_change_password


def test_a_disabled_operator_is_enabled_again_with_the_same_password(admin, clerk):
    operator, changed = services.disable_operator(admin, "clerk")
    assert changed and not operator.is_active
    assert _code(services.authenticate, "clerk", "s3cret-clerk") == "operator_disabled"
    operator, changed = services.enable_operator(admin, "clerk")
    assert changed and operator.is_active
    entry = AuditEntry.objects.get(action="operator.enable")
    assert entry.object_id == str(clerk.pk) and entry.operator_id == admin.pk
    assert (entry.before["is_active"], entry.after["is_active"]) == (False, True)
    assert services.authenticate_cli("clerk", "s3cret-clerk").pk == clerk.pk


def test_disabling_or_enabling_twice_changes_and_audits_nothing(admin, clerk):
    before = AuditEntry.objects.count()
    assert services.enable_operator(admin, "clerk") == (clerk, False)
    assert AuditEntry.objects.count() == before
    services.disable_operator(admin, "clerk")
    before = AuditEntry.objects.count()
    operator, changed = services.disable_operator(admin, "clerk")
    assert not changed and not operator.is_active
    assert AuditEntry.objects.count() == before


def test_only_admins_enable_and_only_known_operators(admin, clerk):
    services.disable_operator(admin, "clerk")
    assert _code(services.enable_operator, clerk, "clerk") == "permission_denied"
    assert _code(services.enable_operator, admin, "nobody") == "unknown_operator"
    assert _code(services.disable_operator, admin, "nobody") == "unknown_operator"
    assert not Operator.objects.get(pk=clerk.pk).is_active

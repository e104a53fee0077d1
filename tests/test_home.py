"""The data directory's lock: every command on the database and every server hold it shared,
a restore alone (``prepaid.home.share_home``, ``prepaid.server.hold_home_alone``)."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from prepaid.core.errors import PrepaidError
from prepaid.home import DataHome, share_home
from prepaid.server import hold_home_alone


@pytest.fixture
def home(tmp_path) -> DataHome:
    home = DataHome(tmp_path / "home")
    home.create_dirs()
    return home


def test_a_restore_is_refused_while_a_command_holds_the_directory(home):
    command = share_home(home)
    assert command is not None
    with pytest.raises(PrepaidError) as refused:
        hold_home_alone(home)
    assert refused.value.code == "server_running"
    assert str(home.root) in refused.value.message
    os.close(command)  # the command has finished
    restore = hold_home_alone(home)
    assert restore is not None
    os.close(restore)


def test_commands_share_the_directory(home):
    one, two = share_home(home), share_home(home)
    assert one is not None and two is not None
    os.close(one)
    with pytest.raises(PrepaidError):
        hold_home_alone(home)
    os.close(two)


def test_a_command_started_during_a_restore_says_it_waits_and_runs_after_it(home):
    restore = hold_home_alone(home)
    assert restore is not None
    told = threading.Event()
    held: list[int | None] = []
    command = threading.Thread(target=lambda: held.append(share_home(home, told.set)))
    command.start()
    assert told.wait(timeout=30)
    assert command.is_alive() and held == []  # still waiting
    os.close(restore)
    command.join(timeout=30)
    assert held and held[0] is not None
    with pytest.raises(PrepaidError):
        hold_home_alone(home)
    os.close(held[0])


def test_no_data_directory_no_lock(tmp_path):
    home = DataHome(tmp_path / "none")
    assert share_home(home) is None and hold_home_alone(home) is None
    assert not home.root.exists()


def test_a_command_leaves_a_data_directory_that_is_no_site_without_its_lock_file(tmp_path):
    """A command refused in an empty data directory (no ``secrets.json``): the lock file it
    made goes when it leaves, once no other command holds it — the last one removes it."""
    from prepaid.home import leave_home

    home = DataHome(tmp_path / "empty")
    home.root.mkdir()
    one, two = share_home(home), share_home(home)
    assert one is not None and two is not None
    leave_home(home, one)
    assert home.serving_lock.exists()  # the other still holds it
    with pytest.raises(PrepaidError):
        hold_home_alone(home)
    leave_home(home, two)
    assert list(home.root.iterdir()) == []


def test_a_command_leaves_the_lock_file_of_a_site(home):
    from prepaid.home import leave_home

    home.ensure_secrets()
    command = share_home(home)
    assert command is not None
    leave_home(home, command)
    assert home.serving_lock.exists()
    restore = hold_home_alone(home)  # released all the same
    assert restore is not None
    os.close(restore)


def test_a_command_waiting_on_a_lock_file_a_refused_restore_removed_takes_the_new_one(tmp_path):
    """A restore refused in a data directory that had no lock file removes the one it made,
    while it still holds it: a command that was waiting on that file must not run on a lock
    no one else sees, beside a restore that takes the new file."""
    from prepaid.server import let_go_of_home

    home = DataHome(tmp_path / "empty")
    home.root.mkdir()
    restore = hold_home_alone(home)
    assert restore is not None
    told = threading.Event()
    held: list[int | None] = []
    command = threading.Thread(target=lambda: held.append(share_home(home, told.set)))
    command.start()
    assert told.wait(timeout=30)
    let_go_of_home(home, restore, remove=True)
    command.join(timeout=30)
    assert held and held[0] is not None
    with pytest.raises(PrepaidError) as refused:  # the command holds the lock file there is
        hold_home_alone(home)
    assert refused.value.code == "server_running"
    os.close(held[0])


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask 022", "umask 000"])
def test_a_private_file_is_the_owners_alone_from_its_creation(tmp_path, monkeypatch, umask):
    """The site secrets and a backup: mode 0600 from the moment the file exists, whatever the
    umask; never readable by others while it is written, nor when it is renamed into place."""
    from prepaid.home import atomic_write

    modes: list[tuple[str, int]] = []
    real_write, real_replace = os.write, os.replace

    def write(fd: int, data: bytes) -> int:
        modes.append(("write", stat.S_IMODE(os.fstat(fd).st_mode)))
        return real_write(fd, data)

    def replace(source: str, target: str) -> None:
        modes.append(("rename", stat.S_IMODE(os.stat(source).st_mode)))
        real_replace(source, target)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "secrets.json"
    target.write_bytes(b"old")
    target.chmod(0o600)
    old = os.umask(umask)
    try:
        atomic_write(target, b"the card key", private=True)
    finally:
        os.umask(old)
    assert [step for step, _mode in modes] == ["write", "rename"]
    assert all(mode == 0o600 for _step, mode in modes), modes
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == b"the card key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.json"]


def test_a_new_data_directory_is_the_owners_alone(tmp_path):
    """The data directory holds the customers' records, the site's secrets and the cards: made
    0700 whatever the umask, its card and meter folders too; one that exists keeps its mode."""
    old = os.umask(0o022)
    try:
        home = DataHome(tmp_path / "site" / "data")
        home.ensure_secrets()
        for path in (home.root, home.cards, home.meters):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o750)
        os.chmod(shared, 0o750)
        DataHome(shared).create_dirs()
        assert stat.S_IMODE(shared.stat().st_mode) == 0o750
    finally:
        os.umask(old)

"""A form's key is held while its post is done (``sent_once``): the same form sent again
meanwhile, by another thread or worker process of the server, waits for the first to finish
instead of doing the work a second time beside it."""

from __future__ import annotations

import threading
import uuid

from prepaid.web.views.common import sent_once


def test_the_same_key_waits_for_the_first_post_to_finish():
    key = uuid.uuid4().hex
    first_inside, second_inside, release = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with sent_once(key):
            first_inside.set()
            release.wait(10)

    def second() -> None:
        with sent_once(key):
            second_inside.set()

    one = threading.Thread(target=first)
    one.start()
    assert first_inside.wait(10)
    two = threading.Thread(target=second)
    two.start()
    assert not second_inside.wait(0.3)  # held: the first is still being done
    release.set()
    assert second_inside.wait(10)  # and then done, after it
    one.join(10)
    two.join(10)


def test_another_key_and_a_post_without_a_key_do_not_wait():
    key = uuid.uuid4().hex
    inside, release = threading.Event(), threading.Event()

    def holder() -> None:
        with sent_once(key):
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert inside.wait(10)
        other = next(
            k for k in (uuid.uuid4().hex for _ in range(1000)) if _stripe(k) != _stripe(key)
        )
        with sent_once(other):
            pass
        with sent_once(None):
            pass
        with sent_once("not a key"):
            pass
    finally:
        release.set()
        thread.join(10)


def _stripe(key: str) -> int:
    import hashlib

    from prepaid.web.views.common import SENT_LOCKS

    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % SENT_LOCKS

"""One use of a reader at a time, across threads and processes; re-entrant in a thread."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from prepaid.readers.lock import holding, lock_file
from prepaid.readers.virtual import CardStore, VirtualReader


def test_a_second_thread_waits_for_the_reader(tmp_path):
    reader = VirtualReader(CardStore(tmp_path))
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait()
        with holding(VirtualReader(CardStore(tmp_path))):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with holding(reader):
        inside.set()
        time.sleep(0.2)
        with holding(reader):  # re-entrant: a sale reads the card while holding the reader
            order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


def test_another_process_waits_for_the_reader(tmp_path):
    reader = VirtualReader(CardStore(tmp_path))
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from prepaid.readers.lock import holding\n"
        "from prepaid.readers.virtual import CardStore, VirtualReader\n"
        "with holding(VirtualReader(CardStore(Path(sys.argv[1])))):\n"
        "    print(time.time())\n"
    )
    with holding(reader):
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        time.sleep(1.0)
        assert child.poll() is None  # still waiting
        released = time.time()  # the child holds the reader only after this
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    assert float(out) >= released


def test_different_readers_do_not_wait_for_each_other(tmp_path):
    one = VirtualReader(CardStore(tmp_path / "one"))
    two = VirtualReader(CardStore(tmp_path / "two"))
    assert lock_file(one) != lock_file(two)
    done = threading.Event()

    def other() -> None:
        with holding(two):
            done.set()

    with holding(one):
        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(5)
    thread.join(5)

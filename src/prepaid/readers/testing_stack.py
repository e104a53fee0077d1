"""A private PC/SC stack for tests and benchmarks: pcscd + vsmartcard's vpcd + the emulator.

:class:`PcscStack` starts ``pcscd --foreground --config DIR`` where ``DIR`` holds one reader
configuration: vpcd listening on a free local TCP port (and the next one: vpcd has two
slots). pcscd 1.9 has no option for its socket path (always ``/run/pcscd/pcscd.comm``), so it
runs in a private mount namespace (``unshare --mount``; ``unshare --user --map-root-user``
when not root) with a private directory bind-mounted on ``/run/pcscd``. Clients find it
through ``PCSCLITE_CSOCK_NAME``, which this module sets in the process environment. The
system's pcscd, if any, is neither used nor disturbed. When namespaces are not allowed and
we are root and no pcscd runs, the system socket path is used instead, and cleaned up.

pcsc-lite reads ``PCSCLITE_CSOCK_NAME`` once per process, at the first PC/SC call, so the
socket directory is chosen once per process and reused by every later stack.

Needs: Debian packages ``pcscd`` and ``vsmartcard-vpcd``, and pyscard.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from prepaid.readers.emulator import EmulatedCard, VpcdEmulator

READER_FRIENDLY_NAME = "Prepaid Test PCD"
READER_NAME = f"{READER_FRIENDLY_NAME} 00 00"  # pcscd appends "<reader> <slot>"
SYSTEM_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_DRIVERS = (
    Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"),
    Path("/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so"),
    Path("/usr/lib64/pcsc/drivers/serial/libifdvpcd.so"),
)
PRIVATE_START = """
set -e
[ -d /run/pcscd ] || mkdir -p /run/pcscd 2>/dev/null || true
if [ -d /run/pcscd ]; then mount --bind "$1/pcscd" /run/pcscd; else mount --bind "$1" /run; fi
exec pcscd --foreground --config "$2"
"""

POLL_SETTLE_S = 0.9  # two of pcscd's 400 ms presence polls
_process_run_dir: Path | None = None  # the socket location is fixed for the process


class StackUnavailable(Exception):
    """The PC/SC stack cannot run here; the message says why and what to install."""


def _run_dir() -> Path:
    global _process_run_dir
    if _process_run_dir is None:
        _process_run_dir = Path(tempfile.mkdtemp(prefix="prepaid-pcsc-"))
    return _process_run_dir


def _free_port_pair() -> int:
    """A port p with p and p + 1 free on all interfaces (vpcd listens on both)."""
    for _attempt in range(50):
        port = random.randint(20000, 60000)
        try:
            for candidate in (port, port + 1):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    probe.bind(("0.0.0.0", candidate))
        except OSError:
            continue
        return port
    raise StackUnavailable("no free TCP port pair for vpcd")


def _scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:
        raise StackUnavailable("pyscard is not installed (pip install pyscard)") from exc
    return scard


class PcscStack:
    """pcscd with a vpcd reader on a private port; cards come and go through emulators."""

    def __init__(self) -> None:
        self.port = 0
        self.reader_name = READER_NAME
        self.mode = ""
        self.socket_path = Path()
        self.process: subprocess.Popen[bytes] | None = None
        self.emulators: list[VpcdEmulator] = []
        self._last_departure = 0.0  # time.monotonic() when a card last left the reader

    @property
    def log_path(self) -> Path:
        return _run_dir() / "pcscd.log"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start pcscd and wait until the virtual reader is listed; else StackUnavailable."""
        if shutil.which("pcscd") is None:
            raise StackUnavailable("pcscd is not installed (apt-get install pcscd)")
        driver = next((path for path in VPCD_DRIVERS if path.exists()), None)
        if driver is None:
            raise StackUnavailable("vpcd is not installed (apt-get install vsmartcard-vpcd)")
        _scard()
        self.port = _free_port_pair()
        conf_dir = _run_dir() / "reader.conf.d"
        conf_dir.mkdir(parents=True, exist_ok=True)
        (conf_dir / "vpcd").write_text(
            f'FRIENDLYNAME "{READER_FRIENDLY_NAME}"\n'
            f"DEVICENAME   /dev/null:{self.port}\n"
            f"LIBPATH      {driver}\n"
            f"CHANNELID    {self.port}\n"
        )
        reasons = []
        for mode in ("private", "system"):
            try:
                self._start_mode(mode, conf_dir, timeout_s)
                return
            except StackUnavailable as exc:
                reasons.append(f"{mode}: {exc}")
                self._kill()
        raise StackUnavailable("; ".join(reasons))

    def _start_mode(self, mode: str, conf_dir: Path, timeout_s: float) -> None:
        if mode == "private":
            if shutil.which("unshare") is None:
                raise StackUnavailable("unshare (util-linux) is missing")
            socket_dir = _run_dir() / "run"
            (socket_dir / "pcscd").mkdir(parents=True, exist_ok=True)
            self.socket_path = socket_dir / "pcscd" / "pcscd.comm"
            namespace = (
                ["--mount"] if os.geteuid() == 0 else ["--user", "--map-root-user", "--mount"]
            )
            command = ["unshare", *namespace, "--propagation", "private", "sh", "-c"]
            command += [PRIVATE_START, "sh", str(socket_dir), str(conf_dir)]
        else:
            self._check_system_socket_free()
            self.socket_path = SYSTEM_SOCKET
            command = ["pcscd", "--foreground", "--config", str(conf_dir)]
        self._pin_socket(self.socket_path)
        self.mode = mode
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_for_reader(timeout_s)

    def _check_system_socket_free(self) -> None:
        if os.geteuid() != 0:
            raise StackUnavailable("not root, cannot use /run/pcscd")
        if SYSTEM_SOCKET.exists():
            with socket.socket(socket.AF_UNIX) as probe, contextlib.suppress(OSError):
                probe.connect(str(SYSTEM_SOCKET))
                raise StackUnavailable("another pcscd is running on /run/pcscd/pcscd.comm")

    def _pin_socket(self, path: Path) -> None:
        current = os.environ.get("PCSCLITE_CSOCK_NAME")
        if current is not None and current != str(path):
            raise StackUnavailable(f"PCSCLITE_CSOCK_NAME is already {current} in this process")
        os.environ["PCSCLITE_CSOCK_NAME"] = str(path)

    def _wait_for_reader(self, timeout_s: float) -> None:
        scard = _scard()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise StackUnavailable(f"pcscd exited: {self._log_tail()}")
            if self.socket_path.exists():
                hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
                if hresult == scard.SCARD_S_SUCCESS:
                    _hresult, readers = scard.SCardListReaders(context, [])
                    scard.SCardReleaseContext(context)
                    if self.reader_name in (readers or []):
                        return
            time.sleep(0.05)
        raise StackUnavailable(f"the vpcd reader did not appear: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:]) or "(empty log)"

    def stop(self) -> None:
        """Take every card out, stop pcscd by its PID, remove the private files."""
        try:
            for emulator in list(self.emulators):
                emulator.remove()
            self.emulators.clear()
        finally:
            self._kill()
            if _process_run_dir is not None:
                shutil.rmtree(_process_run_dir, ignore_errors=True)

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    # -- cards -------------------------------------------------------------------------------

    def insert(
        self,
        card: EmulatedCard,
        cut_after: int | None = None,
        trace: list[tuple[str, str]] | None = None,
        timeout_s: float = 5.0,
    ) -> VpcdEmulator:
        """Put ``card`` in the virtual reader and wait until pcscd sees it."""
        self._let_departures_settle()
        emulator = VpcdEmulator(card, self.port, cut_after=cut_after, trace=trace)
        emulator.insert()
        self.emulators.append(emulator)
        self.wait_for_card(True, timeout_s)
        return emulator

    def _let_departures_settle(self) -> None:
        """Wait until pcscd's poller has seen the last card leave.

        A card pulled mid-command is reported absent at once (the failed command tells
        pcscd), but pcscd's poller only notices at its next poll; a card inserted before
        that poll would look like the same card still present and never be announced.
        """
        for emulator in list(self.emulators):
            if not emulator.inserted:
                self.emulators.remove(emulator)
                self._last_departure = max(self._last_departure, emulator.left_at or 0.0)
        wait_s = self._last_departure + POLL_SETTLE_S - time.monotonic()
        if wait_s > 0:
            time.sleep(wait_s)

    def eject(self, emulator: VpcdEmulator, timeout_s: float = 5.0) -> None:
        """Take the card out and wait until pcscd sees the reader empty."""
        was_pulled = emulator.pulled
        emulator.remove()
        if emulator in self.emulators:
            self.emulators.remove(emulator)
        self._last_departure = max(self._last_departure, emulator.left_at or time.monotonic())
        others_inserted = any(other.inserted for other in self.emulators)
        if self.process is not None and not others_inserted:
            self.wait_for_card(False, timeout_s)
            if was_pulled:
                self._let_departures_settle()

    def wait_for_card(self, present: bool, timeout_s: float = 5.0) -> None:
        """Block until the reader holds a card (``present``) or is empty; else TimeoutError."""
        scard = _scard()
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise TimeoutError("pcscd does not answer")
        try:
            self._wait_state(scard, context, present, timeout_s)
        finally:
            scard.SCardReleaseContext(context)

    def _wait_state(self, scard: Any, context: Any, present: bool, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        known = scard.SCARD_STATE_UNAWARE
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise TimeoutError(f"card {'insertion' if present else 'removal'} not seen")
            hresult, states = scard.SCardGetStatusChange(
                context, remaining_ms, [(self.reader_name, known)]
            )
            if hresult == scard.SCARD_E_TIMEOUT:
                continue
            if hresult != scard.SCARD_S_SUCCESS:
                raise TimeoutError(f"SCardGetStatusChange failed: {hresult:#x}")
            known = states[0][1] & ~scard.SCARD_STATE_CHANGED
            if bool(known & scard.SCARD_STATE_PRESENT) == present:
                return

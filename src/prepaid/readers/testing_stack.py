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

:class:`EmulatedCards` keeps named emulated cards and puts one at a time in the stack's reader,
the way the virtual reader's card store does with card files.

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

from prepaid.readers.emulator import (
    TRANSPORT_ACCESS,
    EmulatedCard,
    MifareClassic1kCard,
    Sle4442Card,
    VpcdEmulator,
    make_access_bytes,
)
from prepaid.readers.pcsc import mifare_block

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
        timeout_s: float = 15.0,
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

    def eject(self, emulator: VpcdEmulator, timeout_s: float = 15.0) -> None:
        """Take the card out and wait until pcscd sees the reader empty.

        A card taken out between commands is seen leaving by pcscd's poller itself, so once
        the reader shows empty the next card can go in at once. A card that was pulled
        mid-command still needs the settle time (see :meth:`_let_departures_settle`).
        """
        was_pulled = emulator.pulled
        emulator.remove()
        if emulator in self.emulators:
            self.emulators.remove(emulator)
        others_inserted = any(other.inserted for other in self.emulators)
        if self.process is None or others_inserted or was_pulled:
            departure = emulator.left_at or time.monotonic()
            self._last_departure = max(self._last_departure, departure)
        if self.process is not None and not others_inserted:
            self.wait_for_card(False, timeout_s)
            if was_pulled:
                self._let_departures_settle()

    def wait_for_card(self, present: bool, timeout_s: float = 15.0) -> None:
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


# ---------------------------------------------------------------------------------------------
# Named cards: the PC/SC twin of the virtual reader's card store

# An SLE4442's factory area as delivered: ATR header, then ICM/ICT codes; the issuer's 16 bytes
# that follow carry the card's number here, so that every emulated card is a distinct chip.
SLE4442_FACTORY_HEADER = bytes.fromhex("A2131091FFFF8115FFFFD27600000400")
SLE4442_FACTORY_END = 0x20
# Mifare sectors read with key A and written with key B (data blocks 100, trailer 011).
MIFARE_A_READS_B_WRITES = make_access_bytes([(1, 0, 0)] * 3 + [(0, 1, 1)]) + b"\x69"
MIFARE_TRANSPORT_KEY_B = b"\xff" * 6
CARD_PROFILES = ("sle4442", "mifare1k")


class EmulatedCards:
    """Named emulated cards of one profile, at most one of them in the stack's reader.

    The interface mirrors :class:`prepaid.readers.virtual.CardStore` (``create``, ``insert``,
    ``inserted``, ``eject``, ``exists``, ``names``) so that tests written for the virtual
    reader can run on the PC/SC stack. Cards come as the site buys them: SLE4442 chips with
    the site's PSC; Mifare Classic 1K with the site's key A (6 bytes: reads and writes) or
    keys A and B (12 bytes: A reads, B writes) in every sector but sector 0.

    Changing cards is physical: :meth:`insert` takes the card in the reader out, waits until
    pcscd has seen it leave, puts the named one in and waits until pcscd sees it.
    """

    def __init__(
        self,
        stack: PcscStack,
        profile: str,
        psc: bytes = b"\xff\xff\xff",
        mifare_key: bytes = b"\xff" * 6,
    ) -> None:
        if profile not in CARD_PROFILES:
            raise ValueError(f"unknown card profile {profile!r} (sle4442 or mifare1k)")
        if len(psc) != 3 or len(mifare_key) not in (6, 12):
            raise ValueError("the PSC is 3 bytes, the Mifare key 6 or 12 bytes")
        self.stack = stack
        self.profile = profile
        self.psc = psc
        self.mifare_key = mifare_key
        self.cards: dict[str, EmulatedCard] = {}
        self._in_reader: tuple[str, VpcdEmulator] | None = None

    def names(self) -> list[str]:
        return sorted(self.cards)

    def exists(self, name: str) -> bool:
        return name in self.cards

    def card(self, name: str) -> EmulatedCard:
        """The emulated chip itself (its memory, ``written_bytes``, ``cut_after``…)."""
        try:
            return self.cards[name]
        except KeyError:
            raise ValueError(f"there is no emulated card named {name!r}") from None

    def create(self, name: str, image: bytes) -> EmulatedCard:
        """A new card holding the 256-byte logical ``image``, outside the reader.

        On an SLE4442 the factory area 0x00-0x1F is the chip's own, whatever ``image`` says.
        """
        if name in self.cards:
            raise ValueError(f"an emulated card named {name!r} already exists")
        number = len(self.cards) + 1
        card: EmulatedCard
        if self.profile == "sle4442":
            memory = bytearray(256)
            memory[:SLE4442_FACTORY_END] = SLE4442_FACTORY_HEADER + number.to_bytes(16, "big")
            card = Sle4442Card(memory=memory, psc=self.psc)
        else:
            card = MifareClassic1kCard(uid=b"\x5a\x3c" + number.to_bytes(2, "big"))
            key_b = self.mifare_key[6:]
            access = MIFARE_A_READS_B_WRITES if key_b else TRANSPORT_ACCESS
            for sector in range(1, 16):
                card.set_trailer(
                    sector, self.mifare_key[:6], key_b or MIFARE_TRANSPORT_KEY_B, access
                )
        self.cards[name] = card
        self.load(name, image)
        return card

    def load(self, name: str, image: bytes) -> None:
        """Put a logical image on a card directly (no reader, no access rights)."""
        if len(image) != 256:
            raise ValueError("a logical card image is 256 bytes")
        card = self.card(name)
        if isinstance(card, Sle4442Card):
            card.memory[SLE4442_FACTORY_END:] = image[SLE4442_FACTORY_END:]
        elif isinstance(card, MifareClassic1kCard):
            for index in range(16):
                card.blocks[mifare_block(index)][:] = image[index * 16 : index * 16 + 16]

    def image(self, name: str) -> bytes:
        """A card's logical image read directly from the chip (no reader)."""
        card = self.card(name)
        if isinstance(card, Sle4442Card):
            return bytes(card.memory)
        assert isinstance(card, MifareClassic1kCard)
        return b"".join(card.data_block(mifare_block(index)) for index in range(16))

    def inserted(self) -> str | None:
        """The card in the reader; ``None`` when empty or when the card was pulled out."""
        if self._in_reader is None or not self._in_reader[1].inserted:
            return None
        return self._in_reader[0]

    def insert(self, name: str, cut_after: int | None = None) -> EmulatedCard:
        """Put card ``name`` in the reader (taking out the one there, if another).

        ``cut_after=N``: the card is pulled out after N more data bytes written (fault
        injection); ``None``: it stays. Inserting the card already in the reader only sets that.
        """
        card = self.card(name)
        if self.inserted() == name:
            card.cut_after = cut_after
            return card
        self.eject()
        emulator = self.stack.insert(card, cut_after=cut_after)
        self._in_reader = (name, emulator)
        return card

    def eject(self) -> str | None:
        """Take the card out of the reader (or clear away one pulled out); returns its name."""
        name = self.inserted()
        if self._in_reader is not None:
            emulator = self._in_reader[1]
            self._in_reader = None
            self.stack.eject(emulator)
        return name

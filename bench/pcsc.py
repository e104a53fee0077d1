"""Benchmark of the PC/SC reader through a real pcscd + vpcd + the card emulator.

Run: ``.venv/bin/python bench/pcsc.py [repetitions]`` (default 200 per figure). Starts its own
private pcscd (see ``prepaid.readers.testing_stack``), so it needs pcscd, vsmartcard-vpcd and
pyscard. Prints mean / p50 / p95 / max milliseconds of a full card read, a full write+verify
(every writable byte changes) and a small write+verify (16 bytes, like one purchase slot),
for each card profile. Asserts nothing about time (target: full write+verify at most 50 ms).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prepaid.readers.emulator import EmulatedCard, MifareClassic1kCard, Sle4442Card
from prepaid.readers.pcsc import PcscReader
from prepaid.readers.testing_stack import READER_NAME, PcscStack, StackUnavailable

PSC = bytes.fromhex("5A1C3E")
MIFARE_KEY = bytes.fromhex("A0A1A2A3A4A5")
FACTORY = bytes.fromhex("A2131091FFFF8115FFFFD27600000400") + bytes(16)


def images() -> tuple[bytes, bytes]:
    """Two images that differ in every byte after the factory area."""
    first = FACTORY + bytes((3 + 5 * index) % 256 for index in range(224))
    second = FACTORY + bytes(value ^ 0xFF for value in first[32:])
    return first, second


def timings_ms(operation: Callable[[int], None], repetitions: int) -> list[float]:
    samples = []
    for index in range(repetitions):
        start = time.perf_counter()
        operation(index)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    mean, p50 = statistics.fmean(ordered), statistics.median(ordered)
    print(
        f"  {label:<24} mean {mean:6.2f}  p50 {p50:6.2f}  p95 {p95:6.2f}  max {ordered[-1]:6.2f} ms"
    )


def bench_profile(stack: PcscStack, name: str, repetitions: int) -> None:
    card: EmulatedCard
    if name == "sle4442":
        card = Sle4442Card(memory=bytearray(FACTORY + bytes(224)), psc=PSC)
    else:
        card = MifareClassic1kCard()
        for sector in range(1, 16):
            card.set_trailer(sector, MIFARE_KEY, b"\xff" * 6)
    emulator = stack.insert(card)
    try:
        reader = PcscReader.from_settings(READER_NAME, name, PSC, MIFARE_KEY)
        first, second = images()
        reader.write(first)
        print(f"{name} ({repetitions} repetitions)")
        report("full read", timings_ms(lambda _i: _check_len(reader.read()), repetitions))
        report(
            "full write + verify",
            timings_ms(lambda i: reader.write(second if i % 2 == 0 else first), repetitions),
        )
        report(
            "16-byte write + verify",
            timings_ms(lambda i: reader.write(bytes([i % 256]) * 16, 0x40), repetitions),
        )
    finally:
        stack.eject(emulator)


def _check_len(image: bytes) -> None:
    assert len(image) == 256


def main() -> None:
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    stack = PcscStack()
    try:
        stack.start()
    except StackUnavailable as exc:
        print(f"PC/SC stack unavailable: {exc}")
        raise SystemExit(1) from exc
    try:
        print(f"pcscd ({stack.mode} socket {stack.socket_path}), vpcd on port {stack.port}")
        for name in ("sle4442", "mifare1k"):
            bench_profile(stack, name, repetitions)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

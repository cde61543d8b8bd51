"""The floor of a tap: only what any tap must do, to compare the kiosk's instructions with.

    python -m bench.floor [--taps 20]                   # instructions per floor tap, under callgrind
    python -m bench.floor [--taps 20] --read-and-idle   # the same with the card read and the idle frame
    python -m bench.floor [--taps 20] --read-and-idle --device pn532   # read over a virtual PN532

A floor tap: HMAC-SHA256 of the UID under the site key; one SQLite transaction in WAL with
synchronous=FULL (one event row inserted, the card's row replaced); one 128x64 frame drawn
with Pillow from text rendered once (cached glyph masks pasted, as the kiosk's layout does)
and pushed through luma.oled's SSD1306 driver to a bus that only counts bytes. Nothing
else: no rules, no nfcpy, no threads, no logging.

With `--read-and-idle` the floor also does the two parts a kiosk's tap cannot leave out, at
their plainest (`ReadingFloor`): the card is found through nfcpy's own stack over the
simulator's UDP device, as `kiosk run` finds it in bench.daemon (one `sense` of the shipped
[reader] targets, the identity taken from anticollision), and after the outcome's frame the
idle screen, packed once, is pushed through luma again so that the next customer does not
see the last one's screen. The field lies in the measuring process (`CustomerField`, out of
the count, as in bench.daemon): each time nfcpy drops the RF field, which its `sense` does
first, a new customer's card lies there, of the kinds bench.daemon taps in turn. With
`--device pn532` the card is found as a kiosk on a Pi finds it: nfcpy's pn532 driver on a
serial line (a pseudo-terminal to the virtual PN532, `sim.serial_line`, in the measuring
process) and the reader adapter's round, one InListPassiveTarget per technology in its own
frames (`kiosk.adapters.pn53x_probe.list_targets`); the chip switches its field off after a
round that found a card, and the next customer's card lies there.

`serve()` is the child's side: it waits for ``tap N`` on stdin, runs N floor taps and says
``done``, so the parent can switch callgrind's instrumentation on and off around them,
exactly as it does for `kiosk run` (bench.daemon).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from bench.daemon import _callgrind_total as callgrind_total
from bench.rig import CARD_KINDS
from kiosk.adapters.pn53x_line import SerialExchange
from kiosk.adapters.pn53x_probe import chipset_of, list_targets
from kiosk.adapters.reader import identify
from kiosk.core.layout import draw_text
from sim.cards import VirtualCard
from sim.nfc import VirtualField, make_card
from sim.pn532 import VirtualPn532
from sim.serial_line import PN532Line

BIT_REVERSED = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))
IDLE_LINES = ("Bench Café", "Tap your card", "to collect a stamp")


def ssd1306_pages(frame: Image.Image) -> bytes:
    """The SSD1306's 8 pages of 128 column bytes (top pixel in bit 0), packed in C: the
    transposed frame holds each column as one row of 8 bytes, MSB on top."""
    columns = frame.transpose(Image.Transpose.TRANSPOSE).tobytes()
    return b"".join(columns[page::8] for page in range(8)).translate(BIT_REVERSED)


class CountingBus:
    """What luma's i2c interface writes to: counts the bytes, keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0

    def write_i2c_block_data(self, address: int, control: int, data: list[int]) -> None:
        self.bytes += 1 + len(data)

    def i2c_rdwr(self, *messages: Any) -> None:  # luma uses it only with its own smbus2 bus
        raise NotImplementedError


class Floor:
    def __init__(self, state: Path) -> None:
        from luma.core.interface.serial import i2c
        from luma.oled.device import ssd1306

        from kiosk.fonts import load

        self.key = os.urandom(32)
        self.db = sqlite3.connect(state / "floor.sqlite3", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS events (rowid_ INTEGER PRIMARY KEY, id TEXT UNIQUE,"
                        " card_ref TEXT, kind TEXT, delta INTEGER, occurred_at TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS cards (card_ref TEXT PRIMARY KEY, state TEXT)")
        self.bus = CountingBus()
        self.device = ssd1306(i2c(bus=self.bus, address=0x3C))
        self.font = load().title
        self.count = 0

    def tap(self, uid: bytes) -> None:
        ref = hmac.new(self.key, uid, hashlib.sha256).hexdigest()
        self.count += 1
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO events (id, card_ref, kind, delta, occurred_at) VALUES (?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), ref, "stamp", 1, "2026-03-02T11:00:00Z"),
            )
            state = f'{{"stamps": {self.count}}}'
            self.db.execute("INSERT OR REPLACE INTO cards VALUES (?, ?)", (ref, state))
        frame = Image.new("1", (128, 64))
        draw = ImageDraw.Draw(frame)
        for line, text in enumerate(("Stamp added!", "7/10", "3 more to a free coffee")):
            draw_text(draw, (4, 4 + 20 * line), text, self.font, 1, "la")  # glyph masks cached
        self.push(ssd1306_pages(frame))

    def push(self, pages: bytes) -> None:
        """One whole frame through luma's ssd1306 to the bus."""
        self.device.command(0x21, 0, 127, 0x22, 0, 7)
        self.device.data(pages)


class ReadingFloor(Floor):
    """The floor, with the card found through nfcpy on `reader` (a device path) and the
    idle screen, packed once, pushed through luma after the outcome's frame."""

    def __init__(self, state: Path, reader: str) -> None:
        import nfc
        from nfc.clf import RemoteTarget

        from kiosk.config import from_mapping

        super().__init__(state)
        self.clf = nfc.ContactlessFrontend(reader)
        self.technologies = from_mapping({}).reader.targets
        self.targets = [RemoteTarget(brty) for brty in self.technologies]
        # a PN53x on a serial port: the kiosk's reader finds a card in its own round, one
        # InListPassiveTarget per technology in its own frames on nfcpy's port
        self.chipset = chipset_of(self.clf)
        self.line = SerialExchange.of(self.chipset) if self.chipset is not None else None
        idle = Image.new("1", (128, 64))
        draw = ImageDraw.Draw(idle)
        for line, text in enumerate(IDLE_LINES):
            draw_text(draw, (4, 4 + 20 * line), text, self.font, 1, "la")
        self.idle = ssd1306_pages(idle)

    def read_and_tap(self) -> None:
        if self.chipset is not None:
            found = list_targets(self.chipset, self.technologies, self.line)
            target = found[0] if found else None
        else:
            target = self.clf.sense(*self.targets)
        identity = identify(target) if target is not None else None
        if identity is None:
            raise RuntimeError("nfcpy found no card on the field")
        self.tap(identity[0])
        self.push(self.idle)

    def close(self) -> None:
        self.clf.close()


class Customers:
    """A queue of customers: a new card each time, of `kinds` in turn."""

    def __init__(self, kinds: tuple[str, ...] = CARD_KINDS) -> None:
        self.kinds = kinds
        self.count = 0

    def next_card(self) -> VirtualCard:
        kind = self.kinds[self.count % len(self.kinds)]
        self.count += 1
        return make_card(kind, name=f"floor-{self.count}")


class CustomerField(VirtualField):
    """The simulator's field for nfcpy's UDP device with a queue of customers: whenever the
    reader drops its RF field (nfcpy's `sense` does so first) the next card lies there."""

    def __init__(self, customers: Customers | None = None) -> None:
        super().__init__(quick_lifted=True)
        self.customers = customers or Customers()
        self.place(self.customers.next_card())

    def answer(self, datagram: bytes) -> bytes | None:
        if datagram.startswith(b"RFOFF"):
            self.place(self.customers.next_card())
            return None
        return super().answer(datagram)


class CustomerChip(VirtualPn532):
    """The virtual PN532 with a queue of customers: whenever it switches its RF field off
    with a card there (the kiosk's round does after finding one) the next card lies there."""

    def __init__(self, customers: Customers | None = None) -> None:
        super().__init__()
        self.customers = customers or Customers()
        self.field.place(self.customers.next_card())

    def _field(self, on: bool) -> None:
        was_on = self.field_on
        super()._field(on)
        if was_on and not on:
            self.field.place(self.customers.next_card())


def serve(reader: str = "") -> int:
    """The child: `reader` (an nfcpy device path) measures `ReadingFloor` instead of `Floor`."""
    if reader:
        return serve_reading(reader)
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        floor = Floor(Path(tmp))
        for n in range(3):  # warm: imports, caches, the first frame
            floor.tap(bytes([4, n, 2, 3, 4, 5, 6]))
        print("ready", flush=True)
        for command in sys.stdin:
            words = command.split()
            if words[:1] == ["tap"]:
                for n in range(int(words[1])):
                    floor.tap(bytes([4, n & 0xFF, n >> 8 & 0xFF, 3, 4, 5, 6]))
                print("done", flush=True)
            elif words[:1] == ["quit"]:
                break
    return 0


def serve_reading(reader: str) -> int:
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        floor = ReadingFloor(Path(tmp), reader)
        for _ in range(3):  # warm: imports, caches, the first frames
            floor.read_and_tap()
        print("ready", flush=True)
        for command in sys.stdin:
            words = command.split()
            if words[:1] == ["tap"]:
                for _ in range(int(words[1])):
                    floor.read_and_tap()
                print("done", flush=True)
            elif words[:1] == ["quit"]:
                break
        floor.close()
    return 0


FLOOR_METHOD = (
    "valgrind --tool=callgrind --instr-atstart=no on `python -m bench.floor --serve`; "
    "instrumentation on around N floor taps (HMAC of the UID, one SQLite transaction in WAL "
    "with synchronous=FULL, one 128x64 frame from cached glyph masks through luma.oled's "
    "ssd1306 to a byte-counting bus)"
)
READ_AND_IDLE_METHOD = {
    "udp": "as the floor, each tap also finding the card through nfcpy's own stack (one "
           "sense of the shipped [reader] targets over nfcpy's UDP device, the device "
           "bench.daemon's `kiosk run` reads, the simulator's field in the measuring "
           "process; the UID from anticollision) and pushing the idle screen, packed once, "
           "through luma after the outcome's frame (two frames per tap)",
    "pn532": "as the floor, each tap also finding the card through nfcpy's pn532 driver "
             "over a pseudo-terminal to the virtual PN532 in the measuring process (one "
             "round of InListPassiveTarget per shipped [reader] target in the kiosk's own "
             "frames on nfcpy's port, kiosk.adapters.pn53x_probe.list_targets, as the "
             "kiosk's reader finds a card on a Pi; the UID from anticollision) and pushing "
             "the idle screen, packed once, through luma after the outcome's frame (two "
             "frames per tap)",
}
CARDS_NOTE = "a new card per tap: NTAG213, NTAG215, MIFARE Classic 1K, FeliCa in turn"


@contextmanager
def customer_reader(device: str) -> Iterator[tuple[str, Customers]]:
    """A reader with a queue of customers on it, served in this process: its nfcpy path
    and the queue. `device`: "udp" (the simulator's field) or "pn532" (the virtual PN532
    on a serial line; LinkUnavailable when /dev cannot be written)."""
    customers = Customers()
    if device == "pn532":
        with PN532Line(chip=CustomerChip(customers)) as line:
            yield line.path, customers
    else:
        with CustomerField(customers) as field:
            yield field.path, customers


def instructions(taps: int, read_and_idle: bool = False, device: str = "udp") -> dict[str, Any]:
    """Instructions per floor tap, counted by callgrind around `taps` taps; with
    `read_and_idle`, of `ReadingFloor`'s taps on a `customer_reader(device)`."""
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    if valgrind is None or control is None:
        return {"skipped": "valgrind (callgrind) is not installed", "met": None}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp, ExitStack() as stack:
        out = Path(tmp)
        reader: list[str] = []
        customers = Customers()  # no reader: nobody comes
        if read_and_idle:
            path, customers = stack.enter_context(customer_reader(device))
            reader = ["--reader", path]
        child = subprocess.Popen(
            [valgrind, "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}/callgrind.out.%p", sys.executable, "-m", "bench.floor",
             "--serve", *reader],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("the floor script did not start under valgrind")
            before = set(out.glob("callgrind.out.*"))
            came = customers.count
            subprocess.run([control, "-i", "on", str(child.pid)], check=True, capture_output=True)
            child.stdin.write(f"tap {taps}\n")
            child.stdin.flush()
            if child.stdout.readline().strip() != "done":
                raise RuntimeError("the floor script stopped")
            subprocess.run([control, "-d", "floor", str(child.pid)], check=True, capture_output=True)
            subprocess.run([control, "-i", "off", str(child.pid)], check=True, capture_output=True)
            cards = customers.count - came
            dumps = sorted(set(out.glob("callgrind.out.*")) - before)
            if not dumps:
                raise RuntimeError("callgrind wrote no dump")
            total = callgrind_total(dumps[-1])
        finally:
            child.stdin.write("quit\n")
            child.stdin.close()
            child.wait(60)
    result: dict[str, Any] = {"method": FLOOR_METHOD, "taps": taps}
    if read_and_idle:
        if cards < taps:
            raise RuntimeError(f"{taps} taps found only {cards} cards on the reader")
        result = {"method": f"{READ_AND_IDLE_METHOD[device]}; {CARDS_NOTE}", "taps": taps,
                  "device": device, "cards_on_the_reader": cards}
    return {
        **result,
        "instructions_per_tap": round(total / taps),
        "million_per_tap": round(total / taps / 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--taps", type=int, default=20)
    parser.add_argument("--read-and-idle", action="store_true",
                        help="the floor with the card found through nfcpy and the idle frame")
    parser.add_argument("--device", choices=("udp", "pn532"), default="udp",
                        help="with --read-and-idle: the reader (pn532 needs root for /dev)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reader", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.reader)
    print(json.dumps(instructions(args.taps, args.read_and_idle, args.device), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

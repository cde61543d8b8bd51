"""The floor of a tap: only what any tap must do, to compare the kiosk's instructions with.

    python -m bench.floor [--taps 20]      # instructions per floor tap, under callgrind

A floor tap: HMAC-SHA256 of the UID under the site key; one SQLite transaction in WAL with
synchronous=FULL (one event row inserted, the card's row replaced); one 128x64 frame drawn
with Pillow from text rendered once (cached glyph masks pasted, as the kiosk's layout does)
and pushed through luma.oled's SSD1306 driver to a bus that only counts bytes. Nothing
else: no rules, no nfcpy, no threads, no logging.

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
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from bench.daemon import _callgrind_total as callgrind_total
from kiosk.core.layout import draw_text

BIT_REVERSED = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


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
        # the SSD1306's 8 pages of 128 column bytes (top pixel in bit 0), packed in C: the
        # transposed frame holds each column as one row of 8 bytes, MSB on top
        columns = frame.transpose(Image.Transpose.TRANSPOSE).tobytes()
        pages = b"".join(columns[page::8] for page in range(8)).translate(BIT_REVERSED)
        self.device.command(0x21, 0, 127, 0x22, 0, 7)
        self.device.data(pages)


def serve() -> int:
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


def instructions(taps: int) -> dict[str, Any]:
    """Instructions per floor tap, counted by callgrind around `taps` taps."""
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    if valgrind is None or control is None:
        return {"skipped": "valgrind (callgrind) is not installed", "met": None}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        out = Path(tmp)
        child = subprocess.Popen(
            [valgrind, "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}/callgrind.out.%p", sys.executable, "-m", "bench.floor", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("the floor script did not start under valgrind")
            before = set(out.glob("callgrind.out.*"))
            subprocess.run([control, "-i", "on", str(child.pid)], check=True, capture_output=True)
            child.stdin.write(f"tap {taps}\n")
            child.stdin.flush()
            if child.stdout.readline().strip() != "done":
                raise RuntimeError("the floor script stopped")
            subprocess.run([control, "-d", "floor", str(child.pid)], check=True, capture_output=True)
            subprocess.run([control, "-i", "off", str(child.pid)], check=True, capture_output=True)
            dumps = sorted(set(out.glob("callgrind.out.*")) - before)
            if not dumps:
                raise RuntimeError("callgrind wrote no dump")
            total = callgrind_total(dumps[-1])
        finally:
            child.stdin.write("quit\n")
            child.stdin.close()
            child.wait(60)
    return {
        "method": "valgrind --tool=callgrind --instr-atstart=no on `python -m bench.floor --serve`; "
                  "instrumentation on around N floor taps (HMAC of the UID, one SQLite "
                  "transaction in WAL with synchronous=FULL, one 128x64 frame from cached glyph "
                  "masks through luma.oled's ssd1306 to a byte-counting bus)",
        "taps": taps,
        "instructions_per_tap": round(total / taps),
        "million_per_tap": round(total / taps / 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--taps", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    print(json.dumps(instructions(args.taps), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

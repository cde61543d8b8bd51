"""A virtual SSD1306 / SH1106 controller behind a fake I2C bus.

luma.oled's real driver classes talk to it through luma.core's real `i2c(bus=...)`
interface: every write arrives as `write_i2c_block_data(address, control, bytes)` with
control 0x00 (commands) or 0x40 (display data), exactly as on the wire. The controller
decodes them into display RAM the way the chips do:

- SSD1306: addressing mode (0x20: horizontal, vertical, page), column and page windows
  (0x21, 0x22), page start 0xB0-0xB7 and column nibbles 0x00-0x1F in page mode;
- SH1106: page addressing only (0xB0-0xB7 + column nibbles) over 132-column RAM shown
  from column 2;
- both: display on/off (0xAE/0xAF), contrast (0x81), segment remap (0xA0/0xA1), COM scan
  direction (0xC0/0xC8), inverse (0xA6/0xA7), entire-display-on (0xA4/0xA5).

Orientation convention: the glass is taken to be wired as common modules are, so that
with segment remap (0xA1) and COM scan decrementing (0xC8) -- luma's init for both chips --
RAM column 0 / page 0 bit 0 is the top-left pixel. Display offset and start line are
recorded but not applied (luma sends 0 for both on the panels we support).

    >>> from luma.core.interface.serial import i2c
    >>> from luma.oled.device import ssd1306
    >>> bus = VirtualOled()
    >>> device = ssd1306(i2c(bus=bus, address=0x3C))
    >>> bus.display_on, bus.glass().getbbox() is None
    (True, True)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PIL import Image

if TYPE_CHECKING:
    from sim.oled_wire import WireBus

COMMAND, DATA = 0x00, 0x40
# names a unix datagram socket: the controller then runs in the process listening there
# (sim.oled_wire), and the kiosk's bus only sends it the bytes
WIRE_ENVIRONMENT = "SIM_OLED_WIRE"
Chip = Literal["ssd1306", "sh1106"]

# how many parameter bytes follow each multi-byte command
_PARAMS_COMMON = {
    0x81: 1, 0xA8: 1, 0xD3: 1, 0xD5: 1, 0xD9: 1, 0xDA: 1, 0xDB: 1, 0x8D: 1, 0xAD: 1,
}
_PARAMS_SSD1306 = {**_PARAMS_COMMON, 0x20: 1, 0x21: 2, 0x22: 2, 0xA3: 2,
                   0x26: 6, 0x27: 6, 0x29: 5, 0x2A: 5}
HORIZONTAL, VERTICAL, PAGE = 0, 1, 2
_REVERSED_BITS = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


class VirtualOled:
    """Display RAM and registers of one panel, fed by luma through `write_i2c_block_data`."""

    def __init__(
        self,
        chip: Chip = "ssd1306",
        width: int = 128,
        height: int = 64,
        address: int = 0x3C,
        frames_dir: str | Path | None = None,
        scale: int = 4,
    ) -> None:
        self.chip = chip
        self.width, self.height = width, height
        self.address = address
        self.ram_columns = 132 if chip == "sh1106" else 128
        self.column_offset = 2 if chip == "sh1106" else 0
        self.pages = height // 8
        self.ram = [bytearray(self.ram_columns) for _ in range(8)]
        self.frames_dir = Path(frames_dir) if frames_dir else None
        self.scale = scale
        self.params = _PARAMS_SSD1306 if chip == "ssd1306" else _PARAMS_COMMON
        # power-on reset values from the datasheets
        self.display_on = False
        self.contrast = 0x7F
        self.mode = PAGE
        self.col_start, self.col_end = 0, self.ram_columns - 1
        self.page_start, self.page_end = 0, 7
        self.column, self.page = 0, 0
        self.segment_remap = False
        self.com_decrement = False
        self.inverse = False
        self.entire_on = False
        self.registers: dict[int, tuple[int, ...]] = {}
        self._pending: list[int] = []
        self.bytes_written = 0  # payload bytes, control bytes not counted
        self.writes = 0
        self.frames_saved = 0
        self._last_saved: bytes | None = None
        # a probe's view of the wire: when the latest write ended (time.monotonic()), and a
        # listener told at each end of frame (that time, payload bytes since the last one)
        self.last_write_at: float | None = None
        self.on_frame: Callable[[float, int], None] | None = None
        self._frame_start_bytes = 0

    # -- the bus side: what luma.core's i2c interface calls ---------------------------

    def write_i2c_block_data(self, address: int, control: int, data: Sequence[int]) -> None:
        """One I2C write: `control` says whether `data` holds commands or display bytes."""
        if address != self.address:
            raise OSError(121, f"no device answers at I2C address 0x{address:02X}")
        self.writes += 1
        self.bytes_written += len(data)
        if control == COMMAND:
            for byte in data:
                self._command_byte(byte)
        elif control == DATA:
            self._data(data)
        else:
            raise ValueError(f"unknown control byte 0x{control:02X}")
        self.last_write_at = time.monotonic()

    def end_frame(self) -> None:
        """The driver finished an update: tell the listener, keep a PNG of the glass when
        it changed."""
        sent, self._frame_start_bytes = self.bytes_written - self._frame_start_bytes, self.bytes_written
        if self.on_frame is not None and sent and self.last_write_at is not None:
            self.on_frame(self.last_write_at, sent)
        if self.frames_dir is None:
            return
        view = self.view()
        raw = view.tobytes()
        if raw == self._last_saved:
            return
        self._last_saved = raw
        self.frames_dir.mkdir(parents=True, exist_ok=True)
        view.save(self.frames_dir / f"frame-{self.frames_saved:05d}.png")
        self.frames_saved += 1

    # -- decoding ----------------------------------------------------------------------

    def _command_byte(self, byte: int) -> None:
        if self._pending:
            self._pending.append(byte)
            if len(self._pending) == self.params[self._pending[0]] + 1:
                self._execute(self._pending[0], tuple(self._pending[1:]))
                self._pending = []
            return
        if byte in self.params:
            self._pending = [byte]
            return
        self._execute(byte, ())

    def _execute(self, op: int, args: tuple[int, ...]) -> None:
        if op in (0xAE, 0xAF):
            self.display_on = op == 0xAF
        elif op == 0x81:
            self.contrast = args[0]
        elif op in (0x20, 0x21, 0x22) and self.chip == "sh1106":
            pass  # not SH1106 commands (luma's sh1106 init sends a bare 0x20 anyway)
        elif op == 0x20:
            self.mode = args[0] & 0x03
        elif op == 0x21:
            self.col_start, self.col_end = args[0] & 0x7F, args[1] & 0x7F
            self.column = self.col_start
        elif op == 0x22:
            self.page_start, self.page_end = args[0] & 0x07, args[1] & 0x07
            self.page = self.page_start
        elif 0xB0 <= op <= 0xB7:
            self.page = op & 0x07
        elif op <= 0x0F:
            self.column = (self.column & 0xF0) | op
        elif 0x10 <= op <= 0x1F:
            self.column = ((op & 0x0F) << 4) | (self.column & 0x0F)
        elif op in (0xA0, 0xA1):
            self.segment_remap = op == 0xA1
        elif op in (0xC0, 0xC8):
            self.com_decrement = op == 0xC8
        elif op in (0xA6, 0xA7):
            self.inverse = op == 0xA7
        elif op in (0xA4, 0xA5):
            self.entire_on = op == 0xA5
        else:
            # clock, multiplex, offset, start line, charge pump, pre-charge...: kept for
            # inspection, they do not change which pixels are lit
            self.registers[op & 0xC0 if 0x40 <= op <= 0x7F else op] = args or (op,)

    def _data(self, data: Sequence[int]) -> None:
        """Display bytes: runs along a page row are copied at once, as many as fit before
        the column pointer wraps; anything else goes byte by byte. The simulator runs inside
        the measured kiosk process, so its decoding should not cost more than the chip's."""
        i, n = 0, len(data)
        while i < n:
            page_mode = self.mode == PAGE or self.chip == "sh1106"
            end = self.ram_columns if page_mode else self.col_end + 1
            run = min(n - i, end - self.column)
            if not page_mode and self.mode != HORIZONTAL or run <= 0:
                self._data_byte(data[i])
                i += 1
                continue
            self.ram[self.page][self.column:self.column + run] = bytes(data[i:i + run])
            i += run
            if page_mode:
                self.column = (self.column + run) % self.ram_columns
            else:
                self.column += run
                if self.column > self.col_end:
                    self.column = self.col_start
                    self.page = self.page_start if self.page >= self.page_end else self.page + 1

    def _data_byte(self, byte: int) -> None:
        if self.column < self.ram_columns:
            self.ram[self.page][self.column] = byte
        if self.mode == PAGE or self.chip == "sh1106":
            # page mode: the column pointer walks right and wraps within the same page
            self.column = (self.column + 1) % self.ram_columns
        elif self.mode == HORIZONTAL:
            self.column += 1
            if self.column > self.col_end:
                self.column = self.col_start
                self.page = self.page_start if self.page >= self.page_end else self.page + 1
        else:
            self.page += 1
            if self.page > self.page_end:
                self.page = self.page_start
                self.column = self.col_start if self.column >= self.col_end else self.column + 1

    # -- what a person sees --------------------------------------------------------------

    def glass(self) -> Image.Image:
        """Display RAM as the panel's 1-bit picture (ignores power and contrast)."""
        # Built in C from the RAM, not pixel by pixel: with frames_dir set this runs at every
        # frame inside the kiosk process being measured. Interleaved, each RAM column is one
        # packed row of `pages` bytes; bit-reversed, its top pixel (bit 0) is that row's MSB.
        pages = (self.height + 7) // 8
        packed = bytearray(self.ram_columns * pages)
        for page in range(pages):
            packed[page::pages] = self.ram[page].translate(_REVERSED_BITS)
        columns = Image.frombytes("1", (pages * 8, self.ram_columns), bytes(packed))
        ram = columns.transpose(Image.Transpose.TRANSPOSE)  # x: RAM column, y: RAM row
        left = self.column_offset
        image = ram.crop((left, 0, left + self.width, self.height))
        if not self.segment_remap:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if not self.com_decrement:
            image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        return image

    def lit(self) -> Image.Image:
        """The 1-bit picture as lit on the glass: off is black, inverse and all-on apply."""
        if not self.display_on:
            return Image.new("1", (self.width, self.height))
        if self.entire_on:
            return Image.new("1", (self.width, self.height), 1)
        image = self.glass()
        return image.point(lambda v: 255 - v, "1") if self.inverse else image

    def view(self) -> Image.Image:
        """The glass scaled up for a person, lit pixels as bright as the contrast."""
        level = 60 + self.contrast * 195 // 255
        grey = self.lit().point(lambda v: level if v else 0, "L")
        return grey.resize((self.width * self.scale, self.height * self.scale), Image.NEAREST)


def virtual_bus(
    *, chip: str, width: int, height: int, address: int, frames_dir: str
) -> VirtualOled | WireBus:
    """The factory kiosk.adapters.display finds through the `kiosk.display_buses` entry point."""
    if chip not in ("ssd1306", "sh1106"):
        raise ValueError(f"the virtual controller emulates ssd1306 or sh1106, not {chip}")
    wire = os.environ.get(WIRE_ENVIRONMENT)
    if wire:  # the controller runs in the measuring process (sim.oled_wire)
        from sim.oled_wire import WireBus

        return WireBus(wire, address)
    return VirtualOled(chip, width, height, address, frames_dir or None)  # type: ignore[arg-type]

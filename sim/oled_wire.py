"""The virtual OLED's controller in another process: the kiosk's side only puts bytes on a wire.

A measured `kiosk run` (bench.daemon's instructions per tap) should count what a Pi runs:
luma's driver writing its blocks to a bus, not the simulated chip decoding them. With
``SIM_OLED_WIRE`` naming a unix datagram socket in its environment, the simulator's bus
factory (sim.oled.virtual_bus) hands the kiosk a `WireBus`: each I2C block is appended to
the frame being written, and the whole frame goes out as one datagram when the display
says the frame ended (one system call per frame; smbus2 on a Pi makes one per transfer).
`OledWire`, in the measuring process, receives the frames and feeds them to a
`VirtualOled`, so the frames the kiosk sent can still be looked at.

    >>> import tempfile
    >>> from luma.core.interface.serial import i2c
    >>> from luma.oled.device import ssd1306
    >>> from PIL import Image
    >>> from sim.harness import wait_until
    >>> with tempfile.TemporaryDirectory() as tmp, OledWire(f"{tmp}/oled") as wire:
    ...     bus = WireBus(wire.path)
    ...     device = ssd1306(i2c(bus=bus, address=0x3C))
    ...     device.display(Image.new("1", (128, 64), 1))
    ...     bus.end_frame()
    ...     wait_until(lambda: wire.frames == 1, 5), wire.oled.glass().getbbox()
    (True, (0, 0, 128, 64))
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Sequence
from pathlib import Path

from sim.oled import VirtualOled

_BLOCK = struct.Struct("<BBH")  # address, control, length; then the block's bytes
_MAX_DATAGRAM = 1 << 16


class WireBus:
    """The kiosk's end: luma's `write_i2c_block_data` appends, `end_frame` sends."""

    def __init__(self, path: str | Path, address: int = 0x3C) -> None:
        self.path = str(path)
        self.address = address
        self._frame = bytearray()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def write_i2c_block_data(self, address: int, control: int, data: Sequence[int]) -> None:
        if address != self.address:
            raise OSError(121, f"no device answers at I2C address 0x{address:02X}")
        self._frame += _BLOCK.pack(address, control, len(data))
        self._frame += bytes(data)

    def end_frame(self) -> None:
        """Send what was written since the last frame (nothing when nothing was)."""
        if not self._frame:
            return
        frame, self._frame = bytes(self._frame), bytearray()
        # nobody listening any more (the measuring process stopped): a bus has no reply
        with contextlib.suppress(OSError):
            self._socket.sendto(frame, self.path)


class OledWire:
    """The measuring process's end: a datagram socket at `path` feeding a `VirtualOled`."""

    def __init__(self, path: str | Path, chip: str = "ssd1306", width: int = 128,
                 height: int = 64, address: int = 0x3C) -> None:
        self.path = str(path)
        self.oled = VirtualOled(chip, width, height, address)  # type: ignore[arg-type]
        self.frames = 0
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.path)
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="oled-wire", daemon=True)

    def __enter__(self) -> OledWire:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()
        Path(self.path).unlink(missing_ok=True)

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._socket.recv(_MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return
            at = 0
            while at + _BLOCK.size <= len(frame):
                address, control, length = _BLOCK.unpack_from(frame, at)
                at += _BLOCK.size
                self.oled.write_i2c_block_data(address, control, frame[at:at + length])
                at += length
            self.oled.end_frame()
            self.frames += 1

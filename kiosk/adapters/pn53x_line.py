"""One PN53x command over a serial line, for the reader's idle rounds, at a third of nfcpy's CPU.

nfcpy's `Chipset.command` costs the host about 0.3 ms of CPU per command here (pyserial
reconfigures the port at every read to set its timeout, flushes it before every write, reads
each frame in two or three pieces, and the frames are formatted for a debug log that is off);
an idle kiosk sends some 25 of them a second. This sends the same frame and reads the ACK and
the answer with `select` and `os.read` on the port nfcpy opened (about 0.1 ms), between
nfcpy's own commands, so the line is never used by both at once.

Frames (NXP UM0701-02 6.2): ``00 00 FF LEN LCS D4 CC data DCS 00`` to the chip; the chip
acknowledges with ``00 00 FF 00 FF 00`` and answers ``00 00 FF LEN LCS D5 CC+1 data DCS 00``,
or ``00 00 FF 01 FF 7F 81 00`` for a syntax error. Anything else raises `OSError` (EIO, or
ETIMEDOUT after sending the ACK that cancels the command, as nfcpy does); the reader then
closes and reopens the device, as after any fault of nfcpy's driver.

    >>> line = SerialExchange.of(chipset)                 # doctest: +SKIP
    >>> line.command(0x4A, b"\\x01\\x00", timeout=1.0)       # InListPassiveTarget, 106A
    b'\\x00'
"""

from __future__ import annotations

import errno
import os
import select
import termios
import time
from typing import Any

ACK = bytes.fromhex("0000ff00ff00")
START = b"\x00\xff"
HOST, CHIP, ERROR = 0xD4, 0xD5, 0x7F
MAX_DATA = 252  # a normal frame: LEN counts TFI, the command code and the data, at most 254


def command_frame(code: int, data: bytes) -> bytes:
    """The host's normal information frame for command `code` with `data`."""
    if len(data) > MAX_DATA:
        raise ValueError(f"{len(data)} bytes of data do not fit a normal frame")
    body = bytes([HOST, code]) + data
    return b"\x00\x00\xff" + bytes([len(body), -len(body) & 0xFF]) + body + bytes([-sum(body) & 0xFF, 0])


def first_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """The first frame in `buffer`: (ACK or the frame's TFI and data, bytes used), or
    (None, 0) while it is incomplete. Leading zeros (preamble) are skipped; other bytes
    before the start code (noise) and bad checksums raise EIO."""
    start = buffer.find(START)
    if buffer[:start if start >= 0 else len(buffer)].strip(b"\x00"):
        raise OSError(errno.EIO, "noise on the PN53x line")
    if start < 0 or len(buffer) < start + 4:
        return None, 0
    length, check = buffer[start + 2], buffer[start + 3]
    if (length, check) == (0x00, 0xFF):
        return ACK, start + 4
    if (length + check) & 0xFF or length == 0:
        raise OSError(errno.EIO, "PN53x frame with a bad length checksum")
    end = start + 4 + length + 1
    if len(buffer) < end:
        return None, 0
    body = buffer[start + 4:start + 4 + length]
    if (sum(body) + buffer[end - 1]) & 0xFF:
        raise OSError(errno.EIO, "PN53x frame with a bad data checksum")
    return body, end + (buffer[end:end + 1] == b"\x00")  # with its postamble when it came


class SerialExchange:
    """Commands to a PN53x on the serial port that nfcpy opened (its file descriptor)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def of(cls, chipset: Any) -> SerialExchange | None:
        """The exchange over an nfcpy chipset's serial port; None for other transports (USB)."""
        tty = getattr(getattr(chipset, "transport", None), "tty", None)
        fd = getattr(tty, "fd", None)
        return cls(fd) if isinstance(fd, int) else None

    def command(self, code: int, data: bytes, timeout: float) -> bytes:
        """Send command `code`, return the answer's data after its response code."""
        termios.tcflush(self._fd, termios.TCIFLUSH)  # leftovers of an exchange that failed
        frame = command_frame(code, data)
        while frame:
            frame = frame[os.write(self._fd, frame):]
        deadline = time.monotonic() + timeout
        buffer = b""
        while True:
            body, used = first_frame(buffer)
            if body is None:
                buffer += self._read(deadline)
                continue
            buffer = buffer[used:]
            if body == ACK:  # a lost ACK is forgiven when the answer comes (nfcpy does too)
                continue
            if body[0] == ERROR:
                raise OSError(errno.EIO, f"the PN53x refused command {code:#04x} (syntax error)")
            if body[:2] != bytes([CHIP, code + 1]):
                raise OSError(errno.EIO, f"unexpected PN53x frame {body[:2].hex()} for {code:#04x}")
            return body[2:]

    def _read(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left > 0 and select.select([self._fd], [], [], left)[0]:
            data = os.read(self._fd, 300)
            if data:
                return data
            raise OSError(errno.EIO, "the serial line closed")
        os.write(self._fd, ACK)  # cancel the command, as nfcpy does
        raise OSError(errno.ETIMEDOUT, "the PN53x did not answer in time")

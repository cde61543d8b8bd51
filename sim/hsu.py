"""PN532 host frames on a serial line (HSU), both ways: build them, and cut a byte stream
into them.

A normal frame is ``00 00 FF LEN LCS TFI PD0..PDn DCS 00`` (LEN counts TFI and data, LCS
makes LEN+LCS zero mod 256, DCS makes TFI+data+DCS zero); an extended frame, for more than
254 bytes, is ``00 00 FF FF FF LENM LENL LCS ...``. ACK is ``00 00 FF 00 FF 00``, NACK
``00 00 FF FF 00 00``. Facts from NXP's PN532 user manual (UM0701-02) as nfcpy reads them.

    >>> frame(0xD5, b"\\x03\\x32\\x01\\x06\\x07").hex()
    '0000ff06fad50332010607e800'
    >>> list(Splitter().feed(bytes.fromhex("00000000ff02fed4022a00")))
    [Frame(tfi=212, data=b'\\x02')]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

ACK = bytes.fromhex("0000ff00ff00")
NACK = bytes.fromhex("0000ffff0000")
ERROR = bytes.fromhex("0000ff01ff7f8100")  # application-level syntax error
HOST = 0xD4  # TFI of host-to-chip frames
CHIP = 0xD5  # TFI of chip-to-host frames
MAX_BODY = 265  # TFI + command + data: the PN532's largest host frame


def frame(tfi: int, data: bytes) -> bytes:
    """One information frame: normal up to 254 bytes of TFI+data, extended beyond."""
    body = bytes([tfi]) + data
    tail = bytes([-sum(body) & 0xFF, 0x00])
    if len(body) < 255:  # LEN = FF is how a reader tells an extended frame
        return b"\x00\x00\xff" + bytes([len(body), -len(body) & 0xFF]) + body + tail
    size = len(body).to_bytes(2, "big")
    return b"\x00\x00\xff\xff\xff" + size + bytes([-sum(size) & 0xFF]) + body + tail


@dataclass(frozen=True)
class Frame:
    """An information frame with good checksums."""

    tfi: int
    data: bytes  # command code first


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Nack:
    pass


@dataclass(frozen=True)
class Garbled:
    """A frame whose length or data checksum failed: a real chip drops it, unanswered."""

    why: str


Event = Frame | Ack | Nack | Garbled


class Splitter:
    """Cuts a byte stream into frames. Bytes before a start code (the wake-up preamble,
    noise) are skipped; a frame may arrive in pieces, so the unfinished tail is kept."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> bool:
        """Part of a frame is waiting for the rest."""
        return bool(self._buffer)

    def drop(self) -> None:
        """Forget an unfinished frame (the line stayed silent too long for it to be one)."""
        self._buffer.clear()

    def feed(self, data: bytes) -> Iterator[Event]:
        self._buffer += data
        while True:
            start = self._buffer.find(b"\x00\xff")
            if start < 0:
                # keep a trailing 00: it may be the first half of the next start code
                del self._buffer[: max(0, len(self._buffer) - 1)]
                if self._buffer and self._buffer[0] != 0:
                    self._buffer.clear()
                return
            del self._buffer[:start]
            event, used = _one(bytes(self._buffer))
            if used == 0:
                return  # wait for more bytes
            del self._buffer[:used]
            yield event


def _one(buf: bytes) -> tuple[Event, int]:
    """The event at the start of `buf` (which begins with 00 FF) and the bytes it used;
    0 bytes used when the frame is not complete yet."""
    if len(buf) < 4:
        return Garbled("short"), 0
    length, check = buf[2], buf[3]
    if (length, check) == (0x00, 0xFF):
        return Ack(), 4
    if (length, check) == (0xFF, 0x00):
        return Nack(), 4
    head = 4
    if (length, check) == (0xFF, 0xFF):  # extended
        if len(buf) < 7:
            return Garbled("short"), 0
        if (buf[4] + buf[5] + buf[6]) & 0xFF:
            return Garbled("extended length checksum"), 2
        length, head = buf[4] << 8 | buf[5], 7
    elif (length + check) & 0xFF:
        return Garbled("length checksum"), 2
    if length == 0 or length > MAX_BODY:
        return Garbled(f"length {length}"), 2
    if len(buf) < head + length + 1:
        return Garbled("short"), 0
    body, dcs = buf[head : head + length], buf[head + length]
    if (sum(body) + dcs) & 0xFF:
        return Garbled("data checksum"), head + length + 1
    return Frame(body[0], bytes(body[1:])), head + length + 1

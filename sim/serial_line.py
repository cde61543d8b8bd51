"""The virtual PN532 on a serial line: a pseudo-terminal that nfcpy opens as a UART.

nfcpy finds serial ports only by name under ``/dev`` (``tty:AMA0`` → ``/dev/ttyAMA0``; any
other name is taken as is), so the line links its pseudo-terminal as ``/dev/<name>`` and
the kiosk's reader path is ``tty:<name>:pn532``. Making that link needs write access to
``/dev`` (root, as in CI); without it `start()` raises `LinkUnavailable`.

    >>> with PN532Line() as line:                          # doctest: +SKIP
    ...     config.reader.path = line.path                  # "tty:kiosk-pn532-…:pn532"
    ...     line.place(make_card("ntag213"))

The line carries what a UART carries: each byte takes 10 bit times at the speed both ends
set (a chip and a host at different speeds read each other as noise, so the chip drops
what it hears until the host follows a SetSerialBaudRate), and the chip sleeps after
PowerDown, losing the first bytes that wake it (which is why nfcpy sends a preamble).

While the chip polls by itself (InAutoPoll) it keeps listening to the line: what the host
sends then (the ACK that aborts it) ends the polling and is read as usual.

Faults, for the reader adapter's tests: `tamper()` replaces or garbles the chip's next
frames (noise before a frame, a NACK storm, a frame cut halfway, fuzzed bytes); `unplug()`
closes the line (the host's reads and writes fail, the ``/dev`` name disappears) and
`replug()` brings a fresh one back under the same name.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import select
import termios
import threading
import tty
from collections import deque
from collections.abc import Callable

from sim import hsu
from sim.cards import VirtualCard
from sim.pn532 import ACK_DELAY, VirtualPn532, response

log = logging.getLogger(__name__)

WAKE_LOST_BYTES = 3  # bytes a sleeping chip loses while its HSU wakes up
SILENCE = 0.05  # an unfinished frame followed by this much silence is dropped
AUTO_POLL = 0x60  # InAutoPoll: the chip polls by itself, the host may abort with an ACK
SPEEDS = {getattr(termios, f"B{b}"): b for b in (9600, 19200, 38400, 57600, 115200, 230400,
                                                 460800, 921600) if hasattr(termios, f"B{b}")}
_names = itertools.count()


class LinkUnavailable(RuntimeError):
    """The line cannot be named under /dev (not root): nfcpy would not find it."""


Tamper = Callable[[bytes], bytes]


class PN532Line:
    """A `VirtualPn532` answering on a pseudo-terminal linked as ``/dev/<name>``."""

    def __init__(self, name: str = "", chip: VirtualPn532 | None = None) -> None:
        self.name = name or f"kiosk-pn532-{os.getpid()}-{next(_names)}"
        self.chip = chip if chip is not None else VirtualPn532()
        self._master: int | None = None
        self._slave: int | None = None  # held so the line stays up while the host reopens it
        self._plugged = threading.Event()
        self._want_plugged = True
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tampers: deque[Tamper] = deque()
        self._last = b""  # the last frame sent, sent again on a NACK
        self._wake_left = 0
        self.frames_sent = 0
        self.polls = 0  # InListPassiveTarget commands run: one per technology per poll round
        self.auto_polls = 0  # InAutoPoll commands ended (a card found, pollings done, aborted)
        self.auto_polling = False  # the chip is polling by itself now (InAutoPoll)
        self._heard_during_poll = b""

    # -- life cycle --------------------------------------------------------------------
    @property
    def device(self) -> str:
        return f"/dev/{self.name}"

    @property
    def path(self) -> str:
        """The nfcpy device path of this line."""
        return f"tty:{self.name}:pn532"

    def start(self) -> PN532Line:
        """Open the line and serve it in a thread (a second call changes nothing)."""
        if self._thread is not None:
            return self
        self._open()
        self._thread = threading.Thread(target=self._serve, name=f"pn532:{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def __enter__(self) -> PN532Line:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # bytes pass as they are, whatever the host sets later
        os.set_blocking(master, False)  # a host that stops reading must not stall the chip
        try:
            if os.path.lexists(self.device):
                os.unlink(self.device)
            os.symlink(os.ttyname(slave), self.device)
        except PermissionError as error:
            os.close(master)
            os.close(slave)
            raise LinkUnavailable(f"cannot link {self.device}: {error.strerror}") from error
        self._master, self._slave = master, slave
        self.chip.baud, self.chip.pending_baud, self.chip.asleep = 115200, None, False
        self._plugged.set()

    def _close(self) -> None:
        self._plugged.clear()
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.device)

    # -- faults ------------------------------------------------------------------------
    def tamper(self, *changes: Tamper) -> None:
        """Each change rewrites one of the next frames the chip sends (ACKs included)."""
        with self._changed:
            self._tampers.extend(changes)

    @property
    def tampers_left(self) -> int:
        return len(self._tampers)

    def unplug(self) -> None:
        """The cable comes out: the host's next read or write fails, the name vanishes."""
        self._set_plugged(False)

    def replug(self) -> None:
        """A fresh line under the same name, the chip powered up again."""
        self._set_plugged(True)

    def _set_plugged(self, plugged: bool) -> None:
        with self._changed:
            self._want_plugged = plugged
            if not self._changed.wait_for(lambda: self._plugged.is_set() == plugged, 5):
                raise RuntimeError("the line's thread did not follow")

    # -- what lies on the reader (the same calls as sim.nfc.VirtualField) ---------------
    @property
    def card(self) -> VirtualCard | None:
        return self.chip.field.card

    def place(self, card: VirtualCard) -> VirtualCard:
        return self.chip.field.place(card)

    def remove(self) -> VirtualCard | None:
        return self.chip.field.remove()

    def wait_polls(self, count: int, timeout: float) -> bool:
        """Wait until the host listed targets `count` more times (empty or not)."""
        return self._wait_more(lambda: self.polls, count, timeout)

    def wait_sent(self, frames: int, timeout: float) -> bool:
        """Wait until the chip sent `frames` more frames (ACKs and responses)."""
        return self._wait_more(lambda: self.frames_sent, frames, timeout)

    def wait_auto_polling(self, timeout: float) -> bool:
        """Wait until the chip polls by itself (the host sent InAutoPoll)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.auto_polling, timeout)

    def _wait_more(self, counter: Callable[[], int], more: int, timeout: float) -> bool:
        with self._changed:
            target = counter() + more
            return self._changed.wait_for(lambda: counter() >= target, timeout)

    # -- the line ----------------------------------------------------------------------
    def _serve(self) -> None:
        splitter = hsu.Splitter()
        while not self._stop.is_set():
            with self._changed:
                if self._want_plugged != self._plugged.is_set():
                    self._close() if not self._want_plugged else self._open()
                    self._changed.notify_all()
            master = self._master
            if master is None:
                self._stop.wait(0.01)
                continue
            if not select.select([master], [], [], SILENCE)[0]:
                splitter.drop()
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # no host has the line open: nothing to hear
                self._stop.wait(0.005)
                continue
            data = self._hear(master, data)
            while data:
                for event in splitter.feed(data):
                    self._on(master, event)
                # what the host sent while the chip was polling by itself (InAutoPoll)
                held, self._heard_during_poll = self._heard_during_poll, b""
                data = self._hear(master, held) if held else b""

    def _hear(self, master: int, data: bytes) -> bytes:
        if self.chip.asleep:
            self.chip.asleep, self._wake_left = False, WAKE_LOST_BYTES
        if self._wake_left:
            lost, self._wake_left = data[: self._wake_left], max(0, self._wake_left - len(data))
            data = data[len(lost):]
        # The host sends the ACK that confirms a new speed and switches its port at once;
        # it reaches the chip written at the old speed, so both are heard until then.
        if self._host_speed(master) not in (None, self.chip.baud, self.chip.pending_baud):
            return b""  # framing errors: the chip hears noise
        return data

    def _host_speed(self, master: int) -> int | None:
        try:
            return SPEEDS.get(termios.tcgetattr(master)[4])
        except termios.error:
            return None

    def _on(self, master: int, event: hsu.Event) -> None:
        if isinstance(event, hsu.Ack):
            if self.chip.pending_baud is not None:  # the host confirmed SetSerialBaudRate
                self.chip.baud, self.chip.pending_baud = self.chip.pending_baud, None
            return
        if isinstance(event, hsu.Nack):
            if self._last:
                self._send(master, self._last)
            return
        if self.chip.pending_baud is not None and self._host_speed(master) == self.chip.pending_baud:
            # The host sent its ACK and reopened the port at the new speed; nfcpy flushes the
            # port's output when it reopens it, which on a pseudo-terminal can drop an ACK the
            # chip had not read yet. On a UART the ACK has reached the hardware FIFO by then.
            self.chip.baud, self.chip.pending_baud = self.chip.pending_baud, None
        if isinstance(event, hsu.Garbled) or event.tfi != hsu.HOST or not event.data:
            log.debug("pn532: dropped %s", event)
            return
        self._stop.wait(ACK_DELAY)
        self._send(master, hsu.ACK)
        command = event.data[0]
        if command == AUTO_POLL:
            self._set_auto_polling(True)
            try:
                auto = self.chip.in_auto_poll(event.data[1:], lambda s: self._host_spoke(master, s))
            finally:
                self._set_auto_polling(False)
            if auto is None:
                return  # aborted by the host: nothing is sent
            reply = auto
        else:
            reply = self.chip.handle(command, event.data[1:])
        if command == 0x4A:
            self._count("polls")
        self._stop.wait(reply.seconds)
        self._last = response(command, reply)
        self._send(master, self._last)

    def _set_auto_polling(self, polling: bool) -> None:
        with self._changed:
            self.auto_polling = polling
            self.auto_polls += not polling
            self._changed.notify_all()

    def _count(self, counter: str) -> None:
        with self._changed:
            setattr(self, counter, getattr(self, counter) + 1)
            self._changed.notify_all()

    def _host_spoke(self, master: int, seconds: float) -> bool:
        """Wait `seconds` while the chip polls by itself; True when the host sent something,
        which ends the polling: an ACK is the manual's abort, and a frame sent instead is
        run next (the bytes are kept for the splitter)."""
        if self._stop.is_set() or not self._want_plugged:
            return True  # the line is going away: nobody would hear the answer
        try:
            if not select.select([master], [], [], seconds)[0]:
                return False
            data = os.read(master, 4096)
        except OSError:  # the host closed the line
            return True
        self._heard_during_poll += data
        return bool(data)

    def _send(self, master: int, frame: bytes) -> None:
        with self._changed:
            if self._tampers:
                frame = self._tampers.popleft()(frame)
        self._stop.wait(10 * len(frame) / self.chip.baud)  # start bit, 8 data bits, stop bit
        try:
            os.write(master, frame)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EIO):
                raise
        with self._changed:
            self.frames_sent += 1
            self._changed.notify_all()


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.serial_line [--name NAME]`: a virtual PN532 in its own process (so a
    benchmark counts only the kiosk's CPU). Prints ``path <nfcpy path>``, then reads
    ``place KIND NAME`` (answers ``placed <time.monotonic()>``), ``remove``, ``polls N``
    (answers ``polled`` once the host listed targets N more times), ``autopolling`` (answers
    ``polled`` once the chip polls by itself) and ``quit``."""
    import argparse
    import sys
    import time

    from sim.nfc import make_card

    parser = argparse.ArgumentParser(prog="python -m sim.serial_line", description=main.__doc__)
    parser.add_argument("--name", default="")
    args = parser.parse_args(argv)
    try:
        line = PN532Line(args.name).start()
    except LinkUnavailable as error:
        print(f"error {error}", flush=True)
        return 1
    try:
        print(f"path {line.path}", flush=True)
        for command in sys.stdin:
            words = command.split()
            if words[:1] == ["place"] and len(words) == 3:
                line.place(make_card(words[1], name=words[2]))
                print(f"placed {time.monotonic():.6f}", flush=True)
            elif words[:1] == ["remove"]:
                line.remove()
                print("removed", flush=True)
            elif words[:1] == ["polls"] and len(words) == 2:
                print("polled" if line.wait_polls(int(words[1]), 30) else "timeout", flush=True)
            elif words[:1] == ["autopolling"]:
                print("polled" if line.wait_auto_polling(30) else "timeout", flush=True)
            elif words[:1] == ["quit"]:
                break
    finally:
        line.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

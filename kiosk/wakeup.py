"""Stop and reload requests for the main loop, from signal handlers and other threads.

A Python signal handler runs on the main thread between two bytecodes, wherever that
thread is: inside `threading.Event.wait()` it may already hold the Event's lock, which is
not re-entrant, so a handler that calls `Event.set()` can deadlock the process. Here a
handler only assigns a flag; the byte that wakes the loop is written by the interpreter's
C-level handler to a socket (`signal.set_wakeup_fd`), and the loop waits on that socket
with `select`. Other threads ask the same way: flag first, then a byte.

    requests = Requests()
    requests.install_signals()          # main thread only
    while not requests.stop:
        requests.wait(0.25)
        if requests.take_reload(): ...
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RELOAD_SIGNALS = (signal.SIGHUP,)


class Requests:
    """What the main loop has been asked to do: stop, reload. Safe from signal handlers."""

    def __init__(self) -> None:
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self.stop = False
        self._reload = False
        self._installed: dict[int, Any] = {}  # signal -> the handler it had before
        self._previous_fd: int | None = None

    def install_signals(self) -> None:
        """SIGTERM and SIGINT ask to stop, SIGHUP to reload (call on the main thread)."""
        # the interpreter writes the signal's number here from its C handler, at once:
        # a full buffer only means the loop is already awake, hence no warning
        self._previous_fd = signal.set_wakeup_fd(self._wake_write.fileno(), warn_on_full_buffer=False)
        for number in STOP_SIGNALS:
            self._installed[number] = signal.signal(number, self._on_stop_signal)
        for number in RELOAD_SIGNALS:
            self._installed[number] = signal.signal(number, self._on_reload_signal)

    # the handlers: a flag and nothing else (no lock, no I/O, no logging)
    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop = True

    def _on_reload_signal(self, signum: int, frame: FrameType | None) -> None:
        self._reload = True

    def ask_stop(self) -> None:
        """Stop the loop (from any thread)."""
        self.stop = True
        self._poke()

    def ask_reload(self) -> None:
        """Reload at the loop's next turn (from any thread); several asks make one reload."""
        self._reload = True
        self._poke()

    def take_reload(self) -> bool:
        """Whether a reload was asked since the last call."""
        asked, self._reload = self._reload, False
        return asked

    def wait(self, timeout: float) -> None:
        """Return after `timeout` seconds, or sooner when something was asked."""
        if self.stop or self._reload:
            return
        readable, _, _ = select.select([self._wake_read], [], [], timeout)
        if readable:
            self._drain()

    def close(self) -> None:
        """Stop listening; the signal handlers and wake-up fd installed before come back."""
        if self._previous_fd is not None:
            signal.set_wakeup_fd(self._previous_fd)
            for number, handler in self._installed.items():
                signal.signal(number, signal.SIG_DFL if handler is None else handler)
            self._previous_fd, self._installed = None, {}
        self._wake_read.close()
        self._wake_write.close()

    def _poke(self) -> None:
        # full: the loop is awake already; closed: it stopped
        with contextlib.suppress(OSError):
            self._wake_write.send(b"\0")

    def _drain(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: drained
            while self._wake_read.recv(4096):
                pass

"""A kiosk reader adapter running against a virtual field, for tests, benchmarks and demos;
`running_app`, the whole App as `kiosk run` runs it; `wait_until`, for state that
changes elsewhere without telling anyone; and `free_port`.

    >>> with ReaderRig(section) as rig:                       # doctest: +SKIP
    ...     rig.field.place(make_card("ntag213"))
    ...     assert rig.wait_for(lambda: len(rig.reads) == 1, timeout=10)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kiosk.adapters.reader import CardRead, LinkWriter, Reader
from kiosk.app import App
from kiosk.config import ReaderSection
from sim.nfc import VirtualField
from sim.serial_line import PN532Line


class ReaderRig:
    """Field (the UDP field, or a PN532 on its serial line) + Reader thread; every read and
    status change is recorded (and passed on)."""

    def __init__(
        self,
        section: ReaderSection,
        field: VirtualField | PN532Line | None = None,
        on_card: Callable[[CardRead], Any] | None = None,
        writer: LinkWriter | None = None,
    ) -> None:
        self._writer = writer
        self.field: VirtualField | PN532Line = field if field is not None else VirtualField()
        self._section = section
        self._on_card = on_card
        self.reads: list[CardRead] = []
        self.results: list[Any] = []
        self.statuses: list[bool] = []
        self._changed = threading.Condition()
        self.stop = threading.Event()
        self.reader: Reader | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ReaderRig:
        self.field.start()
        # the reader is pointed at this field whatever the section said
        self._section = self._section.model_copy(update={"path": self.field.path})
        self.reader = Reader(self._section, self._card, self._status, self._writer)
        self._thread = threading.Thread(target=self.reader.run, args=(self.stop,), name="reader")
        self._thread.start()
        return self

    def close(self) -> bool:
        """Stop the reader and the field; True when the reader thread ended."""
        self.stop.set()
        ended = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            ended = not self._thread.is_alive()
        self.field.stop()
        return ended

    def __enter__(self) -> ReaderRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _card(self, read: CardRead) -> None:
        result = self._on_card(read) if self._on_card is not None else None
        with self._changed:
            self.reads.append(read)
            self.results.append(result)
            self._changed.notify_all()

    def _status(self, online: bool) -> None:
        with self._changed:
            self.statuses.append(online)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate()` holds after some read or status change; False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def settle(self, rounds: int = 3, timeout: float = 10.0) -> bool:
        """Wait until the reader polled `rounds` more times: it has seen the field as it is."""
        return self.field.wait_polls(rounds * len(self._section.targets), timeout)


@contextmanager
def running_app(app: App) -> Iterator[App]:
    """Boot `app` and run its main loop in a thread, as `kiosk run` does on its main thread;
    stop it after. RuntimeError when it does not start (its log says why)."""
    code = app.boot()
    if code is not None:
        raise RuntimeError(f"the kiosk did not start (exit code {code}); see its log")
    loop = threading.Thread(target=app.loop, name="kiosk-loop", daemon=True)
    loop.start()
    try:
        yield app
    finally:
        app.stop()
        loop.join(timeout=5)
        app.shutdown()


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.01) -> bool:
    """Poll `predicate` every `step` seconds until it holds or `timeout` passes: for state
    that another process (or a library) changes without an event to wait on."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A loopback port free right now (TCP, or UDP for a virtual field), for a child process
    that has to be told its port before it starts."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

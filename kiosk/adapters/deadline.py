"""A deadline on a whole HTTP request, where `requests` only bounds each read.

requests' read time-out restarts at every byte: a server that sends one byte a second
holds a request for as long as it likes. Here each request runs under a watchdog timer;
when the deadline passes, the timer shuts the request's socket down, which ends the
blocked read at once (the request then fails, and the caller is told it was the deadline).

    session = requests.Session()
    watch = mount_deadline(session)
    with watch.limit(13.0) as run:
        response = session.get(url, timeout=(3.0, 10.0))
    run.expired   # True when the watchdog cut the request
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# the run a thread's request belongs to, for its connection to report to
_in_use = threading.local()


def _attach(connection: HTTPConnection) -> None:
    run = getattr(_in_use, "run", None)
    if run is not None:
        run.attach(connection)


class _WatchedHTTP(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPS(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # the documented way for a PoolManager to build its own pool classes
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


@dataclass
class Run:
    """One request under a deadline: `expired` once the watchdog has cut it."""

    expired: bool = False
    connection: HTTPConnection | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, connection: HTTPConnection) -> None:
        with self.lock:
            self.connection = connection
            late = self.expired
        if late:
            self.cut()

    def cut(self) -> None:
        with self.lock:
            self.expired = True
            sock = None if self.connection is None else self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: the request is over anyway
                sock.shutdown(socket.SHUT_RDWR)


RECUT = 0.1  # seconds between cuts after the deadline (a socket still connecting has none yet)


class Watch:
    """Deadlines for the requests of one session (used by one thread at a time)."""

    @contextmanager
    def limit(self, seconds: float) -> Iterator[Run]:
        run = Run()
        done = threading.Event()
        _in_use.run = run
        dog = threading.Thread(
            target=self._guard, args=(run, done, seconds), name="http-deadline", daemon=True
        )
        dog.start()
        try:
            yield run
        finally:
            done.set()
            _in_use.run = None

    @staticmethod
    def _guard(run: Run, done: threading.Event, seconds: float) -> None:
        if done.wait(seconds):
            return
        run.cut()
        while not done.wait(RECUT):
            run.cut()


def mount_deadline(session: requests.Session) -> Watch:
    """Mount watched adapters on `session`; returns the Watch that sets their deadlines."""
    watched = _WatchedAdapter()
    session.mount("http://", watched)
    session.mount("https://", watched)
    return Watch()

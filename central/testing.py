"""Helpers for tests and benchmarks: a real uvicorn server on loopback, and a tiny client.

    >>> with running_server("/tmp/central.sqlite3") as base_url:   # doctest: +SKIP
    ...     token = add_kiosk("/tmp/central.sqlite3", "kiosk-1")
    ...     Client(base_url, token).get("/v1/health").status
    200
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import uvicorn

from central import store
from central.app import DEFAULT_LIMITS, Clock, create_app
from central.db import Database, open_database
from central.serving import Limits, listening_socket, uvicorn_config
from kiosk.core.events import Event, EventKind

T = TypeVar("T")


def event_dict(
    kiosk_id: str,
    card_ref: str,
    seq: int,
    occurred_at: datetime,
    *,
    kind: EventKind = EventKind.STAMP,
    delta: int = 1,
    reward_id: str | None = None,
    event_id: str | None = None,
    program_version: str = "1",
) -> dict[str, Any]:
    """One event in wire form (Event.to_dict()), with a fresh UUID unless one is given."""
    return Event(
        id=event_id or str(uuid.uuid4()),
        kiosk_id=kiosk_id,
        seq=seq,
        card_ref=card_ref,
        kind=kind,
        delta=delta,
        reward_id=reward_id,
        program_version=program_version,
        occurred_at=occurred_at,
    ).to_dict()


def add_kiosk(db_url: str, kiosk_id: str, *, shop: str | None = None,
              org: str | None = None) -> str:
    """Register a kiosk in the database at `db_url` (in `shop` of `org`, default: the only
    one); returns its bearer token."""
    return _issued(db_url, lambda db: store.add_kiosk(db, kiosk_id, datetime.now(UTC),
                                                      shop=shop, org=org))


def add_owner_key(db_url: str, name: str, *, org: str | None = None) -> str:
    """Make an owner API key in the database at `db_url`; returns the key."""
    return _issued(db_url, lambda db: store.add_owner_key(db, name, datetime.now(UTC), org=org))


def add_org(db_url: str, name: str, *shop_names: str) -> None:
    """Add an organisation with the named shops to the database at `db_url`."""
    def build(db: Database) -> None:
        store.add_org(db, name, datetime.now(UTC))
        for shop in shop_names:
            store.add_shop(db, shop, datetime.now(UTC), org=name)
    _issued(db_url, build)


def _issued(db_url: str, issue: Callable[[Database], T]) -> T:
    db = open_database(db_url)
    try:
        return issue(db)
    finally:
        db.dispose()


@contextmanager
def running_server(
    db_url: str, *, clock: Clock | None = None, startup_timeout: float = 10.0,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[str]:
    """Serve the central API on 127.0.0.1 (a free port) in a background thread.

    Yields the base URL, e.g. ``http://127.0.0.1:41234``; stops the server on exit.
    """
    sock = listening_socket()
    port = sock.getsockname()[1]
    app = create_app(db_url, clock=clock, limits=limits)
    server = uvicorn.Server(uvicorn_config(app, limits, "warning"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="central-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the central server did not start")
        time.sleep(0.01)  # polling a flag uvicorn sets; it offers no event to wait on
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """A keep-alive HTTP/1.1 client for one base URL (stdlib only; one per thread)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request; a dropped keep-alive connection is reopened, not retried."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request(method, path, body=body, headers=sent)
            answer = self._conn.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if answer.will_close:
            self.close()
        return Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def send_json(self, method: str, path: str, data: Any) -> Reply:
        return self.request(method, path, json.dumps(data).encode())

    def post_events(self, events: list[dict[str, Any]]) -> Reply:
        return self.send_json("POST", "/v1/events", {"events": events})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class ServerProcess:
    """`kiosk-central serve` as a child process on a free loopback port (`extra`: more
    options, e.g. --workers 2)."""

    def __init__(self, db: str | os.PathLike[str], *extra: str) -> None:
        command = [sys.executable, "-m", "central.cli", "serve", "--db", str(db),
                   "--port", "0", "--log-level", "error", *extra]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"kiosk-central serve did not start (said {line!r})")
        self.url = line.split("http://", 1)[1].split()[0].join(("http://", ""))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc.poll() is None:
            self.stop()

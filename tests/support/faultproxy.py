"""A fault-injecting HTTP proxy on loopback, between a kiosk and the central server.

It is a real TCP server (keep-alive HTTP/1.1) that forwards each request to the
upstream server and can, per request, break the exchange the ways a shop's network
does. Faults are queued and each is used by one request, in order; when the queue is
empty requests pass. `refusing()` stops listening altogether, so connects are refused.

    with FaultProxy(server_url) as proxy:
        proxy.inject(Fault.lost(), Fault.status(503), Fault.too_many(retry_after="2"))
        worker = SyncWorker(section_pointing_at(proxy.url), ...)

The kinds that forward first (`lost`, `slow`, `garbage`) let the server commit before
the kiosk hears nothing useful: the hardest case for exactly-once.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"}


class Kind(StrEnum):
    PASS = "pass"
    RESET = "reset"  # read the request, answer with a TCP reset; the server never sees it
    STATUS = "status"  # answer `status` ourselves; the server never sees it
    SLOW = "slow"  # forward, then hold the server's answer for `delay` seconds
    GARBAGE = "garbage"  # forward, then answer 200 with `body` instead of the server's
    LOST = "lost"  # forward, read the server's answer, then drop the client connection


GARBAGE_BODIES = (
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"results": [',
    b'{"results": [], "cards": {}}',
    b'{"results": "ok"}',
    b"[1, 2, 3]",
    b"\x00\xff\xfe garbage",
    b'{"results": [{"id": "not-an-event-we-sent", "status": "accepted"}], "cards": {}}',
)


@dataclass(frozen=True)
class Fault:
    kind: Kind
    status: int = 0
    retry_after: str | None = None
    delay: float = 0.0
    body: bytes = b""

    @classmethod
    def reset(cls) -> Fault:
        return cls(Kind.RESET)

    @classmethod
    def status_code(cls, status: int, retry_after: str | None = None) -> Fault:
        return cls(Kind.STATUS, status=status, retry_after=retry_after)

    @classmethod
    def too_many(cls, retry_after: str) -> Fault:
        return cls(Kind.STATUS, status=429, retry_after=retry_after)

    @classmethod
    def slow(cls, delay: float) -> Fault:
        return cls(Kind.SLOW, delay=delay)

    @classmethod
    def garbage(cls, body: bytes = GARBAGE_BODIES[0]) -> Fault:
        return cls(Kind.GARBAGE, body=body)

    @classmethod
    def lost(cls) -> Fault:
        return cls(Kind.LOST)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: the tests say what matters

    def _any(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.take(self.command, self.path)
        if fault.kind is Kind.RESET:
            self._reset()
            return
        if fault.kind is Kind.STATUS:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._answer(fault.status, {"Content-Type": "application/json", **extra},
                         b'{"detail": "injected by the fault proxy"}')
            return
        try:
            status, headers, answer = proxy.forward(self.command, self.path, self.headers, body)
        except OSError:
            self._reset()  # upstream down: the client sees what it would see without us
            return
        if fault.kind is Kind.LOST:
            self._reset()
        elif fault.kind is Kind.SLOW:
            proxy.holding.set()
            proxy.closing.wait(fault.delay)
            proxy.holding.clear()
            try:
                self._answer(status, headers, answer)
            except OSError:
                self.close_connection = True  # the client gave up long ago
        elif fault.kind is Kind.GARBAGE:
            self._answer(200, {"Content-Type": "application/json"}, fault.body)
        else:
            self._answer(status, headers, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, port: int, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", port), _Handler)
        if proxy.tls is not None:
            self.socket = proxy.tls.wrap_socket(self.socket, server_side=True)

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket],
                        client_address: object) -> None:
        self.proxy.track(request)  # type: ignore[arg-type]
        super().process_request(request, client_address)  # type: ignore[arg-type]


class FaultProxy:
    """Forward HTTP from `url` to `upstream`, breaking requests as told."""

    def __init__(
        self, upstream: str, timeout: float = 30.0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.upstream = upstream
        self.timeout = timeout
        self.tls = tls  # serve HTTPS to the kiosk (the upstream stays plain HTTP)
        self.closing = threading.Event()
        self.seen: Counter[str] = Counter()  # fault kind -> requests it was applied to
        # (monotonic time, method, path, fault kind) of every request, in arrival order
        self.log: list[tuple[float, str, str, str]] = []
        self.holding = threading.Event()  # set while a slow answer is being held back
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._server = _Server(self.port, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="fault-proxy", daemon=True)
        self._thread.start()

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            clients, self._clients = self._clients, set()
        for sock in clients:  # pooled keep-alive connections must not outlive the listener
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.closing.set()
        self._stop_listening()

    @contextmanager
    def refusing(self) -> Iterator[None]:
        """While inside, nothing listens on the proxy's port: every connect is refused."""
        self._stop_listening()
        try:
            yield
        finally:
            self.start()

    def posts(self) -> int:
        """How many event uploads reached the proxy so far."""
        with self._lock:
            return sum(1 for _, method, path, _ in self.log if method == "POST" and path == "/v1/events")

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each breaks one request, in order."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, method: str, path: str) -> Fault:
        with self._lock:
            fault = self._faults.popleft() if self._faults else Fault(Kind.PASS)
            self.seen[fault.kind.value] += 1
            self.log.append((time.monotonic(), method, path, fault.kind.value))
        return fault

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._clients = {s for s in self._clients if s.fileno() != -1}
            self._clients.add(sock)

    def forward(
        self, method: str, path: str, headers: object, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request upstream on a fresh connection; the whole answer."""
        parts = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                          timeout=self.timeout)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}  # type: ignore[attr-defined]
            sent["Content-Length"] = str(len(body))
            conn.request(method, path, body=body or None, headers=sent)
            answer = conn.getresponse()
            data = answer.read()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            return answer.status, kept, data
        except http.client.HTTPException as error:
            raise OSError(str(error)) from None
        finally:
            conn.close()

"""A loopback HTTP server that answers like the central API, bent the way a test says.

Real HTTP over a real socket, so the kiosk's whole client runs (requests, its deadline,
its checks). It takes every event unless `refuse` names a reason, answers the cards of a
batch (and its changed cards: `changes`) with `card(card_ref)` when set, dates its
answers with `clock()` (the `Date` header), and with `drip` set sends its body one byte
every `drip` seconds.

    with ScriptedCentral(card=lambda ref: {...}, clock=lambda: fast_time) as central:
        config = kiosk_setup(state, central.url, token_file)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CardBody = Callable[[str], dict[str, Any] | None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(self.server.central.clock(), usegmt=True)

    def do_POST(self) -> None:  # noqa: N802
        central = self.server.central
        length = int(self.headers.get("Content-Length") or 0)
        events = json.loads(self.rfile.read(length))["events"]
        central.received.extend(events)
        results = []
        for event in events:
            reason = central.refuse(event)
            status = {"id": event["id"], "status": "rejected" if reason else "accepted"}
            results.append({**status, "reason": reason} if reason else status)
        cards = {}
        if central.card is not None:
            for ref in {e["card_ref"] for e in events}:
                body = central.card(ref)
                if body is not None:
                    cards[ref] = body
        self._answer(200, json.dumps({"results": results, "cards": cards}).encode())

    def do_GET(self) -> None:  # noqa: N802
        central = self.server.central
        if self.path.startswith("/v1/cards/changes?"):
            self._answer(200, json.dumps(central.changes(self.path)).encode())
            return
        if self.path.startswith("/v1/cards/") and central.card is not None:
            body = central.card(self.path.rsplit("/", 1)[1])
            if body is not None:
                self._answer(200, json.dumps(body).encode())
                return
        if self.path == "/v1/program" and central.program is not None:
            self._answer(200, json.dumps(central.program).encode(), {"ETag": '"p1"'})
            return
        self._answer(404, b'{"detail": "not found"}')

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        drip = self.server.central.drip
        if drip is None:
            self.wfile.write(body)
            return
        for byte in body:
            if self.server.central.closing.wait(drip):
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return  # the kiosk gave up: what the test wants


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, central: ScriptedCentral) -> None:
        self.central = central
        super().__init__(("127.0.0.1", 0), _Handler)


class ScriptedCentral:
    """See the module docstring; every hook may be changed while it runs."""

    def __init__(
        self,
        *,
        card: CardBody | None = None,
        refuse: Callable[[dict[str, Any]], str | None] = lambda event: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        drip: float | None = None,
        program: dict[str, Any] | None = None,
    ) -> None:
        self.card = card
        self.refuse = refuse
        self.clock = clock
        self.drip = drip
        self.program = program
        self.received: list[dict[str, Any]] = []
        self.closing = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="scripted-central", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def changes(self, path: str) -> dict[str, Any]:
        """A page of changed cards: `card(ref)` of every card events named, once each time
        events arrived since the cursor (the cursor is the number of events received)."""
        after = int(path.split("after=", 1)[1].split("&", 1)[0])
        received = list(self.received)
        if after >= len(received) or self.card is None:
            return {"cards": {}, "cursor": str(max(after, 0)), "more": False}
        cards = {}
        for ref in {e["card_ref"] for e in received[after:]}:
            body = self.card(ref)
            if body is not None:
                cards[ref] = body
        return {"cards": cards, "cursor": str(len(received)), "more": False}

    def __enter__(self) -> ScriptedCentral:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()

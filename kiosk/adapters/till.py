"""The till's door: a small local HTTP endpoint that holds the basket for the next tap.

With points per euro, or a tier that takes a percent off, the shop's till (or a staff
keypad) sends the ticket's amount just before the customer taps:

    POST   /v1/basket   {"amount": 1250, "promo_amount": 300, "ticket": "T-1042"}
                        -> 202 {"ticket": "T-1042", "status": "waiting", "held": {...},
                                "expires_in": 120.0, ...}
    POST   /v1/basket?wait=30   the same, answered once the tap took it (or the wait
                        ended): 200 {"status": "done", "card": ..., "discount": {...},
                        "to_pay": ...} (kiosk.core.till_answer), 202 while still waiting
    GET    /v1/basket/T-1042[?wait=30]   -> 200 that basket's answer; 404 if unknown
    GET    /v1/basket   -> 200 {"held": {...} or null, "expires_in": ...}
    DELETE /v1/basket   -> 200 {"cancelled": true|false}

The next customer tap within [till] basket_seconds takes the basket (`take()`), and the
daemon hands the tap's outcome back (`settle()`), which answers the till; a newer basket
replaces a held one; an expired one is dropped. The answers of the last MAX_ANSWERS
baskets are kept (in memory: a restart forgets them).

Every basket is a ticket: one a tap took was paid with a card; one replaced by the next
basket, or left to expire, was not; one the till DELETEs was voided and is no ticket.
`take_tickets()` hands the tickets rung up since the last call to the sync worker, which
keeps them in the ledger and reports them per hour to the central (adoption rate).

With [till] token_file set, every request needs `Authorization: Bearer <secret>`. Bad
input is a 4xx with a reason in `{"error": ...}`; bodies over kiosk.core.till.MAX_BODY are refused unread.

stdlib http.server only: it is one JSON object per ticket on loopback.

    >>> listener = TillListener.from_config(config.till)     # doctest: +SKIP
    >>> threading.Thread(target=listener.run, args=(stop,)).start()
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kiosk.config import TillSection
from kiosk.core.outcome import Outcome
from kiosk.core.perks import Basket
from kiosk.core.till import (
    MAX_BODY,
    TICKET,
    BasketError,
    HeldBasket,
    Order,
    Ticket,
    basket_for_tap,
    basket_to_mapping,
    hold,
    parse_order,
    parse_wait,
)
from kiosk.core.till_answer import BasketStatus, answer
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

PATH = "/v1/basket"
MAX_ANSWERS = 200  # baskets whose answer the till can still ask for
SOCKET_TIMEOUT = 5.0  # seconds: a till that stops mid-request does not keep a thread


class TillUnavailable(KioskError, OSError):
    """The till endpoint cannot listen (port taken, bad address) or its token is unreadable."""


def read_token(path: str) -> bytes | None:
    """The shared secret from [till] token_file (None when unset); surrounding space ignored."""
    if not path:
        return None
    try:
        token = Path(path).read_bytes().strip()
    except OSError as error:
        raise TillUnavailable(f"till.token_file {path}: {error.strerror or error}") from None
    if not token:
        raise TillUnavailable(f"till.token_file {path} is empty")
    return token


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    listener: TillListener


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = SOCKET_TIMEOUT
    protocol_version = "HTTP/1.1"
    server_version = "kiosk-till"
    sys_version = ""

    # -- methods -------------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if not self._route():
            return
        body = self._body()
        if body is None:
            return
        try:
            wait = parse_wait(self._query)
            order = parse_order(body)
        except BasketError as error:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        listener = self.server.listener
        ticket, seconds = listener.put(order)
        found = listener.wait_for(ticket, wait)
        if found is not None and found["status"] != BasketStatus.WAITING:
            self._answer(HTTPStatus.OK, found)
            return
        held = {"held": basket_to_mapping(order.basket), "expires_in": seconds}
        self._answer(HTTPStatus.ACCEPTED, {**(found or {}), **held})

    def do_GET(self) -> None:  # noqa: N802
        if not self._route(ticket=True):
            return
        if self._ticket:
            self._answer_ticket(self._ticket)
            return
        basket, seconds = self.server.listener.held()
        held = None if basket is None else basket_to_mapping(basket)
        self._answer(HTTPStatus.OK, {"held": held, "expires_in": seconds})

    def do_DELETE(self) -> None:  # noqa: N802
        if not self._route():
            return
        self._answer(HTTPStatus.OK, {"cancelled": self.server.listener.cancel()})

    def do_PUT(self) -> None:  # noqa: N802
        self._not_allowed()

    def do_PATCH(self) -> None:  # noqa: N802
        self._not_allowed()

    def _answer_ticket(self, ticket: str) -> None:
        try:
            wait = parse_wait(self._query)
        except BasketError as error:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        found = self.server.listener.wait_for(ticket, wait)
        if found is None:
            self._answer(HTTPStatus.NOT_FOUND, {
                "error": f"no basket {ticket} here: the kiosk keeps the answers of its last "
                         f"{MAX_ANSWERS} baskets since it started; send the basket again"})
            return
        self._answer(HTTPStatus.OK, found)

    # -- checks --------------------------------------------------------------------------

    @property
    def _query(self) -> str:
        return self.path.partition("?")[2]

    def _route(self, ticket: bool = False) -> bool:
        """The path is ours (`ticket`: or one basket's, /v1/basket/<ticket>) and the token
        matches; otherwise answered here."""
        path = self.path.split("?", 1)[0]
        self._ticket = path[len(PATH) + 1:] if ticket and path.startswith(PATH + "/") else ""
        if path != PATH and TICKET.problem("ticket", self._ticket) is not None:
            self._answer(HTTPStatus.NOT_FOUND, {
                "error": f"unknown path; the basket lives at {PATH}, one basket's answer at "
                         f"{PATH}/<ticket>"})
            return False
        token = self.server.listener.token
        if token is not None:
            sent = self.headers.get("Authorization", "")
            scheme, _, value = sent.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token):
                self._answer(
                    HTTPStatus.UNAUTHORIZED,
                    {"error": "missing or wrong token (Authorization: Bearer <till.token_file>)"},
                    {"WWW-Authenticate": 'Bearer realm="kiosk-till"'},
                )
                return False
        return True

    def _body(self) -> bytes | None:
        """The request body, or None after answering why it cannot be read."""
        if self.headers.get("Transfer-Encoding"):
            self._answer(HTTPStatus.LENGTH_REQUIRED, {"error": "send Content-Length, not chunks"})
            return None
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self._answer(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length is required"})
            return None
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": "Content-Length is not a byte count"})
            return None
        if length > MAX_BODY:
            self._answer(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"the body is too long ({length} bytes, at most {MAX_BODY})"},
            )
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True  # the till hung up mid-body: nothing to answer
            return None
        return body

    def _not_allowed(self) -> None:
        self._answer(
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"error": "use POST, GET or DELETE"},
            {"Allow": "POST, GET, DELETE"},
        )

    # -- answering -----------------------------------------------------------------------

    def _answer(
        self, status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        if status >= 400 and self.command in ("POST", "PUT", "PATCH"):
            # the body may be left unread: the connection cannot carry another request
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        # the request line only: it names no card and no customer
        log.debug("event=till request=%r", format % args)


MAX_WAITERS = 4  # tills waiting on answers at once; more are answered at once (a thread each)


class TillListener:
    """Holds at most one basket for the next customer tap; serves the till over HTTP."""

    def __init__(
        self,
        section: TillSection,
        clock: Callable[[], float] = time.monotonic,
        token: bytes | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.seconds = section.basket_seconds
        self.token = token
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # an answer moved on, or a stop
        self._held: HeldBasket | None = None
        self._number: str | None = None  # the held basket's ticket number
        self._rung_at: datetime | None = None  # when the held basket came: its ticket's time
        self._taking: tuple[str, Basket] | None = None  # taken by the tap being recorded
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._closing = False
        self.waiters = 0  # requests waiting in wait_for now (at most MAX_WAITERS)
        self._tickets: list[Ticket] = []  # rung up, not yet taken by the sync worker
        try:
            self._server = _Server((section.host, section.port), _Handler, bind_and_activate=True)
        except OSError as error:
            raise TillUnavailable(
                f"till.host/port {section.host}:{section.port}: cannot listen: "
                f"{error.strerror or error}"
            ) from None
        self._server.listener = self

    @classmethod
    def from_config(
        cls, section: TillSection, clock: Callable[[], float] = time.monotonic
    ) -> TillListener | None:
        """The listener [till] describes, bound and ready to run; None when it is off."""
        if not section.enabled:
            return None
        return cls(section, clock, read_token(section.token_file))

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound: port 0 in the config picks a free one."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    # -- the basket ----------------------------------------------------------------------

    def put(self, order: Order | Basket) -> tuple[str, float]:
        """Hold the basket for the next tap (replacing any held one); returns its ticket
        number (the till's, or one made here) and its seconds."""
        if isinstance(order, Basket):
            order = Order(order)
        number = order.ticket or uuid.uuid4().hex[:16]
        with self._lock:
            live = self._held is not None and self._held.live(self._clock())
            # the one it replaces was paid without a card
            self._ring(with_card=False, status=BasketStatus.REPLACED if live else BasketStatus.EXPIRED)
            self._held = hold(order.basket, self._clock(), self.seconds)
            self._rung_at, self._number = self._wall(), number
            self._keep(answer(number, order.basket, BasketStatus.WAITING))
        log.info("event=till basket=held")
        return number, self.seconds

    def held(self) -> tuple[Basket | None, float | None]:
        """The basket waiting for a tap and its seconds left (None, None when there is none)."""
        with self._lock:
            now = self._clock()
            if self._held is None or not self._held.live(now):
                self._ring(with_card=False, status=BasketStatus.EXPIRED)
                return None, None
            return self._held.basket, round(self._held.until - now, 3)

    def take(self) -> Basket | None:
        """The basket for the tap happening now; afterwards nothing is held. Its answer
        waits for `settle()` with the tap's outcome."""
        with self._lock:
            basket = basket_for_tap(self._held, self._clock())
            if basket is not None and self._number is not None:
                self._taking = (self._number, basket)
            self._ring(with_card=basket is not None,
                       status=BasketStatus.DONE if basket is not None else BasketStatus.EXPIRED)
        return basket

    def settle(self, outcome: Outcome | None) -> None:
        """The tap that took a basket was recorded (`outcome`), or failed (None): answer
        the till. Nothing to do when this tap took no basket."""
        with self._lock:
            if self._taking is None:
                return
            (number, basket), self._taking = self._taking, None
            status = BasketStatus.FAILED if outcome is None else BasketStatus.DONE
            self._keep(answer(number, basket, status, outcome))

    def wait_for(self, number: str, seconds: float) -> dict[str, Any] | None:
        """The answer about basket `number`, waiting up to `seconds` (real time) for a tap
        to take it or for it to expire; None for a number this kiosk does not know."""
        deadline = time.monotonic() + seconds
        with self._lock:
            if self.waiters >= MAX_WAITERS:
                deadline = 0.0  # a flood of waiting requests must not pile up threads
            self.waiters += 1
            try:
                return self._wait_locked(number, deadline)
            finally:
                self.waiters -= 1

    def _wait_locked(self, number: str, deadline: float) -> dict[str, Any] | None:
        while True:
            if self._held is not None and not self._held.live(self._clock()):
                self._ring(with_card=False, status=BasketStatus.EXPIRED)
            found = self._answers.get(number)
            left = deadline - time.monotonic()
            if found is None or found["status"] != BasketStatus.WAITING or left <= 0 \
                    or self._closing:
                return found
            if self._held is not None and self._number == number:
                # wake when it expires: the till hears "expired" without asking again
                left = min(left, max(0.01, self._held.until - self._clock()))
            self._changed.wait(left)

    def cancel(self) -> bool:
        """Drop the held basket; True when there was a live one."""
        with self._lock:
            live = self._held is not None and self._held.live(self._clock())
            if live and self._held is not None and self._number is not None:
                # voided at the till: no ticket
                self._keep(answer(self._number, self._held.basket, BasketStatus.CANCELLED))
                self._held, self._rung_at, self._number = None, None, None
            else:
                self._ring(with_card=False, status=BasketStatus.EXPIRED)
        return live

    def _ring(self, with_card: bool, status: BasketStatus) -> None:
        """The held basket becomes a ticket (the lock is held); nothing is held after. Its
        answer says `status` (a basket a tap took keeps waiting for `settle()`)."""
        if self._held is not None and self._rung_at is not None:
            self._tickets.append(Ticket(self._held.basket, with_card, self._rung_at))
            if self._number is not None and status is not BasketStatus.DONE:
                self._keep(answer(self._number, self._held.basket, status))
        self._held, self._rung_at, self._number = None, None, None

    def _keep(self, found: dict[str, Any]) -> None:
        """Store a basket's answer (the lock is held), the oldest going past MAX_ANSWERS,
        and wake the requests waiting for one."""
        self._answers[found["ticket"]] = found
        self._answers.move_to_end(found["ticket"])
        while len(self._answers) > MAX_ANSWERS:
            self._answers.popitem(last=False)
        self._changed.notify_all()

    def take_tickets(self) -> list[Ticket]:
        """The tickets rung up since the last call (an expired basket counts now)."""
        with self._lock:
            if self._held is not None and not self._held.live(self._clock()):
                self._ring(with_card=False, status=BasketStatus.EXPIRED)
            taken, self._tickets = self._tickets, []
        return taken

    # -- the server ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set, then close the socket."""
        def shut_down_when_stopped() -> None:
            stop.wait()
            with self._lock:  # a till waiting for a tap hears at once what is known
                self._closing = True
                self._changed.notify_all()
            self._server.shutdown()

        threading.Thread(target=shut_down_when_stopped, name="till-stop", daemon=True).start()
        host, port = self.address
        log.info("event=till listening=%s:%d token=%s", host, port, self.token is not None)
        try:
            self._server.serve_forever(poll_interval=0.2)  # how soon a stop is seen
        finally:
            self._server.server_close()

    def close(self) -> None:
        """Close the socket of a listener that never ran (run() closes its own)."""
        self._server.server_close()

"""Running the API: the listening socket, uvicorn with time limits, several processes.

`serve` opens (or creates) the database first, so a wrong URL or an out-of-date schema
stops it with one line before anything listens. With `workers` > 1 the socket is bound
once and handed to that many processes (spawned, each with its own engine and writer):
one address, several processes, the kernel sharing connections among them.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class Limits:
    """What one client may cost a server process. Bounds of each: BOUNDS below."""

    rate: float = 20.0  # requests a second per kiosk, sustained
    # requests a kiosk may send at once: a sync round's card refresh re-reads up to
    # `refresh_cards` (500 at most) plus every card whose customer's name it holds, one
    # request each, and must not be cut short by 429s
    burst: int = 1000
    max_body: int = 1024 * 1024  # bytes of one request body (500 events take ~170 KB)
    request_seconds: float = 30.0  # to send one whole request, headers and body
    idle_seconds: int = 5  # a kept-alive connection with no request is closed after this


# (lowest, highest) of every limit an operator may set; the CLI checks against these
BOUNDS: dict[str, tuple[float, float]] = {
    "rate": (0.1, 10_000),
    "burst": (1, 100_000),
    "max_body": (64 * 1024, 64 * 1024 * 1024),
    "request_seconds": (0.1, 600),
    "idle_seconds": (1, 600),
    "workers": (1, 64),
}


def listening_socket(host: str = "127.0.0.1", port: int = 0, *, shared: bool = False,
                     listen: bool = True) -> socket.socket:
    """A bound, listening TCP socket (port 0: the kernel picks a free one).

    `shared`: SO_REUSEPORT, so each server process listens on the address with a socket of
    its own and the kernel spreads new connections evenly among them (one socket shared
    by the processes hands most connections to whichever process is awake). The parent
    binds one without listening (`listen=False`) to hold the port: only listening
    sockets get connections.

    Its protocol is named (IPPROTO_TCP, not 0): asyncio turns Nagle off (TCP_NODELAY) only
    on connections whose socket says TCP. With Nagle on, uvicorn's second write of an
    answer (the body after the headers) waited for the client's delayed ACK: 40 ms a
    request, half of a sync round trip.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)  # a reconnect storm: a thousand kiosks at once
    return sock


class DeadlineH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, plus a deadline for receiving each whole request.

    uvicorn closes a kept-alive connection that stays idle, but a client that sends half
    its headers (or a body one byte a minute) would keep its connection for ever. Here
    every request must arrive whole within `request_seconds` of the connection opening
    or of the previous answer; else the connection is closed."""

    request_seconds = Limits.request_seconds

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def _arm(self) -> None:
        # one deadline per request: the previous one must not cut the next request short
        previous: asyncio.TimerHandle | None = getattr(self, "_deadline", None)
        if previous is not None:
            previous.cancel()
        self._deadline = asyncio.get_running_loop().call_later(
            self.request_seconds, self._too_slow)

    def _too_slow(self) -> None:
        # IDLE: no whole request yet; SEND_BODY: the body still coming. DONE: it came.
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)


# Allocations of container objects between two collections of the youngest generation
# (Python's default is 700). An upload allocates and frees hundreds of thousands of dicts,
# lists and dataclasses, nearly all freed by reference counting before a collection could
# see them; at 700, the folds the card cache keeps (replaced at each upload of their card,
# so old enough to be promoted first) kept starting full collections, each traversing every
# object of the process: about a fifth of a server process's CPU in bench.central's ingest.
# (Python 3.11's generational collector; a later Python's may read the thresholds otherwise.)
COLLECT_AFTER = 20_000


def tune_collector() -> None:
    """The cycle collector as a server process runs it, once the app is built: what exists
    by then (modules, the app, compiled statements) is moved out of its reach for good
    (gc.freeze), and a collection starts after COLLECT_AFTER allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(COLLECT_AFTER, 20, 10)


def uvicorn_config(app: Any, limits: Limits, log_level: str) -> uvicorn.Config:
    protocol = type("Deadline", (DeadlineH11,), {"request_seconds": limits.request_seconds})
    return uvicorn.Config(
        app, http=protocol, log_level=log_level, access_log=False, lifespan="on",
        timeout_keep_alive=limits.idle_seconds,
        # behind a reverse proxy: X-Forwarded-For from these addresses names the client
        proxy_headers=True, forwarded_allow_ips="127.0.0.1,::1",
    )


def _worker(address: tuple[str, int], db_url: str, limits: Limits, log_level: str,
            ready: Any) -> None:
    from central.app import create_app

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers
    app = create_app(db_url, limits=limits)
    tune_collector()
    sock = listening_socket(*address, shared=True)
    # listening now: connections wait in its backlog until uvicorn's loop runs
    ready.release()
    uvicorn.Server(uvicorn_config(app, limits, log_level)).run(sockets=[sock])


def run_workers(held: socket.socket, db_url: str, workers: int, limits: Limits,
                log_level: str, on_ready: Callable[[], None]) -> int:
    """Serve with `workers` processes, each listening on the address `held` holds, until
    SIGTERM/SIGINT or one of them dies; `on_ready` is called once every worker listens
    with its app (imports, database) ready."""
    context = multiprocessing.get_context("spawn")  # no threads or engines copied by fork
    ready = context.Semaphore(0)
    address = held.getsockname()[:2]
    processes = [context.Process(target=_worker,
                                 args=(address, db_url, limits, log_level, ready),
                                 name=f"kiosk-central-{n}") for n in range(workers)]
    for process in processes:
        process.start()
    for _ in processes:
        if not ready.acquire(timeout=120):
            break
    on_ready()
    stop = [False]

    def on_signal(_signum: int, _frame: Any) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from multiprocessing.connection import wait

    sentinels = [p.sentinel for p in processes]
    while not stop[0]:
        if wait(sentinels, timeout=0.5):  # a worker died: stop, systemd restarts us all
            break
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=30)
    return 0 if stop[0] else 1

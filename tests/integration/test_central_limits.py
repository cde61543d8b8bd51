"""Back-pressure: a kiosk past its rate gets 429 with Retry-After, a body past the cap
413, and a client that sends its request too slowly loses its connection."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from central.serving import Limits
from central.testing import Client, add_kiosk, event_dict, running_server

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARD = "ab" * 32
LIMITS = Limits(rate=0.05, burst=3, max_body=64 * 1024, request_seconds=0.5)


@dataclass
class Served:
    url: str
    db: str


@pytest.fixture
def served(central_db: str) -> Iterator[Served]:
    with running_server(central_db, clock=lambda: NOW, limits=LIMITS) as url:
        yield Served(url, central_db)


def test_a_kiosk_past_its_burst_gets_429_with_retry_after_and_others_go_on(
    served: Served,
) -> None:
    busy = Client(served.url, add_kiosk(served.db, "busy"))
    calm = Client(served.url, add_kiosk(served.db, "calm"))
    sent = [event_dict("busy", CARD, n, NOW - timedelta(hours=1)) for n in range(4)]
    answers = [busy.post_events([event]) for event in sent]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert "retry" in refused.json()["detail"]
    assert calm.get(f"/v1/cards/{CARD}").status == 200
    # nothing of the refused request was written
    assert calm.get(f"/v1/cards/{CARD}").json()["stamps"] == 3


def test_a_body_past_the_cap_gets_413(served: Served) -> None:
    kiosk = Client(served.url, add_kiosk(served.db, "k1"))
    reply = kiosk.request("POST", "/v1/events", b'{"events": [' + b" " * 70_000 + b"]}")
    assert reply.status == 413 and "larger than 65536" in reply.json()["detail"]


@pytest.mark.parametrize(
    "partial",
    [b"", b"POST /v1/events HTTP/1.1\r\nHost: x\r\n",
     b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"ev"],
    ids=["idle", "half the headers", "half the body"],
)
def test_a_client_too_slow_to_send_its_request_loses_the_connection(
    served: Served, partial: bytes
) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(partial)
        # the server closes it after request_seconds (0.5 s); recv returns on close
        left = conn.recv(4096)
        while left and not left.endswith(b"}"):
            left = conn.recv(4096)
        assert conn.recv(4096) == b""


def test_a_kept_alive_connection_gets_a_fresh_deadline_for_each_request(served: Served) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        # six quick requests spread over three times one request's deadline, on one
        # connection: none may be cut short by the deadline of an earlier one
        for _ in range(6):
            conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.recv(4096)
            while answer and not answer.endswith(b"}"):  # headers and body come apart
                answer += conn.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"status":"ok"}')
            time.sleep(LIMITS.request_seconds / 2)  # the client's pause is the workload

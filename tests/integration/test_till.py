"""The till endpoint over real loopback HTTP: a TillListener serving on a free port."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.adapters.till import TillListener, TillUnavailable
from kiosk.config import TillSection
from kiosk.core.perks import Basket
from kiosk.core.till import MAX_BODY


class Clock:
    """The listener's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Till:
    def __init__(self, listener: TillListener, clock: Clock) -> None:
        self.listener = listener
        self.clock = clock
        self.host, self.port = listener.address

    def request(
        self, method: str, body: bytes | None = None, headers: dict[str, str] | None = None,
        path: str = "/v1/basket",
    ) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            return answer.status, json.loads(answer.read() or b"null")
        finally:
            conn.close()

    def post(self, payload: object, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        return self.request("POST", json.dumps(payload).encode(), headers)


def serve(section: TillSection, clock: Clock, token: bytes | None = None) -> Iterator[Till]:
    listener = TillListener(section, clock, token)
    stop = threading.Event()
    thread = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield Till(listener, clock)
    finally:
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive()


SECTION = TillSection(enabled=True, port=0, basket_seconds=120)


@pytest.fixture
def till() -> Iterator[Till]:
    yield from serve(SECTION, Clock())


@pytest.fixture
def guarded_till(tmp_path: Path) -> Iterator[Till]:
    yield from serve(SECTION, Clock(), token=b"s3cret-till")


def test_a_posted_basket_is_held_and_shown(till: Till) -> None:
    status, body = till.post({"amount": 1250, "promo_amount": 300, "uses_reward": False})
    assert status == 202
    assert body["held"] == {"amount": 1250, "promo_amount": 300, "uses_reward": False,
                            "items": 0}
    assert body["expires_in"] == 120 and body["status"] == "waiting" and body["ticket"]
    status, body = till.request("GET")
    assert status == 200 and body["held"]["amount"] == 1250 and body["expires_in"] == 120


def test_one_basket_serves_one_tap(till: Till) -> None:
    till.post({"amount": 800})
    assert till.listener.take() == Basket(800)
    assert till.listener.take() is None
    assert till.request("GET") == (200, {"held": None, "expires_in": None})


def test_a_newer_basket_replaces_the_held_one(till: Till) -> None:
    till.post({"amount": 800})
    till.post({"amount": 2400, "uses_reward": True})
    assert till.listener.take() == Basket(2400, uses_reward=True)


def test_a_basket_not_tapped_in_time_is_dropped(till: Till) -> None:
    till.post({"amount": 800})
    till.clock.now += 119.5
    assert till.request("GET")[1]["expires_in"] == pytest.approx(0.5)
    till.clock.now += 0.5
    assert till.request("GET")[1]["held"] is None
    assert till.listener.take() is None


def test_delete_cancels_the_held_basket(till: Till) -> None:
    till.post({"amount": 800})
    assert till.request("DELETE") == (200, {"cancelled": True})
    assert till.listener.take() is None
    assert till.request("DELETE") == (200, {"cancelled": False})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b'{"amount": "12.50"}', "amount: must be a number"),
        (b'{"amount": 12.5}', "whole cents"),
        (b'{"amount": -1}', "between 0"),
        (b'{"amount": 100, "promo_amount": 200}', "more than the amount"),
        (b'{"amount": 100, "tip": 5}', "tip: unknown field"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "not UTF-8"),
        (b"", "not valid JSON"),
    ],
)
def test_garbage_is_a_400_with_its_reason_and_holds_nothing(till: Till, body: bytes, reason: str) -> None:
    till.post({"amount": 500})
    status, answer = till.request("POST", body)
    assert status == 400 and reason in answer["error"]
    assert till.listener.take() == Basket(500)  # a bad basket does not replace a good one


def test_a_huge_body_is_refused_unread(till: Till) -> None:
    status, answer = till.request("POST", b"x" * (MAX_BODY + 1))
    assert status == 413 and "too long" in answer["error"]
    # a claimed length is refused before a byte of the body is read
    with socket.create_connection((till.host, till.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/basket HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 413")
    assert till.post({"amount": 100})[0] == 202  # still serving


def test_a_body_without_a_length_is_refused(till: Till) -> None:
    with socket.create_connection((till.host, till.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/basket HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\n\r\n")
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 411")
    assert till.request("POST", None, {"Content-Length": "abc"})[0] == 400


def test_other_paths_and_methods_are_refused(till: Till) -> None:
    assert till.request("GET", path="/v1/other")[0] == 404
    assert till.request("PUT", b"{}")[0] == 405


def test_a_wrong_or_missing_token_is_a_401(guarded_till: Till) -> None:
    basket = {"amount": 1000}
    assert guarded_till.post(basket)[0] == 401
    assert guarded_till.post(basket, {"Authorization": "Bearer nope"})[0] == 401
    assert guarded_till.post(basket, {"Authorization": "Basic s3cret-till"})[0] == 401
    assert guarded_till.request("GET")[0] == 401
    assert guarded_till.listener.take() is None
    assert guarded_till.post(basket, {"Authorization": "Bearer s3cret-till"})[0] == 202
    assert guarded_till.listener.take() == Basket(1000)


def test_the_token_comes_from_the_token_file(tmp_path: Path) -> None:
    token = tmp_path / "till.token"
    token.write_text("s3cret\n")
    section = TillSection(enabled=True, port=0, token_file=str(token))
    listener = TillListener.from_config(section)
    assert listener is not None and listener.token == b"s3cret"
    listener.close()
    with pytest.raises(TillUnavailable, match="till.token_file"):
        TillListener.from_config(TillSection(enabled=True, port=0, token_file=str(tmp_path / "no")))


def test_a_disabled_till_does_not_listen() -> None:
    assert TillListener.from_config(TillSection()) is None


def test_a_taken_port_is_a_clear_error(till: Till) -> None:
    with pytest.raises(TillUnavailable, match="cannot listen"):
        TillListener(TillSection(enabled=True, port=till.port))


def test_a_flood_of_waiting_requests_is_answered_at_once_past_a_few_waiters() -> None:
    from kiosk.adapters.till import MAX_WAITERS
    from sim.harness import wait_until

    listener = TillListener(TillSection(enabled=True, port=0))
    try:
        ticket, _seconds = listener.put(Basket(800))
        answers: list[Any] = []
        waiting = [threading.Thread(target=lambda: answers.append(listener.wait_for(ticket, 60)))
                   for _ in range(MAX_WAITERS)]
        for thread in waiting:
            thread.start()
        assert wait_until(lambda: listener.waiters == MAX_WAITERS, 10)
        # one more does not wait: it hears at once that the basket still waits for a tap
        assert listener.wait_for(ticket, 60)["status"] == "waiting"
        assert listener.cancel()  # the waiting ones hear the basket was voided
        for thread in waiting:
            thread.join(10)
        assert [a["status"] for a in answers] == ["cancelled"] * MAX_WAITERS
    finally:
        listener.close()

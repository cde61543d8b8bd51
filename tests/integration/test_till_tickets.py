"""Every ticket the till sends becomes a ticket counted per hour, paid with a card or not:
over the till's real loopback endpoint, then the pure hourly count."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from kiosk.adapters.till import TillListener
from kiosk.config import TillSection
from kiosk.core.perks import Basket
from kiosk.core.till import MAX_HOURS, TicketHour, count_ticket, hours_from_mapping

RUNG = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
SECTION = TillSection(enabled=True, port=0, basket_seconds=120)


class Till:
    """A listener serving on a free loopback port, its monotonic clock moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.listener = TillListener(SECTION, lambda: self.now)
        host, port = self.listener.address
        self.base = f"http://{host}:{port}/v1/basket"

    def post(self, basket: dict[str, int]) -> None:
        assert requests.post(self.base, json=basket, timeout=10).status_code == 202

    def cancel(self) -> dict[str, bool]:
        answer: dict[str, bool] = requests.delete(self.base, timeout=10).json()
        return answer


@pytest.fixture
def till() -> Iterator[Till]:
    served = Till()
    stop = threading.Event()
    thread = threading.Thread(target=served.listener.run, args=(stop,), daemon=True)
    thread.start()
    yield served
    stop.set()
    thread.join(timeout=5)


def test_a_basket_a_tap_took_is_a_ticket_paid_with_a_card(till: Till) -> None:
    till.post({"amount": 1250})
    assert till.listener.take() == Basket(1250)
    [ticket] = till.listener.take_tickets()
    assert ticket.with_card and ticket.basket.amount == 1250
    assert till.listener.take_tickets() == []  # handed over once


def test_a_basket_replaced_by_the_next_one_was_paid_without_a_card(till: Till) -> None:
    till.post({"amount": 500})
    till.post({"amount": 700})
    till.listener.take()
    tickets = till.listener.take_tickets()
    assert [(t.basket.amount, t.with_card) for t in tickets] == [(500, False), (700, True)]


def test_a_basket_left_to_expire_was_paid_without_a_card(till: Till) -> None:
    till.post({"amount": 900})
    till.now += SECTION.basket_seconds + 1
    [ticket] = till.listener.take_tickets()
    assert not ticket.with_card and ticket.basket.amount == 900


def test_a_basket_the_till_cancelled_is_no_ticket(till: Till) -> None:
    till.post({"amount": 900})
    assert till.cancel() == {"cancelled": True}
    assert till.listener.take_tickets() == []


def test_tickets_add_up_per_local_hour() -> None:
    hours = count_ticket({}, Basket(1000), True, RUNG)
    hours = count_ticket(hours, Basket(400), False, RUNG + timedelta(minutes=30))
    hours = count_ticket(hours, Basket(300), False, RUNG + timedelta(hours=1))
    assert list(hours.values()) == [
        TicketHour("2026-03-02", 9, tickets=2, card_tickets=1, card_amount=1000, other_amount=400),
        TicketHour("2026-03-02", 10, tickets=1, card_tickets=0, card_amount=0, other_amount=300),
    ]
    assert hours_from_mapping([h.to_mapping() for h in hours.values()]) == hours


def test_unreadable_hours_in_the_ledger_are_skipped_not_fatal() -> None:
    assert hours_from_mapping("garbage") == {}
    assert hours_from_mapping([{"day": "2026-03-02", "hour": 9, "nonsense": 1}]) == {}


@given(st.lists(st.tuples(st.integers(0, 10_000_00), st.booleans(), st.integers(0, 400 * 24)),
                max_size=60))
def test_every_ticket_is_counted_once_in_its_hour_and_the_oldest_hours_go_first(
        tickets: list[tuple[int, bool, int]]) -> None:
    hours: dict[tuple[str, int], TicketHour] = {}
    for amount, with_card, hour in tickets:
        hours = count_ticket(hours, Basket(amount), with_card, RUNG + timedelta(hours=hour))
    assert len(hours) <= MAX_HOURS
    assert list(hours) == sorted(hours)
    kept = {(RUNG + timedelta(hours=h)).strftime("%Y-%m-%d %H") for _, _, h in tickets}
    newest = sorted(kept)[-MAX_HOURS:]
    assert [f"{d} {h:02d}" for d, h in hours] == newest
    for (day, hour), counted in hours.items():
        mine = [(a, c) for a, c, h in tickets
                if (RUNG + timedelta(hours=h)).strftime("%Y-%m-%d %H") == f"{day} {hour:02d}"]
        assert counted.tickets == len(mine)
        assert counted.card_tickets == sum(c for _, c in mine) <= counted.tickets
        assert counted.card_amount == sum(a for a, c in mine if c)
        assert counted.other_amount == sum(a for a, c in mine if not c)

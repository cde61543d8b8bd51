"""The Overview's figures over real HTTP: events posted by a kiosk, the page read by a
signed-in owner; each figure against what the events say."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.testing import Client, add_kiosk, event_dict, running_server
from central.web.overview import reward_cost
from kiosk.core.events import EventKind
from tests.support.accounts import WebSession, add_owner

NOW = datetime(2026, 3, 12, 15, 30, tzinfo=UTC)  # a Thursday
A, B, C = "a" * 64, "b" * 64, "c" * 64


@pytest.fixture
def central(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url = str(tmp_path / "central.sqlite3")
    add_owner(url, "owner@example.org")
    with running_server(url, clock=lambda: NOW) as base:
        yield url, base


def tile(page: str, name: str) -> str:
    found = re.search(rf'id="fig-{name}"><span class="label">[^<]*</span>\s*'
                      rf'<span class="value">([^<]*)</span>', page)
    assert found, f"no {name} tile"
    return found.group(1)


def post(base: str, token: str, *events: dict[str, object]) -> None:
    answer = Client(base, token).post_events(list(events))
    assert answer.status == 200 and all(r["status"] == "accepted"
                                        for r in answer.json()["results"]), answer.body


def test_visits_new_cards_and_returning_customers_follow_the_taps(
        central: tuple[str, str]) -> None:
    url, base = central
    token = add_kiosk(url, "till-1")
    day = timedelta(days=1)
    post(base, token,
         event_dict("till-1", A, 1, NOW - 3 * day, kind=EventKind.ENROLLED, delta=0),
         event_dict("till-1", A, 2, NOW - 3 * day),
         event_dict("till-1", A, 3, NOW - day),              # A comes back: returning
         event_dict("till-1", B, 4, NOW - 40 * day),         # B: out of the 30 days
         event_dict("till-1", C, 5, NOW - timedelta(hours=1)))
    web = WebSession(base)
    web.sign_in("owner@example.org")
    week = web.get("/dashboard?period=7").text
    assert tile(week, "visits") == "3"
    assert tile(week, "new-cards") == "2"          # A and C; B was new 40 days ago
    assert tile(week, "return-visits") == "1"
    assert tile(week, "active") == "3"             # B's visit is within 90 days
    today = web.get("/dashboard?period=today").text
    assert tile(today, "visits") == "1" and tile(today, "return-visits") == "0"
    month = web.get("/dashboard?period=30").text
    assert tile(month, "visits") == "3"


def test_rewards_earned_redeemed_and_what_the_shop_still_owes(central: tuple[str, str]) -> None:
    url, base = central
    token = add_kiosk(url, "till-1")
    at = NOW - timedelta(hours=2)
    post(base, token,
         *(event_dict("till-1", A, n, at) for n in range(1, 11)),
         event_dict("till-1", A, 11, at, kind=EventKind.REWARD_EARNED, delta=-10,
                    reward_id="coffee"),
         event_dict("till-1", A, 12, at + timedelta(minutes=5), kind=EventKind.REWARD_REDEEMED,
                    delta=0, reward_id="coffee"))
    web = WebSession(base)
    web.sign_in("owner@example.org")
    page = web.get("/dashboard?period=today").text
    assert (tile(page, "earned"), tile(page, "redeemed"), tile(page, "outstanding")) == (
        "1", "1", "0")


def test_the_charts_are_svg_drawn_by_the_server(central: tuple[str, str]) -> None:
    url, base = central
    token = add_kiosk(url, "till-1")
    post(base, token, event_dict("till-1", A, 1, NOW - timedelta(hours=1)))
    web = WebSession(base)
    web.sign_in("owner@example.org")
    page = web.get("/dashboard?lang=en").text
    assert page.count('<svg class="chart') == 2
    assert '<title>Thu 14h: 1</title>' in page  # 15:30 UTC less an hour, in UTC
    assert "<script" not in page and "style=" not in page


def test_without_till_tickets_adoption_and_roi_say_what_they_need(central: tuple[str, str]
                                                                  ) -> None:
    _url, base = central
    web = WebSession(base)
    web.sign_in("owner@example.org")
    page = web.get("/dashboard?reward_cost=2.50", headers={"Accept-Language": "en"}).text
    assert tile(page, "adoption") == "—"
    assert "The estimate needs the till&#39;s tickets" in page


@pytest.mark.parametrize(("typed", "cents"), [("2,50", 250), ("2.5", 250), ("0", 0),
                                              ("1000", 100_000), ("3 €", 300)])
def test_a_reward_cost_is_read_in_euros_either_way(typed: str, cents: int) -> None:
    assert reward_cost(typed) == cents


@pytest.mark.parametrize("typed", ["-1", "1000.01", "nan", "inf", "deux", ""])
def test_a_reward_cost_out_of_bounds_is_refused(typed: str) -> None:
    assert reward_cost(typed) is None


def test_a_wrong_reward_cost_is_named_on_the_page(central: tuple[str, str]) -> None:
    _url, base = central
    web = WebSession(base)
    web.sign_in("owner@example.org")
    page = web.get("/dashboard?reward_cost=lots", headers={"Accept-Language": "en"}).text
    assert "Enter a cost between 0 and 1000 €" in page and 'aria-invalid="true"' in page

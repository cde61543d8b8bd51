"""A kiosk reports itself and its till's tickets to the central after a sync round: the
real sync worker against a real central, then the Overview's adoption rate and baskets."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from central.testing import Client, add_kiosk, add_owner_key, event_dict, running_server
from kiosk import __version__
from kiosk.adapters.sync import SelfReport
from kiosk.core.events import EventKind
from kiosk.core.perks import Basket
from kiosk.core.till import Ticket
from tests.support import Central, central_server, kiosk_setup, tap_cards, uid, worker_for
from tests.support.accounts import WebSession, add_owner

NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def report_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "software_version": "0.1.0", "program_version": None, "reader_online": True,
        "clock_ok": True, "pending": 0,
        "tickets": [{"day": "2026-03-02", "hour": 9, "tickets": 10, "card_tickets": 4,
                     "card_amount": 6000, "other_amount": 5400}]}
    return {**body, **changes}


def test_a_report_sent_twice_counts_its_tickets_once(tmp_path: Path) -> None:
    url = str(tmp_path / "central.sqlite3")
    token = add_kiosk(url, "kiosk-1")
    with running_server(url) as base:
        client = Client(base, token)
        for _ in range(2):
            answer = client.send_json("POST", "/v1/kiosk/report", report_body())
            assert answer.status == 200 and answer.json() == {"hours": 1}
        later = report_body(tickets=[{"day": "2026-03-02", "hour": 9, "tickets": 11,
                                      "card_tickets": 4, "card_amount": 6000,
                                      "other_amount": 6000}])
        assert client.send_json("POST", "/v1/kiosk/report", later).status == 200
    with sqlite3.connect(url) as db:
        rows = db.execute("SELECT tickets, other_amount FROM till_hours").fetchall()
    assert rows == [(11, 6000)]


def test_a_report_out_of_bounds_is_refused_naming_the_field(tmp_path: Path) -> None:
    url = str(tmp_path / "central.sqlite3")
    token = add_kiosk(url, "kiosk-1")
    with running_server(url) as base:
        client = Client(base, token)
        more_cards = report_body(tickets=[{"day": "2026-03-02", "hour": 9, "tickets": 1,
                                           "card_tickets": 2, "card_amount": 0,
                                           "other_amount": 0}])
        answer = client.send_json("POST", "/v1/kiosk/report", more_cards)
        assert answer.status == 422 and "card_tickets is more than tickets" in answer.json()["detail"]
        bad_hour = report_body(tickets=[{"day": "2026-03-02", "hour": 24, "tickets": 1,
                                         "card_tickets": 0, "card_amount": 0, "other_amount": 0}])
        answer = client.send_json("POST", "/v1/kiosk/report", bad_hour)
        assert answer.status == 422 and "hour" in answer.json()["detail"]
        bad_day = report_body(tickets=[{"day": "2026-02-30", "hour": 1, "tickets": 1,
                                        "card_tickets": 0, "card_amount": 0, "other_amount": 0}])
        assert client.send_json("POST", "/v1/kiosk/report", bad_day).status == 422
        owner = Client(base, add_owner_key(url, "scripts"))
        assert owner.send_json("POST", "/v1/kiosk/report", report_body()).status == 403


def owner_page(tmp_path: Path, page: str, taps: int, mine: SelfReport,
               also: Callable[[Central], object] = lambda _central: None) -> str:
    """`page` as the owner sees it after kiosk-1 tapped `taps` cards and synced once,
    reporting `mine` (in English)."""
    with central_server(tmp_path / "central") as central:
        add_owner(str(central.db), "owner@example.org")
        config = kiosk_setup(tmp_path / "kiosk", central.url, central.token_file("kiosk-1"),
                             read_timeout=30.0)  # a loaded machine: the report must land
        also(central)
        tap_cards(config, [uid(n) for n in range(taps)])
        given = [mine]
        worker = worker_for(config, report=lambda: given.pop() if given else replace(
            mine, tickets=[]))
        try:
            assert worker.sync_once().ok
        finally:
            worker.close()
        web = WebSession(central.url)
        web.sign_in("owner@example.org")
        return web.get(page, headers={"Accept-Language": "en"}).text


def test_the_sync_worker_reports_tickets_and_the_overview_turns_them_into_adoption(
        tmp_path: Path) -> None:
    tickets = [Ticket(Basket(1500), True, NOON), Ticket(Basket(2500), True, NOON),
               *(Ticket(Basket(1000), False, NOON) for _ in range(6))]
    page = owner_page(tmp_path, "/dashboard?period=7&reward_cost=2", 2,  # 2 visits with a card
                      SelfReport(reader_online=False, clock_ok=True, tickets=tickets))
    figures = dict(re.findall(r'id="fig-([a-z-]+)"><span class="label">[^<]*</span>\s*'
                              r'<span class="value">([^<]*)</span>', page))
    assert figures["visits"] == "2"
    assert figures["adoption"] == "25 %"  # 2 visits with a card for 8 tickets
    assert figures["basket-card"] == "20.00 €" and figures["basket-other"] == "10.00 €"
    # 2 tickets with a card x (20 - 10) = 20.00 extra; nothing redeemed yet
    assert "= 2 × (20.00 € − 10.00 €) = 20.00 €" in page
    assert "Net gain: 20.00 €." in page


def kiosk_card(page: str, kiosk_id: str) -> dict[str, str]:
    """The Kiosks page's values of one kiosk, by their class, as text."""
    card = page.split(f'id="kiosk-{kiosk_id}"', 1)[1].split("</li>", 1)[0]
    return {name: re.sub(r"<[^>]+>", "", value).strip()
            for name, value in re.findall(r'<dd class="([a-z-]+)">(.*?)</dd>', card, re.S)}


def test_the_kiosks_page_shows_what_each_kiosk_reported(tmp_path: Path) -> None:
    page = owner_page(tmp_path, "/dashboard/kiosks", 1,
                      SelfReport(reader_online=False, clock_ok=True),
                      also=lambda central: add_kiosk(str(central.db), "kiosk-2"))  # silent
    first, second = kiosk_card(page, "kiosk-1"), kiosk_card(page, "kiosk-2")
    assert first["reader"] == "OFFLINE" and first["pending"] == "0"
    assert first["software"] == __version__ and first["clock"] == "on time"
    assert first["overdrawn"] == "0" and first["last-contact"] != "never"
    assert second == {"last-contact": "never", "pending": "not reported yet",
                      "reader": "not reported yet", "program": "not reported yet",
                      "software": "not reported yet", "clock": "on time", "overdrawn": "0"}


def test_a_voucher_redeemed_at_two_kiosks_shows_as_an_overdrawn_card_where_it_happened(
        tmp_path: Path) -> None:
    url = str(tmp_path / "central.sqlite3")
    add_owner(url, "owner@example.org")
    one, two = add_kiosk(url, "kiosk-1"), add_kiosk(url, "kiosk-2")
    card, at = "d" * 64, NOON - timedelta(days=1)
    with running_server(url) as base:
        Client(base, one).post_events(
            [event_dict("kiosk-1", card, n, at) for n in range(1, 11)]
            + [event_dict("kiosk-1", card, 11, at, kind=EventKind.REWARD_EARNED, delta=-10,
                          reward_id="coffee"),
               event_dict("kiosk-1", card, 12, at + timedelta(minutes=1),
                          kind=EventKind.REWARD_REDEEMED, delta=0, reward_id="coffee")])
        answer = Client(base, two).post_events([event_dict(
            "kiosk-2", card, 1, at + timedelta(minutes=2), kind=EventKind.REWARD_REDEEMED,
            delta=0, reward_id="coffee")])
        assert answer.json()["cards"][card]["overdrawn"] is True, answer.json()
        web = WebSession(base)
        web.sign_in("owner@example.org")
        page = web.get("/dashboard/kiosks", headers={"Accept-Language": "en"}).text
    assert kiosk_card(page, "kiosk-2")["overdrawn"] == "1"
    assert kiosk_card(page, "kiosk-1")["overdrawn"] == "0"

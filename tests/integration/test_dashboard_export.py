"""The Export page's CSV files over real HTTP: the range's events and cards, nothing
outside it, a bad range named on the page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.testing import Client, add_kiosk, event_dict, running_server
from kiosk.core.events import EventKind
from tests.support.accounts import WebSession, add_owner

NOW = datetime(2026, 3, 12, 15, 30, tzinfo=UTC)
A, B = "a" * 64, "b" * 64


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebSession]:
    url = str(tmp_path / "central.sqlite3")
    add_owner(url, "owner@example.org")
    token = add_kiosk(url, "till-1")
    with running_server(url, clock=lambda: NOW) as base:
        answer = Client(base, token).post_events([
            event_dict("till-1", A, 1, datetime(2026, 3, 1, 10, tzinfo=UTC)),
            event_dict("till-1", A, 2, datetime(2026, 3, 10, 23, 59, tzinfo=UTC)),
            event_dict("till-1", B, 3, datetime(2026, 3, 11, 0, 0, tzinfo=UTC)),
            event_dict("till-1", B, 4, datetime(2026, 3, 11, 9, 0, tzinfo=UTC),
                       kind=EventKind.BONUS, delta=1, reward_id="=HYPERLINK(1)"),
        ])
        assert answer.status == 200
        session = WebSession(base)
        session.sign_in("owner@example.org")
        yield session


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_events_of_the_range_and_only_those_come_as_csv(web: WebSession) -> None:
    answer = web.get("/dashboard/export/events.csv?from=2026-03-10&to=2026-03-10")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="events-2026-03-10-2026-03-10.csv"' in answer.headers["content-disposition"]
    found = rows(answer.text)
    assert [(r["card_ref"], r["seq"], r["kind"]) for r in found] == [(A, "2", "stamp")]
    assert set(found[0]) >= {"id", "kiosk_id", "occurred_at", "received_at", "flags"}


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(web: WebSession) -> None:
    found = rows(web.get("/dashboard/export/events.csv?from=2026-03-11&to=2026-03-11").text)
    assert [r["reward_id"] for r in found] == ["", "'=HYPERLINK(1)"]


def test_the_cards_seen_in_the_range_come_with_their_state_now(web: WebSession) -> None:
    found = rows(web.get("/dashboard/export/cards.csv?from=2026-03-01&to=2026-03-01").text)
    assert [(r["card_ref"], r["stamps"], r["visits"]) for r in found] == [(A, "2", "2")]
    everything = rows(web.get("/dashboard/export/cards.csv?from=2026-03-01&to=2026-03-12").text)
    assert [r["card_ref"] for r in everything] == [A, B]


def test_a_range_ending_before_it_starts_is_named_on_the_page(web: WebSession) -> None:
    answer = web.get("/dashboard/export/events.csv?from=2026-03-10&to=2026-03-01",
                     headers={"Accept-Language": "en"})
    assert answer.status_code == 400 and "The end is before the start." in answer.text
    assert 'aria-invalid="true" aria-describedby="to-error"' in answer.text


@pytest.mark.parametrize(("first", "last", "says"), [
    ("2026-13-01", "2026-03-01", "Enter a date as YYYY-MM-DD."),
    ("2024-01-01", "2026-03-01", "A year at most (366 days) per file."),
])
def test_a_bad_range_is_refused_with_what_to_type(web: WebSession, first: str, last: str,
                                                  says: str) -> None:
    answer = web.get(f"/dashboard/export/cards.csv?from={first}&to={last}",
                     headers={"Accept-Language": "en"})
    assert answer.status_code == 400 and says in answer.text


def test_the_export_page_offers_the_last_thirty_days(web: WebSession) -> None:
    page = web.get("/dashboard/export").text
    assert 'value="2026-02-11"' in page and 'value="2026-03-12"' in page


def test_a_signed_out_download_goes_to_the_login_page(web: WebSession) -> None:
    answer = WebSession(web.base).get("/dashboard/export/events.csv?from=2026-03-01&to=2026-03-12")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")

"""What a stranger on the internet, or another user of the machine, meets at the central:
no page that loads code from a CDN, no 500 for a string that is no text, and a database
file only its owner reads."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.db import open_database
from central.testing import Client, add_kiosk, event_dict, running_server

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARD = "ab" * 32


@pytest.fixture
def kiosk(central_db: str) -> Iterator[Client]:
    with running_server(central_db, clock=lambda: NOW) as url:
        yield Client(url, add_kiosk(central_db, "k1"))


def test_no_page_loads_swagger_or_redoc_from_a_cdn_and_the_document_is_served(kiosk: Client) -> None:
    assert kiosk.get("/docs").status == 404
    assert kiosk.get("/redoc").status == 404
    assert kiosk.get("/openapi.json").status == 200


def test_a_lone_utf16_surrogate_is_a_400_naming_it_and_nothing_is_stored(kiosk: Client) -> None:
    event = event_dict("k1", CARD, 1, NOW - timedelta(hours=1))
    body = json.dumps({"events": [{**event, "id": "a\ud800b"}]}).encode()  # ensure_ascii: \ud800
    reply = kiosk.request("POST", "/v1/events", body)
    assert reply.status == 400 and "surrogate" in reply.json()["detail"]
    assert kiosk.get(f"/v1/cards/{CARD}").status == 404


def test_a_surrogate_pair_is_a_character_and_goes_on_to_the_events_own_checks(kiosk: Client) -> None:
    event = event_dict("k1", CARD, 1, NOW - timedelta(hours=1))
    body = json.dumps({"events": [{**event, "id": "a\U0001f600b"}]}).encode()  # a pair
    reply = kiosk.request("POST", "/v1/events", body)
    assert reply.status == 200, reply.body
    assert [r["id"] for r in reply.json()["results"]] == ["a\U0001f600b"]


def test_the_sqlite_database_is_created_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "central.sqlite3"
    old = os.umask(0o022)
    try:
        open_database(str(path)).dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

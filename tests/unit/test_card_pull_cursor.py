"""The kiosk keeps the central's changed-cards cursor as an opaque, bounded string."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.adapters.card_pull import CURSOR, FIRST, MAX_CURSOR_LENGTH, check_page, held_cursor
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync_client import SyncFailure

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
URL = "https://central.example"


@pytest.mark.parametrize("cursor", ["0", "17", "123456-789", "9" * 19 + "-" + "9" * 19])
def test_a_page_cursor_of_digits_and_dashes_is_kept_as_the_central_gave_it(cursor: str) -> None:
    assert check_page({"cards": {}, "cursor": cursor, "more": False}, FIRST, NOW).cursor == cursor


@pytest.mark.parametrize("cursor", [17, None, "", "1" * (MAX_CURSOR_LENGTH + 1), "1 2", "1&x=2"])
def test_a_page_cursor_that_is_no_short_string_of_digits_is_a_garbage_answer(
    cursor: object,
) -> None:
    with pytest.raises(SyncFailure, match="cursor"):
        check_page({"cards": {}, "cursor": cursor, "more": False}, FIRST, NOW)


@pytest.mark.parametrize(("held", "sent"), [
    ({"url": URL, "cursor": 42}, "42"),  # a number, as kiosks kept it before
    ({"url": URL, "cursor": "7-42"}, "7-42"),
    ({"url": "https://another.example", "cursor": "7-42"}, FIRST),
    ({"url": URL, "cursor": "x" * 100}, FIRST),
    ({"url": URL, "cursor": -1}, FIRST),
])
def test_the_held_cursor_is_sent_back_as_kept_or_from_the_first_change(
    tmp_path: Path, held: dict[str, object], sent: str,
) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        ledger.set_meta({CURSOR: json.dumps(held)})
        assert held_cursor(ledger, URL) == sent

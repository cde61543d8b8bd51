"""What a kiosk accepts as the customer of the week: a short plain first name and a
bounded count, or nobody; anything else is a garbage answer, never shown."""

from __future__ import annotations

import pytest

from kiosk.adapters.sync_client import MAX_WEEK_VISITS, SyncFailure, check_week


def test_a_first_name_and_a_count_are_taken_and_nobody_is_none():
    assert check_week({"first_name": " Ana ", "visits": 5, "week": "2026-W12"}) == ("Ana", 5)
    assert check_week({"first_name": None, "visits": None, "week": "2026-W12"}) is None


@pytest.mark.parametrize("body", [
    [], "Ana", {"first_name": "Ana"}, {"first_name": "Ana", "visits": 0},
    {"first_name": "Ana", "visits": True}, {"first_name": "Ana", "visits": MAX_WEEK_VISITS + 1},
    {"first_name": "", "visits": 3}, {"first_name": "A" * 61, "visits": 3},
    {"first_name": "Ana\x1b[2J", "visits": 3}, {"first_name": 7, "visits": 3},
])
def test_anything_else_is_a_garbage_answer(body: object):
    with pytest.raises(SyncFailure, match="garbage answer"):
        check_week(body)

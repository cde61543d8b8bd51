"""A card as the central answers it is checked field by field before the kiosk keeps it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.clock import EARLIEST, MAX_AHEAD
from kiosk.core.events import CardState, Change, EventKind, apply_change
from kiosk.core.servedcard import MAX_COUNT, CardRefused, card_problem, served_card

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REF = "ab" * 32


def good() -> dict[str, Any]:
    return CardState(
        REF, enrolled=True, stamps=4, visits=4, earned={"coffee": 1},
        first_seen=NOW - timedelta(days=30), last_visit=NOW - timedelta(hours=3),
        stamp_day=NOW.date(), stamps_that_day=1, month_visits={"2026-03": 2},
        day_stamps={"2026-03-02": 1},
    ).to_dict()


def test_a_well_formed_card_is_taken_as_the_server_said():
    assert served_card(good(), NOW) == CardState.from_dict(good())


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("last_visit", "2026-03-01T09:00:00", "last_visit has no time zone"),
        ("last_visit", "9999-12-31T23:50:00+00:00", "last_visit is more than 1 day ahead"),
        ("last_visit", (NOW + MAX_AHEAD + timedelta(minutes=1)).isoformat(), "ahead"),
        ("first_seen", "2019-12-31T23:00:00+00:00", "first_seen is before 2020"),
        ("tier_at", "yesterday", "tier_at is not an ISO 8601"),
        ("stamp_day", "9999-12-31", "stamp_day is outside"),
        ("stamps", 10**12, "stamps is not a whole number"),
        ("stamps", "4", "stamps is not a whole number"),
        ("visits", True, "visits is not a whole number"),
        ("visits", 4.0, "visits is not a whole number"),
        ("enrolled", 1, "enrolled is not true or false"),
        ("earned", {"coffee": -1}, "earned[coffee] is not a whole number"),
        ("earned", {"x" * 41: 1}, "earned has a key that is no name"),
        ("earned", {"coffee\x1b[2J": 1}, "control characters"),
        ("redeemed", [], "redeemed is not a table"),
        ("month_visits", {"2026-13": 1}, "month_visits has a key"),
        ("day_stamps", {"2026-02-30": 1}, "day_stamps has a key"),
        ("tier", "gold\r\n", "control characters"),
        ("card_ref", "AB" * 32, "card_ref is not 64 lowercase hex"),
    ],
)
def test_a_field_out_of_its_bounds_refuses_the_card_naming_the_field(field, value, problem):
    body = {**good(), field: value}
    assert problem in str(card_problem(body, NOW))
    with pytest.raises(CardRefused, match=re.escape(problem)):
        served_card(body, NOW)


def test_an_event_id_with_an_escape_among_the_flags_refuses_the_card():
    body = {**good(), "flagged_events": {"e1\x1b]0;owned\x07": ["clock_ahead"]}}
    assert "control characters" in str(card_problem(body, NOW))


def test_instants_with_another_offset_are_held_in_utc():
    body = {**good(), "last_visit": "2026-03-02T10:00:00+01:00"}
    assert served_card(body, NOW).last_visit == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


_CHANGES = st.builds(
    Change,
    st.sampled_from(list(EventKind)),
    st.integers(-1000, 1000),
    st.one_of(st.none(), st.sampled_from(["coffee", "croissant", "gold"])),
)
_TIMES = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None), max_value=NOW.replace(tzinfo=None)
).map(lambda t: t.replace(tzinfo=UTC))


@given(st.lists(st.tuples(_CHANGES, _TIMES), max_size=40))
def test_every_card_the_kiosk_folds_from_events_in_bounds_passes_the_same_checks(changes):
    """The checks and the kiosk's own writing share their bounds: nothing the kiosk could
    write itself is refused when the central sends it back."""
    state = CardState(REF)
    for change, moment in changes:
        state = apply_change(state, change, moment)
    assert card_problem(state.to_dict(), NOW) is None
    assert served_card(state.to_dict(), NOW) == state


def test_counts_up_to_the_bound_are_taken():
    assert card_problem({**good(), "stamps": MAX_COUNT, "visits": -MAX_COUNT}, NOW) is None

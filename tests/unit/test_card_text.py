"""The card cache's text is written field by field and read without CardState's frozen
__init__: both must be exactly what json.dumps(sort_keys=True) and CardState(**fields) give."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.cardtext import card_json
from kiosk.core.events import CardState

# names with quotes, backslashes, control and non-ASCII characters: json.dumps escapes them
NAMES = st.text(min_size=1, max_size=12)
COUNTS = st.dictionaries(NAMES, st.integers(-10**6, 10**6), max_size=4)
MOMENTS = st.none() | st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
)
DAYS = st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2100, 1, 1))

DRAWN = dict(
    card_ref=NAMES, enrolled=st.booleans(), stamps=st.integers(-10**6, 10**6),
    visits=st.integers(-10**6, 10**6), earned=COUNTS, redeemed=COUNTS, first_seen=MOMENTS,
    last_visit=MOMENTS, stamp_day=DAYS, stamps_that_day=st.integers(-999, 999),
    revoked=COUNTS, month_visits=COUNTS, day_stamps=COUNTS, tier=st.none() | NAMES,
    tier_at=MOMENTS, birthday_at=MOMENTS, welcome=st.integers(0, 99),
    welcome_day=st.none() | NAMES, blocked=st.booleans(), moved_in=COUNTS, moved_out=COUNTS,
    versions=st.frozensets(NAMES, max_size=3), converted=st.frozensets(NAMES, max_size=3),
    links=st.integers(0, 999), link_at=MOMENTS, links_revoked=st.none() | st.integers(0, 999),
)
STATES = st.builds(CardState, **DRAWN)


def test_every_field_of_a_card_state_is_drawn_by_the_strategy() -> None:
    assert set(DRAWN) == {f.name for f in dataclasses.fields(CardState)}


@given(STATES)
def test_a_card_states_text_is_what_json_dumps_writes_byte_for_byte(state: CardState) -> None:
    assert card_json(state) == json.dumps(state.to_dict(), sort_keys=True)


@given(STATES)
def test_a_card_state_read_back_from_its_text_is_the_same_state(state: CardState) -> None:
    again = CardState.from_dict(json.loads(card_json(state)))
    assert again == state
    assert vars(again) == vars(CardState(**{f.name: getattr(state, f.name)
                                            for f in dataclasses.fields(CardState)}))


def test_a_card_state_read_from_its_text_stays_frozen() -> None:
    state = CardState.from_dict(json.loads(card_json(CardState("ab", stamps=2))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.stamps = 3  # type: ignore[misc]

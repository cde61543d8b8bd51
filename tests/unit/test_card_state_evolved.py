"""A card's next state is built without dataclasses.replace: it must be the same state."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.events import CardState, evolved

FIELDS = [f.name for f in dataclasses.fields(CardState)]
BEFORE = CardState("a" * 64, enrolled=True, stamps=3, visits=3, earned={"coffee": 1},
                   first_seen=datetime(2026, 1, 2, tzinfo=UTC), stamp_day=date(2026, 1, 2),
                   month_visits={"2026-01": 3}, versions=frozenset({"v1"}))
AFTER = CardState("b" * 64, enrolled=False, stamps=9, visits=7, earned={"cake": 2},
                  redeemed={"coffee": 1}, last_visit=datetime(2026, 3, 4, tzinfo=UTC),
                  tier="gold", welcome=2, blocked=True, moved_in={"cake": 1},
                  converted=frozenset({"v2"}), versions=frozenset({"v1", "v2"}))


@given(st.sets(st.sampled_from(FIELDS)))
def test_evolving_a_state_gives_what_dataclasses_replace_gives(names: set[str]) -> None:
    updates = {name: getattr(AFTER, name) for name in names}
    kept = dataclasses.replace(BEFORE)
    assert evolved(BEFORE, updates) == dataclasses.replace(BEFORE, **updates)
    assert kept == BEFORE  # the state it came from is untouched


def test_a_field_the_card_state_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="stamp_count"):
        evolved(BEFORE, {"stamp_count": 1})


def test_an_evolved_state_stays_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved(BEFORE, {"stamps": 1}).stamps = 2  # type: ignore[misc]

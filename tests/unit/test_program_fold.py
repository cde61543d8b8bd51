"""The fold with every event kind: commutative, serialisable, old card dicts still load."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.events import CardState, Change, EventKind, apply_change
from kiosk.core.program import Program
from tests.unit.program_support import REF, T0

changes = st.lists(
    st.tuples(
        st.sampled_from(list(EventKind)),
        st.integers(-5, 5),
        st.sampled_from([None, "reward", "Gold", "Silver"]),
        st.integers(0, 24 * 400),  # hours after T0: spans days, months and years
    ),
    max_size=30,
)
zones = st.sampled_from(["UTC", "Europe/Paris", "Pacific/Auckland"])


def _fold(items: list[tuple[EventKind, int, str | None, int]], zone: str) -> CardState:
    tz = Program(timezone=zone).tz
    state = CardState(REF)
    for kind, delta, subject, hours in items:
        state = apply_change(state, Change(kind, delta, subject), T0 + timedelta(hours=hours), tz)
    return state


@settings(max_examples=200, deadline=None)
@given(changes, zones, st.randoms(use_true_random=False))
def test_the_fold_is_commutative_with_every_kind_and_every_field(items, zone, rnd) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    forward, mixed = _fold(items, zone), _fold(shuffled, zone)
    assert forward == mixed
    # the sum of the deltas, with one welcome bonus per card however often it was enrolled
    welcomes = [delta for kind, delta, _, _ in items if kind is EventKind.ENROLLED]
    others = sum(delta for kind, delta, _, _ in items if kind is not EventKind.ENROLLED)
    assert forward.stamps == others + max(welcomes, default=0)


@settings(max_examples=100, deadline=None)
@given(changes, zones)
def test_a_card_state_survives_its_json_form(items, zone) -> None:
    state = _fold(items, zone)
    assert CardState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_a_card_dict_from_before_the_extras_still_loads_with_empty_extras() -> None:
    old = {
        "card_ref": REF, "enrolled": True, "stamps": 4, "visits": 2, "earned": {"reward": 1},
        "redeemed": {}, "first_seen": T0.isoformat(), "last_visit": T0.isoformat(),
        "stamp_day": "2026-03-02", "stamps_that_day": 1,
    }
    state = CardState.from_dict(old)
    assert state.stamps == 4 and state.tier is None and state.month_visits == {}
    assert state.vouchers("reward") == 1 and state.birthday_at is None

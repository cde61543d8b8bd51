"""The quick look at an event never lets through what the full check would refuse."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from central.validate import _plainly_valid, _problem
from kiosk.core.events import EventKind

CARD = "ab" * 32
VALID: dict[str, Any] = {
    "id": "e1", "kiosk_id": "k1", "seq": 4, "card_ref": CARD, "kind": "reward_earned",
    "delta": 0, "reward_id": "coffee", "program_version": "1",
    "occurred_at": "2026-01-01T00:00:00+00:00", "staff_ref": None,
}

# values that sit on either side of a rule: wrong types, bools, edges, oddly cased hex
odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2000, 2000), st.sampled_from([2**62 - 1, 2**62]),
    st.floats(allow_nan=False), st.text(max_size=70), st.sampled_from(
        [CARD, CARD.upper(), CARD[:-1], "k1", "k2", "k 1", "", "x" * 41, "x" * 65]
        + [kind.value for kind in EventKind]
    ),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=1),
)
edits = st.dictionaries(
    st.sampled_from(sorted(VALID) + ["extra"]), odd_values | st.just("<drop>"), max_size=4
)


@given(edits, st.sampled_from(["k1", "k2", "bad id!"]))
def test_an_event_the_quick_look_passes_also_passes_the_full_check(
    edit: dict[str, Any], kiosk_id: str
) -> None:
    data = {**VALID, **edit}
    data = {k: v for k, v in data.items() if v != "<drop>"}
    quick = _plainly_valid(data, kiosk_id)
    if quick is not None:
        assert _problem(data, kiosk_id) is None
        assert quick is EventKind(data["kind"])


def test_an_ordinary_event_takes_the_quick_path() -> None:
    assert _plainly_valid(VALID, "k1") is EventKind.REWARD_EARNED
    assert _plainly_valid({**VALID, "kind": "stamp", "reward_id": None}, "k1") is EventKind.STAMP

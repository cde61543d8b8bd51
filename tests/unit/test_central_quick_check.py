"""One definition of an event, three readers that agree: the quick look at an event never
lets through what the full check would refuse, and the API's documented model accepts
exactly what the check accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from central.schema import EventIn
from central.validate import (
    EARLIEST,
    MAX_AHEAD,
    BadEnvelope,
    check_event,
    envelope,
    plainly_valid,
    why_refused,
)
from kiosk.core.events import EventKind

CARD = "ab" * 32
NOW = datetime(2026, 1, 2, tzinfo=UTC)
VALID: dict[str, Any] = {
    "id": "e1", "kiosk_id": "k1", "seq": 4, "card_ref": CARD, "kind": "reward_earned",
    "delta": 0, "reward_id": "coffee", "program_version": "1",
    "occurred_at": "2026-01-01T00:00:00+00:00", "staff_ref": None,
}

# values that sit on either side of a rule: wrong types, bools, edges, oddly cased hex
odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2000, 2000), st.sampled_from([2**62 - 1, 2**62]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=70), st.sampled_from(
        [CARD, CARD.upper(), CARD[:-1], "k1", "k2", "k 1", "k1\n", "", "x" * 41, "x" * 65]
        + [kind.value for kind in EventKind]
    ),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=1),
)
edits = st.dictionaries(
    st.sampled_from(sorted(VALID) + ["extra"]), odd_values | st.just("<drop>"), max_size=4
)
times = st.sampled_from([
    "2026-01-01T00:00:00+00:00", "2026-01-01T09:30:00.250+05:30", "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00", "2026-01-01", "yesterday", "", "2026-01-01T00:00:00+00:00" + " " * 20,
])


def edited(edit: dict[str, Any]) -> dict[str, Any]:
    data = {**VALID, **edit}
    return {k: v for k, v in data.items() if v != "<drop>"}


@given(edits, st.sampled_from(["k1", "k2", "bad id!"]))
def test_an_event_the_quick_look_passes_also_passes_the_full_check(
    edit: dict[str, Any], kiosk_id: str
) -> None:
    data = edited(edit)
    quick = plainly_valid(data, kiosk_id)
    if quick is not None:
        assert why_refused(data, kiosk_id) is None
        assert quick is EventKind(data["kind"])


def test_an_ordinary_event_takes_the_quick_path() -> None:
    assert plainly_valid(VALID, "k1") is EventKind.REWARD_EARNED
    assert plainly_valid({**VALID, "kind": "stamp", "reward_id": None}, "k1") is EventKind.STAMP


def agree(data: dict[str, Any]) -> None:
    # what the model cannot say (whose token it is, a believable time) is held equal
    token_kiosk = data["kiosk_id"] if isinstance(data.get("kiosk_id"), str) else "k1"
    try:
        [item] = envelope({"events": [data]})
    except BadEnvelope:
        accepted = False  # the whole batch is refused for an event without a good id
    else:
        accepted = check_event(item, token_kiosk, NOW).event is not None
    try:
        model = EventIn.model_validate_json(json.dumps(data), strict=True)
    except ValidationError:
        documented = False
    else:
        # a date-time the document allows ("0" reads as 1970) may still be no believable time
        believable = EARLIEST <= model.occurred_at <= NOW + MAX_AHEAD
        documented = believable and (data["kind"] not in ("reward_earned", "reward_redeemed")
                                     or bool(data.get("reward_id")))
    assert documented == accepted, data


@given(edits, times)
def test_the_documented_event_model_accepts_exactly_what_the_server_accepts(
    edit: dict[str, Any], occurred_at: str
) -> None:
    agree(edited({"occurred_at": occurred_at, **edit}))


EDGES = [
    None, True, 0, -1, 1.0, 2**62 - 1, 2**62, -1000, -1001, 1000, 1001, "", "k 1", "k1\n",
    CARD, CARD.upper(), CARD[:-1], *("x" * n for n in (1, 40, 41, 64, 65, 100, 101)),
]


def test_the_model_and_the_server_agree_on_each_field_at_its_edges() -> None:
    for name in [*VALID, "extra"]:
        for value in [*EDGES, "<drop>"]:
            agree(edited({name: value}))

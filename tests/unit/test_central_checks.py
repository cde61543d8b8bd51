"""The server's pure parts: event checks, time flags, card answers, program files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.cards import CLOCK_AHEAD, CLOCK_BACKWARDS, LATE_UPLOAD, card_json, time_flags
from central.program import BadProgram, from_toml
from central.validate import BadEnvelope, body_sha256, check_event, envelope
from kiosk.core.events import CardState, Event, EventKind

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)

events = st.builds(
    Event,
    id=st.uuids().map(str),
    kiosk_id=st.just("k1"),
    seq=st.integers(0, 10**9),
    card_ref=st.integers(0, 2**256 - 1).map(lambda n: f"{n:064x}"),
    kind=st.sampled_from([EventKind.STAMP, EventKind.ENROLLED, EventKind.ADJUSTMENT]),
    delta=st.integers(-1000, 1000),
    reward_id=st.none(),
    program_version=st.text("0123456789.", min_size=1, max_size=10),
    occurred_at=st.datetimes(datetime(2020, 1, 1), datetime(2026, 6, 1), timezones=st.just(UTC)),
    staff_ref=st.none() | st.just("staff-2"),
)


@given(events)
def test_a_valid_event_survives_the_check_unchanged(event: Event) -> None:
    checked = check_event(event.to_dict(), "k1", NOW)
    assert checked.reason is None
    assert checked.event == event
    assert checked.body_sha256 == body_sha256(event)


@given(events)
def test_the_same_instant_written_with_another_offset_is_the_same_event(event: Event) -> None:
    shifted = {**event.to_dict(),
               "occurred_at": event.occurred_at.astimezone(timezone(timedelta(hours=5))).isoformat()}
    assert check_event(shifted, "k1", NOW).body_sha256 == body_sha256(event)


def test_a_missing_reward_id_and_the_text_none_hash_differently() -> None:
    base = Event("e", "k1", 1, "a" * 64, EventKind.REWARD_EARNED, 0, None, "1", NOW)
    named = Event("e", "k1", 1, "a" * 64, EventKind.REWARD_EARNED, 0, "None", "1", NOW)
    assert body_sha256(base) != body_sha256(named)


def test_an_event_keeps_the_fingerprint_servers_already_stored_for_it() -> None:
    # a retry after a server upgrade must still be a duplicate, not a clash of ids
    event = Event.from_dict({
        "id": "e-1", "kiosk_id": "k1", "seq": 7, "card_ref": "ab" * 32, "kind": "reward_earned",
        "delta": -10, "reward_id": "coffee", "program_version": "3",
        "occurred_at": "2026-01-01T09:30:00+01:00",
    })
    assert body_sha256(event) == (
        "b278f9e1d7f37bd349864c0eba2edfff11cf97856b81f59fb6ba0283639c72d4"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [({"events": [{"id": "a"}], "more": 1}, "more"), ({"events": []}, "1 to 500"),
     ({"events": [{"id": ""}]}, "events[0].id"), ([{"id": "a"}], "JSON object")],
)
def test_a_bad_envelope_says_what_is_wrong(body: object, words: str) -> None:
    with pytest.raises(BadEnvelope, match=words.replace("[", r"\[").replace("]", r"\]")):
        envelope(body)


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def event(seq: int, when: datetime) -> Event:
    return Event(f"e{seq}", "k1", seq, "a" * 64, EventKind.STAMP, 1, None, "1", when)


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=30))
def test_a_kiosk_whose_clock_only_moves_forward_is_never_flagged_backwards(
    steps: list[int],
) -> None:
    moments = [NOW - timedelta(days=10) + timedelta(minutes=sum(steps[: i + 1]))
               for i in range(len(steps))]
    batch = [event(i, moment) for i, moment in enumerate(moments)]
    flagged = time_flags(batch, NOW + timedelta(days=20), None)
    assert not any(CLOCK_BACKWARDS in flags for flags in flagged.values())


def test_time_flags_name_the_implausible_events() -> None:
    batch = [event(2, at(-60)), event(3, at(60)), event(4, at(-90 * 24 * 60))]
    flagged = time_flags(batch, NOW, before=at(-30))
    assert flagged == {
        "e2": [CLOCK_BACKWARDS],
        "e3": [CLOCK_AHEAD],
        "e4": [LATE_UPLOAD, CLOCK_BACKWARDS],
    }


def test_a_card_is_overdrawn_only_when_a_voucher_or_its_stamps_go_negative() -> None:
    fine = CardState("a" * 64, stamps=3, earned={"reward": 1}, redeemed={"reward": 1})
    assert card_json(fine, {})["overdrawn"] is False
    twice = CardState("a" * 64, stamps=3, earned={"reward": 1}, redeemed={"reward": 2})
    answer = card_json(twice, {"e1": ["clock_ahead"]})
    assert answer["overdrawn"] is True and answer["vouchers"] == {"reward": -1}
    assert answer["flags"] == ["clock_ahead", "overdraft"]
    assert card_json(CardState("a" * 64, stamps=-1), {})["overdrawn"] is True


def test_a_program_file_names_only_what_it_changes() -> None:
    program = from_toml('version = "9"\ngoal = 6\nmilestones = [{id = "tea", name = "tea", '
                        'stamps = 3}]\n')
    assert program["goal"] == 6 and program["reward_id"] == "reward"
    assert program["milestones"] == [{"id": "tea", "name": "tea", "stamps": 3}]


@pytest.mark.parametrize(
    "text",
    ['[program]\nversion = "1"\n[kiosk]\nid = "x"\n',
     'version = "1"\nmilestones = [{id = "reward", name = "x", stamps = 3}]\n',
     'version = "1"\ncooldown_minutes = -1\n', 'version = "1"\ndaily_cap = true\n'],
)
def test_a_program_the_kiosks_could_not_run_is_refused(text: str) -> None:
    with pytest.raises(BadProgram):
        from_toml(text)

"""Which readings of the central's clock are written down: every one until a verdict is
confirmed, then only those that move it, and otherwise one per NOTE_EVERY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.clock import AGREE, NOTE_EVERY, TOLERANCE, Reading, judge, keep, worth_keeping

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

_STEPS = st.lists(st.integers(1, 3600), min_size=1, max_size=200)  # seconds between answers
_OFFSETS = st.integers(-3 * 3600, 3 * 3600)  # seconds the central's clock is behind


def noted(readings: list[Reading]) -> tuple[tuple[Reading, ...], int]:
    """The readings a kiosk holds after these answers, and how many times it wrote them."""
    held: tuple[Reading, ...] = ()
    writes = 0
    for reading in readings:
        after = keep(held, [reading])
        if worth_keeping(held, after):
            held, writes = after, writes + 1
    return held, writes


def answers(steps: list[int], offsets: list[int]) -> list[Reading]:
    local = T0
    made = []
    for step, offset in zip(steps, offsets, strict=False):
        local += timedelta(seconds=step)
        made.append(Reading(local, local - timedelta(seconds=offset)))
    return made


@given(_STEPS, _OFFSETS)
def test_a_steady_clock_is_written_at_most_once_per_note_every_after_its_verdict(steps, offset):
    readings = answers(steps, [offset] * len(steps))
    held, writes = noted(readings)
    elapsed = readings[-1].local - readings[0].local
    assert writes <= AGREE + elapsed / NOTE_EVERY + 1
    assert judge(held) == judge(keep((), readings)), "the same verdict as keeping every one"


@given(_STEPS, st.lists(_OFFSETS, min_size=200, max_size=200))
def test_the_latest_offset_held_is_never_more_than_the_tolerance_from_the_latest_answer(
    steps, offsets
):
    readings = answers(steps, offsets)
    held: tuple[Reading, ...] = ()
    for reading in readings:
        after = keep(held, [reading])
        if worth_keeping(held, after):
            held = after
        assert abs(held[-1].offset - reading.offset) <= TOLERANCE
        assert judge(held).confirmed or held == after, "unconfirmed, every answer is held"


def test_the_first_answers_are_each_written_until_they_agree() -> None:
    readings = answers([10] * 10, [0] * 10)
    _held, writes = noted(readings)
    assert writes == AGREE


def test_an_answer_moving_the_offset_past_the_tolerance_is_written_though_the_verdict_holds():
    held = tuple(answers([60, 60, 60], [15, 15, -5]))
    assert judge(held).confirmed
    moved = answers([241], [40])[0]  # a minute after the last, 40 s off the central
    after = keep(held, [moved])
    assert judge(after).confirmed and worth_keeping(held, after)
    steady = Reading(moved.local, moved.local + timedelta(seconds=-5 + 2))
    assert not worth_keeping(held, keep(held, [steady]))

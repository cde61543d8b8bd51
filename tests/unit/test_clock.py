"""The kiosk's clock against the central's: skew found only when readings agree, a jump
that does not poison later events, a fast clock elsewhere that blocks no card here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.clock import (
    AGREE,
    EARLIEST,
    TIME_REFUSED,
    TOLERANCE,
    ClockVerdict,
    Reading,
    due_again,
    event_time,
    instant_problem,
    judge,
    keep,
    mark_time_refusals,
    seen_visit,
)
from kiosk.core.events import CardState, Event, EventKind
from kiosk.core.outcome import Cooldown, Stamped
from kiosk.core.rules import Program, decide_tap

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REF = "ef" * 32


def readings(*offsets: timedelta) -> list[Reading]:
    return [Reading(T0 + i * timedelta(minutes=1), T0 + i * timedelta(minutes=1) - offset)
            for i, offset in enumerate(offsets)]


def event(occurred_at: datetime, event_id: str = "e1") -> Event:
    return Event(event_id, "k1", 1, REF, EventKind.STAMP, 1, None, "v1", occurred_at)


def test_readings_that_agree_say_by_how_much_the_kiosk_clock_runs_ahead():
    verdict = judge(readings(*[timedelta(hours=2)] * AGREE))
    assert verdict.confirmed
    assert verdict.offset == timedelta(hours=2)
    assert verdict.correct(T0) == T0 - timedelta(hours=2)
    assert verdict.describe() == "ahead by 2h 00m (central clock)"


def test_a_skew_within_the_tolerance_is_confirmed_as_no_skew():
    verdict = judge(readings(*[TOLERANCE / 2] * AGREE))
    assert verdict == ClockVerdict(timedelta(0), confirmed=True)


def test_fewer_readings_than_needed_leave_the_local_clock_trusted():
    verdict = judge(readings(*[timedelta(hours=5)] * (AGREE - 1)))
    assert not verdict.confirmed
    assert verdict.correct(T0) == T0


@given(st.integers(0, AGREE - 1), st.integers(2, 10_000))
def test_one_wrong_reading_among_the_last_ones_never_moves_the_clock(bad: int, minutes: int):
    offsets = [timedelta(0)] * AGREE
    offsets[bad] = timedelta(minutes=minutes)
    assert not judge(readings(*offsets)).confirmed


def test_readings_outside_the_years_a_kiosk_runs_in_are_not_kept():
    wild = Reading(T0, datetime(1970, 1, 1, tzinfo=UTC))
    assert keep([], [wild]) == ()
    assert not judge([wild] * AGREE).confirmed


def test_a_clock_behind_the_last_event_is_held_at_it_while_the_central_is_silent():
    jumped = T0 + timedelta(days=400)
    timing = event_time(T0, jumped, ClockVerdict())
    assert (timing.at, timing.held) == (jumped, True)


def test_one_forward_jump_does_not_hold_later_events_once_the_central_vouches_for_the_clock():
    jumped = T0 + timedelta(days=400)  # one event was dated by a clock that jumped ahead
    timing = event_time(T0, jumped, ClockVerdict(timedelta(0), confirmed=True))
    assert (timing.at, timing.held) == (T0, False)


def test_a_power_cut_behind_the_last_event_by_seconds_still_holds_even_when_vouched():
    last = T0 + TOLERANCE / 2
    assert event_time(T0, last, ClockVerdict(timedelta(0), confirmed=True)).at == last


def test_a_confirmed_skew_dates_events_by_the_central_clock():
    assert event_time(T0, None, ClockVerdict(timedelta(hours=2), True)).at == T0 - timedelta(hours=2)


def test_a_card_stamped_by_a_fast_clock_elsewhere_is_stamped_here_not_held_in_cooldown():
    program = Program(cooldown=timedelta(hours=1))
    card = CardState(REF, enrolled=True, stamps=3, visits=3, last_visit=T0 + timedelta(hours=20))
    assert isinstance(decide_tap(program, card, T0), Stamped)


def test_a_last_visit_seconds_ahead_counts_as_now_so_a_double_tap_still_waits():
    program = Program(cooldown=timedelta(hours=1))
    card = CardState(REF, enrolled=True, stamps=3, visits=3, last_visit=T0 + timedelta(seconds=5))
    outcome = decide_tap(program, card, T0)
    assert isinstance(outcome, Cooldown)
    assert outcome.until == T0 + timedelta(hours=1)


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)))
def test_no_last_visit_ever_holds_a_card_longer_than_the_tolerance_and_one_cooldown(ahead):
    seen = seen_visit(T0 + ahead, T0)
    assert seen is None or seen <= T0


def test_instants_without_a_zone_before_2020_or_beyond_a_day_ahead_are_refused():
    assert "time zone" in str(instant_problem(datetime(2026, 3, 2, 9, 0), T0))
    assert "before" in str(instant_problem(EARLIEST - timedelta(seconds=1), T0))
    assert "ahead" in str(instant_problem(datetime(9999, 12, 31, 23, 50, tzinfo=UTC), T0))
    assert instant_problem(T0 + timedelta(hours=23), T0) is None


def test_an_event_refused_for_its_time_is_marked_and_due_again_once_the_central_can_take_it():
    ahead = event(T0 + timedelta(days=3))
    other = event(T0, "e2")
    marked = mark_time_refusals({"e1": "occurred_at is in the future", "e2": "unknown kind"},
                                [ahead, other], T0)
    assert marked == {"e1": TIME_REFUSED + "occurred_at is in the future", "e2": "unknown kind"}
    aside = [(ahead, marked["e1"]), (other, marked["e2"])]
    assert due_again(aside, T0) == []
    assert due_again(aside, T0 + timedelta(days=2)) == ["e1"]  # the e2 refusal stays for good


def test_the_central_judges_event_times_by_the_same_bounds_the_kiosk_keeps():
    from central import validate
    from kiosk.core.clock import MAX_AHEAD

    assert (validate.EARLIEST, validate.MAX_AHEAD) == (EARLIEST, MAX_AHEAD)


_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)
).map(lambda t: t.replace(tzinfo=UTC))


@given(_INSTANTS, _INSTANTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=36500)))
def test_an_event_set_aside_for_its_time_comes_back_exactly_when_the_central_would_take_it(
    occurred, central_now, later
):
    marked = mark_time_refusals({"e1": "refused"}, [event(occurred)], central_now)
    aside = [(event(occurred), marked["e1"])]
    if marked["e1"] == "refused":  # not a time refusal: it stays aside for good
        assert due_again(aside, central_now + later) == []
    else:
        assert due_again(aside, central_now) == []  # never straight back
        assert bool(due_again(aside, central_now + later)) == (
            instant_problem(occurred, central_now + later) is None
        )

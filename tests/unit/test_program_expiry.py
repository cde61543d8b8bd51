"""Expiry: stamps go after inactivity or age, as an event, never taking later stamps."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.events import EventKind, fold
from kiosk.core.outcome import OutcomeKind
from kiosk.core.program import Expiry, Program
from kiosk.core.rules import decide_expiry
from tests.unit.program_support import REF, T0, Shell

DAY = timedelta(days=1)


def test_after_the_inactivity_period_a_tap_expires_old_stamps_then_stamps_anew() -> None:
    shell = Shell(Program(expiry=Expiry.INACTIVITY, expiry_days=90, welcome_bonus=2))
    shell.taps([T0, T0 + DAY])
    back = shell.tap(T0 + 200 * DAY)
    assert [c.kind for c in back.changes][:2] == [EventKind.EXPIRED, EventKind.STAMP]
    assert back.expired == 4 and shell.card.stamps == 1


def test_a_daily_check_expires_an_inactive_card_once() -> None:
    program = Program(expiry=Expiry.INACTIVITY, expiry_days=90)
    shell = Shell(program)
    shell.tap(T0)
    first = shell.commit(decide_expiry(program, shell.card, T0 + 91 * DAY), T0 + 91 * DAY)
    assert first.kind is OutcomeKind.EXPIRED and first.expired == 3 and shell.card.stamps == 0
    assert decide_expiry(program, shell.card, T0 + 92 * DAY).changes == ()


def test_a_card_before_its_time_keeps_its_stamps() -> None:
    program = Program(expiry=Expiry.INACTIVITY, expiry_days=90)
    shell = Shell(program)
    shell.tap(T0)
    assert decide_expiry(program, shell.card, T0 + 89 * DAY).changes == ()


def test_per_stamp_expiry_takes_only_the_stamps_older_than_the_period() -> None:
    program = Program(expiry=Expiry.PER_STAMP, expiry_days=30, welcome_bonus=2, goal=20)
    shell = Shell(program)
    shell.taps([T0, T0 + 20 * DAY])  # 3 stamps on day 0, 1 on day 20
    later = shell.tap(T0 + 35 * DAY)
    assert later.expired == 3 and shell.card.stamps == 2


def test_the_screen_warns_which_stamps_expire_and_when() -> None:
    program = Program(
        expiry=Expiry.PER_STAMP, expiry_days=30, expiry_warn_days=14, welcome_bonus=2, goal=20
    )
    shell = Shell(program)
    shell.tap(T0)
    quiet = shell.tap(T0 + 5 * DAY)
    assert quiet.progress.expiring == 0
    warned = shell.tap(T0 + 20 * DAY)
    assert warned.progress.expiring == 3 and warned.progress.expiring_on == date(2026, 4, 1)


def test_per_stamp_expiry_takes_the_oldest_stamps_first_as_rewards_spend_them() -> None:
    program = Program(expiry=Expiry.PER_STAMP, expiry_days=30, welcome_bonus=0, goal=3)
    shell = Shell(program)
    shell.taps([T0, T0 + DAY, T0 + 2 * DAY, T0 + 25 * DAY])  # a full card, then one stamp
    assert shell.card.stamps == 1
    assert decide_expiry(program, shell.card, T0 + 40 * DAY).changes == ()


steps = st.lists(
    st.tuples(st.integers(0, 60), st.booleans()), min_size=1, max_size=30
)  # (days later, daily check instead of tap)


@settings(max_examples=80, deadline=None)
@given(steps, st.sampled_from([Expiry.INACTIVITY, Expiry.PER_STAMP]), st.integers(1, 5))
def test_expiry_never_removes_stamps_earned_after_it(
    plan: list[tuple[int, bool]], mode: Expiry, goal_extra: int
) -> None:
    program = Program(expiry=mode, expiry_days=30, expiry_warn_days=7, goal=3 + goal_extra)
    shell = Shell(program)
    moment = T0
    for days, check in plan:
        moment += timedelta(days=days, hours=1)
        before = shell.card
        decided = decide_expiry(program, before, moment) if check else None
        outcome = shell.commit(decided, moment) if decided else shell.tap(moment)
        removed = -sum(c.delta for c in outcome.changes if c.kind is EventKind.EXPIRED)
        # never more than the card held, and only stamps whose time was up before now
        assert 0 <= removed <= max(0, before.stamps)
        cutoff = (moment - timedelta(days=30)).date()
        if mode is Expiry.PER_STAMP:
            old = sum(n for d, n in before.day_stamps.items() if date.fromisoformat(d) <= cutoff)
            assert removed <= max(0, old)
        elif removed:
            assert before.last_visit is not None and before.last_visit <= moment - timedelta(days=30)
        assert shell.card.stamps >= 0
    assert shell.card.stamps == sum(e.delta for e in shell.events)
    assert fold(REF, shell.events, program.tz) == shell.card

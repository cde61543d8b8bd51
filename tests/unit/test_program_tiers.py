"""Tiers: reached by visits or stamps in a rolling window, moved only by events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.events import EventKind, fold
from kiosk.core.program import Program, Tier, TierBasis
from tests.unit.program_support import REF, T0, Shell

TIERS = (Tier("Silver", 3), Tier("Gold", 5, multiplier=2))
DAY = timedelta(days=1)


def test_a_card_reaches_silver_then_gold_by_visits_and_gold_doubles_its_stamps() -> None:
    shell = Shell(Program(tiers=TIERS, welcome_bonus=0, goal=50))
    outcomes = shell.taps(T0 + i * DAY for i in range(6))
    assert [o.progress.tier.tier if o.progress.tier else None for o in outcomes] == [
        None, None, "Silver", "Silver", "Gold", "Gold"
    ]
    changed = [o.progress.tier.changed for o in outcomes if o.progress.tier]
    assert changed == [False, False, True, False, True, False]
    # the tap that reaches Gold still earns at the old rate; the next one earns double
    assert [o.stamps_added for o in outcomes] == [1, 1, 1, 1, 1, 2]
    assert outcomes[3].progress.tier.next_tier == "Gold" and outcomes[3].progress.tier.to_next == 1


def test_a_tier_is_lost_when_its_visits_leave_the_window() -> None:
    program = Program(tiers=TIERS, welcome_bonus=0, goal=50, tier_months=12)
    shell = Shell(program)
    shell.taps(T0 + i * DAY for i in range(3))
    assert shell.card.tier == "Silver"
    back = shell.tap(T0 + timedelta(days=400))
    assert back.progress.tier.tier is None and back.progress.tier.changed
    assert [e.reward_id for e in shell.events if e.kind is EventKind.TIER_CHANGED] == [
        "Silver", None
    ]


def test_near_the_end_of_the_month_the_screen_says_how_many_visits_keep_the_tier() -> None:
    program = Program(tiers=TIERS, welcome_bonus=0, goal=50, tier_warn_days=10)
    shell = Shell(program)
    start = datetime(2025, 4, 1, 9, tzinfo=UTC)  # these visits leave the window in April 2026
    shell.taps(start + i * DAY for i in range(5))
    late_march = shell.tap(datetime(2026, 3, 25, 9, tzinfo=UTC))
    assert late_march.progress.tier.tier == "Gold"
    keep = late_march.progress.tier
    assert keep.keep == 4 and keep.keep_by == datetime(2026, 3, 31).date()


def test_the_keep_warning_stays_quiet_early_in_the_month() -> None:
    program = Program(tiers=TIERS, welcome_bonus=0, goal=50, tier_warn_days=10)
    shell = Shell(program)
    shell.taps(datetime(2025, 4, 1, 9, tzinfo=UTC) + i * DAY for i in range(5))
    assert shell.tap(datetime(2026, 3, 5, 9, tzinfo=UTC)).progress.tier.keep == 0


def test_tiers_by_stamps_count_the_stamps_earned_in_the_window() -> None:
    program = Program(tiers=(Tier("Gold", 6),), tier_basis=TierBasis.STAMPS, welcome_bonus=4)
    shell = Shell(program)
    first, second = shell.taps([T0, T0 + DAY])
    assert first.progress.tier.tier is None and first.progress.tier.to_next == 1
    assert second.progress.tier.tier == "Gold"


def test_without_tiers_the_outcome_says_nothing_about_them() -> None:
    assert Shell(Program()).tap(T0).progress.tier is None


gaps = st.lists(st.integers(0, 90), min_size=1, max_size=30)  # days between taps


@settings(max_examples=80, deadline=None)
@given(gaps, st.sampled_from(list(TierBasis)))
def test_the_tier_never_changes_without_an_event(days: list[int], basis: TierBasis) -> None:
    shell = Shell(Program(tiers=TIERS, tier_basis=basis, goal=20, welcome_bonus=0))
    moment = T0
    for gap in days:
        moment += timedelta(days=gap, hours=1)
        before = shell.card.tier
        outcome = shell.tap(moment)
        tier_events = [c for c in outcome.changes if c.kind is EventKind.TIER_CHANGED]
        if shell.card.tier != before:
            assert tier_events and tier_events[-1].reward_id == shell.card.tier
        else:
            assert not tier_events
    assert fold(REF, shell.events, shell.program.tz) == shell.card


@settings(max_examples=60, deadline=None)
@given(gaps)
def test_a_tier_multiplier_applies_once_per_stamp(days: list[int]) -> None:
    shell = Shell(Program(tiers=TIERS, goal=20, welcome_bonus=0))
    moment = T0
    for gap in days:
        moment += timedelta(days=gap, hours=1)
        tier = shell.program.tier_named(shell.card.tier)
        outcome = shell.tap(moment)
        assert outcome.stamps_added == (tier.multiplier if tier else 1)

"""The loyalty rules, one behaviour at a time, then as properties over any tap sequence."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.events import CardState, Change, Event, EventKind, apply_change, fold, record
from kiosk.core.rules import (
    OutcomeKind,
    Program,
    Reward,
    decide_redeem,
    decide_tap,
)

REF = "ab" * 32
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def tap_through(program: Program, times: list[datetime], card: CardState | None = None):
    card = card or CardState(REF)
    outcomes = []
    for moment in times:
        outcome = decide_tap(program, card, moment)
        for change in outcome.changes:
            card = apply_change(card, change, moment, program.tz)
        outcomes.append(outcome)
    return card, outcomes


def test_a_new_card_is_enrolled_with_its_welcome_bonus_and_todays_stamp():
    outcome = decide_tap(Program(welcome_bonus=2), CardState(REF), T0)
    assert outcome.kind is OutcomeKind.WELCOME
    assert outcome.bonus == 2
    assert outcome.card is not None and outcome.card.stamps == 3
    assert outcome.stamps_left == 7
    assert [c.kind for c in outcome.changes] == [EventKind.ENROLLED, EventKind.STAMP]


def test_a_welcome_bonus_of_zero_still_enrols_the_card():
    outcome = decide_tap(Program(welcome_bonus=0), CardState(REF), T0)
    assert outcome.kind is OutcomeKind.WELCOME and outcome.card.stamps == 1


def test_a_second_tap_within_the_cooldown_shows_the_card_without_stamping():
    card, (first, second) = tap_through(Program(), [T0, T0 + timedelta(minutes=29)])
    assert second.kind is OutcomeKind.COOLDOWN
    assert second.changes == ()
    assert second.until == T0 + timedelta(minutes=30)
    assert card.stamps == first.card.stamps


def test_a_tap_after_the_cooldown_stamps_again():
    _, (_, second) = tap_through(Program(), [T0, T0 + timedelta(minutes=30)])
    assert second.kind is OutcomeKind.STAMPED and second.stamps == 4


def test_the_full_card_becomes_a_voucher_and_surplus_stamps_roll_over():
    program = Program(goal=5, welcome_bonus=3)
    card, outcomes = tap_through(program, [T0 + i * HOUR for i in range(4)])
    assert [o.kind for o in outcomes] == [
        OutcomeKind.WELCOME, OutcomeKind.REWARD_EARNED, OutcomeKind.STAMPED, OutcomeKind.STAMPED
    ]
    assert outcomes[1].rewards_earned == (program.reward,)
    assert card.stamps == 2
    assert card.vouchers("reward") == 1


def test_vouchers_accumulate_until_redeemed():
    program = Program(goal=2, welcome_bonus=0)
    card, _ = tap_through(program, [T0 + i * HOUR for i in range(6)])
    assert card.vouchers("reward") == 3
    redeemed = decide_redeem(program, card, T0 + 7 * HOUR)
    assert redeemed.kind is OutcomeKind.REDEEMED
    assert redeemed.card.vouchers("reward") == 2


def test_redeeming_with_no_voucher_changes_nothing():
    program = Program()
    card, _ = tap_through(program, [T0])
    outcome = decide_redeem(program, card, T0 + HOUR)
    assert outcome.kind is OutcomeKind.NO_VOUCHER and outcome.changes == ()


def test_a_milestone_gives_its_small_reward_without_taking_stamps():
    program = Program(goal=10, welcome_bonus=2, milestones=(Reward("biscuit", "biscuit", 5),))
    card, outcomes = tap_through(program, [T0 + i * HOUR for i in range(3)])
    assert outcomes[2].kind is OutcomeKind.REWARD_EARNED
    assert outcomes[2].rewards_earned == (Reward("biscuit", "biscuit", 5),)
    assert card.stamps == 5 and card.vouchers("biscuit") == 1


def test_the_next_reward_is_the_nearest_one_on_the_card():
    program = Program(goal=10, welcome_bonus=2, milestones=(Reward("biscuit", "biscuit", 5),))
    outcome = decide_tap(program, CardState(REF), T0)
    assert outcome.progress.next_reward == Reward("biscuit", "biscuit", 5)
    assert outcome.progress.stamps_to_next == 2
    assert outcome.stamps_left == 7


def test_redeem_takes_the_named_voucher_else_the_most_valuable():
    program = Program(goal=10, welcome_bonus=2, milestones=(Reward("biscuit", "biscuit", 5),))
    card, _ = tap_through(program, [T0 + i * HOUR for i in range(9)])
    assert card.vouchers("biscuit") == 1 and card.vouchers("reward") == 1
    assert decide_redeem(program, card, T0).reward.id == "reward"
    assert decide_redeem(program, card, T0, "biscuit").reward.id == "biscuit"


def test_the_daily_cap_stops_stamps_until_the_next_local_day():
    program = Program(daily_cap=2, cooldown=timedelta(0), timezone="Europe/Paris")
    # 21:30 UTC is 22:30 in Paris; 23:30 UTC is already the next day there.
    times = [T0, T0 + HOUR, T0 + 2 * HOUR, T0.replace(hour=23, minute=30)]
    _, outcomes = tap_through(program, times)
    assert [o.kind for o in outcomes] == [
        OutcomeKind.WELCOME, OutcomeKind.STAMPED, OutcomeKind.DAILY_CAP, OutcomeKind.STAMPED
    ]


def test_a_program_rejects_a_milestone_beyond_the_goal():
    import pytest

    with pytest.raises(ValueError, match="milestone"):
        Program(goal=5, milestones=(Reward("x", "x", 7),))


# --- properties ---------------------------------------------------------------------------

programs = st.builds(
    Program,
    goal=st.integers(1, 12),
    welcome_bonus=st.just(0),
    cooldown=st.sampled_from([timedelta(0), timedelta(minutes=30), timedelta(hours=2)]),
    daily_cap=st.none() | st.integers(1, 3),
).flatmap(
    lambda p: st.builds(
        Program,
        goal=st.just(p.goal),
        welcome_bonus=st.integers(0, p.goal - 1),
        cooldown=st.just(p.cooldown),
        daily_cap=st.just(p.daily_cap),
        milestones=st.just(())
        if p.goal < 3
        else st.lists(st.integers(1, p.goal - 1), max_size=2, unique=True).map(
            lambda ms: tuple(Reward(f"m{m}", f"gift {m}", m) for m in ms)
        ),
    )
)
gaps = st.lists(st.integers(0, 6 * 60), min_size=1, max_size=40)  # minutes between taps
actions = st.lists(st.tuples(st.integers(0, 6 * 60), st.booleans()), min_size=1, max_size=40)


def _run(program: Program, steps: list[tuple[int, bool]]):
    """Taps (False) and redemptions (True), returning the events as the shell records them."""
    card, moment, events, outcomes = CardState(REF), T0, [], []
    counter = iter(range(10**9))
    for minutes, is_redeem in steps:
        moment += timedelta(minutes=minutes)
        outcome = (decide_redeem if is_redeem else decide_tap)(program, card, moment)
        recorded = record(
            outcome.changes, card_ref=REF, kiosk_id="k", program_version="1", now=moment,
            new_id=lambda: str(next(counter)), first_seq=len(events) + 1,
        )
        events.extend(recorded)
        for change in outcome.changes:
            card = apply_change(card, change, moment, program.tz)
        outcomes.append((moment, outcome))
    return card, events, outcomes


def _with_versions(card: CardState, events: list[Event]) -> CardState:
    """The card as the fold of recorded events sees it: it also knows the program versions
    they were decided under (changes alone do not carry one)."""
    return dataclasses.replace(card, versions=frozenset(e.program_version for e in events))


@given(programs, actions)
def test_the_balance_is_the_sum_of_the_event_deltas(program, steps):
    card, events, _ = _run(program, steps)
    assert card.stamps == sum(e.delta for e in events)
    assert fold(REF, events, program.tz) == _with_versions(card, events)


@given(programs, actions)
def test_stamps_and_vouchers_are_never_negative_at_one_kiosk(program, steps):
    _, _, outcomes = _run(program, steps)
    for _, outcome in outcomes:
        if outcome.card is not None:
            assert 0 <= outcome.card.stamps < program.goal
            assert all(n >= 0 for n in outcome.card.all_vouchers().values())


@given(programs, actions)
def test_no_two_stamps_are_closer_than_the_cooldown(program, steps):
    _, events, _ = _run(program, steps)
    stamps = [e.occurred_at for e in events if e.kind is EventKind.STAMP]
    assert all(b - a >= program.cooldown for a, b in zip(stamps, stamps[1:], strict=False))


@given(programs, actions)
def test_the_welcome_bonus_is_given_once(program, steps):
    _, events, _ = _run(program, steps)
    tapped = any(not is_redeem for _, is_redeem in steps)
    assert sum(1 for e in events if e.kind is EventKind.ENROLLED) == (1 if tapped else 0)


@given(programs, actions, st.randoms(use_true_random=False))
def test_replaying_the_events_in_any_order_gives_the_same_state(program, steps, rnd):
    card, events, _ = _run(program, steps)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert fold(REF, shuffled, program.tz) == _with_versions(card, events)


@given(programs, actions)
def test_every_full_card_turns_into_exactly_one_voucher(program, steps):
    card, events, _ = _run(program, steps)
    stamped = sum(e.delta for e in events if e.kind in (EventKind.STAMP, EventKind.ENROLLED))
    assert card.earned.get(program.reward_id, 0) == stamped // program.goal


@given(st.lists(st.sampled_from(list(EventKind)), max_size=30), st.integers(-3, 3))
def test_the_fold_is_commutative_for_any_kinds_of_change(kinds, delta):
    changes = [Change(k, delta, "reward") for k in kinds]
    forward = CardState(REF)
    backward = CardState(REF)
    for i, c in enumerate(changes):
        forward = apply_change(forward, c, T0 + i * HOUR)
    for i, c in reversed(list(enumerate(changes))):
        backward = apply_change(backward, c, T0 + i * HOUR)
    assert forward == backward

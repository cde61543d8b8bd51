"""Program changes never strand a card, and two kiosks enrolling one card offline give it
one welcome bonus: one test per kind of change, and the fold's order independence."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.events import CardState, EventKind, fold
from kiosk.core.outcome import Redeemed, RewardEarned
from kiosk.core.program import Program, Reward
from kiosk.core.rules import decide_redeem, decide_tap
from kiosk.core.versions import UnconvertedSwitch, carried, switch_problem
from tests.unit.program_support import REF, T0, Shell

DAY = timedelta(days=1)
COFFEE = Program(version="1", goal=10, welcome_bonus=0, cooldown=timedelta(0))


def stamped(shell: Shell, taps: int) -> Shell:
    shell.taps(T0 + i * DAY for i in range(taps))
    return shell


# -- idempotent enrolment ------------------------------------------------------------------


def two_kiosks_enrol_one_card_offline(program: Program, first: int, second: int) -> list:
    """Kiosk 1 and kiosk 2 each see the card for the first time and enrol it, then stamp it
    `first` and `second` times more; their events meet at the central (or in a pull)."""
    kiosks = [Shell(program, "k1"), Shell(program, "k2")]
    starts = (T0, T0 + timedelta(days=1, hours=5))
    for shell, taps, start in zip(kiosks, (first, second), starts, strict=True):
        shell.taps(start + i * DAY for i in range(taps + 1))
    return kiosks[0].events + kiosks[1].events


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 4), st.integers(0, 4), st.integers(0, 5), st.randoms(use_true_random=False))
def test_a_card_enrolled_at_two_kiosks_offline_counts_one_welcome_bonus_in_any_order(
    first, second, bonus, rnd
) -> None:
    program = Program(goal=100, welcome_bonus=bonus, cooldown=timedelta(0))
    events = two_kiosks_enrol_one_card_offline(program, first, second)
    assert sum(e.kind is EventKind.ENROLLED for e in events) == 2
    shuffled = list(events)
    rnd.shuffle(shuffled)
    merged, mixed = fold(REF, events, program.tz), fold(REF, shuffled, program.tz)
    assert merged == mixed
    visits = first + second + 2
    assert merged.stamps == bonus + visits  # one bonus, every visit's stamp
    assert sum(merged.day_stamps.values()) == merged.stamps


def test_the_enrolment_that_counts_is_the_earliest_so_its_day_keeps_the_bonus() -> None:
    program = Program(goal=100, welcome_bonus=2, cooldown=timedelta(0))
    events = two_kiosks_enrol_one_card_offline(program, 0, 0)
    later = [e for e in events if e.kiosk_id == "k2"]
    card = fold(REF, [*later, *events], program.tz)  # the later one seen first, and twice
    assert card.welcome == 2 and card.welcome_day == T0.date().isoformat()


# -- lowering the goal ---------------------------------------------------------------------


def test_a_lowered_goal_turns_a_full_card_into_a_voucher_at_its_next_tap() -> None:
    shell = stamped(Shell(COFFEE), 8)
    assert shell.card.stamps == 8
    shell.program = dataclasses.replace(COFFEE, version="2", goal=6)
    outcome = shell.tap(T0 + 30 * DAY)
    assert isinstance(outcome, RewardEarned)
    assert (outcome.stamps, outcome.progress.goal) == (3, 6)  # 8 + this tap's 1 - 6
    assert shell.card.vouchers(COFFEE.reward_id) == 1


def test_a_goal_lowered_to_a_third_gives_every_full_card_its_voucher_at_once() -> None:
    shell = stamped(Shell(COFFEE), 9)
    shell.program = dataclasses.replace(COFFEE, version="2", goal=3)
    shell.tap(T0 + 30 * DAY)  # 10 stamps: three full cards of 3, one stamp over
    assert (shell.card.stamps, shell.card.vouchers(COFFEE.reward_id)) == (1, 3)


# -- raising the goal ----------------------------------------------------------------------


def test_a_raised_goal_keeps_the_cards_stamps_and_moves_only_the_finish_line() -> None:
    shell = stamped(Shell(COFFEE), 8)
    shell.program = dataclasses.replace(COFFEE, version="2", goal=12)
    outcome = shell.tap(T0 + 30 * DAY)
    assert (outcome.stamps, outcome.stamps_left) == (9, 3)
    assert shell.card.all_vouchers() == {}


# -- removing a reward ---------------------------------------------------------------------


def test_a_voucher_of_a_removed_reward_stays_redeemable_under_its_old_name() -> None:
    old = dataclasses.replace(COFFEE, goal=2, reward_id="coffee", reward_name="free coffee")
    shell = stamped(Shell(old), 2)
    assert shell.card.vouchers("coffee") == 1
    new = carried(old, dataclasses.replace(old, version="2", reward_id="tea", reward_name="free tea"))
    assert new.retired_rewards == (Reward("coffee", "free coffee", 2),)
    outcome = decide_redeem(new, shell.card, T0 + 30 * DAY)
    assert isinstance(outcome, Redeemed) and outcome.reward.name == "free coffee"


def test_a_retired_reward_is_never_earned_again() -> None:
    old = dataclasses.replace(COFFEE, goal=2, reward_id="coffee", reward_name="free coffee")
    new = carried(old, dataclasses.replace(old, version="2", reward_id="tea", reward_name="free tea"))
    shell = stamped(Shell(new), 2)
    assert shell.card.all_vouchers() == {"tea": 1}


def test_a_retired_reward_offered_again_is_no_longer_retired() -> None:
    old = dataclasses.replace(COFFEE, reward_id="coffee", reward_name="free coffee")
    gone = carried(old, dataclasses.replace(old, version="2", reward_id="tea", reward_name="tea"))
    back = carried(gone, dataclasses.replace(old, version="3"))
    assert [r.id for r in back.retired_rewards] == ["tea"]


# -- switching between stamps and points ---------------------------------------------------


def test_switching_from_stamps_to_points_is_refused_until_the_program_says_how_balances_convert() -> None:
    points = dataclasses.replace(COFFEE, version="2", points_per_euro=2, goal=500)
    assert "points_per_stamp" in (switch_problem(COFFEE, points) or "")
    with pytest.raises(UnconvertedSwitch, match="points_per_stamp"):
        carried(COFFEE, points)
    assert switch_problem(COFFEE, dataclasses.replace(points, points_per_stamp=50)) is None


def test_a_conversion_too_large_for_one_event_is_refused_at_the_switch() -> None:
    points = dataclasses.replace(COFFEE, version="2", points_per_euro=2, goal=500, points_per_stamp=200)
    assert "at most 111 for cards of 10 stamps" in (switch_problem(COFFEE, points) or "")


def test_a_stamp_balance_converts_into_points_once_at_the_cards_next_tap() -> None:
    shell = stamped(Shell(COFFEE), 4)
    points = carried(COFFEE, dataclasses.replace(
        COFFEE, version="2", points_per_euro=2, goal=500, points_per_stamp=50))
    shell.program = points
    shell.tap(T0 + 30 * DAY)  # no basket: a visit, no points of its own
    assert shell.card.stamps == 200  # 4 stamps x 50 points
    converted = [e for e in shell.events if e.kind is EventKind.CONVERTED]
    assert [(e.delta, e.reward_id) for e in converted] == [(196, "2")]
    shell.tap(T0 + 31 * DAY)
    assert shell.card.stamps == 200  # converted once only


def test_a_card_first_seen_after_the_switch_is_never_converted() -> None:
    points = carried(COFFEE, dataclasses.replace(
        COFFEE, version="2", points_per_euro=2, goal=500, points_per_stamp=50))
    shell = Shell(points)
    shell.taps([T0, T0 + DAY])
    assert not any(e.kind is EventKind.CONVERTED for e in shell.events)


def test_a_version_after_the_switch_still_converts_cards_not_seen_since() -> None:
    points = carried(COFFEE, dataclasses.replace(
        COFFEE, version="2", points_per_euro=2, goal=500, points_per_stamp=50))
    later = carried(points, dataclasses.replace(points, version="3", goal=400))
    assert (later.switched_in, later.unit_versions) == ("2", ("2", "3"))
    shell = stamped(Shell(COFFEE), 2)
    shell.program = later
    shell.tap(T0 + 30 * DAY)
    assert shell.card.stamps == 100


def test_points_switched_back_to_stamps_convert_into_whole_stamps() -> None:
    points = dataclasses.replace(COFFEE, points_per_euro=1, goal=300, welcome_bonus=0)
    shell = Shell(points)
    shell.tap(T0)
    shell.card = dataclasses.replace(shell.card, stamps=130)  # as if baskets had earned them
    stamps = carried(points, dataclasses.replace(COFFEE, version="2", points_per_stamp=50))
    shell.program = stamps
    outcome = decide_tap(stamps, shell.card, T0 + DAY)
    assert outcome.card.stamps == 3  # 130 // 50 = 2, then this visit's stamp


def test_the_points_goal_reaches_as_far_as_one_event_may_carry() -> None:
    program = Program(goal=500, points_per_euro=2, welcome_bonus=0)
    assert program.goal == 500
    with pytest.raises(ValueError, match="goal"):
        Program(goal=1001)


def test_a_card_state_keeps_versions_and_conversions_through_its_json_form() -> None:
    state = CardState(REF, versions=frozenset({"1", "2"}), converted=frozenset({"2"}))
    assert CardState.from_dict(state.to_dict()) == state

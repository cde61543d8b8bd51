"""Staff actions as pure decisions: undo the last stamp, today's figures, staff cards."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.events import Event, EventKind, fold
from kiosk.core.outcome import OutcomeKind, UndoRefusal
from kiosk.core.program import Program, Reward, Surprise
from kiosk.core.rules import decide_redeem
from kiosk.core.staff import StaffPolicy, decide_undo, todays_figures
from tests.unit.program_support import REF, T0, Shell

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
STAFF = "ee" * 32


def since_last_stamp(events: list[Event]) -> list[Event]:
    """What the shell hands decide_undo: the card's events from its last stamp on."""
    last = max((i for i, e in enumerate(events) if e.kind is EventKind.STAMP), default=None)
    return [] if last is None else events[last:]


def undo(shell: Shell, at_minutes: float) -> object:
    now = shell.events[-1].occurred_at + timedelta(minutes=at_minutes)
    outcome = decide_undo(shell.program, shell.card, since_last_stamp(shell.events), now)
    return shell.commit(outcome, now, staff_ref=STAFF)


def test_undo_takes_the_last_stamp_off_and_the_visit_with_it() -> None:
    shell = Shell(Program())
    shell.taps([T0, T0 + DAY])
    outcome = undo(shell, 2)
    assert outcome.kind is OutcomeKind.UNDONE
    assert shell.card.stamps == 3 and shell.card.visits == 1
    assert shell.events[-1].kind is EventKind.ADJUSTMENT and shell.events[-1].staff_ref == STAFF


def test_undo_is_refused_after_the_window_and_a_second_time() -> None:
    shell = Shell(Program())
    shell.taps([T0, T0 + DAY])
    assert undo(shell, 6).refusal is UndoRefusal.TOO_LATE
    assert undo(shell, 1).kind is OutcomeKind.UNDONE
    assert undo(shell, 1).refusal is UndoRefusal.ALREADY_UNDONE


def test_undoing_the_stamp_that_filled_the_card_takes_back_its_voucher_and_bonus() -> None:
    program = Program(goal=3, welcome_bonus=0, surprises=(Surprise(2, 1),),
                      milestones=(Reward("biscuit", "biscuit", 1),))
    shell = Shell(program)
    shell.taps([T0, T0 + DAY])  # 1 stamp, then 1 + surprise 1: the card is full
    assert shell.card.vouchers("reward") == 1
    outcome = undo(shell, 1)
    assert outcome.kind is OutcomeKind.UNDONE
    assert shell.card.vouchers("reward") == 0 and shell.card.stamps == 1


def test_undo_is_refused_once_the_voucher_it_made_was_redeemed() -> None:
    program = Program(goal=2, welcome_bonus=1)
    shell = Shell(program)
    shell.tap(T0)
    shell.commit(decide_redeem(program, shell.card, T0 + MINUTE), T0 + MINUTE)
    outcome = decide_undo(program, shell.card, since_last_stamp(shell.events), T0 + 2 * MINUTE)
    assert outcome.refusal is UndoRefusal.REWARD_GIVEN and outcome.changes == ()


def test_a_staff_policy_knows_its_cards_and_window() -> None:
    policy = StaffPolicy(frozenset({STAFF}), timedelta(minutes=2))
    assert policy.is_staff_card(STAFF) and not policy.is_staff_card(REF)


def test_todays_figures_count_visits_new_cards_and_rewards_of_the_local_day() -> None:
    program = Program(goal=2, welcome_bonus=1, timezone="Europe/Paris")
    shell = Shell(program)
    shell.taps([T0 - DAY, T0, T0 + timedelta(hours=2)])
    undo(shell, 1)
    figures = todays_figures(shell.events, T0 + timedelta(hours=3), program.tz, pending_sync=4)
    assert (figures.visits, figures.new_cards, figures.undone, figures.pending_sync) == (1, 0, 1, 4)
    assert figures.rewards_earned == 0  # the one made at 11:00 was taken back


# minutes later (often within the 5-minute undo window), then what happens at the counter
steps = st.tuples(st.one_of(st.integers(0, 2), st.integers(3, 600)),
                  st.sampled_from(["tap", "undo", "redeem"]))


@settings(max_examples=200, deadline=None)  # fewer let an undo of a redeemed voucher slip by
@given(st.lists(steps, min_size=1, max_size=30))
def test_undo_keeps_balances_equal_to_the_sum_of_deltas_and_never_negative(
    plan: list[tuple[int, str]],
) -> None:
    program = Program(goal=2, welcome_bonus=1, cooldown=timedelta(0),
                      surprises=(Surprise(3, 2),), milestones=(Reward("m", "m", 1),))
    shell = Shell(program)
    moment = T0
    for minutes, action in plan:
        moment += timedelta(minutes=minutes)
        if action == "undo":
            outcome = decide_undo(program, shell.card, since_last_stamp(shell.events), moment)
            shell.commit(outcome, moment, STAFF)
        elif action == "redeem":  # a voucher spent: the undo that made it must be refused
            shell.commit(decide_redeem(program, shell.card, moment), moment, STAFF)
        else:
            shell.tap(moment)
        assert shell.card.stamps >= 0
        assert all(n >= 0 for n in shell.card.all_vouchers().values())
    assert shell.card.stamps == sum(e.delta for e in shell.events)
    assert fold(REF, shell.events, program.tz) == shell.card

"""Staff corrections as pure decisions, and how the central judges them: a manual
adjustment never takes a card below zero, a replacement never silently adds balances."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest

from central.plausible import implausible
from central.program import BadProgram, following, from_toml
from central.validate import check_event
from kiosk.core.corrections import adjustment_problem, decide_adjust, decide_replace
from kiosk.core.events import CardState, Event, EventKind, apply
from kiosk.core.outcome import Adjusted, Blocked, RefusalReason, Refused, Replaced
from kiosk.core.program import Program
from kiosk.core.rules import decide_redeem, decide_tap
from tests.unit.program_support import REF, T0, Shell

NEW = "ef" * 32
PROGRAM = Program(goal=4, welcome_bonus=0, cooldown=timedelta(0))


def card_with(stamps: int, vouchers: int = 0) -> CardState:
    """A card of PROGRAM after enough taps for `stamps` and `vouchers`."""
    shell = Shell(PROGRAM)
    shell.taps(T0 + timedelta(hours=i) for i in range(stamps + vouchers * PROGRAM.goal))
    return shell.card


def test_an_adjustment_adds_stamps_by_hand_with_its_reason() -> None:
    outcome = decide_adjust(PROGRAM, card_with(1), 2, "stamp forgotten", T0)
    assert isinstance(outcome, Adjusted)
    assert outcome.card.stamps == 3
    assert [(c.kind, c.delta, c.reward_id) for c in outcome.changes] == [
        (EventKind.MANUAL_ADJUSTMENT, 2, "stamp forgotten")]


def test_an_adjustment_that_would_make_the_balance_negative_is_refused() -> None:
    outcome = decide_adjust(PROGRAM, card_with(2), -3, "typo", T0)
    assert outcome == Refused(reason=RefusalReason.NEGATIVE_BALANCE)
    assert isinstance(decide_adjust(PROGRAM, card_with(2), -2, "typo", T0), Adjusted)


def test_an_adjustment_of_a_card_never_seen_is_refused() -> None:
    outcome = decide_adjust(PROGRAM, CardState(REF), 1, "why not", T0)
    assert outcome == Refused(reason=RefusalReason.CARD_UNKNOWN)


@pytest.mark.parametrize(("delta", "reason", "words"), [
    (0, "nothing", "not 0"), (1001, "too much", "between -1000 and +1000"),
    (1, "", "reason"), (1, "x" * 41, "1 to 40"), (1, "tab\there", "printable"),
])
def test_an_adjustment_typed_wrong_names_the_fix(delta: int, reason: str, words: str) -> None:
    problem = adjustment_problem(delta, reason)
    assert problem is not None and words in problem
    with pytest.raises(ValueError, match=re.escape(words)):
        decide_adjust(PROGRAM, card_with(1), delta, reason, T0)


def test_stamps_added_past_the_goal_become_a_voucher_at_the_next_tap() -> None:
    adjusted = decide_adjust(PROGRAM, card_with(3), 2, "two forgotten", T0)
    tap = decide_tap(PROGRAM, adjusted.card, T0 + timedelta(days=1))
    assert tap.card.stamps == 2 and tap.card.vouchers(PROGRAM.reward_id) == 1


def test_a_replacement_moves_stamps_and_vouchers_and_blocks_the_old_card() -> None:
    old = card_with(3, vouchers=1)
    outcome = decide_replace(PROGRAM, old, CardState(NEW), T0)
    assert isinstance(outcome, Replaced)
    assert (outcome.stamps_moved, outcome.vouchers_moved) == (3, 1)
    assert outcome.card.enrolled and outcome.card.stamps == 3
    assert outcome.card.vouchers(PROGRAM.reward_id) == 1
    left = old
    for change in outcome.old_changes:
        left = dataclasses.replace(left)  # the old card's own events, folded as recorded
        left = apply(left, Event(
            id="x", kiosk_id="k1", seq=1, card_ref=REF, kind=change.kind, delta=change.delta,
            reward_id=change.reward_id, program_version="1", occurred_at=T0, staff_ref="s"))
    assert left.blocked and left.stamps == 0 and left.all_vouchers() == {}
    assert isinstance(decide_tap(PROGRAM, left, T0 + timedelta(days=1)), Blocked)
    # the new card's first tap is a visit, not a second welcome
    assert decide_tap(PROGRAM, outcome.card, T0 + timedelta(days=1)).kind.value != "welcome"


def test_replacing_with_a_card_that_holds_a_balance_is_refused_unless_a_merge_is_asked() -> None:
    old, new = card_with(2), dataclasses.replace(card_with(1), card_ref=NEW)
    assert decide_replace(PROGRAM, old, new, T0) == Refused(reason=RefusalReason.CARD_IN_USE)
    merged = decide_replace(PROGRAM, old, new, T0, merge=True)
    assert isinstance(merged, Replaced) and merged.card.stamps == 3


@pytest.mark.parametrize(("old", "new", "why"), [
    (card_with(2), card_with(0), RefusalReason.SAME_CARD),
    (CardState(REF), CardState(NEW), RefusalReason.CARD_UNKNOWN),
    (dataclasses.replace(card_with(2), blocked=True), CardState(NEW), RefusalReason.CARD_BLOCKED),
])
def test_a_replacement_that_would_lose_or_invent_a_balance_is_refused(old, new, why) -> None:
    assert decide_replace(PROGRAM, old, new, T0) == Refused(reason=why)


def test_a_blocked_card_has_nothing_left_to_redeem() -> None:
    old = card_with(0, vouchers=1)
    moved = decide_replace(PROGRAM, old, CardState(NEW), T0)
    assert isinstance(moved, Replaced)
    assert decide_redeem(PROGRAM, moved.card, T0).kind.value == "redeemed"


# -- the central ---------------------------------------------------------------------------


def wire(kind: EventKind, delta: int, reward_id: str | None, staff_ref: str | None) -> dict:
    return Event(id="e1", kiosk_id="k1", seq=1, card_ref=REF, kind=kind, delta=delta,
                 reward_id=reward_id, program_version="1", occurred_at=T0,
                 staff_ref=staff_ref).to_dict()


def test_the_central_rejects_an_adjustment_without_its_reason_or_staff_ref() -> None:
    now = T0 + timedelta(hours=1)
    assert check_event(wire(EventKind.MANUAL_ADJUSTMENT, 2, "forgotten", "s1"), "k1", now).event
    for reward_id, staff in ((None, "s1"), ("forgotten", None)):
        checked = check_event(wire(EventKind.MANUAL_ADJUSTMENT, 2, reward_id, staff), "k1", now)
        assert checked.reason is not None and "manual_adjustment event needs" in checked.reason


def recorded(kind: EventKind, delta: int, reward_id: str | None = None) -> Event:
    return Event.from_dict(wire(kind, delta, reward_id, "s1"))


def test_the_central_holds_an_adjustment_below_zero_and_a_replacement_giving_more_than_held() -> None:
    card = card_with(2)
    assert implausible(PROGRAM, card, recorded(EventKind.MANUAL_ADJUSTMENT, -2, "typo")) is None
    assert "leaves the card at -1" in (
        implausible(PROGRAM, card, recorded(EventKind.MANUAL_ADJUSTMENT, -3, "typo")) or "")
    assert implausible(PROGRAM, card, recorded(EventKind.CARD_REPLACED, -2)) is None
    assert implausible(PROGRAM, card, recorded(EventKind.CARD_REPLACED, -3)) is not None
    assert implausible(PROGRAM, card, recorded(EventKind.VOUCHER_MOVED_OUT, 0, "reward")) is not None


def test_the_central_counts_a_conversion_only_as_the_program_says() -> None:
    shell = Shell(PROGRAM)
    shell.taps([T0, T0 + timedelta(days=1)])
    card = shell.card
    points = {**from_toml('version = "1"\ngoal = 4\nwelcome_bonus = 0\ntimezone = "UTC"')}
    switched = following(points, {**points, "version": "2", "points_per_euro": 2,
                                  "goal": 500, "points_per_stamp": 50})
    program = Program(version="2", goal=500, welcome_bonus=0, points_per_euro=2,
                      points_per_stamp=50, switched_in="2", unit_versions=("2",))
    assert switched["switched_in"] == "2" and switched["unit_versions"] == ["2"]
    assert implausible(program, card, recorded(EventKind.CONVERTED, 98, "2")) is None
    assert implausible(program, card, recorded(EventKind.CONVERTED, 500, "2")) is not None


def test_the_central_refuses_a_switch_to_points_that_does_not_say_how_balances_convert() -> None:
    stamps = from_toml('version = "1"\ngoal = 10\ntimezone = "UTC"')
    with pytest.raises(BadProgram, match="points_per_stamp"):
        following(stamps, {**stamps, "version": "2", "points_per_euro": 2, "goal": 500})


def test_the_central_carries_a_removed_reward_into_the_next_version() -> None:
    coffee = from_toml('version = "1"\nreward_id = "coffee"\nreward = "free coffee"')
    tea = following(coffee, {**coffee, "version": "2", "reward_id": "tea", "reward": "free tea"})
    assert tea["retired_rewards"] == [{"id": "coffee", "name": "free coffee", "stamps": 10}]

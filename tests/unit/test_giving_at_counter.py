"""A voucher given to the shop's cause at the counter: the same `donated` event as the
card's page makes, only of a voucher the card holds, only where the program names a cause;
the staff card offers it after its other actions when there is a cause."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.events import CardState, EventKind
from kiosk.core.giving import decide_donate
from kiosk.core.outcome import Donated, NoVoucher, RefusalReason, Refused, StaffAction
from kiosk.core.program import Program, Reward
from kiosk.core.staff import STAFF_CYCLE, next_staff_action

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CAUSE = "Les Restos du Cœur"
LADDER = Program(cause=CAUSE, goal=10, reward_id="cake", reward_name="cake",
                 milestones=(Reward("coffee", "coffee", 5),))


def test_the_most_valuable_voucher_held_is_given_unless_one_is_named() -> None:
    card = CardState(card_ref="ab" * 32, enrolled=True, earned={"coffee": 1, "cake": 1})
    given_ = decide_donate(LADDER, card, T0)
    assert isinstance(given_, Donated) and given_.reward.id == "cake" and given_.cause == CAUSE
    assert [(c.kind, c.delta, c.reward_id) for c in given_.changes] == [
        (EventKind.DONATED, 0, "cake")]
    assert given_.card.vouchers("cake") == 0 and given_.card.vouchers("coffee") == 1
    named = decide_donate(LADDER, card, T0, "coffee")
    assert isinstance(named, Donated) and named.reward.id == "coffee"


def test_a_card_without_a_voucher_gives_nothing_and_records_nothing() -> None:
    stamps_only = CardState(card_ref="ab" * 32, enrolled=True, stamps=12)  # pays for a rung
    refused = decide_donate(LADDER, stamps_only, T0)
    assert isinstance(refused, NoVoucher) and refused.changes == ()


def test_no_cause_or_a_replaced_card_is_refused() -> None:
    card = CardState(card_ref="ab" * 32, enrolled=True, earned={"coffee": 1})
    no_cause = decide_donate(replace(LADDER, cause=None), card, T0)
    assert no_cause == Refused(reason=RefusalReason.NO_CAUSE)
    blocked = decide_donate(LADDER, replace(card, blocked=True), T0)
    assert blocked == Refused(reason=RefusalReason.CARD_BLOCKED)


@given(st.integers(0, 4), st.integers(0, 6))
def test_a_gift_never_leaves_the_card_below_zero_vouchers(held: int, tries: int) -> None:
    card = CardState(card_ref="ab" * 32, enrolled=True, earned={"coffee": held})
    gifts = 0
    for _ in range(tries):
        outcome = decide_donate(LADDER, card, T0, "coffee")
        if isinstance(outcome, Donated):
            card, gifts = outcome.card, gifts + 1
    assert gifts == min(held, tries) and card.vouchers("coffee") == held - gifts


def test_the_staff_card_offers_the_gift_last_and_only_with_a_cause() -> None:
    assert StaffAction.DONATE not in STAFF_CYCLE
    seen, action = [], None
    for _ in range(len(STAFF_CYCLE) + 1):
        action = next_staff_action(action, giving=True)
        seen.append(action)
    assert seen == [*STAFF_CYCLE, StaffAction.DONATE]
    assert next_staff_action(StaffAction.DONATE, giving=True) is StaffAction.REDEEM
    assert next_staff_action(StaffAction.REPLACE) is StaffAction.REDEEM

"""The reward ladder (stamps kept until the customer chooses) and points per euro."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.events import MAX_DELTA, CardState, EventKind
from kiosk.core.outcome import OutcomeKind
from kiosk.core.perks import Basket
from kiosk.core.program import GOAL, POINTS_PER_EURO, Mode, Program, Reward
from kiosk.core.rules import decide_redeem, decide_tap
from kiosk.core.till import MAX_AMOUNT, BasketError, parse_basket
from tests.unit.program_support import T0, Shell

DAY = timedelta(days=1)
LADDER = Program(
    mode=Mode.LADDER, goal=10, reward_id="coffee", reward_name="coffee", welcome_bonus=0,
    milestones=(Reward("biscuit", "biscuit", 5),),
)


def test_on_a_ladder_stamps_pile_up_past_each_reward_until_the_customer_chooses() -> None:
    shell = Shell(LADDER)
    outcomes = shell.taps(T0 + i * DAY for i in range(12))
    assert shell.card.stamps == 12
    assert not any(c.kind is EventKind.REWARD_EARNED for o in outcomes for c in o.changes)
    assert outcomes[4].kind is OutcomeKind.REWARD_EARNED  # the biscuit is now affordable
    assert [r.id for r, _ in outcomes[-1].progress.vouchers] == ["coffee", "biscuit"]


def test_redeeming_a_ladder_reward_spends_its_stamps() -> None:
    shell = Shell(LADDER)
    shell.taps(T0 + i * DAY for i in range(7))
    outcome = shell.commit(decide_redeem(LADDER, shell.card, T0 + 8 * DAY, "biscuit"), T0)
    assert outcome.kind is OutcomeKind.REDEEMED
    assert [(c.kind, c.delta) for c in outcome.changes] == [
        (EventKind.REWARD_EARNED, -5), (EventKind.REWARD_REDEEMED, 0)
    ]
    assert shell.card.stamps == 2 and shell.card.vouchers("biscuit") == 0


def test_a_ladder_reward_the_stamps_cannot_pay_for_is_refused() -> None:
    shell = Shell(LADDER)
    shell.taps(T0 + i * DAY for i in range(7))
    assert decide_redeem(LADDER, shell.card, T0, "coffee").kind is OutcomeKind.NO_VOUCHER


POINTS = Program(points_per_euro=10, goal=100, welcome_bonus=0, cooldown=timedelta(0))


def test_points_per_euro_round_down_and_promotions_can_be_left_out() -> None:
    shell = Shell(POINTS)
    assert shell.tap(T0, basket=Basket(1299)).stamps_added == 129
    no_promo = Shell(Program(points_per_euro=10, goal=100, promo_earns=False))
    assert no_promo.tap(T0, basket=Basket(2000, promo_amount=500)).stamps_added == 150


def test_a_ticket_using_a_reward_earns_only_when_the_program_says_so() -> None:
    strict = Shell(Program(points_per_euro=10, goal=100, reward_ticket_earns=False))
    assert strict.tap(T0, basket=Basket(1000, uses_reward=True)).stamps_added == 0
    assert Shell(POINTS).tap(T0, basket=Basket(1000, uses_reward=True)).stamps_added == 100


def test_a_points_tap_without_a_basket_counts_the_visit_but_earns_nothing() -> None:
    shell = Shell(POINTS)
    outcome = shell.tap(T0)
    assert outcome.progress.points and outcome.stamps_added == 0 and shell.card.visits == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20000), min_size=1, max_size=20))
def test_points_balances_equal_the_sum_of_deltas_and_vouchers_match_full_cards(
    amounts: list[int],
) -> None:
    shell = Shell(POINTS)
    for i, cents in enumerate(amounts):
        shell.tap(T0 + i * DAY, basket=Basket(cents))
    earned = sum(min(cents * 10 // 100, MAX_DELTA) for cents in amounts)  # one tap: MAX_DELTA at most
    assert shell.card.stamps == sum(e.delta for e in shell.events) == earned % 100
    assert shell.card.vouchers("reward") == earned // 100


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 120), st.one_of(st.none(), st.integers(0, 5000))),
             min_size=1, max_size=15)
)
def test_on_a_points_program_every_ticket_earns_even_inside_the_cooldown(
    steps: list[tuple[int, int | None]],
) -> None:
    # a ladder turns no points into a voucher by itself; the cooldown is 30 minutes
    program = Program(mode=Mode.LADDER, points_per_euro=10, goal=100, welcome_bonus=0)
    shell = Shell(program)
    moment = T0
    for minutes, cents in steps:
        moment += timedelta(minutes=minutes)
        before = shell.card
        outcome = shell.tap(moment, basket=None if cents is None else Basket(cents))
        if cents is not None:
            assert outcome.stamps_added == cents * 10 // 100
        elif before.last_visit is not None and moment < before.last_visit + program.cooldown:
            assert outcome.kind is OutcomeKind.COOLDOWN and not outcome.changes
    earned = sum(cents * 10 // 100 for _, cents in steps if cents is not None)
    assert shell.card.stamps == earned


def test_the_till_basket_parses_cents_and_flags() -> None:
    basket = parse_basket(b'{"amount": 1250, "promo_amount": 300, "uses_reward": true}')
    assert basket == Basket(1250, 300, True)
    assert parse_basket('{"amount": 800.0}') == Basket(800)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"[1]", "JSON object"),
        (b"{}", "amount: missing"),
        (b'{"amount": 12.5}', "whole cents"),
        (b'{"amount": "1250"}', "number of cents"),
        (b'{"amount": -1}', "between 0"),
        (b'{"amount": true}', "number of cents"),
        (b'{"amount": 100, "promo_amount": 200}', "more than the amount"),
        (b'{"amount": 100, "uses_reward": "yes"}', "true or false"),
        (b'{"amount": 100, "total": 100}', "total: unknown field"),
        (b'\xff\xfe', "UTF-8"),
        (b'{"amount": NaN}', "whole cents"),
    ],
)
def test_a_bad_basket_is_refused_with_a_message_naming_the_field(body: bytes, message: str) -> None:
    with pytest.raises(BasketError, match=message):
        parse_basket(body)


@settings(max_examples=200)
@given(
    st.integers(1, POINTS_PER_EURO.maximum),
    st.integers(0, MAX_AMOUNT),
    st.integers(1, GOAL.maximum),
    st.booleans(),
)
def test_one_tap_earns_at_most_what_one_event_may_carry_whatever_the_basket(
    points_per_euro: int, amount: int, goal: int, enrolled: bool
) -> None:
    program = Program(points_per_euro=points_per_euro, goal=goal, welcome_bonus=0, cooldown=timedelta(0))
    card = CardState(card_ref="ab" * 32, enrolled=enrolled)
    outcome = decide_tap(program, card, T0, basket=Basket(amount))
    assert all(abs(change.delta) <= MAX_DELTA for change in outcome.changes)
    vouchers = sum(1 for change in outcome.changes if change.kind is EventKind.REWARD_EARNED)
    assert vouchers <= MAX_DELTA // goal

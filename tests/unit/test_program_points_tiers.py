"""Points programs shops run: goals above 100 points, a tier reached by points or visits
with a voucher on reaching it, and a point per item from the till's basket."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.plausible import implausible, largest_stamp
from kiosk.core.events import EventKind
from kiosk.core.outcome import RewardEarned
from kiosk.core.perks import Basket
from kiosk.core.program import Program, Reward, Tier, TierBasis
from kiosk.core.till import BasketError, parse_basket
from tests.unit.program_support import T0, Shell

TEN_OFF = Reward("black-10", "10 % off", 0)
COSMETICS = Program(
    goal=1000, welcome_bonus=0, points_per_euro=1, cooldown=timedelta(0),
    tier_basis=TierBasis.STAMPS,
    tiers=(Tier("Black", 150, or_visits=4, voucher=TEN_OFF),),
)


def test_a_fashion_chain_earns_two_points_per_euro_towards_a_voucher_at_500() -> None:
    chain = Program(goal=500, welcome_bonus=0, points_per_euro=2, reward_name="5 EUR voucher")
    shell = Shell(chain)
    shell.tap(T0, basket=Basket(amount=200_00))  # 400 points
    outcome = shell.tap(T0 + timedelta(days=1), basket=Basket(amount=60_00))  # +120
    assert isinstance(outcome, RewardEarned)
    assert (shell.card.stamps, shell.card.vouchers(chain.reward_id)) == (20, 1)


def test_a_tills_300_point_threshold_is_a_program_now() -> None:
    assert Program(goal=300, points_per_euro=1).goal == 300


def test_a_tier_is_reached_with_150_points_and_gives_its_voucher() -> None:
    shell = Shell(COSMETICS)
    shell.tap(T0, basket=Basket(amount=10_00))
    outcome = shell.tap(T0 + timedelta(days=1), basket=Basket(amount=140_00))
    assert shell.card.tier == "Black"
    assert isinstance(outcome, RewardEarned) and outcome.rewards_earned == (TEN_OFF,)
    assert shell.card.vouchers(TEN_OFF.id) == 1


def test_the_same_tier_is_reached_with_four_small_visits() -> None:
    shell = Shell(COSMETICS)
    for day in range(3):
        shell.tap(T0 + timedelta(days=day), basket=Basket(amount=5_00))
    assert shell.card.tier is None
    shell.tap(T0 + timedelta(days=3), basket=Basket(amount=5_00))
    assert shell.card.tier == "Black" and shell.card.vouchers(TEN_OFF.id) == 1
    shell.tap(T0 + timedelta(days=4), basket=Basket(amount=5_00))
    assert shell.card.vouchers(TEN_OFF.id) == 1  # once per rise, not per visit


def test_the_central_counts_a_tier_voucher_only_for_a_card_in_that_tier() -> None:
    shell = Shell(COSMETICS)
    shell.tap(T0, basket=Basket(amount=150_00))
    given = next(e for e in shell.events if e.kind is EventKind.REWARD_EARNED)
    before = Shell(COSMETICS)
    before.tap(T0, basket=Basket(amount=10_00))
    assert implausible(COSMETICS, shell.card, given) is None
    assert implausible(COSMETICS, before.card, given) is not None


def test_a_point_per_item_comes_from_the_tills_basket() -> None:
    grocer = Program(goal=200, welcome_bonus=0, points_per_item=1)
    shell = Shell(grocer)
    shell.tap(T0, basket=parse_basket(b'{"amount": 1250, "items": 7}'))
    assert shell.card.stamps == 7
    assert largest_stamp(grocer) == 1000  # the most items a basket may hold


@pytest.mark.parametrize("body", [b'{"amount": 1, "items": -1}', b'{"amount": 1, "items": 1001}',
                                  b'{"amount": 1, "items": 2.5}', b'{"amount": 1, "items": true}'])
def test_a_basket_with_impossible_items_is_refused_naming_the_field(body: bytes) -> None:
    with pytest.raises(BasketError, match="items: must be a whole number"):
        parse_basket(body)

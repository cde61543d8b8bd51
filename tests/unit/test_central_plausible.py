"""The central counts what the kiosk's rules can make and holds the rest (central.plausible)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from central.plausible import implausible, largest_stamp
from kiosk.core.events import CardState, Event, EventKind, apply
from kiosk.core.perks import Basket, Customer
from kiosk.core.program import Booster, Expiry, Mode, Program, Reward, Surprise, Tier
from kiosk.core.rules import decide_redeem
from kiosk.core.till import MAX_AMOUNT
from tests.unit.program_support import REF, T0, Shell

GIFT = Reward("cake", "birthday cake", 0)
PROGRAMS = (
    Program(),
    Program(goal=5, welcome_bonus=1, milestones=(Reward("cookie", "a cookie", 2),),
            surprises=(Surprise(3, 4),), birthday_bonus=2, birthday_gift=GIFT),
    Program(goal=8, mode=Mode.LADDER, milestones=(Reward("tea", "a tea", 3),),
            tiers=(Tier("Silver", 2, multiplier=2), Tier("Gold", 4, multiplier=3)),
            boosters=(Booster(frozenset({0, 2, 4}), multiplier=2),)),
    Program(goal=100, welcome_bonus=0, points_per_euro=10, tiers=(Tier("Gold", 3, multiplier=2),),
            expiry=Expiry.INACTIVITY, expiry_days=5, expiry_warn_days=1),
)


def event(kind: EventKind, delta: int, reward_id: str | None = None) -> Event:
    return Event(id="e1", kiosk_id="k1", seq=1, card_ref=REF, kind=kind, delta=delta,
                 reward_id=reward_id, program_version="1", occurred_at=T0)


def test_an_adjustment_adding_stamps_is_held() -> None:
    card = CardState(REF, enrolled=True, stamps=3)
    reason = implausible(Program(), card, event(EventKind.ADJUSTMENT, 1000))
    assert reason is not None and "adjustment of 1000" in reason


def test_an_undo_taking_back_one_tap_is_counted() -> None:
    card = CardState(REF, enrolled=True, stamps=3)
    assert implausible(Program(), card, event(EventKind.ADJUSTMENT, -1)) is None
    assert implausible(Program(), card, event(EventKind.ADJUSTMENT, -2)) is not None


def test_a_stamp_bigger_than_one_tap_can_earn_is_held() -> None:
    program = PROGRAMS[3]
    card = CardState(REF, enrolled=True)
    biggest = largest_stamp(program)
    assert biggest == 10 * MAX_AMOUNT // 100 * 2  # points of the largest basket x Gold
    assert implausible(program, card, event(EventKind.STAMP, biggest)) is None
    assert implausible(program, card, event(EventKind.STAMP, biggest + 1)) is not None
    assert implausible(Program(), card, event(EventKind.STAMP, 2)) is not None


def test_a_reward_earned_without_the_stamps_it_costs_is_held() -> None:
    card = CardState(REF, enrolled=True, stamps=9)
    reason = implausible(Program(), card, event(EventKind.REWARD_EARNED, -10, "reward"))
    assert reason is not None and "9 stamps" in reason
    full = CardState(REF, enrolled=True, stamps=10)
    assert implausible(Program(), full, event(EventKind.REWARD_EARNED, -10, "reward")) is None
    free = implausible(Program(), full, event(EventKind.REWARD_EARNED, 0, "reward"))
    assert free is not None and "costs 10" in free


def test_a_redemption_of_a_voucher_never_earned_is_held() -> None:
    card = CardState(REF, enrolled=True, stamps=4)
    reason = implausible(Program(), card, event(EventKind.REWARD_REDEEMED, 0, "reward"))
    assert reason is not None and "no 'reward' voucher" in reason


def test_one_voucher_redeemed_at_two_kiosks_is_counted_as_an_overdraft_not_held() -> None:
    redeemed_once = CardState(REF, enrolled=True, earned={"reward": 1}, redeemed={"reward": 1})
    second = event(EventKind.REWARD_REDEEMED, 0, "reward")
    assert implausible(Program(), redeemed_once, second) is None
    overdrawn = apply(redeemed_once, second)
    assert implausible(Program(), overdrawn, second) is not None


def test_a_birthday_gift_comes_only_with_a_birthday_bonus() -> None:
    program = PROGRAMS[1]
    gift = event(EventKind.REWARD_EARNED, 0, "cake")
    assert implausible(program, CardState(REF, enrolled=True), gift) is not None
    assert implausible(program, CardState(REF, enrolled=True, birthday_at=T0), gift) is None


def test_without_a_program_the_fold_alone_still_holds_rewards_without_stamps() -> None:
    card = CardState(REF, enrolled=True, stamps=1)
    assert implausible(None, card, event(EventKind.REWARD_EARNED, -10, "reward")) is not None
    assert implausible(None, card, event(EventKind.ADJUSTMENT, 5)) is not None
    assert implausible(None, card, event(EventKind.STAMP, 1)) is None


TAP, BASKET, REDEEM = "tap", "basket", "redeem"
steps = st.lists(
    st.tuples(st.sampled_from((TAP, TAP, BASKET, REDEEM)), st.integers(0, 60 * 72),
              st.integers(0, MAX_AMOUNT)),
    min_size=1, max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PROGRAMS), steps, st.booleans())
def test_every_event_the_kiosk_rules_make_is_counted(
    program: Program, plan: list[tuple[str, int, int]], birthday: bool
) -> None:
    kiosk = Shell(program)
    customer = Customer("Ada", (T0 + timedelta(days=1)).date() if birthday else date(1990, 1, 1),
                        consent=True)
    now = T0
    for action, minutes, amount in plan:
        now += timedelta(minutes=minutes)
        if action == REDEEM:
            kiosk.commit(decide_redeem(program, kiosk.card, now), now)
        else:
            kiosk.tap(now, customer, Basket(amount) if action == BASKET else None)
    central = CardState(REF)
    for recorded in kiosk.events:
        reason = implausible(program, central, recorded)
        assert reason is None, f"{recorded.kind} {recorded.delta} {recorded.reward_id}: {reason}"
        central = apply(central, recorded, program.tz)

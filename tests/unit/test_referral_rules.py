"""Referral and donation rules, over every order of attempts: one referral per new card,
never one's own, never past the cap, never after the window; a gift only of a voucher held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.referral import Referrals, Refusal, donate, refer
from kiosk.core.events import CardState, Change, EventKind, apply_change
from kiosk.core.program import Program

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CARDS = [c * 64 for c in "abcdef"]
PROGRAM = Program(referral_bonus=3, referral_days=14, referral_cap=2)
EARNED = Change(EventKind.REWARD_EARNED, 0, "reward")


def _stored(links: dict[str, str], new: str, referrer: str) -> Referrals:
    return Referrals(
        new_card_referred=new in links,
        referrer_count=sum(1 for r in links.values() if r == referrer),
        referrer_brought_by_new=links.get(referrer) == new,
    )


@given(st.lists(st.tuples(st.sampled_from(CARDS), st.sampled_from(CARDS),
                          st.integers(0, 30)), max_size=40))
def test_whatever_is_attempted_each_card_is_referred_once_and_no_referrer_passes_the_cap(
    attempts: list[tuple[str, str, int]],
) -> None:
    links: dict[str, str] = {}  # new card -> its referrer, as the central stores them
    for new, referrer, age_days in attempts:
        card = CardState(card_ref=new, first_seen=T0)
        now = T0 + timedelta(days=age_days)
        try:
            for_new, for_referrer = refer(PROGRAM, card, CardState(card_ref=referrer),
                                          _stored(links, new, referrer), now)
        except Refusal:
            continue
        assert [(c.kind, c.delta) for c in (*for_new, *for_referrer)] == [
            (EventKind.REFERRAL, 3), (EventKind.REFERRAL, 3)]
        assert new not in links and new != referrer and age_days <= 14
        links[new] = referrer
    for referrer in set(links.values()):
        assert sum(1 for r in links.values() if r == referrer) <= PROGRAM.referral_cap
    assert all(links.get(referrer) != new for new, referrer in links.items())


@pytest.mark.parametrize(("program", "key"), [
    (None, "no_referral"), (Program(), "no_referral"), (PROGRAM, "own_code")])
def test_a_referral_is_refused_with_words_the_page_can_show(
    program: Program | None, key: str
) -> None:
    card = CardState(card_ref=CARDS[0], first_seen=T0)
    with pytest.raises(Refusal) as refused:
        refer(program, card, card, Referrals(), T0)
    assert refused.value.key == key


@given(st.integers(0, 3), st.integers(0, 3))
def test_a_voucher_goes_to_the_cause_only_while_the_card_holds_one(earned: int, given_: int) -> None:
    program = Program(cause="the food bank")
    card = CardState(card_ref=CARDS[0])
    for _ in range(earned):
        card = apply_change(card, EARNED, T0)
    for _ in range(given_):
        try:
            change = donate(program, card, "reward")
        except Refusal as refused:
            assert card.vouchers("reward") <= 0 and refused.key == "no_voucher"
            continue
        before = card.vouchers("reward")
        card = apply_change(card, change, T0)
        assert card.vouchers("reward") == before - 1 >= 0
    assert card.vouchers("reward") == max(0, earned - given_)


def test_there_is_nothing_to_give_to_without_a_cause() -> None:
    with pytest.raises(Refusal) as refused:
        donate(Program(), CardState(card_ref=CARDS[0]), "reward")
    assert refused.value.key == "no_cause"


@given(st.integers(0, 9), st.integers(0, 9), st.integers(1, 25))
def test_a_referral_bonus_past_the_goal_becomes_a_voucher_as_a_taps_stamps_would(
    new_stamps: int, referrer_stamps: int, bonus: int
) -> None:
    program = Program(goal=10, referral_bonus=bonus)
    new = CardState(card_ref=CARDS[0], first_seen=T0, stamps=new_stamps)
    referrer = CardState(card_ref=CARDS[1], stamps=referrer_stamps)
    for card, changes in zip((new, referrer), refer(program, new, referrer, Referrals(), T0),
                             strict=True):
        after = card
        for change in changes:
            after = apply_change(after, change, T0)
        total = card.stamps + bonus
        assert after.stamps == total % 10 and after.vouchers("reward") == total // 10


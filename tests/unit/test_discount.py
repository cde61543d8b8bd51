"""The till's automatic discount: a tier's percent off the basket, decided by the rules,
recorded as the visit's event, and checked by the central against the program."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.plausible import implausible
from kiosk import config
from kiosk.core.discount import Discount, deduction, discount_for, label, parse_label
from kiosk.core.events import CardState, Event, EventKind, fold
from kiosk.core.outcome import Visit
from kiosk.core.perks import Basket
from kiosk.core.program import DISCOUNT_PERCENT, Program, Tier
from kiosk.core.rules import decide_tap
from kiosk.core.till import MAX_AMOUNT
from kiosk.core.till_answer import BasketStatus, answer
from tests.unit.program_support import REF, T0, Shell

# the cosmetics chain's status: Black from the 2nd visit, 10 % off every basket after
BLACK = Program(cooldown=timedelta(0), tiers=(Tier("Black", 2, discount_percent=10),))


def visit(outcome: object) -> Visit:
    assert isinstance(outcome, Visit)
    return outcome


def test_a_card_holding_the_tier_gets_its_percent_off_the_basket_recorded_with_the_visit() -> None:
    shell = Shell(BLACK)
    shell.tap(T0)
    shell.tap(T0 + timedelta(days=1))
    assert shell.card.tier == "Black"
    outcome = visit(shell.tap(T0 + timedelta(days=2), basket=Basket(amount=12_50)))
    assert outcome.discount == Discount(10, 125, "Black")
    [event] = [e for e in shell.events if e.kind is EventKind.DISCOUNT]
    assert (event.delta, event.reward_id) == (0, "10%:125")
    assert fold(REF, shell.events).stamps == shell.card.stamps  # no stamps moved by it


def test_the_tap_that_reaches_the_tier_gives_the_discount_only_from_the_next_visit() -> None:
    shell = Shell(BLACK)
    shell.tap(T0)
    reaching = visit(shell.tap(T0 + timedelta(days=1), basket=Basket(amount=20_00)))
    assert shell.card.tier == "Black" and reaching.discount is None
    assert not [e for e in shell.events if e.kind is EventKind.DISCOUNT]


def test_no_basket_no_tier_or_a_tier_without_percent_gives_no_discount() -> None:
    gold = CardState(card_ref=REF, enrolled=True, tier="Black")
    assert discount_for(BLACK, gold, None) is None
    assert discount_for(BLACK, CardState(card_ref=REF, enrolled=True), Basket(1000)) is None
    plain = Program(tiers=(Tier("Black", 2),))
    assert discount_for(plain, gold, Basket(1000)) is None


def test_a_replaced_card_gets_no_discount() -> None:
    blocked = CardState(card_ref=REF, enrolled=True, tier="Black", blocked=True)
    assert discount_for(BLACK, blocked, Basket(1000)) is None


def test_promo_items_are_left_out_and_the_cents_rounded_down() -> None:
    assert deduction(Basket(amount=12_59, promo_amount=2_50), 10) == 100  # 10.09 -> 1.00
    assert deduction(Basket(amount=999), 15) == 149  # 149.85 cents -> 149


@given(st.integers(0, MAX_AMOUNT), st.integers(0, MAX_AMOUNT),
       st.integers(DISCOUNT_PERCENT.minimum, DISCOUNT_PERCENT.maximum))
def test_the_till_never_deducts_more_than_the_percent_of_what_counts(
    amount: int, promo: int, percent: int
) -> None:
    promo = min(promo, amount)
    cents = deduction(Basket(amount=amount, promo_amount=promo), percent)
    assert 0 <= cents * 100 <= (amount - promo) * percent < (cents + 1) * 100
    if percent:
        assert parse_label(label(Discount(percent, cents, "T"))) == (percent, cents)


@pytest.mark.parametrize("bad", ["", "10%", "%:5", "10:5", "95%:5", "0%:0", "10%:-5", " 10%:5"])
def test_a_label_that_is_no_discount_is_not_read_as_one(bad: str) -> None:
    assert parse_label(bad) is None


def test_a_percent_above_the_bound_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"tiers\[0\]\.discount_percent"):
        Program(tiers=(Tier("Black", 2, discount_percent=DISCOUNT_PERCENT.maximum + 1),))
    with pytest.raises(ValueError, match="discount_percent"):
        config.from_mapping({"kiosk": {"state_dir": "/tmp/x"}, "program": {"tiers": [
            {"name": "Black", "threshold": 2, "discount_percent": 91}]}}, "test")


def test_the_config_gives_a_tier_its_discount() -> None:
    loaded = config.from_mapping({"kiosk": {"state_dir": "/tmp/x"}, "program": {"tiers": [
        {"name": "Black", "threshold": 2, "discount_percent": 10}]}}, "test")
    assert loaded.program.to_program().tiers[0].discount_percent == 10


def _discount_event(reward_id: str, delta: int = 0) -> Event:
    return Event(id="e1", kiosk_id="k1", seq=1, card_ref=REF, kind=EventKind.DISCOUNT,
                 delta=delta, reward_id=reward_id, program_version="1", occurred_at=T0)


def test_the_central_counts_a_discount_a_tier_gives_and_holds_any_other() -> None:
    card = CardState(card_ref=REF, enrolled=True, tier="Black")
    assert implausible(BLACK, card, _discount_event("10%:125")) is None
    assert "no tier" in str(implausible(BLACK, card, _discount_event("50%:125")))
    assert "no stamps" in str(implausible(BLACK, card, _discount_event("10%:125", delta=3)))
    too_much = f"10%:{MAX_AMOUNT // 10 + 1}"
    assert "largest basket" in str(implausible(BLACK, card, _discount_event(too_much)))


def test_the_tills_answer_says_what_to_deduct_and_what_is_left_to_pay() -> None:
    shell = Shell(BLACK)
    shell.tap(T0)
    shell.tap(T0 + timedelta(days=1))
    basket = Basket(amount=12_50)
    outcome = shell.tap(T0 + timedelta(days=2), basket=basket)
    said = answer("T-1", basket, BasketStatus.DONE, outcome)
    assert said["discount"] == {"percent": 10, "amount": 125, "tier": "Black"}
    assert (said["to_pay"], said["no_discount"], said["card"]) == (11_25, None, REF[:12])
    first = Shell(BLACK).tap(T0, basket=basket)
    assert answer("T-2", basket, BasketStatus.DONE, first)["no_discount"] == "no_tier"
    assert answer("T-3", basket, BasketStatus.EXPIRED)["no_discount"] == "no_tap"


def test_the_till_hears_why_a_replaced_card_or_a_tap_too_soon_gets_nothing_off() -> None:
    basket = Basket(amount=12_50)
    gold = CardState(card_ref=REF, enrolled=True, tier="Black", last_visit=T0, visits=1)
    blocked = decide_tap(BLACK, replace(gold, blocked=True), T0 + timedelta(days=1), basket=basket)
    assert answer("T-1", basket, BasketStatus.DONE, blocked)["no_discount"] == "card_blocked"
    soon = decide_tap(replace(BLACK, cooldown=timedelta(hours=1)), gold,
                      T0 + timedelta(minutes=5), basket=basket)
    said = answer("T-2", basket, BasketStatus.DONE, soon)
    assert (said["no_discount"], said["outcome"], said["to_pay"]) == ("not_a_visit", "cooldown", 1250)
    assert answer("T-3", basket, BasketStatus.FAILED)["no_discount"] == "not_recorded"

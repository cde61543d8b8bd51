"""The till's automatic discount: a percent off the basket for a card holding a tier. Pure.

    >>> from kiosk.core.events import CardState
    >>> from kiosk.core.program import Program, Tier
    >>> gold = Program(tiers=(Tier("Gold", 4, discount_percent=10),))
    >>> card = CardState(card_ref="ab", enrolled=True, tier="Gold")
    >>> discount_for(gold, card, Basket(amount=1259, promo_amount=250))
    Discount(percent=10, amount=100, tier='Gold')
    >>> label(Discount(10, 100, "Gold")), parse_label("10%:100")
    ('10%:100', (10, 100))

The percent is the one of the tier the card holds when it taps: a status reached at an
earlier visit, applied by the till at the next (a tap that reaches a tier gives its
discount from the next visit on). It comes off the basket's amount without its promo
items (already reduced), rounded down to whole cents: the till never deducts more than
the percent says. It is recorded as a `discount` event of the visit (no stamps) so the
central counts what the program cost at the till.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk.core.events import CardState, Change, EventKind
from kiosk.core.perks import Basket
from kiosk.core.program import DISCOUNT_PERCENT, Program

_LABEL = re.compile(r"(\d{1,2})%:(\d{1,9})")


@dataclass(frozen=True)
class Discount:
    """What the till deducts: `percent` of the basket, `amount` in cents, for `tier`."""

    percent: int
    amount: int
    tier: str


def deduction(basket: Basket, percent: int) -> int:
    """Cents `percent` takes off `basket`: its amount without promo items, rounded down."""
    return max(0, basket.amount - basket.promo_amount) * percent // 100


def discount_for(program: Program, card: CardState, basket: Basket | None) -> Discount | None:
    """The discount a tap of `card` (its state before the tap) gives on `basket`; None
    without a basket, for a blocked card, or when its tier (if any) gives none."""
    if basket is None or card.blocked:
        return None
    tier = program.tier_named(card.tier)
    if tier is None or not tier.discount_percent:
        return None
    return Discount(tier.discount_percent, deduction(basket, tier.discount_percent), tier.name)


def label(discount: Discount) -> str:
    """The discount as its event's reward_id carries it: "10%:125"."""
    return f"{discount.percent}%:{discount.amount}"


def parse_label(text: str | None) -> tuple[int, int] | None:
    """(percent, cents) of a discount event's reward_id; None when it is not one."""
    found = _LABEL.fullmatch(text or "")
    if found is None:
        return None
    percent, cents = int(found[1]), int(found[2])
    if DISCOUNT_PERCENT.problem("percent", percent) is not None or not percent:
        return None
    return percent, cents


def discount_changes(discount: Discount | None) -> tuple[Change, ...]:
    """The visit's `discount` event, when the till deducts something."""
    if discount is None:
        return ()
    return (Change(EventKind.DISCOUNT, 0, label(discount)),)

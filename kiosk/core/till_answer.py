"""What the kiosk tells the till about one basket: held, taken by a tap (and what to
deduct), or gone without one. Pure: the listener keeps the answers, this writes them.

    >>> from kiosk.core.perks import Basket
    >>> answer("T-1042", Basket(1250), BasketStatus.WAITING)["no_discount"]
    'no_tap'

Every answer names the basket, its status and, once a tap took it, the card (the first
12 characters of its card_ref, as `kiosk card` shows it), the outcome, the discount in
percent and in cents, and what is left to pay. When nothing is deducted, `no_discount`
says why, so the till's operator can tell the customer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from kiosk.core.outcome import Blocked, CardOutcome, Outcome, Visit
from kiosk.core.perks import Basket
from kiosk.core.till import basket_to_mapping

SHORT_REF = 12  # characters of a card_ref the till sees: enough to tell cards apart


class BasketStatus(StrEnum):
    WAITING = "waiting"  # held for the next customer tap
    DONE = "done"  # a tap took it: the answer says what to deduct
    EXPIRED = "expired"  # no tap within [till] basket_seconds
    REPLACED = "replaced"  # the till sent a newer basket before any tap
    CANCELLED = "cancelled"  # the till cancelled it (DELETE)
    FAILED = "failed"  # a tap took it but could not be recorded: nothing applies


class NoDiscount(StrEnum):
    """Why nothing comes off a basket."""

    NO_TAP = "no_tap"  # no card was tapped for it (yet, or in time)
    NOT_RECORDED = "not_recorded"  # the tap could not be written: ask the customer to tap again
    CARD_BLOCKED = "card_blocked"  # the card was replaced by another: tap the new one
    NOT_A_VISIT = "not_a_visit"  # the tap did not count as a visit (too soon, daily cap)
    NO_TIER = "no_tier"  # the card holds no tier that gives a discount


def _why_none(status: BasketStatus, outcome: Outcome | None) -> NoDiscount | None:
    if status is BasketStatus.FAILED:
        return NoDiscount.NOT_RECORDED
    if status is not BasketStatus.DONE or outcome is None:
        return NoDiscount.NO_TAP
    if isinstance(outcome, Visit):
        return None if outcome.discount is not None else NoDiscount.NO_TIER
    if isinstance(outcome, Blocked):
        return NoDiscount.CARD_BLOCKED
    # a cooldown, a daily cap, a refused card: the tap did not count as a visit
    return NoDiscount.NOT_A_VISIT


def answer(ticket: str, basket: Basket, status: BasketStatus,
           outcome: Outcome | None = None) -> dict[str, Any]:
    """The till's answer about basket `ticket` (`outcome`: the tap that took it)."""
    discount = outcome.discount if isinstance(outcome, Visit) else None
    card = outcome if isinstance(outcome, CardOutcome) else None
    deducted = 0 if discount is None else discount.amount
    why = _why_none(status, outcome)
    return {
        "ticket": ticket,
        "status": status.value,
        "basket": basket_to_mapping(basket),
        "card": None if card is None else card.card.card_ref[:SHORT_REF],
        "outcome": None if outcome is None else outcome.kind.value,
        "discount": None if discount is None else {
            "percent": discount.percent, "amount": deducted, "tier": discount.tier},
        "to_pay": basket.amount - deducted,
        "no_discount": None if why is None else why.value,
        # vouchers the card holds after the tap, for the till to offer; a tap redeems none
        "vouchers": [] if card is None else [
            {"id": reward.id, "name": reward.name, "count": count}
            for reward, count in card.progress.vouchers
        ],
    }

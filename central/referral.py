"""Who may bring whom, and which voucher may go to the cause: the central's decisions. Pure.

(program, the cards' folds, what is stored of referrals, now) -> the changes to record, or
a Refusal whose message the customer reads on their card's page. No I/O, no clock.

    >>> from kiosk.core.program import Program
    >>> new = CardState(card_ref="b" * 64, first_seen=T0)
    >>> referrer = CardState(card_ref="a" * 64)
    >>> refer(Program(referral_bonus=2), new, referrer, Referrals(), T0)[0]
    (Change(kind=<EventKind.REFERRAL: 'referral'>, delta=2, reward_id='referred'),)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kiosk.core.events import CardState, Change, EventKind
from kiosk.core.program import Program
from kiosk.core.rules import bonus_changes

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # for the examples
REFERRED, REFERRER = "referred", "referrer"


class Refusal(ValueError):
    """Why a referral or a donation is refused: `key` names the customer's words for it
    (a page shows them in the reader's language), `values` fill them in."""

    def __init__(self, key: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.key, self.values = key, values


@dataclass(frozen=True)
class Referrals:
    """What is stored about the two cards: is the new one linked yet, how many friends the
    referrer brought, and did the new card bring the referrer itself."""

    new_card_referred: bool = False
    referrer_count: int = 0
    referrer_brought_by_new: bool = False


def refer(program: Program | None, new_card: CardState, referrer: CardState | None,
          stored: Referrals, now: datetime) -> tuple[tuple[Change, ...], tuple[Change, ...]]:
    """The changes for (the new card, the referrer): each card's bonus and the rewards it
    reaches; or Refusal naming why not."""
    if program is None or program.referral_bonus == 0:
        raise Refusal("no_referral", "this shop does not run referrals")
    if referrer is None:
        raise Refusal("unknown_code", "no card has this referral code: check it with your friend")
    if referrer.card_ref == new_card.card_ref:
        raise Refusal("own_code", "this is your own code: share it with a friend instead")
    if stored.new_card_referred:
        raise Refusal("already_referred", "a friend already brought this card: one referral per card")
    if stored.referrer_brought_by_new:
        raise Refusal("one_way", "you brought this friend yourself: a referral goes one way")
    days = program.referral_days
    if new_card.first_seen is None or now - new_card.first_seen > timedelta(days=days):
        raise Refusal("too_old", f"a friend's code counts in the first {days} days of a "
                      "new card; this card is older", days=days)
    if stored.referrer_count >= program.referral_cap:
        raise Refusal("cap", f"your friend has already brought {program.referral_cap} "
                      "friends, the most this shop rewards", cap=program.referral_cap)
    bonus = program.referral_bonus
    return (bonus_changes(program, new_card, EventKind.REFERRAL, bonus, REFERRED),
            bonus_changes(program, referrer, EventKind.REFERRAL, bonus, REFERRER))


def donate(program: Program | None, card: CardState, reward_id: str) -> Change:
    """The change that gives one voucher of `reward_id` to the shop's cause, or Refusal."""
    if program is None or program.cause is None:
        raise Refusal("no_cause", "this shop has no cause to give to")
    if program.reward_by_id(reward_id) is None or card.vouchers(reward_id) <= 0:
        raise Refusal("no_voucher", "this card holds no such voucher to give")
    return Change(EventKind.DONATED, 0, reward_id)

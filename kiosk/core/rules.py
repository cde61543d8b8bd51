"""The loyalty rules: (program, card state, now) -> outcome. Pure: no I/O, no clock.

    >>> from datetime import datetime, UTC
    >>> program = Program()
    >>> outcome = decide_tap(program, CardState(card_ref="ab" * 32), datetime(2026, 1, 5, 9, tzinfo=UTC))
    >>> outcome.kind, outcome.card.stamps, outcome.stamps_left
    (<OutcomeKind.WELCOME: 'welcome'>, 3, 7)

A tap's changes come in a fixed order: expiry of old stamps, enrolment, the stamp (base x
tier x booster, applied once), a surprise bonus, the birthday bonus, the rewards those
stamps reach, then the tier the card now holds, and last the till's discount (from the
tier the card held when it tapped).
"""

from __future__ import annotations

from datetime import datetime

from kiosk.core.clock import seen_visit
from kiosk.core.discount import discount_changes, discount_for
from kiosk.core.events import MAX_DELTA, CardState, Change, EventKind, apply_change
from kiosk.core.expiry import expiry_changes, next_expiry
from kiosk.core.outcome import (
    Blocked,
    Cooldown,
    DailyCap,
    Expired,
    NoVoucher,
    Outcome,
    OutcomeKind,
    Progress,
    Redeemed,
    RefusalReason,
    Refused,
    RewardEarned,
    Stamped,
    TierProgress,
    Welcome,
)
from kiosk.core.perks import (
    Basket,
    Customer,
    active_booster,
    birthday_changes,
    points_for,
    surprise_changes,
)
from kiosk.core.program import Mode, Program, Reward
from kiosk.core.tiers import tier_changes, tier_multiplier, tier_progress
from kiosk.core.versions import conversion_changes

__all__ = [
    "Basket", "CardState", "Customer", "Outcome", "OutcomeKind", "Program", "RefusalReason",
    "Refused", "Reward", "TierProgress", "decide_expiry", "decide_redeem", "decide_tap",
    "progress",
]


def _progress(program: Program, card: CardState) -> tuple[Reward | None, int]:
    """The next reward on the card and how many stamps are missing to it."""
    position = max(0, card.stamps)
    for reward in program.rewards:
        if reward.stamps > position:
            return reward, reward.stamps - position
    return program.reward, program.goal - min(position, program.goal)


def _available(program: Program, card: CardState) -> tuple[tuple[Reward, int], ...]:
    """Rewards the customer can take now, most valuable first: vouchers held, and on a
    ladder every rung the card's stamps can pay for."""
    # a voucher is held only where one was earned or moved in: most cards hold none
    held = {
        reward: card.vouchers(reward.id)
        for reward in program.voucher_rewards
        if card.vouchers(reward.id) > 0
    } if card.earned or card.moved_in else {}
    if program.mode is Mode.LADDER:
        for rung in program.rewards:
            if 0 < rung.stamps <= card.stamps:
                held[rung] = held.get(rung, 0) + card.stamps // rung.stamps
    if not held:
        return ()
    order = {r: i for i, r in enumerate(program.voucher_rewards)}
    ranked = sorted(held.items(), key=lambda item: (item[0].stamps, order[item[0]]), reverse=True)
    return tuple(ranked)


def progress(
    program: Program, card: CardState, now: datetime, changes: tuple[Change, ...] = ()
) -> Progress:
    """Where `card` stands after `changes`: rewards, next reward, tier and expiry."""
    next_reward, to_next = _progress(program, card)
    expiring, expiring_on = next_expiry(program, card, now)
    tier = tier_progress(
        program, card, now, any(c.kind is EventKind.TIER_CHANGED for c in changes)
    ) if program.tiers else None
    return Progress(
        goal=program.goal,
        reward_name=program.reward_name,
        vouchers=_available(program, card),
        next_reward=next_reward,
        stamps_to_next=to_next,
        points=program.uses_points,
        tier=tier,
        expiring=expiring,
        expiring_on=expiring_on,
    )


def _reward_changes(program: Program, stamps_before: int, stamps: int) -> list[Change]:
    """Every reward the card's stamps reach on a stamp card (none on a ladder): the
    milestones passed, and a voucher per full card held after the tap, so stamps left
    above a goal that was lowered since turn into vouchers too."""
    if program.mode is Mode.LADDER:
        return []
    changes = []
    if program.milestones:
        milestones = {m.stamps: m for m in program.milestones}
        for position in range(max(0, stamps_before) + 1, max(0, stamps_before + stamps) + 1):
            cycle_position = position % program.goal
            if cycle_position in milestones:
                changes.append(Change(EventKind.REWARD_EARNED, 0, milestones[cycle_position].id))
    # the card is full: its stamps become a voucher, the surplus rolls over
    full = max(0, stamps_before + stamps) // program.goal
    changes += [Change(EventKind.REWARD_EARNED, -program.goal, program.reward_id)] * full
    return changes


def _after(program: Program, card: CardState, changes: tuple[Change, ...], now: datetime) -> CardState:
    for change in changes:
        card = apply_change(card, change, now, program.tz)
    return card


def _earned(program: Program, changes: tuple[Change, ...]) -> tuple[Reward, ...]:
    rewards = (
        program.reward_by_id(c.reward_id)
        for c in changes
        if c.kind is EventKind.REWARD_EARNED and c.reward_id
    )
    return tuple(r for r in rewards if r is not None)


def _rungs_reached(program: Program, before: int, after: int) -> tuple[Reward, ...]:
    """On a ladder, the rewards this tap's stamps just made affordable."""
    if program.mode is not Mode.LADDER:
        return ()
    return tuple(r for r in program.rewards if before < r.stamps <= after)


def decide_tap(
    program: Program,
    card: CardState,
    now: datetime,
    customer: Customer | None = None,
    basket: Basket | None = None,
) -> Outcome:
    """A customer tapped `card` at `now`: stamp it, enrol it, or only show it.

    `customer` (first name, birthday, consent) and `basket` (from the till, for points
    per euro) are optional; without them the tap is a plain visit.
    """
    name = None if customer is None else customer.name
    # A till ticket proves a purchase of its own: on a points program two purchases in a
    # row both earn, so the per-visit cooldown only holds back taps without a basket.
    purchase = program.uses_points and basket is not None
    if card.blocked:  # replaced by another card: its balance lives there now
        return Blocked(card=card, progress=progress(program, card, now))
    if card.enrolled:
        last_visit = seen_visit(card.last_visit, now)  # a fast clock elsewhere blocks nothing
        if (
            not purchase
            and last_visit is not None
            and now < last_visit + program.cooldown
        ):
            return Cooldown(
                card=card,
                progress=progress(program, card, now),
                until=last_visit + program.cooldown,
                first_name=name,
            )
        if (
            program.daily_cap is not None
            and card.stamp_day == now.astimezone(program.tz).date()
            and card.stamps_that_day >= program.daily_cap
        ):
            return DailyCap(card=card, progress=progress(program, card, now), first_name=name)
        # a balance from before a switch of unit converts first; expiry reads the result
        converted = conversion_changes(program, card)
        opening: tuple[Change, ...] = (
            *converted, *expiry_changes(program, _after(program, card, converted, now), now)
        )
    else:
        opening = (Change(EventKind.ENROLLED, program.welcome_bonus),)

    booster = active_booster(program, now)
    boost = 1 if booster is None else booster.multiplier
    multiplier = tier_multiplier(program, card) * boost
    base = points_for(program, basket) if program.uses_points else 1
    opened = _after(program, card, opening, now)
    extras = (
        *surprise_changes(program, card.visits + 1),
        *birthday_changes(program, card, customer, now),
    )
    # one tap earns at most what one event may carry, the bound the central checks too: a
    # till's typo (a 10,000 EUR basket) cannot mint a card's worth of vouchers per stamp
    stamp = Change(EventKind.STAMP, min(base * multiplier, MAX_DELTA))
    added = stamp.delta + sum(c.delta for c in extras if c.kind is not EventKind.REWARD_EARNED)
    changes = (*opening, stamp, *extras, *_reward_changes(program, opened.stamps, added))
    stamped = _after(program, opened, changes[len(opening):], now)
    tiered = tier_changes(program, stamped, now)
    discount = discount_for(program, card, basket)
    changes = (*changes, *tiered, *discount_changes(discount))
    after = _after(program, stamped, tiered, now)

    earned = _earned(program, changes) + _rungs_reached(program, opened.stamps, after.stamps)
    kind: type[Welcome | RewardEarned | Stamped] = (
        Welcome if not card.enrolled else RewardEarned if earned else Stamped
    )
    return kind(
        card=after,
        progress=progress(program, after, now, changes),
        changes=changes,
        stamps_added=stamp.delta,
        rewards_earned=earned,
        multiplier=multiplier,
        booster=boost,
        expired=-sum(c.delta for c in opening if c.kind is EventKind.EXPIRED),
        birthday=any(c.kind is EventKind.BIRTHDAY for c in extras),
        surprise=sum(c.delta for c in extras if c.kind is EventKind.BONUS),
        first_name=name,
        discount=discount,
    )


def decide_redeem(
    program: Program, card: CardState, now: datetime, reward_id: str | None = None
) -> Outcome:
    """Staff redeem one reward: the one named, else the most valuable one available.

    A voucher held is redeemed as it is; on a ladder, a rung the stamps pay for is
    earned and redeemed at once, spending its stamps.
    """
    available = _available(program, card)
    choice = next(
        (r for r, _ in available if reward_id is None or r.id == reward_id),
        None,
    )
    if choice is None:
        return NoVoucher(card=card, progress=progress(program, card, now))
    changes: tuple[Change, ...] = (Change(EventKind.REWARD_REDEEMED, 0, choice.id),)
    if card.vouchers(choice.id) <= 0:
        changes = (Change(EventKind.REWARD_EARNED, -choice.stamps, choice.id), *changes)
    after = _after(program, card, changes, now)
    return Redeemed(
        card=after, progress=progress(program, after, now, changes), changes=changes, reward=choice
    )


def decide_expiry(program: Program, card: CardState, now: datetime) -> Outcome:
    """The daily check of one card: expire the stamps whose time is up (kind EXPIRED;
    no changes when nothing expires)."""
    changes = expiry_changes(program, card, now) if card.enrolled else ()
    after = _after(program, card, changes, now)
    expired = -sum(c.delta for c in changes)
    return Expired(
        card=after, progress=progress(program, after, now, changes), changes=changes, expired=expired
    )


def bonus_changes(program: Program, card: CardState, kind: EventKind, bonus: int,
                  label: str) -> tuple[Change, ...]:
    """A bonus given away from the counter (a referral's): its stamps, and the rewards they
    reach as a tap's stamps would, so a card never sits past its goal without its voucher.

    >>> full = bonus_changes(Program(goal=10), CardState(card_ref="ab", stamps=9),
    ...                      EventKind.REFERRAL, 3, "referred")
    >>> [(c.kind.value, c.delta) for c in full]
    [('referral', 3), ('reward_earned', -10)]
    """
    return (Change(kind, bonus, label), *_reward_changes(program, card.stamps, bonus))

"""Tiers: Bronze / Silver / Gold by visits (or stamps) over a rolling window of months.

The card's tier is a fact of the fold (the latest `tier_changed` event), so it never
moves without an event; the rules compare it with the tier the window earns and record a
change when they differ. Counts come from the card's per-month (and per-day) buckets.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

from kiosk.core.events import CardState, Change, EventKind
from kiosk.core.outcome import TierProgress
from kiosk.core.program import Program, Tier, TierBasis


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _in_window(key: str, last: int, months: int) -> bool:
    year, month = int(key[:4]), int(key[5:7])
    return last - months < year * 12 + month - 1 <= last


def tier_count(
    program: Program, card: CardState, now: datetime, months: int | None = None,
    visits: bool = False,
) -> int:
    """Visits (or stamps) in the `months` (default: the program's window) up to now's month;
    `visits` counts visits whatever the program's basis."""
    months = program.tier_months if months is None else months
    last = _month_index(now.astimezone(program.tz).date())
    # day keys ("YYYY-MM-DD") start with their month, so one window test serves both
    by_visits = visits or program.tier_basis is TierBasis.VISITS
    buckets = card.month_visits if by_visits else card.day_stamps
    return max(0, sum(n for key, n in buckets.items() if _in_window(key, last, months)))


def tier_for(program: Program, count: int, visits: int = 0) -> Tier | None:
    """The highest tier `count` (or, for a tier that allows it, `visits`) reaches (None
    below the first)."""
    reached = [
        t for t in program.tiers
        if t.threshold <= count or (t.or_visits and t.or_visits <= visits)
    ]
    return reached[-1] if reached else None


def _earned_tier(program: Program, card: CardState, now: datetime) -> Tier | None:
    visits = tier_count(program, card, now, visits=True)
    return tier_for(program, tier_count(program, card, now), visits)


def tier_multiplier(program: Program, card: CardState) -> int:
    """Stamps multiply by the tier the card holds when it taps."""
    tier = program.tier_named(card.tier)
    return 1 if tier is None else tier.multiplier


def tier_changes(program: Program, card: CardState, now: datetime) -> tuple[Change, ...]:
    """A `tier_changed` event when the window earns another tier than the card holds."""
    if not program.tiers:
        return ()
    earned = _earned_tier(program, card, now)
    name = None if earned is None else earned.name
    if name == card.tier:
        return ()
    changed = Change(EventKind.TIER_CHANGED, 0, name)
    held = program.tier_named(card.tier)
    rising = earned is not None and (held is None or earned.threshold > held.threshold)
    if rising and earned is not None and earned.voucher is not None:
        # reaching a tier gives its voucher (once per rise: falling back and rising gives another)
        return (changed, Change(EventKind.REWARD_EARNED, 0, earned.voucher.id))
    return (changed,)


def tier_progress(
    program: Program, card: CardState, now: datetime, changed: bool = False
) -> TierProgress | None:
    """What to tell the customer: their tier, the next one, and what keeps it."""
    if not program.tiers:
        return None
    count = tier_count(program, card, now)
    current = program.tier_named(card.tier)
    higher = [t for t in program.tiers if t.threshold > count]
    next_tier = higher[0] if higher else None
    keep, keep_by = 0, None
    if current is not None:
        local = now.astimezone(program.tz).date()
        month_end = local.replace(day=calendar.monthrange(local.year, local.month)[1])
        # the oldest month of the window drops out when this month ends
        staying = tier_count(program, card, now, program.tier_months - 1)
        if (month_end - local).days < program.tier_warn_days and staying < current.threshold:
            keep, keep_by = current.threshold - staying, month_end
    return TierProgress(
        tier=card.tier,
        changed=changed,
        next_tier=None if next_tier is None else next_tier.name,
        to_next=0 if next_tier is None else next_tier.threshold - count,
        keep=keep,
        keep_by=keep_by,
        by_visits=program.tier_basis is TierBasis.VISITS,
    )

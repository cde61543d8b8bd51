"""Stamps that expire: after a period without a visit, or each one some days after it was
earned. Expiry is an `expired` event decided at a tap (before its stamp) or by a daily
job; its delta is fixed when decided, so stamps earned later are never touched.

Per-stamp expiry spends stamps oldest first: the stamps still on the card are the newest
ones earned, read from the card's per-day buckets.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from kiosk.core.events import CardState, Change, EventKind
from kiosk.core.program import Expiry, Program


def _earned_by_day(card: CardState) -> list[tuple[date, int]]:
    """Days with stamps earned, newest first."""
    days = [(date.fromisoformat(k), n) for k, n in card.day_stamps.items() if n > 0]
    return sorted(days, reverse=True)


def _last_activity(card: CardState) -> datetime | None:
    return card.last_visit or card.first_seen


def expirable(program: Program, card: CardState, now: datetime) -> int:
    """Stamps on the card whose time is up at `now`."""
    if card.stamps <= 0 or program.expiry is Expiry.OFF:
        return 0
    if program.expiry is Expiry.INACTIVITY:
        last = _last_activity(card)
        due = last is not None and now >= last + timedelta(days=program.expiry_days)
        return card.stamps if due else 0
    cutoff = now.astimezone(program.tz).date() - timedelta(days=program.expiry_days)
    fresh = sum(n for day, n in _earned_by_day(card) if day > cutoff)
    return max(0, card.stamps - fresh)


def expiry_changes(program: Program, card: CardState, now: datetime) -> tuple[Change, ...]:
    """An `expired` event for the stamps whose time is up, if any."""
    n = expirable(program, card, now)
    return (Change(EventKind.EXPIRED, -n),) if n else ()


def next_expiry(program: Program, card: CardState, now: datetime) -> tuple[int, date | None]:
    """How many stamps expire next and on which local day, when that is within the warning."""
    if card.stamps <= 0 or program.expiry is Expiry.OFF:
        return 0, None
    today = now.astimezone(program.tz).date()
    if program.expiry is Expiry.INACTIVITY:
        last = _last_activity(card)
        if last is None:
            return 0, None
        due = last + timedelta(days=program.expiry_days)
        count, on = card.stamps, due.astimezone(program.tz).date()
    else:
        remaining, count, on = card.stamps, 0, today
        for day, n in _earned_by_day(card):
            if remaining <= 0:
                break
            count, on = min(n, remaining), day + timedelta(days=program.expiry_days)
            remaining -= count
        if count == 0:
            return 0, None
    if (on - today).days > program.expiry_warn_days:
        return 0, None
    return count, on

"""The extras of a tap: boosters, the birthday bonus, surprise milestones, points per euro.

Customer data (first name, birthday) is not an event: the shell passes it in, and it is
used only when the customer consented.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kiosk.core.events import CardState, Change, EventKind
from kiosk.core.program import Booster, Program

BIRTHDAY_DAYS = 3  # the birthday "week": three days either side of the day itself


@dataclass(frozen=True)
class Customer:
    """What the shop knows of a card's holder; ignored without consent."""

    first_name: str | None = None
    birthday: date | None = None
    consent: bool = False

    @property
    def name(self) -> str | None:
        if not self.consent or not self.first_name:
            return None
        return self.first_name.strip() or None


@dataclass(frozen=True)
class Basket:
    """The till's basket for the next tap, in cents."""

    amount: int
    promo_amount: int = 0
    uses_reward: bool = False
    items: int = 0  # items bought (a point per item, on programs that count them)


def active_booster(program: Program, now: datetime) -> Booster | None:
    """The booster running at `now` (the strongest when several overlap), for the idle screen."""
    if not program.boosters:
        return None
    local = now.astimezone(program.tz)
    running = [b for b in program.boosters if b.active(local)]
    return max(running, key=lambda b: b.multiplier, default=None)


def points_for(program: Program, basket: Basket | None) -> int:
    """Points a basket earns before multipliers: whole points per euro, rounded down, and
    points per item."""
    if basket is None:
        return 0
    if basket.uses_reward and not program.reward_ticket_earns:
        return 0
    counted = basket.amount - (0 if program.promo_earns else basket.promo_amount)
    return max(0, counted) * program.points_per_euro // 100 + basket.items * program.points_per_item


def _birthday_in(year: int, birthday: date) -> date:
    # 29 February is celebrated on the 28th in other years
    leap_day = (birthday.month, birthday.day) == (2, 29) and not calendar.isleap(year)
    return birthday.replace(year=year, day=28 if leap_day else birthday.day)


def birthday_week(birthday: date, today: date) -> tuple[date, date] | None:
    """The birthday week (first, last day) that `today` falls in, if it falls in one."""
    for year in (today.year - 1, today.year, today.year + 1):
        day = _birthday_in(year, birthday)
        first, last = day - timedelta(days=BIRTHDAY_DAYS), day + timedelta(days=BIRTHDAY_DAYS)
        if first <= today <= last:
            return first, last
    return None


def birthday_changes(
    program: Program, card: CardState, customer: Customer | None, now: datetime
) -> tuple[Change, ...]:
    """The birthday bonus (and gift), once per birthday week, for a consenting customer."""
    if customer is None or not customer.consent or customer.birthday is None:
        return ()
    if not program.birthday_bonus and program.birthday_gift is None:
        return ()
    week = birthday_week(customer.birthday, now.astimezone(program.tz).date())
    if week is None:
        return ()
    given = card.birthday_at
    if given is not None and given.astimezone(program.tz).date() >= week[0]:
        return ()
    changes = [Change(EventKind.BIRTHDAY, program.birthday_bonus)]
    if program.birthday_gift is not None:
        changes.append(Change(EventKind.REWARD_EARNED, 0, program.birthday_gift.id))
    return tuple(changes)


def surprise_changes(program: Program, visits: int) -> tuple[Change, ...]:
    """The hidden bonus of the `visits`-th visit, if that visit is a surprise milestone."""
    for surprise in program.surprises:
        if surprise.visit == visits:
            return (Change(EventKind.BONUS, surprise.bonus, f"visit-{visits}"),)
    return ()

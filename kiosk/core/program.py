"""A loyalty program as the shop configured it: the card, its rewards and its extras.

Every extra (tiers, expiry, boosters, birthday, surprises, points, the reward ladder) is
off in a plain `Program()`, which behaves as a "10 stamps = 1 coffee" card.

    >>> Program(tiers=(Tier("Gold", 20, multiplier=2),), tier_basis="visits").tier_named("Gold")
    Tier(name='Gold', threshold=20, multiplier=2)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Reward:
    """Something a card can earn: the main reward at `stamps` = goal, or a milestone below it."""

    id: str
    name: str
    stamps: int


@dataclass(frozen=True)
class Tier:
    """A status level reached with `threshold` visits (or stamps) in the rolling window."""

    name: str
    threshold: int
    multiplier: int = 1


@dataclass(frozen=True)
class Booster:
    """N times the stamps on some weekdays (0 = Monday) between `start` and `end`, local time."""

    weekdays: frozenset[int]
    start: time = time(0, 0)
    end: time = time(23, 59, 59)
    multiplier: int = 2

    def active(self, local: datetime) -> bool:
        return local.weekday() in self.weekdays and self.start <= local.time() < self.end


@dataclass(frozen=True)
class Surprise:
    """A hidden milestone: the `visit`-th visit gets `bonus` stamps, never announced before."""

    visit: int
    bonus: int


class Mode(StrEnum):
    CARD = "card"  # a full card turns into its reward by itself; surplus rolls over
    LADDER = "ladder"  # stamps pile up; the customer picks a reward, which spends its stamps


class TierBasis(StrEnum):
    VISITS = "visits"
    STAMPS = "stamps"


class Expiry(StrEnum):
    OFF = "off"
    INACTIVITY = "inactivity"  # every stamp goes after `expiry_days` without a visit
    PER_STAMP = "per_stamp"  # each stamp goes `expiry_days` after it was earned


@dataclass(frozen=True)
class Program:
    """A stamp-card (or points) program as the shop configured it."""

    name: str = "Loyalty card"
    version: str = "1"
    goal: int = 10
    reward_id: str = "reward"
    reward_name: str = "free coffee"
    welcome_bonus: int = 2
    milestones: tuple[Reward, ...] = ()
    cooldown: timedelta = timedelta(minutes=30)
    daily_cap: int | None = None
    timezone: str = "UTC"
    mode: Mode = Mode.CARD
    tiers: tuple[Tier, ...] = ()
    tier_basis: TierBasis = TierBasis.VISITS
    tier_months: int = 12
    tier_warn_days: int = 10
    expiry: Expiry = Expiry.OFF
    expiry_days: int = 365
    expiry_warn_days: int = 14
    boosters: tuple[Booster, ...] = ()
    birthday_bonus: int = 0
    birthday_gift: Reward | None = None
    surprises: tuple[Surprise, ...] = ()
    points_per_euro: int = 0  # 0: one stamp per visit; else points per euro of the basket
    promo_earns: bool = True
    reward_ticket_earns: bool = True

    def __post_init__(self) -> None:
        if self.goal < 1:
            raise ValueError("goal must be at least 1")
        if not 0 <= self.welcome_bonus < self.goal:
            raise ValueError("welcome_bonus must be between 0 and goal - 1")
        for milestone in self.milestones:
            if not 0 < milestone.stamps < self.goal:
                raise ValueError("a milestone must sit between 1 and goal - 1 stamps")
            if milestone.id == self.reward_id:
                raise ValueError("a milestone needs its own reward id")
        if self.daily_cap is not None and self.daily_cap < 1:
            raise ValueError("daily_cap must be at least 1 when set")
        self._check_extras()

    def _check_extras(self) -> None:
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("two tiers with the same name")
        thresholds = [t.threshold for t in self.tiers]
        if thresholds != sorted(set(thresholds)) or any(n < 1 for n in thresholds):
            raise ValueError("tiers must be listed lowest first, thresholds rising from 1")
        if any(not 1 <= t.multiplier <= 10 for t in self.tiers):
            raise ValueError("a tier's multiplier must be between 1 and 10")
        if not 1 <= self.tier_months <= 36:
            raise ValueError("tier_months must be between 1 and 36")
        if not 1 <= self.expiry_days <= 3650:
            raise ValueError("expiry_days must be between 1 and 3650")
        if not 0 <= self.expiry_warn_days < self.expiry_days:
            raise ValueError("expiry_warn_days must be shorter than expiry_days")
        for booster in self.boosters:
            if not booster.weekdays or not booster.weekdays <= set(range(7)):
                raise ValueError("a booster needs weekdays among mon..sun")
            if not booster.start < booster.end:
                raise ValueError("a booster must start before it ends")
            if not 2 <= booster.multiplier <= 10:
                raise ValueError("a booster's multiplier must be between 2 and 10")
        if self.birthday_bonus < 0:
            raise ValueError("birthday_bonus must be 0 or more")
        if self.birthday_gift is not None and self.birthday_gift.id in {
            r.id for r in self.rewards
        }:
            raise ValueError("the birthday gift needs its own reward id")
        visits = [s.visit for s in self.surprises]
        if len(set(visits)) != len(visits) or any(v < 2 for v in visits):
            raise ValueError("surprises need distinct visit numbers from 2 up")
        if any(s.bonus < 1 for s in self.surprises):
            raise ValueError("a surprise's bonus must be at least 1 stamp")
        if not 0 <= self.points_per_euro <= 1000:
            raise ValueError("points_per_euro must be between 0 and 1000")

    @property
    def reward(self) -> Reward:
        return Reward(self.reward_id, self.reward_name, self.goal)

    @property
    def rewards(self) -> tuple[Reward, ...]:
        """Every reward of the card, milestones first, the main reward last."""
        return (*sorted(self.milestones, key=lambda r: r.stamps), self.reward)

    @property
    def voucher_rewards(self) -> tuple[Reward, ...]:
        """Every reward a card can hold a voucher for (the card's and the birthday gift)."""
        gift = () if self.birthday_gift is None else (self.birthday_gift,)
        return (*self.rewards, *gift)

    def reward_by_id(self, reward_id: str) -> Reward | None:
        return next((r for r in self.voucher_rewards if r.id == reward_id), None)

    def tier_named(self, name: str | None) -> Tier | None:
        return next((t for t in self.tiers if t.name == name), None)

    @property
    def uses_points(self) -> bool:
        return self.points_per_euro > 0

    @cached_property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

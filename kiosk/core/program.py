"""A loyalty program as the shop configured it: the card, its rewards and its extras.

Every extra (tiers, expiry, boosters, birthday, surprises, points, the reward ladder) is
off in a plain `Program()`, which behaves as a "10 stamps = 1 coffee" card.

    >>> Program(tiers=(Tier("Gold", 20, multiplier=2),), tier_basis="visits").tier_named("Gold")
    Tier(name='Gold', threshold=20, multiplier=2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from kiosk.core.events import PROGRAM_VERSION, REWARD_ID
from kiosk.core.wire import Rule, Text, Whole

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The bounds of everything a shop configures. `Program` checks itself against them, and the
# config file's fields (kiosk.config, which also checks programs the central serves) are
# built from them: a bound is changed here only.
PROGRAM_NAME = Text(1, 60)
REWARD_NAME = Text(1, 60)
TIER_NAME = Text(1, 30)
GOAL = Whole(1, 100)
WELCOME_BONUS = Whole(0, GOAL.maximum - 1)  # and below the goal
MILESTONE_STAMPS = Whole(1, GOAL.maximum - 1)  # and below the goal
DAILY_CAP = Whole(1, 1000)
TIER_THRESHOLD = Whole(1, 100_000)
TIER_MULTIPLIER = Whole(1, 10)
TIER_MONTHS = Whole(1, 36)
TIER_WARN_DAYS = Whole(0, 31)
EXPIRY_DAYS = Whole(1, 3650)
EXPIRY_WARN_DAYS = Whole(0, EXPIRY_DAYS.maximum - 1)  # and shorter than expiry_days
BOOSTER_MULTIPLIER = Whole(2, 10)
BIRTHDAY_BONUS = Whole(0, 100)
SURPRISE_VISIT = Whole(2, 10_000)
SURPRISE_BONUS = Whole(1, 100)
POINTS_PER_EURO = Whole(0, 1000)


def _first_problem(checks: Iterable[tuple[str, Rule, object]]) -> None:
    """Raise ValueError with the first value outside its bound."""
    for name, rule, value in checks:
        problem = rule.problem(name, value)
        if problem is not None:
            raise ValueError(problem)


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
        _first_problem([
            ("name", PROGRAM_NAME, self.name),
            ("version", PROGRAM_VERSION, self.version),
            ("goal", GOAL, self.goal),
            ("reward_id", REWARD_ID, self.reward_id),
            ("reward_name", REWARD_NAME, self.reward_name),
            ("welcome_bonus", WELCOME_BONUS, self.welcome_bonus),
        ])
        if not self.welcome_bonus < self.goal:
            raise ValueError("welcome_bonus must be between 0 and goal - 1")
        for milestone in self.milestones:
            _first_problem([
                ("a milestone's id", REWARD_ID, milestone.id),
                ("a milestone's name", REWARD_NAME, milestone.name),
            ])
            if not 0 < milestone.stamps < self.goal:
                raise ValueError("a milestone must sit between 1 and goal - 1 stamps")
            if milestone.id == self.reward_id:
                raise ValueError("a milestone needs its own reward id")
        if self.daily_cap is not None:
            _first_problem([("daily_cap", DAILY_CAP, self.daily_cap)])
        self._check_extras()

    def _check_extras(self) -> None:
        _first_problem([
            ("tier_months", TIER_MONTHS, self.tier_months),
            ("tier_warn_days", TIER_WARN_DAYS, self.tier_warn_days),
            ("expiry_days", EXPIRY_DAYS, self.expiry_days),
            ("expiry_warn_days", EXPIRY_WARN_DAYS, self.expiry_warn_days),
            ("birthday_bonus", BIRTHDAY_BONUS, self.birthday_bonus),
            ("points_per_euro", POINTS_PER_EURO, self.points_per_euro),
            *((f"tier {t.name!r}'s name", TIER_NAME, t.name) for t in self.tiers),
            *((f"tier {t.name!r}'s threshold", TIER_THRESHOLD, t.threshold) for t in self.tiers),
            *((f"tier {t.name!r}'s multiplier", TIER_MULTIPLIER, t.multiplier)
              for t in self.tiers),
            *(("a booster's multiplier", BOOSTER_MULTIPLIER, b.multiplier) for b in self.boosters),
            *((f"the surprise at visit {s.visit}", SURPRISE_VISIT, s.visit)
              for s in self.surprises),
            *((f"the surprise at visit {s.visit}'s bonus", SURPRISE_BONUS, s.bonus)
              for s in self.surprises),
        ])
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("two tiers with the same name")
        thresholds = [t.threshold for t in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tiers must be listed lowest first, thresholds rising")
        if not self.expiry_warn_days < self.expiry_days:
            raise ValueError("expiry_warn_days must be shorter than expiry_days")
        for booster in self.boosters:
            if not booster.weekdays or not booster.weekdays <= set(range(7)):
                raise ValueError("a booster needs weekdays among mon..sun")
            if not booster.start < booster.end:
                raise ValueError("a booster must start before it ends")
        if self.birthday_gift is not None:
            _first_problem([
                ("the birthday gift's id", REWARD_ID, self.birthday_gift.id),
                ("the birthday gift's name", REWARD_NAME, self.birthday_gift.name),
            ])
            if self.birthday_gift.id in {r.id for r in self.rewards}:
                raise ValueError("the birthday gift needs its own reward id")
        if len({s.visit for s in self.surprises}) != len(self.surprises):
            raise ValueError("surprises need distinct visit numbers")

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

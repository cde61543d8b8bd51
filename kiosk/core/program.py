"""A loyalty program as the shop configured it: the card, its rewards and its extras.

Every extra (tiers, expiry, boosters, birthday, surprises, points, the reward ladder) is
off in a plain `Program()`, which behaves as a "10 stamps = 1 coffee" card.

    >>> Program(tiers=(Tier("Gold", 20, multiplier=2),), tier_basis="visits").tier_named("Gold")
    Tier(name='Gold', threshold=20, multiplier=2)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from kiosk.core.events import MAX_DELTA, PROGRAM_VERSION, REWARD_ID
from kiosk.core.wire import Rule, Text, Whole

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The bounds of everything a shop configures. `Program` checks itself against them, and the
# config file's fields (kiosk.config, which also checks programs the central serves) are
# built from them: a bound is changed here only.
PROGRAM_NAME = Text(1, 60)
REWARD_NAME = Text(1, 60)
TIER_NAME = Text(1, 30)
# A full card turns into a voucher with one event taking the goal's stamps (or points)
# off, so the goal reaches exactly as far as one event may carry (500 points for a 5 EUR
# voucher fits; MAX_DELTA is raised, not this bound).
GOAL = Whole(1, MAX_DELTA)
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
POINTS_PER_ITEM = Whole(0, 100)  # points per item of the till's basket (0: none)
TIER_OR_VISITS = Whole(0, TIER_THRESHOLD.maximum)  # 0: the tier counts its basis only
# percent off the till's basket for a card holding the tier (0: none); past 90 % a shop
# gives the goods away, which is a typo, not a status perk
DISCOUNT_PERCENT = Whole(0, 90)
POINTS_PER_STAMP = Whole(0, 1000)  # 0: no conversion said; stamps and points do not mix
MAX_RETIRED = 50  # rewards of earlier versions whose vouchers are still honoured
MAX_UNIT_VERSIONS = 200  # versions counted in today's unit since a switch
REFERRAL_BONUS = Whole(0, 100)  # 0: no referral
REFERRAL_DAYS = Whole(1, 365)
REFERRAL_CAP = Whole(1, 1000)
CAUSE_NAME = Text(1, 60)


@dataclass(frozen=True)
class Reward:
    """Something a card can earn: the main reward at `stamps` = goal, or a milestone below it."""

    id: str
    name: str
    stamps: int


@dataclass(frozen=True)
class Tier:
    """A status level reached with `threshold` visits (or stamps, or points) in the rolling
    window, or with `or_visits` visits there (150 points or 4 visits); reaching it may
    give a voucher (a gift, or a percentage off as its name says); holding it may take
    `discount_percent` off every basket the till sends (kiosk.core.discount)."""

    name: str
    threshold: int
    multiplier: int = 1
    or_visits: int = 0
    voucher: Reward | None = None
    discount_percent: int = 0


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
    points_per_item: int = 0  # and/or points per item of the basket
    promo_earns: bool = True
    reward_ticket_earns: bool = True
    # What earlier versions left on cards (the central fills these when a new version is
    # set, so a kiosk decides a tap without asking anyone): rewards no longer offered
    # whose vouchers stay redeemable under their old name, and, after a switch between
    # stamps and points, how many points one stamp is worth, the version that switched
    # and the versions counted in today's unit since (a card with events of any other
    # version holds a balance in the old unit, converted at its next tap).
    retired_rewards: tuple[Reward, ...] = ()
    points_per_stamp: int = 0
    switched_in: str | None = None
    unit_versions: tuple[str, ...] = ()
    # a friend's new card opened through a customer's referral link within referral_days
    # of its enrolment: referral_bonus stamps to each card, at most referral_cap friends
    # per referrer (0 bonus: no referral)
    referral_bonus: int = 0
    referral_days: int = 14
    referral_cap: int = 10
    cause: str | None = None  # the cause customers may give a voucher to (None: none)

    def __post_init__(self) -> None:
        _within_bounds("", self, PROGRAM_BOUNDS)
        for parts in ("milestones", "tiers", "boosters", "surprises"):
            for index, part in enumerate(getattr(self, parts)):
                _within_bounds(f"{parts}[{index}].", part, PART_BOUNDS[type(part)])
        if self.birthday_gift is not None:
            _within_bounds("birthday_gift.", self.birthday_gift, PART_BOUNDS[Reward])
        if not self.welcome_bonus < self.goal:
            raise ValueError("welcome_bonus must be between 0 and goal - 1")
        for milestone in self.milestones:
            if not 0 < milestone.stamps < self.goal:
                raise ValueError("a milestone must sit between 1 and goal - 1 stamps")
            if milestone.id == self.reward_id:
                raise ValueError("a milestone needs its own reward id")
        self._check_extras()

    def _check_extras(self) -> None:
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
        if self.birthday_gift is not None and self.birthday_gift.id in {
            r.id for r in self.rewards
        }:
            raise ValueError("the birthday gift needs its own reward id")
        gifts = [r.id for r in (*self.rewards, *self.tier_vouchers)] + (
            [] if self.birthday_gift is None else [self.birthday_gift.id])
        if len(set(gifts)) != len(gifts):
            raise ValueError("a tier's voucher needs its own reward id")
        if len({s.visit for s in self.surprises}) != len(self.surprises):
            raise ValueError("surprises need distinct visit numbers")
        self._check_history()

    def _check_history(self) -> None:
        for index, reward in enumerate(self.retired_rewards):
            _within_bounds(f"retired_rewards[{index}].", reward, PART_BOUNDS[Reward])
        if len(self.retired_rewards) > MAX_RETIRED:
            raise ValueError(f"retired_rewards: more than {MAX_RETIRED}")
        gift = () if self.birthday_gift is None else (self.birthday_gift,)
        offered = {r.id for r in (*self.rewards, *gift)}
        if any(r.id in offered for r in self.retired_rewards):
            raise ValueError("a retired reward needs an id no current reward uses")
        if len(self.unit_versions) > MAX_UNIT_VERSIONS:
            raise ValueError(f"unit_versions: more than {MAX_UNIT_VERSIONS} versions")
        if self.switched_in is not None and not (
            self.points_per_stamp and self.switched_in in self.unit_versions
        ):
            raise ValueError(
                "switched_in needs points_per_stamp (the points one stamp is worth) and "
                "unit_versions listing it"
            )

    # The parts derived below are read several times per tap; a program is immutable
    # (a reload builds a new one), so each is worked out once, at its first use.
    @cached_property
    def reward(self) -> Reward:
        return Reward(self.reward_id, self.reward_name, self.goal)

    @cached_property
    def rewards(self) -> tuple[Reward, ...]:
        """Every reward of the card, milestones first, the main reward last."""
        return (*sorted(self.milestones, key=lambda r: r.stamps), self.reward)

    @cached_property
    def tier_vouchers(self) -> tuple[Reward, ...]:
        """The vouchers reaching a tier gives."""
        return tuple(t.voucher for t in self.tiers if t.voucher is not None)

    @cached_property
    def voucher_rewards(self) -> tuple[Reward, ...]:
        """Every reward a card can hold a voucher for: the card's, the birthday gift, the
        tiers' gifts, and the retired rewards whose vouchers are still honoured."""
        gift = () if self.birthday_gift is None else (self.birthday_gift,)
        return (*self.rewards, *gift, *self.tier_vouchers, *self.retired_rewards)

    @cached_property
    def _rewards_by_id(self) -> Mapping[str, Reward]:
        found: dict[str, Reward] = {}
        for reward in self.voucher_rewards:
            found.setdefault(reward.id, reward)  # the first listed, as a walk would find
        return found

    @cached_property
    def _tiers_by_name(self) -> Mapping[str, Tier]:
        found: dict[str, Tier] = {}
        for tier in self.tiers:
            found.setdefault(tier.name, tier)
        return found

    def reward_by_id(self, reward_id: str) -> Reward | None:
        return self._rewards_by_id.get(reward_id)

    def tier_named(self, name: str | None) -> Tier | None:
        return None if name is None else self._tiers_by_name.get(name)

    @property
    def uses_points(self) -> bool:
        return self.points_per_euro > 0 or self.points_per_item > 0

    @cached_property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)


# Which field of a program, or of one of its parts, each bound above applies to.
PROGRAM_BOUNDS: Mapping[str, Rule] = {
    "name": PROGRAM_NAME, "version": PROGRAM_VERSION, "goal": GOAL, "reward_id": REWARD_ID,
    "reward_name": REWARD_NAME, "welcome_bonus": WELCOME_BONUS, "daily_cap": DAILY_CAP,
    "tier_months": TIER_MONTHS, "tier_warn_days": TIER_WARN_DAYS, "expiry_days": EXPIRY_DAYS,
    "expiry_warn_days": EXPIRY_WARN_DAYS, "birthday_bonus": BIRTHDAY_BONUS,
    "points_per_euro": POINTS_PER_EURO, "points_per_stamp": POINTS_PER_STAMP,
    "points_per_item": POINTS_PER_ITEM,
    "switched_in": PROGRAM_VERSION,
    "referral_bonus": REFERRAL_BONUS,
    "referral_days": REFERRAL_DAYS, "referral_cap": REFERRAL_CAP, "cause": CAUSE_NAME,
}
PART_BOUNDS: Mapping[type, Mapping[str, Rule]] = {
    Reward: {"id": REWARD_ID, "name": REWARD_NAME},  # a milestone's stamps: below the goal
    Tier: {"name": TIER_NAME, "threshold": TIER_THRESHOLD, "multiplier": TIER_MULTIPLIER,
           "or_visits": TIER_OR_VISITS, "discount_percent": DISCOUNT_PERCENT},
    Booster: {"multiplier": BOOSTER_MULTIPLIER},
    Surprise: {"visit": SURPRISE_VISIT, "bonus": SURPRISE_BONUS},
}


def _within_bounds(prefix: str, record: object, bounds: Mapping[str, Rule]) -> None:
    """Raise ValueError naming the first field (`prefix` + its name) outside its bound;
    a field left unset (None) has nothing to check."""
    for name, rule in bounds.items():
        value = getattr(record, name)
        problem = None if value is None else rule.problem(prefix + name, value)
        if problem is not None:
            raise ValueError(problem)

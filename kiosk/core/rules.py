"""The loyalty rules: (program, card state, now) -> outcome. Pure: no I/O, no clock.

    >>> from datetime import datetime, UTC
    >>> program = Program()
    >>> outcome = decide_tap(program, CardState(card_ref="ab" * 32), datetime(2026, 1, 5, 9, tzinfo=UTC))
    >>> outcome.kind, outcome.card.stamps, outcome.stamps_left
    (<OutcomeKind.WELCOME: 'welcome'>, 3, 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from kiosk.core.events import CardState, Change, EventKind, apply_change


@dataclass(frozen=True)
class Reward:
    """Something a card can earn: the main reward at `stamps` = goal, or a milestone below it."""

    id: str
    name: str
    stamps: int


@dataclass(frozen=True)
class Program:
    """A stamp-card program as the shop configured it."""

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

    @property
    def reward(self) -> Reward:
        return Reward(self.reward_id, self.reward_name, self.goal)

    @property
    def rewards(self) -> tuple[Reward, ...]:
        """Every reward of the card, milestones first, the main reward last."""
        return (*sorted(self.milestones, key=lambda r: r.stamps), self.reward)

    def reward_by_id(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.id == reward_id), None)

    @cached_property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)


class OutcomeKind(StrEnum):
    WELCOME = "welcome"  # a new card: enrolled with its bonus and today's stamp
    STAMPED = "stamped"
    REWARD_EARNED = "reward_earned"
    COOLDOWN = "cooldown"  # already stamped a moment ago: shown, not stamped
    DAILY_CAP = "daily_cap"
    REFUSED = "refused"  # a card that cannot hold stamps (random ID)
    REDEEMED = "redeemed"
    NO_VOUCHER = "no_voucher"


class RefusalReason(StrEnum):
    RANDOM_ID = "random_id"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Outcome:
    """What a tap changed and what the customer should be shown, as data."""

    kind: OutcomeKind
    card: CardState | None
    goal: int
    changes: tuple[Change, ...] = ()
    stamps_added: int = 0
    bonus: int = 0
    rewards_earned: tuple[Reward, ...] = ()
    rewards_redeemed: tuple[Reward, ...] = ()
    vouchers: tuple[tuple[Reward, int], ...] = ()
    refusal: RefusalReason | None = None
    cooldown_until: datetime | None = None
    next_reward: Reward | None = None
    stamps_to_next: int = 0
    reward_name: str = ""
    program_name: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def stamps(self) -> int:
        """Stamps shown on the card, between 0 and goal."""
        return 0 if self.card is None else max(0, min(self.card.stamps, self.goal))

    @property
    def stamps_left(self) -> int:
        """Stamps still missing to the main reward."""
        return self.goal - self.stamps

    @property
    def is_new_card(self) -> bool:
        return self.kind is OutcomeKind.WELCOME


def _progress(program: Program, card: CardState) -> tuple[Reward | None, int]:
    """The next reward on the card and how many stamps are missing to it."""
    position = max(0, card.stamps)
    for reward in program.rewards:
        if reward.stamps > position:
            return reward, reward.stamps - position
    return program.reward, program.goal - min(position, program.goal)


def _available(program: Program, card: CardState) -> tuple[tuple[Reward, int], ...]:
    return tuple(
        (reward, card.vouchers(reward.id))
        for reward in reversed(program.rewards)
        if card.vouchers(reward.id) > 0
    )


def _outcome(
    program: Program,
    kind: OutcomeKind,
    card: CardState,
    changes: tuple[Change, ...] = (),
    **extra: object,
) -> Outcome:
    next_reward, to_next = _progress(program, card)
    return Outcome(
        kind=kind,
        card=card,
        goal=program.goal,
        changes=changes,
        vouchers=_available(program, card),
        next_reward=next_reward,
        stamps_to_next=to_next,
        reward_name=program.reward_name,
        program_name=program.name,
        **extra,  # type: ignore[arg-type]
    )


def stamp_changes(program: Program, stamps_before: int, stamps: int) -> tuple[Change, ...]:
    """A stamp of `stamps`, and every reward its stamps pass on the card."""
    changes = [Change(EventKind.STAMP, stamps)]
    milestones = {m.stamps: m for m in program.milestones}
    for position in range(max(0, stamps_before) + 1, max(0, stamps_before + stamps) + 1):
        cycle_position = position % program.goal
        if cycle_position == 0:
            # the card is full: its stamps become a voucher, the surplus rolls over
            changes.append(Change(EventKind.REWARD_EARNED, -program.goal, program.reward_id))
        elif cycle_position in milestones:
            changes.append(Change(EventKind.REWARD_EARNED, 0, milestones[cycle_position].id))
    return tuple(changes)


def _after(program: Program, card: CardState, changes: tuple[Change, ...], now: datetime) -> CardState:
    for change in changes:
        card = apply_change(card, change, now, program.tz)
    return card


def decide_tap(program: Program, card: CardState, now: datetime) -> Outcome:
    """A customer tapped `card` at `now`: stamp it, enrol it, or only show it."""
    if not card.enrolled:
        changes = (Change(EventKind.ENROLLED, program.welcome_bonus),) + stamp_changes(
            program, program.welcome_bonus, 1
        )
        after = _after(program, card, changes, now)
        return _outcome(
            program,
            OutcomeKind.WELCOME,
            after,
            changes,
            stamps_added=1,
            bonus=program.welcome_bonus,
            rewards_earned=_earned(program, changes),
        )

    if card.last_visit is not None and now < card.last_visit + program.cooldown:
        return _outcome(
            program, OutcomeKind.COOLDOWN, card, cooldown_until=card.last_visit + program.cooldown
        )

    if (
        program.daily_cap is not None
        and card.stamp_day == now.astimezone(program.tz).date()
        and card.stamps_that_day >= program.daily_cap
    ):
        return _outcome(program, OutcomeKind.DAILY_CAP, card)

    changes = stamp_changes(program, card.stamps, 1)
    after = _after(program, card, changes, now)
    earned = _earned(program, changes)
    kind = OutcomeKind.REWARD_EARNED if earned else OutcomeKind.STAMPED
    return _outcome(program, kind, after, changes, stamps_added=1, rewards_earned=earned)


def _earned(program: Program, changes: tuple[Change, ...]) -> tuple[Reward, ...]:
    rewards = (
        program.reward_by_id(c.reward_id)
        for c in changes
        if c.kind is EventKind.REWARD_EARNED and c.reward_id
    )
    return tuple(r for r in rewards if r is not None)


def decide_redeem(
    program: Program, card: CardState, now: datetime, reward_id: str | None = None
) -> Outcome:
    """Staff redeem one voucher: the one named, else the most valuable one available."""
    available = _available(program, card)
    choice = next(
        (r for r, _ in available if reward_id is None or r.id == reward_id),
        None,
    )
    if choice is None:
        return _outcome(program, OutcomeKind.NO_VOUCHER, card)
    changes = (Change(EventKind.REWARD_REDEEMED, 0, choice.id),)
    after = _after(program, card, changes, now)
    return _outcome(
        program, OutcomeKind.REDEEMED, after, changes, rewards_redeemed=(choice,)
    )


def refuse(program: Program, reason: RefusalReason) -> Outcome:
    """A card that cannot hold stamps: say so, record nothing."""
    return Outcome(
        kind=OutcomeKind.REFUSED,
        card=None,
        goal=program.goal,
        refusal=reason,
        reward_name=program.reward_name,
        program_name=program.name,
    )

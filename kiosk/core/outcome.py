"""What a tap or a staff action decided, as data: the changes to record and what to show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from kiosk.core.events import CardState, Change
from kiosk.core.program import Reward


class OutcomeKind(StrEnum):
    WELCOME = "welcome"  # a new card: enrolled with its bonus and today's stamp
    STAMPED = "stamped"
    REWARD_EARNED = "reward_earned"
    COOLDOWN = "cooldown"  # already stamped a moment ago: shown, not stamped
    DAILY_CAP = "daily_cap"
    REFUSED = "refused"  # a card that cannot hold stamps (random ID)
    REDEEMED = "redeemed"
    NO_VOUCHER = "no_voucher"
    EXPIRED = "expired"  # a daily check took stamps off an inactive card
    STAFF_MODE = "staff_mode"  # a staff card was tapped: the next tap is a staff action
    UNDONE = "undone"  # staff undid the card's last stamp
    NOTHING_TO_UNDO = "nothing_to_undo"
    FIGURES = "figures"  # today's figures, for staff


class RefusalReason(StrEnum):
    RANDOM_ID = "random_id"
    UNREADABLE = "unreadable"
    NOT_ORIGINAL = "not_original"  # an NTAG whose originality signature failed: a clone


class UndoRefusal(StrEnum):
    NO_STAMP = "no_stamp"
    TOO_LATE = "too_late"
    ALREADY_UNDONE = "already_undone"
    REWARD_GIVEN = "reward_given"  # the voucher that stamp made is already redeemed


@dataclass(frozen=True)
class TierProgress:
    """Where the card stands among the tiers after this tap."""

    tier: str | None
    changed: bool = False  # the tap moved the card to `tier` (up or down)
    next_tier: str | None = None
    to_next: int = 0  # visits (or stamps) still missing to `next_tier`
    keep: int = 0  # visits (or stamps) needed by `keep_by` to stay in `tier`
    keep_by: date | None = None
    by_visits: bool = True


@dataclass(frozen=True)
class TodayFigures:
    """The day at this kiosk, for staff: taps that stamped, new cards, rewards given."""

    day: date
    stamps: int = 0
    visits: int = 0
    new_cards: int = 0
    rewards_earned: int = 0
    rewards_redeemed: int = 0
    undone: int = 0
    pending_sync: int = 0


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
    # program extras; each stays at its "nothing to say" value when the feature is off
    points: bool = False  # the card counts points (per euro) rather than stamps
    multiplier: int = 1  # tier x booster applied to this tap's stamps
    booster: int = 1
    tier: TierProgress | None = None
    expired: int = 0  # stamps that expired at this tap (before it stamped)
    expiring: int = 0  # stamps that will expire on `expiring_on` unless spent
    expiring_on: date | None = None
    birthday: bool = False
    first_name: str | None = None  # only ever with the customer's consent
    surprise: int = 0
    undo_refusal: UndoRefusal | None = None
    figures: TodayFigures | None = None
    staff_action: str | None = None  # STAFF_MODE: what the next customer card will do

    @property
    def stamps(self) -> int:
        """Stamps shown on the card, between 0 and goal."""
        return 0 if self.card is None else max(0, min(self.card.stamps, self.goal))

    @property
    def stamps_left(self) -> int:
        """Stamps still missing to the main reward."""
        return self.goal - self.stamps

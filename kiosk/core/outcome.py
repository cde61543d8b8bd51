"""What a tap or a staff action decided, as data: the changes to record and what to show.

Each kind of outcome is its own small frozen type; `Outcome` is their union. Whatever
shows an outcome (screens, lights, the CLI) matches on the type and ends with
`assert_never`, so a new kind is a new class here plus one line in the union, and
mypy then names every place that has yet to show it.

    >>> from kiosk.core.events import CardState
    >>> shown = NoVoucher(card=CardState(card_ref="ab"), progress=Progress(goal=10))
    >>> shown.kind.value, shown.stamps_left, shown.changes
    ('no_voucher', 10, ())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from kiosk.core.discount import Discount
from kiosk.core.events import CardState, Change, EventKind
from kiosk.core.program import Reward


class OutcomeKind(StrEnum):
    """Each outcome type's name, as logs and the lights' patterns know it."""

    WELCOME = "welcome"
    STAMPED = "stamped"
    REWARD_EARNED = "reward_earned"
    COOLDOWN = "cooldown"
    DAILY_CAP = "daily_cap"
    REFUSED = "refused"
    REDEEMED = "redeemed"
    NO_VOUCHER = "no_voucher"
    EXPIRED = "expired"
    STAFF_MODE = "staff_mode"
    UNDONE = "undone"
    NOTHING_TO_UNDO = "nothing_to_undo"
    FIGURES = "figures"
    ADJUSTED = "adjusted"
    REPLACED = "replaced"
    BLOCKED = "blocked"
    SHOW_LINK = "show_link"  # a second tap soon after a visit: the card's page as a QR code
    DONATED = "donated"  # staff gave one of the card's vouchers to the shop's cause


class RefusalReason(StrEnum):
    RANDOM_ID = "random_id"
    BLANK_ID = "blank_id"  # an all-zero or all-FF UID: shared by every card that sends it
    UNREADABLE = "unreadable"
    NOT_ORIGINAL = "not_original"  # an NTAG whose originality signature failed: a clone
    # staff corrections that would lose or invent a balance
    NEGATIVE_BALANCE = "negative_balance"  # an adjustment taking more than the card holds
    CARD_IN_USE = "card_in_use"  # a replacement card that already has a balance (no merge asked)
    CARD_BLOCKED = "card_blocked"  # a card already replaced by another
    SAME_CARD = "same_card"  # a card replaced by itself
    CARD_UNKNOWN = "card_unknown"  # a card this kiosk never saw: nothing to adjust or move
    NO_CAUSE = "no_cause"  # a voucher given to a cause the program does not name


class UndoRefusal(StrEnum):
    NO_STAMP = "no_stamp"
    TOO_LATE = "too_late"
    ALREADY_UNDONE = "already_undone"
    REWARD_GIVEN = "reward_given"  # the voucher that stamp made is already redeemed


class StaffAction(StrEnum):
    """What the next customer card does after a staff card; each staff tap moves on one."""

    REDEEM = "redeem"
    UNDO = "undo"
    FIGURES = "figures"  # shown at once: no customer card needed
    ADD_STAMP = "add_stamp"  # one stamp by hand (a stamp the customer should have had)
    REPLACE = "replace"  # the next card's balance moves to the card tapped after it
    REPLACE_WITH = "replace_with"  # the old card was tapped: the next card is its replacement
    DONATE = "donate"  # the next card gives a voucher to the shop's cause (programs with one)


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


@dataclass(frozen=True, kw_only=True)
class Progress:
    """Where a card stands in the program after an outcome: what every card screen shows
    under its headline. Each program extra stays at its "nothing to say" value when off."""

    goal: int
    reward_name: str = ""
    vouchers: tuple[tuple[Reward, int], ...] = ()  # rewards the customer can take now
    next_reward: Reward | None = None
    stamps_to_next: int = 0
    points: bool = False  # the card counts points (per euro) rather than stamps
    tier: TierProgress | None = None
    expiring: int = 0  # stamps that will expire on `expiring_on` unless spent
    expiring_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class CardOutcome:
    """An outcome about one customer card: the card after it, and the changes to record."""

    kind: ClassVar[OutcomeKind]
    card: CardState
    progress: Progress
    changes: tuple[Change, ...] = ()

    @property
    def stamps(self) -> int:
        """Stamps shown on the card, between 0 and goal."""
        return max(0, min(self.card.stamps, self.progress.goal))

    @property
    def stamps_left(self) -> int:
        """Stamps still missing to the main reward."""
        return self.progress.goal - self.stamps


@dataclass(frozen=True, kw_only=True)
class Visit(CardOutcome):
    """A customer's tap that stamped (base class of Welcome, Stamped, RewardEarned)."""

    stamps_added: int = 0  # after tier x booster; points on a points program
    rewards_earned: tuple[Reward, ...] = ()
    multiplier: int = 1  # tier x booster applied to this tap's stamps
    booster: int = 1
    expired: int = 0  # stamps that expired at this tap, before it stamped
    birthday: bool = False
    surprise: int = 0
    first_name: str | None = None  # only ever with the customer's consent
    discount: Discount | None = None  # what the till deducts from this visit's basket


@dataclass(frozen=True, kw_only=True)
class Welcome(Visit):
    """A new card: enrolled with its bonus and today's stamp."""

    kind = OutcomeKind.WELCOME

    @property
    def bonus(self) -> int:
        """The welcome bonus stamps, as recorded with the enrolment."""
        return sum(c.delta for c in self.changes if c.kind is EventKind.ENROLLED)


@dataclass(frozen=True, kw_only=True)
class Stamped(Visit):
    kind = OutcomeKind.STAMPED


@dataclass(frozen=True, kw_only=True)
class RewardEarned(Visit):
    """A known card's tap that reached at least one reward (`rewards_earned`)."""

    kind = OutcomeKind.REWARD_EARNED


@dataclass(frozen=True, kw_only=True)
class Cooldown(CardOutcome):
    """Already stamped a moment ago: shown, not stamped."""

    kind = OutcomeKind.COOLDOWN
    until: datetime
    first_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class ShowLink(CardOutcome):
    """A second tap inside the cooldown: the card's page as a QR code (`qr`: rows of dark
    modules, True = dark), to scan with a phone. `fresh`: a new link drawn at this tap
    (the card's earlier one stops; it opens once this counter's events reach the central)."""

    kind = OutcomeKind.SHOW_LINK
    until: datetime
    qr: tuple[tuple[bool, ...], ...]
    fresh: bool = False


@dataclass(frozen=True, kw_only=True)
class DailyCap(CardOutcome):
    kind = OutcomeKind.DAILY_CAP
    first_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Redeemed(CardOutcome):
    kind = OutcomeKind.REDEEMED
    reward: Reward


@dataclass(frozen=True, kw_only=True)
class Donated(Redeemed):
    """A voucher given to the shop's cause at the counter: redeemed, for `cause`. Whatever
    shows a redemption shows it (lights, sounds); the screen and the CLI name the cause."""

    kind = OutcomeKind.DONATED
    cause: str


@dataclass(frozen=True, kw_only=True)
class NoVoucher(CardOutcome):
    kind = OutcomeKind.NO_VOUCHER


@dataclass(frozen=True, kw_only=True)
class Expired(CardOutcome):
    """The daily check took `expired` stamps off an inactive card (none: no changes)."""

    kind = OutcomeKind.EXPIRED
    expired: int = 0


@dataclass(frozen=True, kw_only=True)
class Undone(CardOutcome):
    """Staff undid the card's last stamp, taking `stamps_taken` off."""

    kind = OutcomeKind.UNDONE
    stamps_taken: int


@dataclass(frozen=True, kw_only=True)
class NothingToUndo(CardOutcome):
    kind = OutcomeKind.NOTHING_TO_UNDO
    refusal: UndoRefusal


@dataclass(frozen=True, kw_only=True)
class Adjusted(CardOutcome):
    """Staff added (or took) `delta` stamps by hand, for `reason`."""

    kind = OutcomeKind.ADJUSTED
    delta: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class Replaced(CardOutcome):
    """A lost card's balance moved to this card; `changes` are this card's, `old_changes`
    the old card's (recorded together, under each card's ref)."""

    kind = OutcomeKind.REPLACED
    old_ref: str
    old_changes: tuple[Change, ...]
    stamps_moved: int
    vouchers_moved: int


@dataclass(frozen=True, kw_only=True)
class Blocked(CardOutcome):
    """A card replaced by another: it holds nothing now, and is not stamped."""

    kind = OutcomeKind.BLOCKED


@dataclass(frozen=True, kw_only=True)
class Refused:
    """A card that cannot hold stamps: nothing recorded, no card shown."""

    kind: ClassVar[OutcomeKind] = OutcomeKind.REFUSED
    changes: ClassVar[tuple[Change, ...]] = ()
    reason: RefusalReason


@dataclass(frozen=True, kw_only=True)
class StaffMode:
    """A staff card was tapped: the next customer card is `action`."""

    kind: ClassVar[OutcomeKind] = OutcomeKind.STAFF_MODE
    changes: ClassVar[tuple[Change, ...]] = ()
    action: StaffAction


@dataclass(frozen=True, kw_only=True)
class Figures:
    """Today's figures, for staff."""

    kind: ClassVar[OutcomeKind] = OutcomeKind.FIGURES
    changes: ClassVar[tuple[Change, ...]] = ()
    figures: TodayFigures


Outcome = (
    Welcome | Stamped | RewardEarned | Cooldown | DailyCap | Redeemed | NoVoucher | Expired
    | Undone | NothingToUndo | Refused | StaffMode | Figures | Adjusted | Replaced | Blocked
    | ShowLink
)

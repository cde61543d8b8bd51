"""Staff at the counter, as pure decisions: staff cards, undo of the last stamp, the
day's figures. Every staff event is recorded with the staff card's ref (the shell passes
it to `record(..., staff_ref=...)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from kiosk.core.cardid import is_card_ref
from kiosk.core.events import CardState, Change, Event, EventKind, apply_change
from kiosk.core.outcome import (
    Figures,
    NothingToUndo,
    StaffAction,
    StaffMode,
    TodayFigures,
    Undone,
    UndoRefusal,
)
from kiosk.core.program import Program
from kiosk.core.rules import progress

__all__ = [
    "StaffAction", "StaffPolicy", "decide_undo", "figures", "next_staff_action", "staff_mode",
    "todays_figures",
]


@dataclass(frozen=True)
class StaffPolicy:
    """Which cards are staff cards, and how long a stamp can still be undone."""

    cards: frozenset[str] = frozenset()
    undo_window: timedelta = timedelta(minutes=5)

    def is_staff_card(self, card_ref: str) -> bool:
        return card_ref in self.cards


STAFF_CARDS = "staff_cards"  # a served program's list of staff card refs
MAX_STAFF_CARDS = 200
NOT_A_CARD_REF = "not a card_ref (64 lowercase hex characters)"


def staff_cards(value: object, field: str) -> frozenset[str]:
    """The staff cards a list names (a config file's, a served program's); ValueError
    naming the list `field`, or its first wrong item as `field[2]`."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"{field}: must be a list of card refs")
    if len(value) > MAX_STAFF_CARDS:
        raise ValueError(f"{field}: more than {MAX_STAFF_CARDS} cards")
    for index, ref in enumerate(value):
        if not is_card_ref(ref):
            raise ValueError(f"{field}[{index}]: {NOT_A_CARD_REF}")
    return frozenset(value)


# what each staff card tap moves on to; today's figures stay the third tap, as staff know it
STAFF_CYCLE = (
    StaffAction.REDEEM, StaffAction.UNDO, StaffAction.FIGURES, StaffAction.ADD_STAMP,
    StaffAction.REPLACE,
)


def next_staff_action(current: StaffAction | None, giving: bool = False) -> StaffAction:
    """A staff card tap: redeem first, then undo, today's figures, one stamp by hand, a card
    replacement, a gift to the cause (`giving`: the program names one), then redeem again."""
    cycle = (*STAFF_CYCLE, StaffAction.DONATE) if giving else STAFF_CYCLE
    if current not in cycle:
        return cycle[0]
    return cycle[(cycle.index(current) + 1) % len(cycle)]


def staff_mode(action: StaffAction = StaffAction.REDEEM) -> StaffMode:
    """A staff card was tapped: the next customer card is a staff action."""
    return StaffMode(action=action)


def _refused(program: Program, card: CardState, now: datetime, why: UndoRefusal) -> NothingToUndo:
    return NothingToUndo(card=card, progress=progress(program, card, now), refusal=why)


def decide_undo(
    program: Program,
    card: CardState,
    last_stamp_events: Sequence[Event],
    now: datetime,
    policy: StaffPolicy = StaffPolicy(),
) -> Undone | NothingToUndo:
    """Undo the card's last stamp within the undo window.

    `last_stamp_events`: the card's events from its last `stamp` event on, as recorded.
    The undo is an `adjustment` taking off the stamp and any surprise bonus of that tap,
    and a `reward_revoked` for each voucher that tap made (refused if one is already
    redeemed, or if the stamps have been spent since).
    """
    stamp = next((e for e in last_stamp_events if e.kind is EventKind.STAMP), None)
    if stamp is None:
        return _refused(program, card, now, UndoRefusal.NO_STAMP)
    later = [e for e in last_stamp_events if e.occurred_at >= stamp.occurred_at]
    if any(e.kind is EventKind.ADJUSTMENT for e in later):
        return _refused(program, card, now, UndoRefusal.ALREADY_UNDONE)
    if now - stamp.occurred_at > policy.undo_window:
        return _refused(program, card, now, UndoRefusal.TOO_LATE)
    same_tap = [
        e for e in later if e.occurred_at == stamp.occurred_at and e.kiosk_id == stamp.kiosk_id
    ]
    taken = stamp.delta + sum(e.delta for e in same_tap if e.kind is EventKind.BONUS)
    changes = [Change(EventKind.ADJUSTMENT, -taken)]
    revoking: dict[str, int] = {}
    for event in same_tap:
        if event.kind is EventKind.REWARD_EARNED and event.reward_id:
            revoking[event.reward_id] = revoking.get(event.reward_id, 0) + 1
            changes.append(Change(EventKind.REWARD_REVOKED, -event.delta, event.reward_id))
    if any(card.vouchers(rid) < n for rid, n in revoking.items()):
        return _refused(program, card, now, UndoRefusal.REWARD_GIVEN)
    after = card
    for change in changes:
        after = apply_change(after, change, now, program.tz)
    if after.stamps < 0:
        return _refused(program, card, now, UndoRefusal.REWARD_GIVEN)
    done = tuple(changes)
    return Undone(
        card=after, progress=progress(program, after, now, done), changes=done, stamps_taken=taken
    )


def todays_figures(
    events: Iterable[Event], now: datetime, tz: tzinfo, pending_sync: int = 0
) -> TodayFigures:
    """The local day of `now` at this kiosk: visits, stamps, new cards, rewards given."""
    today = now.astimezone(tz).date()
    counts = dict.fromkeys(EventKind, 0)
    stamps = 0
    for event in events:
        if event.occurred_at.astimezone(tz).date() != today:
            continue
        counts[event.kind] += 1
        if event.kind in (EventKind.STAMP, EventKind.ADJUSTMENT):
            stamps += event.delta
    return TodayFigures(
        day=today,
        stamps=stamps,
        visits=counts[EventKind.STAMP] - counts[EventKind.ADJUSTMENT],
        new_cards=counts[EventKind.ENROLLED],
        rewards_earned=counts[EventKind.REWARD_EARNED] - counts[EventKind.REWARD_REVOKED],
        rewards_redeemed=counts[EventKind.REWARD_REDEEMED],
        undone=counts[EventKind.ADJUSTMENT],
        pending_sync=pending_sync,
    )


def figures(today: TodayFigures) -> Figures:
    """Today's figures as an outcome the display shows to staff."""
    return Figures(figures=today)

"""Events, the only record of what happened, and the fold that derives card state.

A card's state is a fold over its events. Every field of the fold is commutative
(sums, counts, maxima), so events merged from several kiosks in any order give the
same state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    ENROLLED = "enrolled"
    STAMP = "stamp"
    REWARD_EARNED = "reward_earned"
    REWARD_REDEEMED = "reward_redeemed"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Change:
    """What the rules decided at a tap, before the shell gives it an id and a time."""

    kind: EventKind
    delta: int = 0
    reward_id: str | None = None


@dataclass(frozen=True)
class Event:
    """One thing that happened to one card at one kiosk, as decided then."""

    id: str
    kiosk_id: str
    seq: int
    card_ref: str
    kind: EventKind
    delta: int
    reward_id: str | None
    program_version: str
    occurred_at: datetime
    staff_ref: str | None = None

    @property
    def change(self) -> Change:
        return Change(self.kind, self.delta, self.reward_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kiosk_id": self.kiosk_id,
            "seq": self.seq,
            "card_ref": self.card_ref,
            "kind": self.kind.value,
            "delta": self.delta,
            "reward_id": self.reward_id,
            "program_version": self.program_version,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "staff_ref": self.staff_ref,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Build an event from its wire/JSON form; raises ValueError/KeyError/TypeError."""
        occurred = datetime.fromisoformat(str(data["occurred_at"]))
        if occurred.tzinfo is None:
            raise ValueError("occurred_at must carry a UTC offset")
        reward_id = data.get("reward_id")
        staff_ref = data.get("staff_ref")
        return cls(
            id=str(data["id"]),
            kiosk_id=str(data["kiosk_id"]),
            seq=int(data["seq"]),
            card_ref=str(data["card_ref"]),
            kind=EventKind(data["kind"]),
            delta=int(data["delta"]),
            reward_id=None if reward_id is None else str(reward_id),
            program_version=str(data["program_version"]),
            occurred_at=occurred.astimezone(UTC),
            staff_ref=None if staff_ref is None else str(staff_ref),
        )


def record(
    changes: Iterable[Change],
    *,
    card_ref: str,
    kiosk_id: str,
    program_version: str,
    now: datetime,
    new_id: Callable[[], str],
    first_seq: int,
    staff_ref: str | None = None,
) -> tuple[Event, ...]:
    """Turn decided changes into events; ids and sequence numbers come from the shell."""
    return tuple(
        Event(
            id=new_id(),
            kiosk_id=kiosk_id,
            seq=first_seq + i,
            card_ref=card_ref,
            kind=change.kind,
            delta=change.delta,
            reward_id=change.reward_id,
            program_version=program_version,
            occurred_at=now,
            staff_ref=staff_ref,
        )
        for i, change in enumerate(changes)
    )


@dataclass(frozen=True)
class CardState:
    """Everything the rules need to know about a card, derived from its events."""

    card_ref: str
    enrolled: bool = False
    stamps: int = 0
    visits: int = 0
    # reward id -> vouchers earned, redeemed (kept apart so merges stay commutative)
    earned: Mapping[str, int] = field(default_factory=dict)
    redeemed: Mapping[str, int] = field(default_factory=dict)
    first_seen: datetime | None = None
    last_visit: datetime | None = None
    # local calendar day of the latest stamp, and how many stamps were given that day
    stamp_day: date | None = None
    stamps_that_day: int = 0

    def vouchers(self, reward_id: str) -> int:
        """Vouchers of one reward still to redeem (negative means overdrawn)."""
        return self.earned.get(reward_id, 0) - self.redeemed.get(reward_id, 0)

    def all_vouchers(self) -> dict[str, int]:
        ids = set(self.earned) | set(self.redeemed)
        return {rid: self.vouchers(rid) for rid in sorted(ids) if self.vouchers(rid) != 0}

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "card_ref": self.card_ref,
            "enrolled": self.enrolled,
            "stamps": self.stamps,
            "visits": self.visits,
            "earned": dict(self.earned),
            "redeemed": dict(self.redeemed),
            "first_seen": iso(self.first_seen),
            "last_visit": iso(self.last_visit),
            "stamp_day": None if self.stamp_day is None else self.stamp_day.isoformat(),
            "stamps_that_day": self.stamps_that_day,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CardState:
        def dt(value: Any) -> datetime | None:
            return None if value is None else datetime.fromisoformat(str(value))

        day = data.get("stamp_day")
        return cls(
            card_ref=str(data["card_ref"]),
            enrolled=bool(data["enrolled"]),
            stamps=int(data["stamps"]),
            visits=int(data["visits"]),
            earned={str(k): int(v) for k, v in dict(data["earned"]).items()},
            redeemed={str(k): int(v) for k, v in dict(data["redeemed"]).items()},
            first_seen=dt(data.get("first_seen")),
            last_visit=dt(data.get("last_visit")),
            stamp_day=None if day is None else date.fromisoformat(str(day)),
            stamps_that_day=int(data.get("stamps_that_day", 0)),
        )


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _bump(counts: Mapping[str, int], key: str) -> dict[str, int]:
    bumped = dict(counts)
    bumped[key] = bumped.get(key, 0) + 1
    return bumped


def apply_change(
    state: CardState, change: Change, occurred_at: datetime, tz: tzinfo = UTC
) -> CardState:
    """Add one change to a card's state. Commutative: the order of changes does not matter."""
    updates: dict[str, Any] = {
        "stamps": state.stamps + change.delta,
        "first_seen": _earlier(state.first_seen, occurred_at),
    }
    if change.kind is EventKind.ENROLLED:
        updates["enrolled"] = True
    elif change.kind is EventKind.STAMP:
        updates["visits"] = state.visits + 1
        updates["last_visit"] = _later(state.last_visit, occurred_at)
        day = occurred_at.astimezone(tz).date()
        if state.stamp_day is None or day > state.stamp_day:
            updates["stamp_day"], updates["stamps_that_day"] = day, 1
        elif day == state.stamp_day:
            updates["stamps_that_day"] = state.stamps_that_day + 1
    elif change.kind is EventKind.REWARD_EARNED and change.reward_id:
        updates["earned"] = _bump(state.earned, change.reward_id)
    elif change.kind is EventKind.REWARD_REDEEMED and change.reward_id:
        updates["redeemed"] = _bump(state.redeemed, change.reward_id)
    return dataclasses.replace(state, **updates)


def apply(state: CardState, event: Event, tz: tzinfo = UTC) -> CardState:
    """Add one recorded event to its card's state."""
    if event.card_ref != state.card_ref:
        raise ValueError("event belongs to another card")
    return apply_change(state, event.change, event.occurred_at, tz)


def fold(card_ref: str, events: Iterable[Event], tz: tzinfo = UTC) -> CardState:
    """The state of a card after all of its events."""
    state = CardState(card_ref=card_ref)
    for event in events:
        state = apply(state, event, tz)
    return state


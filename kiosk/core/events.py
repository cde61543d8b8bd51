"""Events, the only record of what happened, and the fold that derives card state.

A card's state is a fold over its events. Every field of the fold is commutative
(sums, counts, maxima, and max-by-(time, value) for facts where the latest one wins),
so events merged from several kiosks in any order give the same state.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from kiosk.core.cardid import CARD_REF
from kiosk.core.wire import Choice, Moment, Schema, Spec, Text, Whole, wire


class EventKind(StrEnum):
    ENROLLED = "enrolled"
    STAMP = "stamp"
    REWARD_EARNED = "reward_earned"
    REWARD_REDEEMED = "reward_redeemed"
    # staff undid a visit's stamp: its stamps come off and the visit no longer counts
    ADJUSTMENT = "adjustment"
    EXPIRED = "expired"  # stamps removed for inactivity or age (delta <= 0)
    TIER_CHANGED = "tier_changed"  # reward_id carries the new tier's name (None: no tier)
    BIRTHDAY = "birthday"  # the year's birthday bonus (delta), given once per birthday week
    BONUS = "bonus"  # a surprise bonus (delta); reward_id names the milestone, e.g. visit-4
    REWARD_REVOKED = "reward_revoked"  # an undone stamp takes back the voucher it made
    # staff added or took stamps (points) by hand; reward_id carries the reason they gave
    MANUAL_ADJUSTMENT = "manual_adjustment"
    # a lost card's balance moved to a new card: the old card gives its stamps (delta <= 0)
    # and is blocked; the new one receives them; each voucher moves as its own event
    CARD_REPLACED = "card_replaced"
    BALANCE_MOVED_IN = "balance_moved_in"
    VOUCHER_MOVED_OUT = "voucher_moved_out"
    VOUCHER_MOVED_IN = "voucher_moved_in"
    # a balance converted between stamps and points (reward_id: the program version)
    CONVERTED = "converted"
    # the card's own page link was drawn at enrolment: reward_id carries LINK_DIGEST hex
    # characters of the token's SHA-256 (the token itself is only ever on the card)
    CARD_LINK = "card_link"
    # made by the central only: a referral's bonus (delta) for the friend who came
    # (reward_id "referred") and for the customer who brought them ("referrer")
    REFERRAL = "referral"
    # the customer gave a voucher (reward_id) to the shop's cause: from their card's page
    # (made by the central) or at the counter (a staff action, checked like a redemption)
    DONATED = "donated"
    # made by the central only: the card's page links were revoked (by the owner or the
    # customer); reward_id carries how many card_link events the card had then, so the
    # next tap at any kiosk knows to write a new link, whatever the clocks say
    LINK_REVOKED = "link_revoked"
    # the till took a percent off this visit's basket (no stamps); reward_id carries the
    # percent and the cents deducted, "10%:125" (kiosk.core.discount)
    DISCOUNT = "discount"


@dataclass(frozen=True)
class Change:
    """What the rules decided at a tap, before the shell gives it an id and a time."""

    kind: EventKind
    delta: int = 0
    reward_id: str | None = None


# Bounds of what an event may carry: the central refuses anything outside them.
LINK_DIGEST = 40  # hex characters of a card link's SHA-256 in its card_link event (160 bits)
MAX_DELTA = 1000  # stamps (or points) one event may add or take
MAX_SEQ = 2**62 - 1
KIOSK_ID = Text(1, 64, r"[A-Za-z0-9._-]+", "1 to 64 letters, digits, '.', '_' or '-'")
REWARD_ID = Text(1, 40)
PROGRAM_VERSION = Text(1, 40)


@dataclass(frozen=True)
class Event:
    """One thing that happened to one card at one kiosk, as decided then.

    Each field declares how it travels (`kiosk.core.wire`): the ledger's columns, the
    CSV export, the central's checks and its API model are all read from here, so a new
    field is added here only (plus a migration of each database that stores events).
    """

    id: str = field(metadata=wire(Text(1, 100)))
    kiosk_id: str = field(metadata=wire(KIOSK_ID))
    seq: int = field(metadata=wire(Whole(0, MAX_SEQ)))
    card_ref: str = field(metadata=wire(CARD_REF))
    kind: EventKind = field(metadata=wire(Choice(EventKind)))
    delta: int = field(metadata=wire(Whole(-MAX_DELTA, MAX_DELTA)))
    reward_id: str | None = field(metadata=wire(REWARD_ID, optional=True))
    program_version: str = field(metadata=wire(PROGRAM_VERSION))
    occurred_at: datetime = field(metadata=wire(Moment()))
    staff_ref: str | None = field(default=None, metadata=wire(Text(1, 64), optional=True))

    @property
    def change(self) -> Change:
        return Change(self.kind, self.delta, self.reward_id)

    def to_dict(self) -> dict[str, Any]:
        """The event's wire (JSON) form; the ledger stores the same values."""
        return dict(zip(EVENT_NAMES, EVENT_SCHEMA.row(self), strict=True))

    def to_row(self) -> tuple[Any, ...]:
        """The wire values in the order of `EVENT_FIELDS` (a ledger row)."""
        return EVENT_SCHEMA.row(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Build an event from its wire/JSON form; ValueError naming the field if it can't."""
        return cls(**EVENT_SCHEMA.values(data))

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Event:
        """Build an event from values in the order of `EVENT_FIELDS`."""
        return cls.from_dict(dict(zip(EVENT_NAMES, row, strict=True)))


EVENT_SCHEMA = Schema(Event)
EVENT_FIELDS: tuple[Spec, ...] = EVENT_SCHEMA.fields
EVENT_NAMES: tuple[str, ...] = EVENT_SCHEMA.names
# fields an event of a kind cannot go without, beyond those every event needs
NEEDED_BY_KIND: Mapping[EventKind, frozenset[str]] = {
    EventKind.REWARD_EARNED: frozenset({"reward_id"}),
    EventKind.REWARD_REDEEMED: frozenset({"reward_id"}),
    EventKind.MANUAL_ADJUSTMENT: frozenset({"reward_id", "staff_ref"}),
    EventKind.CARD_REPLACED: frozenset({"staff_ref"}),
    EventKind.BALANCE_MOVED_IN: frozenset({"staff_ref"}),
    EventKind.VOUCHER_MOVED_OUT: frozenset({"reward_id", "staff_ref"}),
    EventKind.VOUCHER_MOVED_IN: frozenset({"reward_id", "staff_ref"}),
    EventKind.CONVERTED: frozenset({"reward_id"}),
    EventKind.DISCOUNT: frozenset({"reward_id"}),
}


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
    revoked: Mapping[str, int] = field(default_factory=dict)
    # local month "YYYY-MM" -> visits; local day "YYYY-MM-DD" -> stamps earned that day.
    # Buckets add up in any order; tiers count a rolling window of them, per-stamp
    # expiry reads the day buckets oldest first.
    month_visits: Mapping[str, int] = field(default_factory=dict)
    day_stamps: Mapping[str, int] = field(default_factory=dict)
    tier: str | None = None
    tier_at: datetime | None = None
    birthday_at: datetime | None = None
    # the welcome bonus counted: the largest of its enrolments (two kiosks may each have
    # enrolled it offline), kept in the day bucket of the earliest enrolment that gave it
    welcome: int = 0
    welcome_day: str | None = None
    blocked: bool = False  # replaced by another card: its balance moved there
    moved_in: Mapping[str, int] = field(default_factory=dict)  # vouchers from a lost card
    moved_out: Mapping[str, int] = field(default_factory=dict)  # vouchers to its new card
    versions: frozenset[str] = frozenset()  # program versions its events were decided under
    converted: frozenset[str] = frozenset()  # versions its balance was converted to
    # its page links: how many were drawn (card_link events), when the latest was, and the
    # count the latest revocation covered (None: never revoked)
    links: int = 0
    link_at: datetime | None = None
    links_revoked: int | None = None

    @property
    def link_due(self) -> bool:
        """Its page links were revoked and no new one was drawn since: the next tap writes one."""
        return self.links_revoked is not None and self.links <= self.links_revoked

    def vouchers(self, reward_id: str) -> int:
        """Vouchers of one reward still to redeem (negative means overdrawn)."""
        return (
            self.earned.get(reward_id, 0)
            + self.moved_in.get(reward_id, 0)
            - self.redeemed.get(reward_id, 0)
            - self.revoked.get(reward_id, 0)
            - self.moved_out.get(reward_id, 0)
        )

    def all_vouchers(self) -> dict[str, int]:
        ids = set(self.earned) | set(self.redeemed) | set(self.revoked) | set(self.moved_in)
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
            "revoked": dict(self.revoked),
            "month_visits": dict(self.month_visits),
            "day_stamps": dict(self.day_stamps),
            "tier": self.tier,
            "tier_at": iso(self.tier_at),
            "birthday_at": iso(self.birthday_at),
            "welcome": self.welcome,
            "welcome_day": self.welcome_day,
            "blocked": self.blocked,
            "moved_in": dict(self.moved_in),
            "moved_out": dict(self.moved_out),
            "versions": sorted(self.versions),
            "converted": sorted(self.converted),
            "links": self.links,
            "link_at": iso(self.link_at),
            "links_revoked": self.links_revoked,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CardState:
        def dt(value: Any) -> datetime | None:
            return None if value is None else datetime.fromisoformat(str(value))

        def counts(value: Any) -> dict[str, int]:
            return {str(k): int(v) for k, v in dict(value).items()} if value else {}

        day = data.get("stamp_day")
        tier = data.get("tier")
        welcome_day = data.get("welcome_day")
        revoked_links = data.get("links_revoked")
        # every field is given, so the state is built as `evolved` builds one: without
        # the frozen __init__'s 26 object.__setattr__ calls (a card is read at every tap)
        return _built({
            "card_ref": str(data["card_ref"]),
            "enrolled": bool(data["enrolled"]),
            "stamps": int(data["stamps"]),
            "visits": int(data["visits"]),
            "earned": counts(data["earned"]),
            "redeemed": counts(data["redeemed"]),
            "first_seen": dt(data.get("first_seen")),
            "last_visit": dt(data.get("last_visit")),
            "stamp_day": None if day is None else date.fromisoformat(str(day)),
            "stamps_that_day": int(data.get("stamps_that_day", 0)),
            "revoked": counts(data.get("revoked")),
            "month_visits": counts(data.get("month_visits")),
            "day_stamps": counts(data.get("day_stamps")),
            "tier": None if tier is None else str(tier),
            "tier_at": dt(data.get("tier_at")),
            "birthday_at": dt(data.get("birthday_at")),
            "welcome": int(data.get("welcome", 0)),
            "welcome_day": None if welcome_day is None else str(welcome_day),
            "blocked": bool(data.get("blocked", False)),
            "moved_in": counts(data.get("moved_in")),
            "moved_out": counts(data.get("moved_out")),
            "versions": frozenset(str(v) for v in data.get("versions") or ()),
            "converted": frozenset(str(v) for v in data.get("converted") or ()),
            "links": int(data.get("links", 0)),
            "link_at": dt(data.get("link_at")),
            "links_revoked": None if revoked_links is None else int(revoked_links),
        })


_CARD_FIELDS = frozenset(f.name for f in dataclasses.fields(CardState))


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _bump(counts: Mapping[str, int], key: str, by: int = 1) -> dict[str, int]:
    """`counts` with `key` moved by `by`; a count back at zero goes, so a bucket is there
    exactly when its events do not cancel out, whatever their order."""
    bumped = dict(counts)
    bumped[key] = bumped.get(key, 0) + by
    if bumped[key] == 0:
        del bumped[key]
    return bumped


# kinds whose positive delta is stamps newly earned (the day buckets per-stamp expiry reads)
_EARNING = frozenset({EventKind.STAMP, EventKind.BIRTHDAY, EventKind.BONUS})
# kinds whose delta, either way, lands in the day buckets
_BY_HAND = frozenset({EventKind.ADJUSTMENT, EventKind.MANUAL_ADJUSTMENT})
_COUNT_TEXT = re.compile(r"[0-9]{1,9}")  # a link_revoked event's count of links
_VOUCHER_MOVES = {EventKind.VOUCHER_MOVED_IN: "moved_in", EventKind.VOUCHER_MOVED_OUT: "moved_out"}


def _enrolment(state: CardState, bonus: int, day: str) -> dict[str, Any]:
    """A card enrolled (again: each offline kiosk enrols a card it has not seen). The
    bonus counts once: the largest wins, ties go to the earliest day, so the card's stamps
    and day buckets are the same in any order."""
    updates: dict[str, Any] = {"enrolled": True, "stamps": state.stamps}
    held = state.welcome_day
    wins = held is None or bonus > state.welcome or (bonus == state.welcome and day < held)
    if not wins:
        return updates
    buckets = dict(state.day_stamps)
    if held is not None and state.welcome:
        buckets = _bump(buckets, held, -state.welcome)
    if bonus:
        buckets = _bump(buckets, day, bonus)
    updates.update(
        stamps=state.stamps + bonus - state.welcome, welcome=bonus, welcome_day=day,
        day_stamps=buckets,
    )
    return updates


def _day_count(state: CardState, day: date, step: int) -> dict[str, Any]:
    """Stamps given on the latest stamp day: a count keyed by the greatest day seen, so a
    stamp and its undo cancel out whichever arrives first."""
    if state.stamp_day is None or day > state.stamp_day:
        return {"stamp_day": day, "stamps_that_day": step}
    if day == state.stamp_day:
        return {"stamps_that_day": state.stamps_that_day + step}
    return {}


def _latest_tier(state: CardState, tier: str | None, at: datetime) -> dict[str, Any]:
    # last writer wins, ties broken by name so every order agrees
    if state.tier_at is None or (at, tier or "") > (state.tier_at, state.tier or ""):
        return {"tier": tier, "tier_at": at}
    return {}


def apply_change(
    state: CardState, change: Change, occurred_at: datetime, tz: tzinfo = UTC
) -> CardState:
    """Add one change to a card's state. Commutative: the order of changes does not matter."""
    updates: dict[str, Any] = {
        "stamps": state.stamps + change.delta,
        "first_seen": _earlier(state.first_seen, occurred_at),
    }
    local = occurred_at.astimezone(tz)
    day, month = local.date(), f"{local.year:04d}-{local.month:02d}"
    kind = change.kind
    if kind in _EARNING and change.delta > 0 or kind in _BY_HAND and change.delta:
        updates["day_stamps"] = _bump(state.day_stamps, day.isoformat(), change.delta)
    if kind is EventKind.ENROLLED:
        updates.update(_enrolment(state, change.delta, day.isoformat()))
    elif kind is EventKind.CARD_REPLACED:
        updates["blocked"] = True
    elif kind in _VOUCHER_MOVES and change.reward_id:
        name = _VOUCHER_MOVES[kind]
        updates[name] = _bump(getattr(state, name), change.reward_id)
    elif kind is EventKind.CONVERTED and change.reward_id:
        updates["converted"] = state.converted | {change.reward_id}
    elif kind is EventKind.STAMP:
        updates["visits"] = state.visits + 1
        updates["last_visit"] = _later(state.last_visit, occurred_at)
        updates["month_visits"] = _bump(state.month_visits, month)
        updates.update(_day_count(state, day, 1))
    elif kind is EventKind.ADJUSTMENT:
        updates["visits"] = state.visits - 1
        updates["month_visits"] = _bump(state.month_visits, month, -1)
        updates.update(_day_count(state, day, -1))
    elif kind is EventKind.REWARD_EARNED and change.reward_id:
        updates["earned"] = _bump(state.earned, change.reward_id)
    elif kind in (EventKind.REWARD_REDEEMED, EventKind.DONATED) and change.reward_id:
        updates["redeemed"] = _bump(state.redeemed, change.reward_id)
    elif kind is EventKind.REWARD_REVOKED and change.reward_id:
        updates["revoked"] = _bump(state.revoked, change.reward_id)
    elif kind is EventKind.TIER_CHANGED:
        updates.update(_latest_tier(state, change.reward_id, occurred_at))
    elif kind is EventKind.BIRTHDAY:
        updates["birthday_at"] = _later(state.birthday_at, occurred_at)
    elif kind is EventKind.CARD_LINK:
        updates["links"] = state.links + 1
        updates["link_at"] = _later(state.link_at, occurred_at)
    elif kind is EventKind.LINK_REVOKED and _COUNT_TEXT.fullmatch(change.reward_id or ""):
        covered = int(change.reward_id or 0)
        if state.links_revoked is None or covered > state.links_revoked:
            updates["links_revoked"] = covered
    return evolved(state, updates)


def evolved(state: CardState, updates: Mapping[str, Any]) -> CardState:
    """`dataclasses.replace(state, **updates)`, built without replace's walk over every
    field and CardState's frozen __init__ (each tap applies its changes twice, to decide
    and to store; the central folds thousands): CardState has no __post_init__ and no
    field left out of __init__, so its attributes with `updates` over them are the same
    state. Unknown names are refused, as replace() refuses them."""
    unknown = updates.keys() - _CARD_FIELDS
    if unknown:
        raise TypeError(f"CardState has no field {sorted(unknown)[0]!r}")
    new = object.__new__(CardState)
    attributes = new.__dict__
    attributes.update(state.__dict__)
    attributes.update(updates)
    return new


def _built(fields: Mapping[str, Any]) -> CardState:
    """CardState(**fields) for `fields` naming every field, as `evolved` builds a state."""
    new = object.__new__(CardState)
    new.__dict__.update(fields)
    return new


def apply(state: CardState, event: Event, tz: tzinfo = UTC) -> CardState:
    """Add one recorded event to its card's state."""
    if event.card_ref != state.card_ref:
        raise ValueError("event belongs to another card")
    after = apply_change(state, event.change, event.occurred_at, tz)
    if event.program_version in after.versions:
        return after
    return evolved(after, {"versions": after.versions | {event.program_version}})


def fold(card_ref: str, events: Iterable[Event], tz: tzinfo = UTC) -> CardState:
    """The state of a card after all of its events."""
    state = CardState(card_ref=card_ref)
    for event in events:
        state = apply(state, event, tz)
    return state


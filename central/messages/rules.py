"""Which message is due for whom: (program, policy, cards, what was sent, now) -> messages.

Pure: no I/O, no clock. The facts come from the same fold and the same rules the kiosk
uses (stamps about to expire, a tier about to be lost, the birthday week, boosters), so a
message never says something the counter would contradict.

    >>> from datetime import UTC, datetime
    >>> Policy(quiet_from=21, quiet_until=8).quiet(datetime(2026, 3, 2, 22, tzinfo=UTC))
    True

Four promises, each pinned by a property test: nothing for a kind the customer did not
consent to; never more than `monthly_cap` messages to one card in a local month; nothing
in quiet hours; never one occasion twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from kiosk.core.events import CardState
from kiosk.core.expiry import next_expiry
from kiosk.core.perks import birthday_week
from kiosk.core.program import WEEKDAYS, Program
from kiosk.core.tiers import tier_progress
from kiosk.core.wire import Whole


class Kind(StrEnum):
    """The messages a shop sends, in the order they win when the monthly cap is near."""

    EXPIRY = "expiry"  # stamps about to expire
    TIER = "tier"  # a tier about to be lost
    BIRTHDAY = "birthday"
    WINBACK = "winback"  # no visit for a while
    BOOSTER = "booster"  # boosted hours announced


# Bounds of the sending policy, from one place: the CLI's options are checked against them.
MONTHLY_CAP = Whole(1, 31)
WINBACK_DAYS = Whole(7, 730)
HOUR = Whole(0, 23)
# how long a message that could not go out yet (quiet hours, a mail server down) may wait
STALE_AFTER = timedelta(days=7)

Facts = Mapping[str, str | int]


@dataclass(frozen=True)
class Policy:
    """When and how often a shop writes to its customers (local hours of the program)."""

    monthly_cap: int = 4
    winback_days: int = 60
    quiet_from: int = 20  # no message from this hour...
    quiet_until: int = 9  # ...until this one

    def __post_init__(self) -> None:
        for name, rule in (("monthly_cap", MONTHLY_CAP), ("winback_days", WINBACK_DAYS),
                           ("quiet_from", HOUR), ("quiet_until", HOUR)):
            problem = rule.problem(name, getattr(self, name))
            if problem is not None:
                raise ValueError(problem)
        if self.quiet_from == self.quiet_until:
            raise ValueError("quiet_from and quiet_until must differ (the hours when "
                             "nothing is sent)")

    def quiet(self, local: datetime) -> bool:
        """Whether `local` (a time in the program's zone) falls in the quiet hours."""
        hour = local.hour
        if self.quiet_from < self.quiet_until:
            return self.quiet_from <= hour < self.quiet_until
        return hour >= self.quiet_from or hour < self.quiet_until


@dataclass(frozen=True)
class Recipient:
    """What the messages may use of a card's holder: only what they consented to."""

    card_ref: str
    address: str | None = None
    allowed: frozenset[Kind] = frozenset()  # the kinds of message they agreed to receive
    language: str = "fr"
    first_name: str | None = None
    birthday: date | None = None
    bounced: bool = False  # the address was refused for good by its mail server

    def reachable(self, kind: Kind) -> bool:
        return bool(self.address) and not self.bounced and kind in self.allowed


@dataclass(frozen=True)
class Sent:
    """A message already in the outbox, whatever became of it."""

    card_ref: str
    kind: Kind
    occasion: str
    queued_at: datetime


@dataclass(frozen=True)
class Due:
    """A message to send: one kind, for one occasion of one card, with what it says."""

    card_ref: str
    kind: Kind
    occasion: str  # what makes it one message (an expiry date, a birthday week...)
    until: datetime  # past this, the message is out of date and is not sent
    facts: Facts = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, Kind, str]:
        return (self.card_ref, self.kind, self.occasion)


def _local_end(day: date, program: Program) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), program.tz)


def _expiry(program: Program, card: CardState, now: datetime) -> Due | None:
    count, on = next_expiry(program, card, now)
    # stamps already past their date go at the next tap or the daily pass: nothing to warn
    if not count or on is None or on < now.astimezone(program.tz).date():
        return None
    return Due(card.card_ref, Kind.EXPIRY, on.isoformat(), _local_end(on, program),
               {"stamps": count, "on": on.isoformat()})


def _tier(program: Program, card: CardState, now: datetime) -> Due | None:
    progress = tier_progress(program, card, now)
    if progress is None or not progress.keep or progress.keep_by is None or not progress.tier:
        return None
    by = progress.keep_by
    return Due(card.card_ref, Kind.TIER, f"{progress.tier}:{by.isoformat()}",
               _local_end(by, program),
               {"tier": progress.tier, "keep": progress.keep, "by": by.isoformat(),
                "by_visits": int(progress.by_visits)})


def _birthday(program: Program, card: CardState, who: Recipient, now: datetime) -> Due | None:
    if who.birthday is None:
        return None
    week = birthday_week(who.birthday, now.astimezone(program.tz).date())
    if week is None:
        return None
    gift = program.birthday_gift.name if program.birthday_gift is not None else ""
    return Due(card.card_ref, Kind.BIRTHDAY, week[0].isoformat(), _local_end(week[1], program),
               {"bonus": program.birthday_bonus, "gift": gift})


def _winback(policy: Policy, card: CardState, now: datetime) -> Due | None:
    last = card.last_visit
    if last is None or now - last < timedelta(days=policy.winback_days):
        return None
    # one message per absence: the occasion is the visit it follows
    return Due(card.card_ref, Kind.WINBACK, last.isoformat(), now + STALE_AFTER,
               {"days": (now - last).days})


def _boosters(program: Program, card: CardState, now: datetime) -> list[Due]:
    found = []
    for index, booster in enumerate(program.boosters):
        days = ",".join(WEEKDAYS[d] for d in sorted(booster.weekdays))
        # announced once per program version: a changed booster is news again
        found.append(Due(card.card_ref, Kind.BOOSTER, f"{program.version}:{index}",
                         now + STALE_AFTER,
                         {"days": days, "start": booster.start.strftime("%H:%M"),
                          "end": booster.end.strftime("%H:%M"),
                          "multiplier": booster.multiplier}))
    return found


def occasions(program: Program, policy: Policy, card: CardState, who: Recipient,
              now: datetime) -> list[Due]:
    """Every message the card's state calls for at `now`, before consent, cap and history,
    in the order of `Kind` (the most useful first)."""
    if not (card.enrolled or card.visits):
        return []
    found = [_expiry(program, card, now), _tier(program, card, now),
             _birthday(program, card, who, now), _winback(policy, card, now)]
    return [d for d in found if d is not None] + _boosters(program, card, now)


def month_of(moment: datetime, program: Program) -> str:
    return moment.astimezone(program.tz).strftime("%Y-%m")


def due(
    program: Program,
    policy: Policy,
    cards: Iterable[tuple[CardState, Recipient]],
    sent: Iterable[Sent],
    now: datetime,
) -> list[Due]:
    """The messages to queue at `now`: consented, under the month's cap, outside quiet
    hours, and each occasion once."""
    if policy.quiet(now.astimezone(program.tz)):
        return []
    month = month_of(now, program)
    done: set[tuple[str, Kind, str]] = set()
    this_month: Counter[str] = Counter()
    for before in sent:
        done.add((before.card_ref, before.kind, before.occasion))
        if month_of(before.queued_at, program) == month:
            this_month[before.card_ref] += 1
    chosen: list[Due] = []
    for card, who in cards:
        room = policy.monthly_cap - this_month[card.card_ref]
        for message in occasions(program, policy, card, who, now):
            if room <= 0:
                break
            if message.key in done or not who.reachable(message.kind):
                continue
            chosen.append(message)
            done.add(message.key)
            room -= 1
    return chosen


def counts_by_kind(rows: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """(kind, status) rows -> {kind: {status: count}}, every kind present (for the owner)."""
    table: dict[str, dict[str, int]] = {kind.value: {} for kind in Kind}
    for kind, status in rows:
        per = table.setdefault(kind, {})
        per[status] = per.get(status, 0) + 1
    return table

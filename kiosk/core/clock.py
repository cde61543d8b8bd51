"""Time the kiosk can believe: bounds on every instant, and skew against the central's clock.

(instants, readings, now) -> verdicts. Pure: no I/O, no clock; `now` is passed in.

A Pi has no battery clock: it may boot in the past (held at the last event, see
`event_time`), jump forward on a bad NTP answer, or run fast. The central's `Date` header
reaches the kiosk with every answer, so its readings say how far this clock is off; only
readings that agree move anything, so one wrong answer never decides.

    >>> t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    >>> instant_problem(datetime(9999, 12, 31, tzinfo=UTC), t)
    'is more than 1 day ahead of the clock'
    >>> judge([Reading(t, t - timedelta(hours=2))] * AGREE).describe()
    'ahead by 2h 00m (central clock)'
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kiosk.core.events import Event

# The bounds of any instant an event, a card or a replayed tap may carry. The central
# refuses events outside them, so the kiosk writes none and takes no card state outside.
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)  # how far ahead of the judging clock an instant may lie
# Skew lived with: a Date header has whole seconds, and the answer took a while to come.
TOLERANCE = timedelta(seconds=30)
KEEP = 5  # readings of the central's clock kept
AGREE = 3  # readings that must agree before the kiosk's own clock is doubted
NOTE_EVERY = timedelta(minutes=15)  # a reading that changes nothing is kept at most this often


def instant_problem(moment: datetime, now: datetime) -> str | None:
    """Why `moment` cannot be a real instant seen from `now`, or None; naive times never are."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return "has no time zone (give an offset, e.g. +00:00)"
    if moment < EARLIEST:
        return f"is before {EARLIEST:%Y-%m-%d}"
    if moment > now + MAX_AHEAD:
        return f"is more than {_span(MAX_AHEAD)} ahead of the clock"
    return None


@dataclass(frozen=True)
class Reading:
    """One answer of the central: this kiosk's clock when it came, and its `Date` header."""

    local: datetime
    central: datetime

    @property
    def offset(self) -> timedelta:
        """How far this kiosk's clock runs ahead of the central's (negative: behind)."""
        return self.local - self.central


@dataclass(frozen=True)
class ClockVerdict:
    """What the readings say of this kiosk's clock.

    `confirmed`: enough recent readings agree; `offset` is then their median (zero when
    within TOLERANCE), to subtract from the local clock. Unconfirmed, the local clock is
    trusted as it is: without the central nothing better is known.
    """

    offset: timedelta = timedelta(0)
    confirmed: bool = False

    def correct(self, local: datetime) -> datetime:
        return local - self.offset

    def describe(self) -> str:
        if not self.confirmed:
            return "not checked against the central yet"
        if not self.offset:
            return "ok (central clock)"
        side = "ahead" if self.offset > timedelta(0) else "behind"
        return f"{side} by {_span(abs(self.offset))} (central clock)"


def believable(reading: Reading) -> bool:
    """A reading whose two clocks both lie in the years a kiosk runs in."""
    latest = EARLIEST + timedelta(days=365 * 200)
    return all(EARLIEST <= t <= latest for t in (reading.local, reading.central))


def judge(readings: Sequence[Reading]) -> ClockVerdict:
    """The verdict of the last AGREE believable readings (oldest first in `readings`).

    They confirm an offset only when each lies within TOLERANCE of their median: a lone
    wrong reading (a proxy's stale Date, a jump in between) leaves the verdict unconfirmed.
    """
    recent = [r.offset for r in readings if believable(r)][-AGREE:]
    if len(recent) < AGREE:
        return ClockVerdict()
    middle = statistics.median_low(recent)
    if any(abs(offset - middle) > TOLERANCE for offset in recent):
        return ClockVerdict()
    return ClockVerdict(middle if abs(middle) > TOLERANCE else timedelta(0), confirmed=True)


def keep(readings: Sequence[Reading], new: Sequence[Reading]) -> tuple[Reading, ...]:
    """The readings to keep after `new` came: the last KEEP believable ones."""
    return tuple(r for r in (*readings, *new) if believable(r))[-KEEP:]


def worth_keeping(kept: Sequence[Reading], after: Sequence[Reading]) -> bool:
    """Whether `after` (what `keep` made of new readings) is worth writing over `kept`.

    Every answer of the central carries its clock; writing each one wore the kiosk's
    storage for nothing. Every reading is kept while no verdict is confirmed (the first
    AGREE answers, or readings that keep disagreeing); once confirmed, a reading is kept
    when it moves the verdict or the offset, and otherwise at most every NOTE_EVERY.
    """
    if tuple(after) == tuple(kept):
        return False
    if not kept or not after or not judge(kept).confirmed or not judge(after).confirmed:
        return True
    if abs(after[-1].offset - kept[-1].offset) > TOLERANCE:
        return True
    return after[-1].local - kept[-1].local >= NOTE_EVERY


@dataclass(frozen=True)
class EventTime:
    """The time to record the next event at; `held` when the clock was behind the last one."""

    at: datetime
    held: bool = False


def event_time(local: datetime, last_recorded: datetime | None, verdict: ClockVerdict) -> EventTime:
    """When the next event happens, from the local clock, the last recorded event and the verdict.

    A clock behind the last recorded event is held at it (a Pi back from a power cut must
    not reopen cooldowns). But when the central confirms the corrected clock and the last
    event lies beyond TOLERANCE ahead of it, that event's time was the wrong reading (a
    forward jump since undone): holding at it would write every later event in the future.

    >>> t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    >>> event_time(t, t + timedelta(days=900), ClockVerdict()).held
    True
    >>> event_time(t, t + timedelta(days=900), ClockVerdict(confirmed=True)).at == t
    True
    """
    now = verdict.correct(local)
    if last_recorded is None or now >= last_recorded:
        return EventTime(now)
    if verdict.confirmed and last_recorded - now > TOLERANCE:
        return EventTime(now)
    return EventTime(last_recorded, held=True)


def seen_visit(last_visit: datetime | None, now: datetime) -> datetime | None:
    """A card's last visit as the rules may count it at `now`.

    A visit ahead of `now` was stamped by a kiosk whose clock runs fast (the central takes
    events up to MAX_AHEAD ahead). Counted as it is, it would hold the card in cooldown
    until that clock's future came. Within TOLERANCE it counts as now; further ahead it is
    no time at all (no cooldown from it), so no fast clock blocks a card here.
    """
    if last_visit is None or last_visit <= now:
        return last_visit
    return now if last_visit - now <= TOLERANCE else None


def retry_due(occurred_at: datetime, central_now: datetime) -> bool:
    """Whether an event the central refused for its time would now be taken by it."""
    return instant_problem(occurred_at, central_now) is None


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    days, minutes = divmod(minutes, 24 * 60)
    if days:
        return f"{days} day" + ("s" if days > 1 else "") + (f" {minutes // 60}h" if minutes else "")
    return f"{minutes // 60}h {minutes % 60:02d}m"


# The reason an event refused for its time is kept under: such events go back to the
# outbox once the central's clock lets it take them (`due_again`), the others stay aside.
TIME_REFUSED = "time, sent again when the central can take it: "


def mark_time_refusals(
    rejected: Mapping[str, str], sent: Sequence[Event], central_now: datetime
) -> dict[str, str]:
    """The central's refusals, those of events whose time it cannot take yet marked so."""
    times = {event.id: event.occurred_at for event in sent}
    return {
        event_id: TIME_REFUSED + reason
        if event_id in times and not retry_due(times[event_id], central_now)
        and not reason.startswith(TIME_REFUSED)
        else reason
        for event_id, reason in rejected.items()
    }


def due_again(set_aside: Iterable[tuple[Event, str]], central_now: datetime) -> list[str]:
    """Ids of events refused for their time that the central would take at `central_now`."""
    return [
        event.id
        for event, reason in set_aside
        if reason.startswith(TIME_REFUSED) and retry_due(event.occurred_at, central_now)
    ]

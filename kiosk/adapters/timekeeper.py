"""The central's clock as this kiosk has read it, kept in the ledger beside the events.

The sync worker notes the `Date` of each answer; the counter asks for the verdict before
it dates an event. Both only move data between the ledger and `kiosk.core.clock`, which
decides everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from kiosk.adapters.ledger import Ledger
from kiosk.core.clock import (
    ClockVerdict,
    Reading,
    due_again,
    judge,
    keep,
    mark_time_refusals,
    worth_keeping,
)
from kiosk.core.events import Event

READINGS = "clock.readings"  # ledger meta: [[local, central], ...] as ISO texts, oldest first


def readings(ledger: Ledger) -> tuple[Reading, ...]:
    """The readings kept; none when the record is missing or unreadable."""
    return _parsed(ledger.get_meta(READINGS))


@lru_cache(maxsize=4)
def _parsed(text: str | None) -> tuple[Reading, ...]:
    """The readings a record holds (every tap asks for the verdict: the record changes
    only when the sync worker notes a new reading)."""
    try:
        pairs = json.loads(text) if text else []
        return tuple(
            Reading(datetime.fromisoformat(local), datetime.fromisoformat(central))
            for local, central in pairs
        )
    except (ValueError, TypeError):
        return ()  # damaged: the verdict starts over, unconfirmed


def verdict(ledger: Ledger) -> ClockVerdict:
    return verdict_of(ledger.get_meta(READINGS))


@lru_cache(maxsize=4)
def verdict_of(text: str | None) -> ClockVerdict:
    """The verdict of a READINGS record as the ledger holds it (a tap reads the record
    with its card, `Ledger.card_view`)."""
    return judge(_parsed(text))


def note(ledger: Ledger, new: Sequence[Reading]) -> None:
    """Keep the latest readings, when they tell something new (`worth_keeping`)."""
    held = readings(ledger)
    kept = keep(held, new)
    if worth_keeping(held, kept):
        text = json.dumps([[r.local.isoformat(), r.central.isoformat()] for r in kept])
        ledger.set_meta({READINGS: text})


def refusals(
    ledger: Ledger, rejected: Mapping[str, str], sent: Sequence[Event],
    new: Sequence[Reading], local_now: datetime,
) -> dict[str, str]:
    """Note the answer's readings; its refusals, those for time marked to be sent again."""
    note(ledger, new)
    central_now = new[-1].central if new else verdict(ledger).correct(local_now)
    return mark_time_refusals(rejected, sent, central_now)


def requeue_due(ledger: Ledger, local_now: datetime) -> int:
    """Put back in the outbox the events refused for a time the central would now take."""
    kept = readings(ledger)
    found = judge(kept)
    # unconfirmed, the latest reading is still the best guess: a wrong one only moves a retry
    central_now = found.correct(local_now) if found.confirmed or not kept else local_now - kept[-1].offset
    due = due_again(ledger.rejected(), central_now)
    if due:
        ledger.requeue(due)
    return len(due)

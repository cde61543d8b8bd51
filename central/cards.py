"""A card as the server reports it: the kiosk's own fold of every event, plus flags. Pure.

Nothing is dropped here. An overdrawn card (one voucher redeemed offline at two kiosks)
keeps both redemptions and says so; events with implausible times are counted like any
other and named in the flags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from kiosk.core.events import Event, fold

OVERDRAFT = "overdraft"
CLOCK_AHEAD = "clock_ahead"  # the event claims a time after the server received it
LATE_UPLOAD = "late_upload"  # the event reached the server long after it happened
CLOCK_BACKWARDS = "clock_backwards"  # a later event of one kiosk claims an earlier time

AHEAD_TOLERANCE = timedelta(minutes=5)
LATE_AFTER = timedelta(days=30)
BACKWARDS_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True)
class Stored:
    """An event as stored, with the server time it arrived."""

    event: Event
    received_at: datetime


def _time_flags(stored: Sequence[Stored]) -> dict[str, set[str]]:
    flagged: dict[str, set[str]] = defaultdict(set)
    by_kiosk: dict[str, list[Event]] = defaultdict(list)
    for item in stored:
        event = item.event
        if event.occurred_at > item.received_at + AHEAD_TOLERANCE:
            flagged[event.id].add(CLOCK_AHEAD)
        elif event.occurred_at < item.received_at - LATE_AFTER:
            flagged[event.id].add(LATE_UPLOAD)
        by_kiosk[event.kiosk_id].append(event)
    for kiosk_events in by_kiosk.values():
        kiosk_events.sort(key=lambda e: e.seq)
        latest: datetime | None = None
        for event in kiosk_events:
            if latest is not None and event.occurred_at < latest - BACKWARDS_TOLERANCE:
                flagged[event.id].add(CLOCK_BACKWARDS)
            latest = event.occurred_at if latest is None else max(latest, event.occurred_at)
    return flagged


def card_json(card_ref: str, stored: Iterable[Stored], tz: tzinfo = UTC) -> dict[str, Any]:
    """The card's state as JSON: CardState.to_dict() plus vouchers, overdrawn and flags.

    `flagged_events` maps each flagged event id to its flags, so staff can find them.
    """
    items = list(stored)
    state = fold(card_ref, (item.event for item in items), tz)
    vouchers = state.all_vouchers()
    overdrawn = state.stamps < 0 or any(n < 0 for n in vouchers.values())
    flagged = _time_flags(items)
    flags = {flag for found in flagged.values() for flag in found}
    if overdrawn:
        flags.add(OVERDRAFT)
    return {
        **state.to_dict(),
        "vouchers": vouchers,
        "overdrawn": overdrawn,
        "flags": sorted(flags),
        "flagged_events": {eid: sorted(found) for eid, found in sorted(flagged.items())},
    }

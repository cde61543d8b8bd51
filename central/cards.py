"""A card as the server reports it: the kiosk's own fold of every event, plus flags. Pure.

Nothing is dropped here. An overdrawn card (one voucher redeemed offline at two kiosks)
keeps both redemptions and says so; events with implausible times are counted like any
other and named in the flags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from kiosk.core.events import CardState, Event

OVERDRAFT = "overdraft"
CLOCK_AHEAD = "clock_ahead"  # the event claims a time after the server received it
LATE_UPLOAD = "late_upload"  # the event reached the server long after it happened
CLOCK_BACKWARDS = "clock_backwards"  # a later event of one kiosk claims an earlier time

AHEAD_TOLERANCE = timedelta(minutes=5)
LATE_AFTER = timedelta(days=30)
BACKWARDS_TOLERANCE = timedelta(minutes=1)


def time_flags(
    batch: Sequence[Event], received_at: datetime, before: datetime | None
) -> dict[str, list[str]]:
    """Flags for one kiosk's new events, given when the kiosk's previous event (by seq)
    claims to have happened (`before`, None for a kiosk's first events)."""
    flagged: dict[str, list[str]] = {}
    previous = before
    for event in sorted(batch, key=lambda e: e.seq):
        flags = []
        if event.occurred_at > received_at + AHEAD_TOLERANCE:
            flags.append(CLOCK_AHEAD)
        elif event.occurred_at < received_at - LATE_AFTER:
            flags.append(LATE_UPLOAD)
        if previous is not None and event.occurred_at < previous - BACKWARDS_TOLERANCE:
            flags.append(CLOCK_BACKWARDS)
        # compare with the previous event only: one wrong clock reading flags one jump,
        # not every honest event after it
        previous = event.occurred_at
        if flags:
            flagged[event.id] = flags
    return flagged


def card_json(
    state: CardState,
    flagged: Mapping[str, Sequence[str]],
    state_dict: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The card as JSON: CardState.to_dict() plus vouchers, overdrawn and flags.

    `flagged_events` maps each flagged event id of the card to its flags, so staff can
    find them. `state_dict` is state.to_dict() when the caller has it already.
    """
    vouchers = state.all_vouchers()
    overdrawn = state.stamps < 0 or any(n < 0 for n in vouchers.values())
    flags = {flag for found in flagged.values() for flag in found}
    if overdrawn:
        flags.add(OVERDRAFT)
    return {
        **(state.to_dict() if state_dict is None else state_dict),
        "vouchers": vouchers,
        "overdrawn": overdrawn,
        "flags": sorted(flags),
        "flagged_events": {eid: sorted(found) for eid, found in sorted(flagged.items())},
    }

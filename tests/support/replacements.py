"""Cards and events of a card replacement at the central, for its tests: a lost card, its
replacement, and changes recorded as a kiosk records them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from kiosk.core.events import Change, Event, record

NOW = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
OLD = hashlib.sha256(b"a lost card").hexdigest()
NEW = hashlib.sha256(b"its replacement").hexdigest()


def recorded(changes: Sequence[Change], card: str, kiosk: str, at: datetime, seq: int,
             staff: str | None = None) -> list[Event]:
    """`changes` as `kiosk` records them for `card` at `at`, numbered from `seq`."""
    return list(record(changes, card_ref=card, kiosk_id=kiosk, program_version="v1", now=at,
                       new_id=lambda: str(uuid.uuid4()), first_seq=seq, staff_ref=staff))

"""What staff need to see about the kiosk itself, beside each customer's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class KioskStatus:
    reader_online: bool = True
    # None: no central API configured; False: the last sync attempt failed
    central_online: bool | None = None
    pending_events: int = 0
    rejected_events: int = 0
    last_sync: datetime | None = None
    last_tap: datetime | None = None
    clock_ok: bool = True

    @property
    def offline(self) -> bool:
        return self.central_online is False

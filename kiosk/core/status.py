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


def status_line(status: KioskStatus, taps: int) -> str:
    """The one line `systemctl status kiosk` shows.

    >>> status_line(KioskStatus(central_online=False, pending_events=3), taps=12)
    'offline, reader ok, 3 pending, 12 taps, last tap none'
    """
    central = {None: "no central", True: "online", False: "offline"}[status.central_online]
    reader = "reader ok" if status.reader_online else "READER OFFLINE"
    last = status.last_tap.strftime("%H:%M:%S") if status.last_tap else "none"
    return f"{central}, {reader}, {status.pending_events} pending, {taps} taps, last tap {last}"

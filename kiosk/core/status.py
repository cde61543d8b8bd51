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
    clock_ok: bool = True

    @property
    def offline(self) -> bool:
        return self.central_online is False


def status_line(status: KioskStatus, taps: int, last_tap: str | None = None) -> str:
    """The one line `systemctl status kiosk` shows; `last_tap`: the local time of the
    last tap, as the caller wrote it ("%H:%M:%S").

    >>> status_line(KioskStatus(central_online=False, pending_events=3), taps=12)
    'offline, reader ok, 3 pending, 12 taps, last tap none'
    >>> status_line(KioskStatus(central_online=True), taps=1, last_tap="09:14:05")
    'online, reader ok, 0 pending, 1 taps, last tap 09:14:05'
    """
    central = {None: "no central", True: "online", False: "offline"}[status.central_online]
    reader = "reader ok" if status.reader_online else "READER OFFLINE"
    last = last_tap or "none"
    return f"{central}, {reader}, {status.pending_events} pending, {taps} taps, last tap {last}"

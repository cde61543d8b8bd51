"""The ledger's WAL checkpoints, between taps rather than inside one.

The tap path opens the ledger with autocheckpoint off (see Ledger.open); this thread, on
its own connection, copies the WAL into the main file every minute. In WAL mode a PASSIVE
checkpoint does not stop writers, so a tap never waits for it. On a WAL already copied
(an idle kiosk) a checkpoint writes nothing, so the minute's run costs no wear.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from kiosk.adapters.ledger import Ledger
from kiosk.errors import StorageError

log = logging.getLogger(__name__)


class Checkpointer:
    """Checkpoints the ledger every `interval` seconds on its own thread and connection,
    so the tap path (opened with autocheckpoint=False) only ever pays for its own commit."""

    def __init__(self, path: Path, interval: float = 60.0) -> None:
        self.path = path
        self.interval = interval
        self.runs = 0

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: wait, checkpoint. A storage error is logged and tried again later."""
        ledger: Ledger | None = None
        try:
            while not stop.wait(self.interval):
                try:
                    ledger = ledger or Ledger.open(self.path)
                    ledger.checkpoint()
                    self.runs += 1
                except StorageError as error:
                    log.warning("event=checkpoint error=%r", str(error))
        finally:
            if ledger is not None:
                ledger.close()

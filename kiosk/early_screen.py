"""A tap's screen drawn while its commit waits for the disk.

On an SD card the fsync and the drawing each take several milliseconds: the rules decide,
drawing starts on another thread, the events are committed, and the drawn screen is sent
only after the commit returned (a stamp the customer saw is durable). A screen drawn for
an outcome that was not recorded, or for another outcome, is never shown.

    early = EarlyScreen(ThreadPoolExecutor(max_workers=1))
    outcome = counter.tap(uid, on_decided=lambda decided: early.start(draw, decided))
    image = early.take(outcome)   # None: let the display draw it the usual way
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

from kiosk.core.outcome import Outcome

log = logging.getLogger(__name__)

DRAW_TIMEOUT = 5.0  # seconds: a drawing this late is dropped and the display draws again

Picture = TypeVar("Picture")


class EarlyScreen(Generic[Picture]):
    """At most one screen being drawn ahead, for the outcome it was drawn for."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._drawn: tuple[Outcome, Future[Picture | None]] | None = None

    def start(self, draw: Callable[[Outcome], Picture | None], outcome: Outcome) -> None:
        """The rules have decided `outcome`: start drawing it."""
        self._drawn = (outcome, self._executor.submit(draw, outcome))

    def drop(self) -> None:
        """The outcome was not recorded: its drawing must never be shown."""
        self._drawn = None

    def take(self, outcome: Outcome) -> Picture | None:
        """The screen drawn for `outcome` (this very one), once drawn; else None."""
        drawn, self._drawn = self._drawn, None
        if drawn is None or drawn[0] is not outcome:
            return None
        try:
            return drawn[1].result(timeout=DRAW_TIMEOUT)
        except Exception as error:  # the display draws it again, in the usual way
            log.warning("event=render error=%r", str(error))
            return None

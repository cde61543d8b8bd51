"""What one configuration builds: the counter and every adapter, wired to the daemon's
callbacks, and the threads they run on. The daemon builds them at start and again, whole,
on each reload.

    parts = build_parts(config, app)       # app: the callbacks (kiosk.app.App)
    parts.start()
    ...
    parts.halt(within=0.5, cut_short=lambda: False)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from kiosk.config import Config
from kiosk.served import ServedPrograms
from kiosk.service import Counter

if TYPE_CHECKING:  # the adapters import their hardware libraries: imported when built
    from kiosk.adapters.button import StaffButton
    from kiosk.adapters.checkpoint import Checkpointer
    from kiosk.adapters.display import Display, NullDisplay
    from kiosk.adapters.lights import Lights
    from kiosk.adapters.reader import CardRead, Reader
    from kiosk.adapters.sync import SelfReport, SyncStatus, SyncWorker
    from kiosk.adapters.till import TillListener

log = logging.getLogger(__name__)

JOIN_SLICE = 0.05  # seconds: how often a wait for the threads asks whether to cut it short


class Wiring(Protocol):
    """What the parts call back, each from its own thread."""

    def on_card(self, read: CardRead) -> None: ...

    def on_reader_status(self, online: bool) -> None: ...

    def on_sync_status(self, status: SyncStatus) -> None: ...

    def on_program_served(self) -> None: ...

    def self_report(self) -> SelfReport: ...
    def on_week(self, champion: tuple[str, int] | None) -> None: ...

    def on_button_press(self) -> None: ...

    def on_button_hold(self) -> None: ...


class Stoppable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


@dataclass
class Parts:
    """Everything one configuration builds."""

    config: Config
    counter: Counter
    display: Display | NullDisplay
    lights: Lights
    reader: Reader
    sync: SyncWorker | None
    button: StaffButton
    till: TillListener | None = None  # the till's basket endpoint, when [till] enabled
    checkpointer: Checkpointer | None = None  # the ledger's WAL checkpoints, off the tap path
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    closed: bool = False  # set under the daemon's counter lock: no tap starts after it

    def start(self) -> None:
        """Run each worker on its own thread until `halt`."""
        workers: list[tuple[str, Stoppable | None]] = [
            ("reader", self.reader), ("sync", self.sync), ("till", self.till),
            ("checkpoint", self.checkpointer),
        ]
        for name, worker in workers:
            if worker is not None:
                thread = threading.Thread(target=worker.run, args=(self.stop,), name=name, daemon=True)
                thread.start()
                self.threads.append(thread)

    def halt(self, within: float, cut_short: Callable[[], bool], short: float = 0.5) -> None:
        """Tell the threads to stop and wait for them `within` seconds at most, or `short`
        seconds from when `cut_short()` turns true. A thread still busy then (a request
        to a slow server) is left to finish or die with the process."""
        self.stop.set()
        deadline = time.monotonic() + within
        for thread in self.threads:
            while thread.is_alive():
                now = time.monotonic()
                if cut_short():
                    deadline = min(deadline, now + short)
                if now >= deadline:
                    log.warning("event=stop thread=%s still_running=true", thread.name)
                    break
                thread.join(min(deadline - now, JOIN_SLICE))


def build_parts(
    config: Config,
    wiring: Wiring,
    pin_factory: object | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Parts:
    """Open the ledger, the display, the pins, the reader and the rest for `config`."""
    from kiosk.adapters.button import StaffButton
    from kiosk.adapters.checkpoint import Checkpointer
    from kiosk.adapters.display import Display
    from kiosk.adapters.lights import Lights, make_pin_factory
    from kiosk.adapters.reader import Reader

    # a part that fails to build (a till port taken, a display that does not answer)
    # must not leave the ones built before it holding their pins, bus and ledger: a
    # refused reload starts the old config again on the same ones
    with ExitStack() as built:
        # the start is where a damaged ledger is found (quick_check), not a failing tap later
        counter = Counter.open(config, check=True, **({} if clock is None else {"clock": clock}))
        built.callback(counter.close)
        # named after the program the counter runs: a served one held in the ledger wins
        display = Display.from_config(config.display, config.kiosk.locale, counter.program.name)
        built.callback(display.close)
        pins = pin_factory or make_pin_factory(config.lights.factory)
        lights = Lights.from_config(config.lights, pins)
        built.callback(lights.close)
        button = StaffButton.from_config(config.lights, pins, wiring.on_button_press, wiring.on_button_hold)
        built.callback(button.close)
        links = counter.links if config.card_page.write_on_card else None
        reader = Reader(config.reader, wiring.on_card, wiring.on_reader_status, links)
        sync = None
        if config.central.url:
            from kiosk.adapters.sync import SyncWorker

            sync = SyncWorker(
                config.central, config.kiosk.ledger_path, counter.program.tz, wiring.on_sync_status,
                on_program=wiring.on_program_served, programs=ServedPrograms(),
                report=wiring.self_report,
                on_week=wiring.on_week,
            )
            built.callback(sync.close)
        till = None
        if config.till.enabled:  # http.server and its imports cost 1.6 MB of RSS
            from kiosk.adapters.till import TillListener

            till = TillListener.from_config(config.till)  # last: it holds a socket once built
        checkpointer = Checkpointer(config.kiosk.ledger_path)
        built.pop_all()
    return Parts(config, counter, display, lights, reader, sync, button, till, checkpointer)

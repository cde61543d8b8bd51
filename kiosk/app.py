"""The daemon: reader loop, rules, ledger, display, lights and sync worker in one process.

Threads:
- the reader thread runs nfcpy's poll loop; a tap is handled right there, while the card
  is on the reader: rules, commit (fsync), then display and lights;
- the sync thread drains the outbox to the central API; it never holds up a tap;
- the main thread ticks the display (timeouts, burn-in care), pets the systemd watchdog
  while the reader loop is alive, and handles SIGTERM (stop) and SIGHUP (reload).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import FrameType
from typing import Protocol

from kiosk import config as config_module
from kiosk.config import Config
from kiosk.core.rules import Outcome
from kiosk.core.status import KioskStatus
from kiosk.errors import ConfigError, KioskError
from kiosk.notify import Notifier
from kiosk.service import Counter

log = logging.getLogger("kiosk")

TICK_SECONDS = 0.25
# The reader loop counts as alive while its last iteration is this recent: half the
# systemd watchdog timeout, else this. A whole poll round takes tens of milliseconds on a
# real reader, and up to ~3 s on nfcpy's UDP device with an empty field.
READER_ALIVE_SECONDS = 10.0


class Stoppable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


@dataclass
class Parts:
    """Everything one configuration builds; rebuilt whole on SIGHUP."""

    config: Config
    counter: Counter
    display: object
    lights: object
    reader: object
    sync: object | None
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)


def _short(card_ref: str | None) -> str:
    return "-" if card_ref is None else card_ref[:8]


class App:
    """One kiosk process. `run()` returns the exit code."""

    def __init__(self, config_path: str | None, notifier: Notifier | None = None) -> None:
        self.config_path = config_path
        self.notifier = notifier or Notifier.from_environment()
        self.stopping = threading.Event()
        self._reload = threading.Event()
        self._lock = threading.Lock()  # display and lights are driven from two threads
        self._status = KioskStatus()
        self._taps = 0
        self.parts: Parts | None = None

    # --- building and tearing down ------------------------------------------------------

    def build(self, config: Config) -> Parts:
        from kiosk.adapters.display import Display
        from kiosk.adapters.lights import Lights
        from kiosk.adapters.reader import Reader

        counter = Counter.open(config)
        display = Display.from_config(config.display, config.kiosk.locale, config.program.name)
        lights = Lights.from_config(config.lights)
        reader = Reader(config.reader, self.on_card, self.on_reader_status)
        sync = None
        if config.central.url:
            from kiosk.adapters.sync import SyncWorker

            sync = SyncWorker(
                config.central, config.kiosk.ledger_path, counter.program.tz, self.on_sync_status
            )
        return Parts(config, counter, display, lights, reader, sync)

    def start(self, parts: Parts) -> None:
        self.parts = parts
        now = time.monotonic()
        with self._lock:
            parts.display.set_status(self._status, now)  # type: ignore[attr-defined]
            parts.lights.set_status(self._status)  # type: ignore[attr-defined]
        workers: list[tuple[str, Stoppable]] = [("reader", parts.reader)]  # type: ignore[list-item]
        if parts.sync is not None:
            workers.append(("sync", parts.sync))  # type: ignore[arg-type]
        for name, worker in workers:
            thread = threading.Thread(target=worker.run, args=(parts.stop,), name=name, daemon=True)
            thread.start()
            parts.threads.append(thread)

    def stop_parts(self, parts: Parts, blank: bool = True) -> None:
        parts.stop.set()
        for thread in parts.threads:
            thread.join(timeout=5.0)
            if thread.is_alive():
                log.warning("event=stop thread=%s still_running=true", thread.name)
        with self._lock:
            if blank:
                parts.display.close()  # type: ignore[attr-defined]
            parts.lights.close()  # type: ignore[attr-defined]
        parts.counter.close()

    # --- callbacks from the adapters' threads -----------------------------------------

    def on_card(self, read: object) -> None:
        """A card was tapped (reader thread). Commit first, then show."""
        parts = self.parts
        if parts is None:
            return
        started = time.monotonic()
        try:
            outcome = parts.counter.tap(read.uid)  # type: ignore[attr-defined]
        except KioskError as error:
            log.error("event=tap error=%r", str(error))
            self._show_error(parts)
            return
        self._taps += 1
        self._status = replace(
            self._status, last_tap=datetime.now().astimezone(), clock_ok=not parts.counter.clock_behind
        )
        now = time.monotonic()
        with self._lock:
            parts.display.show_outcome(outcome, now)  # type: ignore[attr-defined]
            parts.lights.react(outcome)  # type: ignore[attr-defined]
        self._log_tap(read, outcome, (time.monotonic() - started) * 1000)
        if parts.sync is not None and outcome.changes:
            parts.sync.wake()  # type: ignore[attr-defined]

    def _log_tap(self, read: object, outcome: Outcome, ms: float) -> None:
        card = outcome.card.card_ref if outcome.card else None
        log.info(
            "event=tap card=%s tech=%s outcome=%s stamps=%d/%d vouchers=%d ms=%.1f",
            _short(card),
            getattr(read, "technology", "?"),
            outcome.kind.value,
            outcome.stamps,
            outcome.goal,
            sum(n for _, n in outcome.vouchers),
            ms,
        )

    def _show_error(self, parts: Parts) -> None:
        with self._lock:
            parts.lights.error()  # type: ignore[attr-defined]

    def on_reader_status(self, online: bool) -> None:
        log.log(logging.INFO if online else logging.WARNING, "event=reader online=%s", online)
        self._set_status(reader_online=online)

    def on_sync_status(self, status: object) -> None:
        self._set_status(
            central_online=getattr(status, "online", None),
            pending_events=int(getattr(status, "pending", 0)),
            rejected_events=int(getattr(status, "rejected", 0)),
            last_sync=getattr(status, "last_success", None),
        )

    def _set_status(self, **changes: object) -> None:
        self._status = replace(self._status, **changes)  # type: ignore[arg-type]
        parts = self.parts
        if parts is None:
            return
        with self._lock:
            parts.display.set_status(self._status, time.monotonic())  # type: ignore[attr-defined]
            parts.lights.set_status(self._status)  # type: ignore[attr-defined]

    # --- the main thread ------------------------------------------------------------------

    def reader_alive(self) -> bool:
        parts = self.parts
        if parts is None:
            return False
        last = float(parts.reader.last_alive)  # type: ignore[attr-defined]
        timeout = self.notifier.watchdog_timeout
        window = timeout / 2 if timeout else READER_ALIVE_SECONDS
        return time.monotonic() - last < window

    def status_line(self) -> str:
        s = self._status
        central = {None: "no central", True: "online", False: "offline"}[s.central_online]
        reader = "reader ok" if s.reader_online else "READER OFFLINE"
        last = s.last_tap.strftime("%H:%M:%S") if s.last_tap else "none"
        return f"{central}, {reader}, {s.pending_events} pending, {self._taps} taps, last tap {last}"

    def reload(self) -> None:
        assert self.parts is not None
        try:
            config = config_module.load(self.config_path)
        except ConfigError as error:
            for problem in error.problems:
                log.error("event=reload refused=true source=%s problem=%r", error.source, problem)
            return
        self.notifier.reloading()
        old = self.parts
        self.stop_parts(old, blank=False)
        try:
            self.start(self.build(config))
            log.info("event=reload ok=true")
        except KioskError as error:
            log.error("event=reload refused=true problem=%r", str(error))
            self.start(self.build(old.config))
        self.notifier.ready()

    def install_signals(self) -> None:
        def on_term(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self._reload.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)

    def run(self) -> int:
        try:
            config = config_module.load(self.config_path)
            logging.getLogger().setLevel(config.kiosk.log_level)
            parts = self.build(config)
        except ConfigError as error:
            for problem in error.problems:
                log.error("event=start refused=true source=%s problem=%r", error.source, problem)
            return 2
        except KioskError as error:
            log.error("event=start refused=true problem=%r", str(error))
            return 1
        self.start(parts)
        log.info("event=start kiosk=%s reader=%s", config.kiosk.id, config.reader.path)
        self.notifier.ready(self.status_line())
        last_status = ""
        while not self.stopping.wait(TICK_SECONDS):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            assert self.parts is not None
            with self._lock:
                self.parts.display.tick(time.monotonic())  # type: ignore[attr-defined]
            if self.reader_alive():
                self.notifier.watchdog()
            line = self.status_line()
            if line != last_status:
                self.notifier.status(line)
                last_status = line
        self.notifier.stopping()
        assert self.parts is not None
        self.stop_parts(self.parts)
        log.info("event=stop taps=%d", self._taps)
        return 0


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s %(message)s",
    )


def main(config_path: str | None) -> int:
    configure_logging()
    app = App(config_path)
    app.install_signals()
    return app.run()


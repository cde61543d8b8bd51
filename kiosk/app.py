"""The daemon: runs the parts one configuration builds (`kiosk.parts`), reloads and stops them.

Threads:
- the reader thread runs nfcpy's poll loop; a tap is handled right there, while the card
  is on the reader: the staff session and the counter decide and commit (fsync), then
  the display and lights show it;
- the sync thread drains the outbox to the central API; it never holds up a tap;
- the main thread ticks the display (timeouts, burn-in care), runs the housekeeping,
  pets the systemd watchdog while the reader loop is alive, and stops (SIGTERM) or
  reloads (SIGHUP) when asked; its signal handlers only set a flag (kiosk.wakeup).

What a card or the staff button means lives in `kiosk.session` and `kiosk.service`.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

from kiosk import config as config_module
from kiosk.config import Config
from kiosk.core.outcome import CardOutcome, Outcome, Refused
from kiosk.core.staff import StaffAction
from kiosk.core.status import KioskStatus, status_line
from kiosk.early_screen import EarlyScreen
from kiosk.errors import ConfigError, KioskError
from kiosk.logs import apply_log_level, configure_logging
from kiosk.notify import Notifier
from kiosk.parts import Parts, build_parts
from kiosk.service import Counter
from kiosk.session import StaffSession
from kiosk.wakeup import Requests

if TYPE_CHECKING:  # the adapters import their hardware libraries: built in kiosk.parts
    from kiosk.adapters.reader import CardRead
    from kiosk.adapters.sync import SelfReport, SyncStatus
    from kiosk.core.lanes import Frame

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25
# The reader loop counts as alive while its last iteration is this recent: half the
# systemd watchdog timeout, else this. A whole poll round takes tens of milliseconds on a
# real reader, and up to ~3 s on nfcpy's UDP device with an empty field.
READER_ALIVE_SECONDS = 10.0
# Cards the daily expiry pass checks per tick, under the counter's lock: a tap arriving
# meanwhile waits for one slice only (a few reads, rarely a commit).
EXPIRY_SLICE = 16
# How long a stop waits for the threads: a thread still busy then (a sync request to a
# slow server) is left to die with the process; its work is safe to cut (the outbox is
# sent again). A reload waits longer, as a reader must let go of the device first.
STOP_JOIN_SECONDS = 0.5
RELOAD_JOIN_SECONDS = 5.0


def _short(card_ref: str | None) -> str:
    return "-" if card_ref is None else card_ref[:8]


class App:
    """One kiosk process. `run()` returns the exit code.

    `on_outcome(source, outcome)` hears of every outcome shown and `on_tick()` of every
    turn of the main loop (a demo or a test follows the kiosk through them)."""

    def __init__(
        self,
        config_path: str | None,
        notifier: Notifier | None = None,
        pin_factory: object | None = None,
        clock: Callable[[], datetime] | None = None,
        on_outcome: Callable[[str, Outcome], None] | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.config_path = config_path
        self.pin_factory = pin_factory
        self.clock = clock  # the counter's wall clock (tests move it); None: the real one
        self.notifier = notifier or Notifier.from_environment()
        self.on_outcome = on_outcome
        self.on_tick = on_tick
        self.requests = Requests()
        self.session = StaffSession()
        self._lock = threading.Lock()  # display and lights are driven from several threads
        self._counter_lock = threading.Lock()  # taps (reader thread) and the staff button
        self._status = KioskStatus()
        self._taps = 0
        self.parts: Parts | None = None
        # set by the sync thread when it stored a new served program; the main loop swaps it
        self._program_served = threading.Event()
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")
        self._early: EarlyScreen[Frame] = EarlyScreen(self._renderer)

    # --- building and tearing down ------------------------------------------------------

    def build(self, config: Config) -> Parts:
        return build_parts(config, self, self.pin_factory, self.clock)

    def start(self, parts: Parts) -> None:
        self.parts = parts
        with self._lock:
            parts.display.set_status(self._status, time.monotonic())
            parts.lights.set_status(self._status)
        parts.start()

    def halt_parts(self, parts: Parts, within: float) -> None:
        """Stop the threads, waiting `within` seconds at most; a stop asked meanwhile
        (SIGTERM during a reload) cuts the wait to STOP_JOIN_SECONDS."""
        parts.halt(within, cut_short=lambda: self.requests.stop, short=STOP_JOIN_SECONDS)

    def close_parts(self, parts: Parts, blank: bool = True) -> None:
        """Close the parts once halted: a tap in progress finishes first, none starts after."""
        with self._counter_lock:
            parts.closed = True
        with self._lock:
            if blank:
                parts.display.close()
            parts.lights.close()
        parts.button.close()
        parts.counter.close()

    # --- callbacks from the adapters' threads -----------------------------------------

    def on_card(self, read: CardRead) -> None:
        """A card was tapped (reader thread). Commit first, then show."""

        def decide(parts: Parts, now: float) -> Outcome:
            key = parts.config.reader.originality_public_key
            doubt = Counter.unproven(read.uid, read.signature, read.lost, key)
            if doubt is not None:
                return Refused(reason=doubt)
            till = parts.till
            if till is None:
                return self.session.tap(
                    parts.counter, read.uid, now,
                    on_decided=lambda decided: self._early.start(parts.display.render_outcome, decided),
                )
            try:
                outcome = self.session.tap(
                    parts.counter, read.uid, now, basket=till.take,
                    on_decided=lambda decided: self._early.start(parts.display.render_outcome, decided),
                )
            except KioskError:
                till.settle(None)  # the till hears the tap was not recorded
                raise
            till.settle(outcome)  # recorded: the till hears what to deduct
            return outcome

        self._act(decide, read.technology)

    def on_button_press(self) -> None:
        """Staff button: redeem a voucher of the card just shown."""
        self._act(lambda parts, now: self.session.button(parts.counter, StaffAction.REDEEM, now), "button")

    def on_button_hold(self) -> None:
        """Staff button held: undo the last stamp of the card just shown."""
        self._act(lambda parts, now: self.session.button(parts.counter, StaffAction.UNDO, now), "button")

    def _act(self, decide: Callable[[Parts, float], Outcome | None], source: str) -> None:
        parts = self.parts
        if parts is None:
            return
        started = time.monotonic()
        try:
            with self._counter_lock:
                if parts.closed:
                    return
                outcome = decide(parts, started)
        except KioskError as error:
            self._early.drop()  # drawn for a tap that was not recorded: never shown
            log.error("event=tap error=%r", str(error))
            with self._lock:
                parts.lights.error()
            return
        if outcome is None:  # the button, with no card shown lately
            return
        image = self._early.take(outcome)
        self._taps += 1
        self._status = replace(
            self._status, last_tap=datetime.now().astimezone(), clock_ok=not parts.counter.clock_behind
        )
        with self._lock:
            if not parts.closed:
                parts.display.show_outcome(outcome, time.monotonic(), image=image)
                parts.lights.react(outcome)
        self._log_tap(source, outcome, (time.monotonic() - started) * 1000)
        if self.on_outcome is not None:
            self.on_outcome(source, outcome)
        if parts.sync is not None and outcome.changes:
            parts.sync.wake()

    def _log_tap(self, source: str, outcome: Outcome, ms: float) -> None:
        shown = outcome if isinstance(outcome, CardOutcome) else None  # staff screens: no card
        log.info(
            "event=tap card=%s tech=%s outcome=%s stamps=%d/%d vouchers=%d ms=%.1f",
            _short(shown.card.card_ref if shown else None),
            source,
            outcome.kind.value,
            shown.stamps if shown else 0,
            shown.progress.goal if shown else 0,
            sum(n for _, n in shown.progress.vouchers) if shown else 0,
            ms,
        )

    def on_program_served(self) -> None:
        """The sync thread stored a new served program: the main loop swaps it in."""
        self._program_served.set()

    def on_week(self, champion: tuple[str, int] | None) -> None:
        """The central's customer of the week (from the sync thread): the idle screen shows
        them now and then."""
        parts = self.parts
        if parts is None:
            return
        with self._lock:
            if not parts.closed:
                parts.display.set_week(champion, time.monotonic())

    def on_reader_status(self, online: bool) -> None:
        self._set_status(replace(self._status, reader_online=online))

    def on_sync_status(self, status: SyncStatus) -> None:
        self._set_status(replace(
            self._status,
            central_online=status.online,
            pending_events=status.pending,
            rejected_events=status.rejected,
            last_sync=status.last_success,
        ))

    def self_report(self) -> SelfReport:
        """What the sync worker reports of this kiosk to the central (sync thread)."""
        from kiosk.adapters.sync import SelfReport  # the worker's own module: loaded already

        parts = self.parts
        till = None if parts is None else parts.till
        return SelfReport(reader_online=self._status.reader_online, clock_ok=self._status.clock_ok,
                          tickets=[] if till is None else till.take_tickets())

    def _set_status(self, status: KioskStatus) -> None:
        self._status = status
        parts = self.parts
        if parts is None:
            return
        with self._lock:
            if not parts.closed:
                parts.display.set_status(status, time.monotonic())
                parts.lights.set_status(status)

    # --- the main thread ------------------------------------------------------------------

    def reader_alive(self) -> bool:
        parts = self.parts
        if parts is None:
            return False
        timeout = self.notifier.watchdog_timeout
        window = timeout / 2 if timeout else READER_ALIVE_SECONDS
        return time.monotonic() - float(parts.reader.last_alive) < window

    def status_line(self) -> str:
        return status_line(self._status, self._taps)

    def stop(self) -> None:
        """Stop the main loop (from any thread; what SIGTERM asks for)."""
        self.requests.ask_stop()

    def request_reload(self) -> None:
        """Reload the config on the main loop's next turn (what SIGHUP asks for)."""
        self.requests.ask_reload()

    def install_signals(self) -> None:
        """SIGTERM/SIGINT stop, SIGHUP reloads (call on the main thread)."""
        self.requests.install_signals()

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
        self.halt_parts(old, within=RELOAD_JOIN_SECONDS)
        self.close_parts(old, blank=bool(self.requests.stop))
        if self.requests.stop:  # stopped during the reload: nothing new starts
            self.parts = None
            return
        apply_log_level(config.kiosk.log_level)  # before the parts start and log
        try:
            self.start(self.build(config))
            log.info("event=reload ok=true")
        except KioskError as error:
            apply_log_level(old.config.kiosk.log_level)
            log.error("event=reload refused=true problem=%r", str(error))
            self.start(self.build(old.config))
        self.notifier.ready(self.status_line())

    def boot(self) -> int | None:
        """Load the config and start every part; an exit code when that is impossible."""
        try:
            config = config_module.load(self.config_path)
            apply_log_level(config.kiosk.log_level)
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
        return None

    def loop(self) -> None:
        """Tick the display, pet the watchdog and reload on request, until stopping."""
        last_status = ""
        while True:
            self.requests.wait(TICK_SECONDS)
            if self.requests.stop:
                return
            if self.requests.take_reload():
                self.reload()
                if self.requests.stop:
                    return
            parts = self.parts
            assert parts is not None
            if self._program_served.is_set():
                self._program_served.clear()
                self._use_served_program(parts)
            self._housekeeping(parts)
            with self._lock:
                parts.display.tick(time.monotonic())
            if self.reader_alive():
                self.notifier.watchdog()
            line = self.status_line()
            if line != last_status:
                self.notifier.status(line)
                last_status = line
            if self.on_tick is not None:
                self.on_tick()

    def _use_served_program(self, parts: Parts) -> None:
        """Run the program the sync worker just stored, from the next tap on."""
        try:
            with self._counter_lock:  # no tap is half-way through the rules meanwhile
                running = parts.counter.use_served_program(parts.config)
        except KioskError as error:
            log.error("event=program error=%r", str(error))
            return
        if parts.sync is not None:  # its ledger, opened each round, folds in the program's zone
            parts.sync.tz = running.program.tz
        with self._lock:
            parts.display.set_program_name(running.program.name, time.monotonic())
        log.info("event=program version=%s source=%s", running.program.version, running.source)

    def _housekeeping(self, parts: Parts) -> None:
        """Between taps: one slice of the daily expiry pass and of retention, and the
        booster of the hour for the idle screen. Never raises: the main loop outlives a
        bad ledger moment."""
        counter = parts.counter
        try:
            with self._counter_lock:
                expired = counter.expire_due(limit=EXPIRY_SLICE)  # 0 at once when done for today
                counter.forget_due()  # a slice of retention: old synced events, free pages
            booster = counter.booster()
        except KioskError as error:
            log.error("event=housekeeping error=%r", str(error))
            return
        if expired:
            log.info("event=expiry cards=%d", expired)
            if parts.sync is not None:
                parts.sync.wake()
        with self._lock:
            parts.display.set_booster(booster, time.monotonic())

    def shutdown(self) -> None:
        self.notifier.stopping()
        parts, self.parts = self.parts, None
        if parts is not None:
            self.halt_parts(parts, within=STOP_JOIN_SECONDS)
            self.close_parts(parts)
        self._renderer.shutdown(wait=True)
        self.requests.close()
        log.info("event=stop taps=%d", self._taps)

    def run(self) -> int:
        code = self.boot()
        if code is not None:
            return code
        self.loop()
        self.shutdown()
        return 0


def main(config_path: str | None) -> NoReturn:
    """`kiosk run`: the daemon on this process's main thread, until SIGTERM."""
    configure_logging()
    app = App(config_path)
    app.install_signals()
    code = app.run()
    # every part is closed and the ledger committed: tearing the interpreter's modules
    # down would add a few hundred ms to every stop (systemd waits for the exit) for nothing
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

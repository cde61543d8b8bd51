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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from kiosk import config as config_module
from kiosk.config import Config
from kiosk.core.cardid import is_random_uid
from kiosk.core.rules import Outcome, decide_redeem
from kiosk.core.staff import StaffAction, next_staff_action, staff_mode
from kiosk.core.status import KioskStatus
from kiosk.errors import ConfigError, KioskError, UnknownCard
from kiosk.notify import Notifier
from kiosk.service import Counter

if TYPE_CHECKING:  # the adapters import their hardware libraries: built in App.build()
    from PIL import Image

    from kiosk.adapters.button import StaffButton
    from kiosk.adapters.checkpoint import Checkpointer
    from kiosk.adapters.display import Display, NullDisplay
    from kiosk.adapters.lights import Lights
    from kiosk.adapters.reader import CardRead, Reader
    from kiosk.adapters.sync import SyncStatus, SyncWorker
    from kiosk.adapters.till import TillListener

log = logging.getLogger("kiosk")

TICK_SECONDS = 0.25
# The reader loop counts as alive while its last iteration is this recent: half the
# systemd watchdog timeout, else this. A whole poll round takes tens of milliseconds on a
# real reader, and up to ~3 s on nfcpy's UDP device with an empty field.
READER_ALIVE_SECONDS = 10.0
STAFF_WINDOW_SECONDS = 20.0  # how long a staff card's action waits for the customer's card
BUTTON_WINDOW_SECONDS = 60.0  # the staff button acts on the card shown this recently
# Cards the daily expiry pass checks per tick, under the counter's lock: a tap arriving
# meanwhile waits for one slice only (a few reads, rarely a commit).
EXPIRY_SLICE = 16


@dataclass(frozen=True)
class Armed:
    """A staff card was tapped: the next customer card gets `action`."""

    staff_ref: str
    action: StaffAction
    until: float


class Stoppable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


@dataclass
class Parts:
    """Everything one configuration builds; rebuilt whole on SIGHUP."""

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


def _short(card_ref: str | None) -> str:
    return "-" if card_ref is None else card_ref[:8]


class App:
    """One kiosk process. `run()` returns the exit code."""

    def __init__(
        self,
        config_path: str | None,
        notifier: Notifier | None = None,
        pin_factory: object | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config_path = config_path
        self.pin_factory = pin_factory
        self.clock = clock  # the counter's wall clock (tests move it); None: the real one
        self.notifier = notifier or Notifier.from_environment()
        self.stopping = threading.Event()
        self._reload = threading.Event()
        self._lock = threading.Lock()  # display and lights are driven from two threads
        self._counter_lock = threading.Lock()  # taps (reader thread) and the staff button
        self._armed: Armed | None = None
        self._last_card: tuple[bytes, float] | None = None  # for the staff button
        self._status = KioskStatus()
        self._taps = 0
        self.parts: Parts | None = None
        # set by the sync thread when it stored a new served program; the main loop swaps it
        self._program_served = threading.Event()
        # a tap's screen is drawn here while its commit waits for the disk (on an SD card
        # the fsync and the drawing are each several ms); it is sent only after the commit
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")
        self._drawn: tuple[Outcome, Future[Image.Image | None]] | None = None

    # --- building and tearing down ------------------------------------------------------

    def build(self, config: Config) -> Parts:
        from kiosk.adapters.button import StaffButton
        from kiosk.adapters.display import Display
        from kiosk.adapters.lights import Lights, make_pin_factory
        from kiosk.adapters.reader import Reader

        # a part that fails to build (a till port taken, a display that does not answer)
        # must not leave the ones built before it holding their pins, bus and ledger: a
        # refused reload starts the old config again on the same ones
        with ExitStack() as built:
            counter = Counter.open(config) if self.clock is None else Counter.open(config, clock=self.clock)
            built.callback(counter.close)
            # named after the program the counter runs: a served one held in the ledger wins
            display = Display.from_config(config.display, config.kiosk.locale, counter.program.name)
            built.callback(display.close)
            pins = self.pin_factory
            if pins is None:
                pins = make_pin_factory(config.lights.factory)
            lights = Lights.from_config(config.lights, pins)
            built.callback(lights.close)
            button = StaffButton.from_config(
                config.lights, pins, self.on_button_press, self.on_button_hold
            )
            built.callback(button.close)
            reader = Reader(config.reader, self.on_card, self.on_reader_status)
            sync = None
            if config.central.url:
                from kiosk.adapters.sync import SyncWorker

                sync = SyncWorker(
                    config.central, config.kiosk.ledger_path, counter.program.tz, self.on_sync_status,
                    on_program=self._program_served.set,
                )
                built.callback(sync.close)
            till = None
            if config.till.enabled:  # http.server and its imports cost 1.6 MB of RSS
                from kiosk.adapters.till import TillListener

                till = TillListener.from_config(config.till)  # last: it holds a socket once built
            from kiosk.adapters.checkpoint import Checkpointer

            checkpointer = Checkpointer(config.kiosk.ledger_path)
            built.pop_all()
        return Parts(config, counter, display, lights, reader, sync, button, till, checkpointer)

    def start(self, parts: Parts) -> None:
        self.parts = parts
        now = time.monotonic()
        with self._lock:
            parts.display.set_status(self._status, now)
            parts.lights.set_status(self._status)
        workers: list[tuple[str, Stoppable]] = [("reader", parts.reader)]
        if parts.sync is not None:
            workers.append(("sync", parts.sync))
        if parts.till is not None:
            workers.append(("till", parts.till))
        if parts.checkpointer is not None:
            workers.append(("checkpoint", parts.checkpointer))
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
                parts.display.close()
            parts.lights.close()
        parts.button.close()
        parts.counter.close()

    # --- callbacks from the adapters' threads -----------------------------------------

    def on_card(self, read: CardRead) -> None:
        """A card was tapped (reader thread). Commit first, then show."""
        uid = read.uid
        self._act(lambda parts: self._decide(parts, uid), read.technology)

    def _act(self, decide: Callable[[Parts], Outcome], source: str) -> None:
        parts = self.parts
        if parts is None:
            return
        started = time.monotonic()
        try:
            with self._counter_lock:
                outcome = decide(parts)
        except KioskError as error:
            self._drawn = None  # drawn for a tap that was not recorded: never shown
            log.error("event=tap error=%r", str(error))
            self._show_error(parts)
            return
        image = self._early_drawing(outcome)
        self._taps += 1
        self._status = replace(
            self._status, last_tap=datetime.now().astimezone(), clock_ok=not parts.counter.clock_behind
        )
        now = time.monotonic()
        with self._lock:
            parts.display.show_outcome(outcome, now, image=image)
            parts.lights.react(outcome)
        self._log_tap(source, outcome, (time.monotonic() - started) * 1000)
        if parts.sync is not None and outcome.changes:
            parts.sync.wake()

    def _draw_early(self, parts: Parts, outcome: Outcome) -> None:
        """The rules have decided: start drawing the screen while the commit runs."""
        render = parts.display.render_outcome
        self._drawn = (outcome, self._renderer.submit(render, outcome))

    def _early_drawing(self, outcome: Outcome) -> Image.Image | None:
        """The screen drawn during the commit of `outcome`, if that is what was drawn."""
        drawn, self._drawn = self._drawn, None
        if drawn is None or drawn[0] is not outcome:
            return None
        try:
            return drawn[1].result(timeout=5.0)
        except Exception as error:  # the display draws it again, in the usual way
            log.warning("event=render error=%r", str(error))
            return None

    def _decide(self, parts: Parts, uid: bytes) -> Outcome:
        """A customer's tap, or a staff card and the customer card after it."""
        counter = parts.counter
        now = time.monotonic()
        armed = self._armed if self._armed and now < self._armed.until else None
        if counter.is_staff_card(uid):
            action = next_staff_action(armed.action if armed else None)
            if action is StaffAction.FIGURES:
                self._armed = None
                return counter.todays_figures()
            self._armed = Armed(counter.card_ref(uid), action, now + STAFF_WINDOW_SECONDS)
            return staff_mode(counter.program, action)
        self._armed = None
        if armed is None or is_random_uid(uid):
            self._last_card = (uid, now)
            till = parts.till
            # a refused phone leaves the basket for the loyalty card that follows it
            basket = None if till is None or is_random_uid(uid) else till.take()
            return counter.tap(
                uid, basket=basket, on_decided=lambda decided: self._draw_early(parts, decided)
            )
        return self._staff_action(counter, uid, armed.action, armed.staff_ref)

    @staticmethod
    def _staff_action(counter: Counter, uid: bytes, action: StaffAction, staff_ref: str) -> Outcome:
        try:
            if action is StaffAction.REDEEM:
                return counter.redeem(uid, staff_ref=staff_ref)
            return counter.undo(uid, staff_ref=staff_ref)
        except UnknownCard:
            # a card never seen here has nothing to redeem or undo: say so, record nothing
            unknown = counter.ledger.card(counter.card_ref(uid))
            return decide_redeem(counter.program, unknown, counter.now())

    def _button_card(self) -> bytes | None:
        if self._last_card is None:
            return None
        uid, shown = self._last_card
        return uid if time.monotonic() - shown < BUTTON_WINDOW_SECONDS else None

    def on_button_press(self) -> None:
        """Staff button: redeem a voucher of the card just shown."""
        uid = self._button_card()
        if uid is not None:
            self._act(lambda parts: self._staff_action(
                parts.counter, uid, StaffAction.REDEEM, "button"), "button")

    def on_button_hold(self) -> None:
        """Staff button held: undo the last stamp of the card just shown."""
        uid = self._button_card()
        if uid is not None:
            self._act(lambda parts: self._staff_action(
                parts.counter, uid, StaffAction.UNDO, "button"), "button")

    def _log_tap(self, source: str, outcome: Outcome, ms: float) -> None:
        card = outcome.card.card_ref if outcome.card else None
        log.info(
            "event=tap card=%s tech=%s outcome=%s stamps=%d/%d vouchers=%d ms=%.1f",
            _short(card),
            source,
            outcome.kind.value,
            outcome.stamps,
            outcome.goal,
            sum(n for _, n in outcome.vouchers),
            ms,
        )

    def _show_error(self, parts: Parts) -> None:
        with self._lock:
            parts.lights.error()

    def on_reader_status(self, online: bool) -> None:
        log.log(logging.INFO if online else logging.WARNING, "event=reader online=%s", online)
        self._set_status(reader_online=online)

    def on_sync_status(self, status: SyncStatus) -> None:
        self._set_status(
            central_online=status.online,
            pending_events=status.pending,
            rejected_events=status.rejected,
            last_sync=status.last_success,
        )

    def _set_status(self, **changes: object) -> None:
        self._status = replace(self._status, **changes)  # type: ignore[arg-type]
        parts = self.parts
        if parts is None:
            return
        with self._lock:
            parts.display.set_status(self._status, time.monotonic())
            parts.lights.set_status(self._status)

    # --- the main thread ------------------------------------------------------------------

    def reader_alive(self) -> bool:
        parts = self.parts
        if parts is None:
            return False
        last = float(parts.reader.last_alive)
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
        apply_log_level(config.kiosk.log_level)  # before the parts start and log
        try:
            self.start(self.build(config))
            log.info("event=reload ok=true")
        except KioskError as error:
            apply_log_level(old.config.kiosk.log_level)
            log.error("event=reload refused=true problem=%r", str(error))
            self.start(self.build(old.config))
        self.notifier.ready()

    def request_reload(self) -> None:
        """Reload the config on the main loop's next tick (what SIGHUP asks for)."""
        self._reload.set()

    def install_signals(self) -> None:
        def on_term(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self.request_reload()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)

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
        while not self.stopping.wait(TICK_SECONDS):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            assert self.parts is not None
            if self._program_served.is_set():
                self._program_served.clear()
                self._use_served_program(self.parts)
            self._housekeeping(self.parts)
            with self._lock:
                self.parts.display.tick(time.monotonic())
            if self.reader_alive():
                self.notifier.watchdog()
            line = self.status_line()
            if line != last_status:
                self.notifier.status(line)
                last_status = line

    def _use_served_program(self, parts: Parts) -> None:
        """Run the program the sync worker just stored, from the next tap on."""
        from kiosk.served import running_program

        try:
            with self._counter_lock:  # no tap is half-way through the rules meanwhile
                running = running_program(parts.config, parts.counter.ledger.get_meta)
                parts.counter.use_program(running)
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
        if self.parts is not None:
            self.stop_parts(self.parts)
        self._renderer.shutdown(wait=True)
        log.info("event=stop taps=%d", self._taps)

    def run(self) -> int:
        code = self.boot()
        if code is not None:
            return code
        self.loop()
        self.shutdown()
        return 0


def apply_log_level(level: str) -> None:
    """`[kiosk] log_level` for the whole process. nfcpy's frontend (`nfc.clf`) says
    "searching for reader on path" and "using ..." at INFO on every open, that is on every
    retry while a reader is unplugged; the reader adapter logs going offline and coming
    back once each, so those lines are kept for DEBUG. (Not the "nfc" logger: nfcpy sets
    that one to INFO when it is imported.)"""
    logging.getLogger().setLevel(level)
    logging.getLogger("nfc.clf").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


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


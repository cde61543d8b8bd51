"""The sync worker: drains the ledger's outbox to the central API, exactly once.

Exactly once rests on two facts: every event has a UUID the server stores once, and an
event is marked synced only when a checked answer names it. A lost answer, a timeout or
a garbage body therefore changes nothing here, and the next round sends the same events
again; the server answers `duplicate` for those it already holds. Rejected events are
kept aside with their reason and never sent again.

Each answer carries the server's state of the batch's cards (every kiosk's events); the
ledger caches that plus this kiosk's events still pending. The cards changed at the
central since the last round are pulled the same way (kiosk.adapters.card_pull), so every
card of the organisation is known here before its first tap. One voucher redeemed offline
at two kiosks is therefore not an error here: both redemptions are accepted and kept,
the server flags the card `overdraft`, and each cache shows the negative voucher count
once it has heard of both. Nothing is dropped to hide it.

A request the server refuses as a whole (a 4xx other than 401/429) is retried with
backoff like any failure, since it names no event; it shows in `last_error`.

After each round the worker reports the kiosk itself to the central (versions, reader,
clock, events waiting) with the till's tickets per hour, which it keeps in the ledger
(`TICKETS`) until they are ten days old: sent again, an hour replaces itself there. A
report is sent when it says something new, else every REPORT_EVERY; a failed one is
logged and tried at the next round, never failing the sync.

What the worker notes about itself (last success, last error, online) lives in memory
and reaches the ledger only when it says something new, else every STATUS_EVERY and at
the worker's close: an idle round writes no byte, which is what wears a microSD card.

The worker runs in its own thread with its own ledger connection (SQLite WAL lets a tap
commit while we read), so a tap never waits on the network:

    worker = SyncWorker(config.central, config.kiosk.ledger_path, tz, on_status=print)
    threading.Thread(target=worker.run, args=(stop,)).start()
    worker.wake()            # after a tap: sync soon
    report = worker.sync_once()   # `kiosk sync`
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

from kiosk import __version__
from kiosk.adapters import card_pull, timekeeper
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync_client import CentralClient, SyncFailure, read_token
from kiosk.config import CentralSection
from kiosk.core.till import Ticket, count_ticket, hours_from_mapping
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

# meta keys in the ledger: the status survives restarts and `kiosk status` reads it. The
# worker keeps it in memory and writes it only when it says something new (see
# `status_worth_writing`): an idle kiosk must not wear its microSD card every round
LAST_SUCCESS = "sync.last_success"
LAST_ERROR = "sync.last_error"
LAST_ATTEMPT = "sync.last_attempt"
ONLINE = "sync.online"
LAST_REFRESH = "sync.last_refresh"
TICKETS = "till.tickets"  # the till's tickets per local hour (kiosk.core.till.TicketHour)
REPORT_EVERY = timedelta(minutes=5)  # an unchanged report is sent at most this often

STOP_POLL = 0.2  # seconds: how often a waiting worker looks at its stop event
STATUS_EVERY = timedelta(minutes=15)  # an idle, unchanged status is written at most this often
STATUS_KEYS = (LAST_SUCCESS, LAST_ERROR, LAST_ATTEMPT, ONLINE, LAST_REFRESH)


@dataclass(frozen=True)
class SelfReport:
    """What the kiosk says of itself at a round: from the app, not the ledger."""

    reader_online: bool
    clock_ok: bool
    tickets: list[Ticket] = field(default_factory=list)  # rung up since the last round


class ProgramShelf(Protocol):
    """Where served programs go: the service layer decides what to keep (the worker
    only fetches them), in the ledger the worker hands it."""

    def held_version(self, ledger: Ledger) -> str | None:
        """The entity tag of the program held; None when none was ever asked for."""

    def offer(self, ledger: Ledger, fields: object | None, etag: str | None) -> bool:
        """The central's answer (None: no program published); True when a new program
        was kept, to run from the next tap on."""


@dataclass(frozen=True)
class SyncStatus:
    """What staff and `kiosk status` see of sync, from the ledger alone.

    `online` is None before the first attempt, then whether the last one succeeded.
    """

    online: bool | None
    pending: int
    oldest_pending: datetime | None
    oldest_pending_age: timedelta | None
    rejected: int
    synced: int
    last_success: datetime | None
    last_attempt: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class SyncReport:
    """What one sync round did. `error` is None when every request of the round succeeded."""

    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    cards_merged: int = 0
    program_updated: bool = False
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def sync_status(
    ledger: Ledger, now: datetime | None = None, held: Mapping[str, str] | None = None
) -> SyncStatus:
    """The sync status as recorded in the ledger (works without the worker running), or
    with the worker's own notes `held` in memory in place of those in the ledger."""
    moment = now or datetime.now(UTC)
    box = ledger.outbox()
    notes = held if held is not None else {k: v for k in STATUS_KEYS
                                           if (v := ledger.get_meta(k)) is not None}
    online = notes.get(ONLINE)
    error = notes.get(LAST_ERROR)
    return SyncStatus(
        online=None if online is None else online == "1",
        pending=box.pending,
        oldest_pending=box.oldest_pending,
        oldest_pending_age=None if box.oldest_pending is None else moment - box.oldest_pending,
        rejected=box.rejected,
        synced=box.synced,
        last_success=_when(notes.get(LAST_SUCCESS)),
        last_attempt=_when(notes.get(LAST_ATTEMPT)),
        last_error=error or None,
    )


def status_worth_writing(
    written: Mapping[str, str], fresh: Mapping[str, str], written_at: datetime | None,
    now: datetime, wrote_events: bool,
) -> bool:
    """Whether the worker's status notes go to the ledger now.

    Said at once: online or offline, a new error, and any round that changed events (its
    own write is there anyway). An unchanged status, such as an idle kiosk's last success
    moving on by a round, waits STATUS_EVERY: another process reading the ledger sees a
    last success at most that old.
    """
    if written_at is None or wrote_events:
        return True
    if any(fresh.get(key) != written.get(key) for key in (ONLINE, LAST_ERROR)):
        return True
    return now - written_at >= STATUS_EVERY


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(failures - 1))]."""
    ceiling = min(cap, base * 2.0 ** min(max(failures - 1, 0), 60))
    return rng.uniform(0.0, ceiling)


@dataclass
class _Round:
    """Counters of one round, turned into a SyncReport at the end."""

    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    cards: int = 0
    program_updated: bool = False
    error: str | None = None
    retry_after: float | None = None
    touched: set[str] = field(default_factory=set)
    # (the customer of the week,) when the round asked for it: (None,) means nobody
    week: tuple[tuple[str, int] | None] | None = None

    def report(self) -> SyncReport:
        return SyncReport(
            self.sent, self.accepted, self.duplicate, self.rejected, self.batches,
            self.cards, self.program_updated, self.error, self.retry_after,
        )


class SyncWorker:
    """Outbox → central API, in batches, with backoff. One per kiosk process."""

    def __init__(
        self,
        section: CentralSection,
        ledger_path: Path,
        tz: tzinfo = UTC,
        on_status: Callable[[SyncStatus], None] | None = None,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_program: Callable[[], None] | None = None,
        programs: ProgramShelf | None = None,
        report: Callable[[], SelfReport] | None = None,
        on_week: Callable[[tuple[str, int] | None], None] | None = None,
    ) -> None:
        self.section = section
        self.ledger_path = ledger_path
        self.tz = tz
        self.on_status = on_status
        self.on_program = on_program  # called (from the sync thread) after a new program
        self.programs = programs  # None: this worker does not fetch programs
        self.report = report  # None: this worker does not report the kiosk itself
        self._reported: tuple[dict[str, Any], datetime] | None = None  # last report sent
        # given the customer of the week after each idle round; None: not asked for
        self.on_week = on_week
        self._rng = rng or random.Random()
        self._clock = clock
        self._client = CentralClient(section)
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one round at a time (daemon thread vs `kiosk sync`)
        self.failures = 0
        self._notes: dict[str, str] | None = None  # the status, as this worker knows it
        self._written: dict[str, str] = {}  # ... and as the ledger holds it
        self._written_at: datetime | None = None  # None: not written by this worker yet

    def close(self) -> None:
        """Write the status notes the ledger has not got yet, then hang up."""
        try:
            with self._lock:
                if self._notes is not None and self._notes != self._written:
                    with Ledger.open(self.ledger_path, self.tz) as ledger:
                        ledger.set_meta(self._notes)
                    self._written = dict(self._notes)
        except KioskError as error:  # the ledger: full disk, damaged file...
            log.error("event=sync ok=false error=%r", str(error))
        finally:
            self._client.close()

    def wake(self) -> None:
        """Ask for a round soon (after a tap). Never waits; ignored during a backoff."""
        self._wake.set()

    # --- one round ------------------------------------------------------------------------

    def sync_once(self, stop: threading.Event | None = None, refresh: bool = False) -> SyncReport:
        """Send every pending event (batch by batch), merge the cards, check the program.

        Then the cards changed at the central are pulled: after an upload, and in a round
        with nothing to send at most every `refresh_interval` (`refresh=True` forces it).
        """
        with self._lock, Ledger.open(self.ledger_path, self.tz) as ledger:
            state = _Round()
            started = self._clock()
            try:
                if not self.section.url:
                    raise SyncFailure("central.url is not set: this kiosk does not sync")
                token = read_token(self.section.token_file)
                timekeeper.requeue_due(ledger, started)
                idle = not ledger.pending(1)
                self._drain(ledger, token, state, stop)
                self._check_program(ledger, token, state, force=idle)
                # after an upload too: what other counters did reaches this cache now
                self._refresh(ledger, token, state, started, refresh or state.sent > 0, stop)
                self._report(ledger, token)
                if idle and self.on_week is not None:
                    state.week = self._week(token)
            except SyncFailure as failure:
                state.error, state.retry_after = str(failure), failure.retry_after
            self._record(ledger, state, started)
            report = state.report()
            status = sync_status(ledger, self._clock(), self._notes)
        self._log(report, status)
        if self.on_status is not None:
            self.on_status(status)
        if report.program_updated and self.on_program is not None:
            self.on_program()
        if state.week is not None and self.on_week is not None:
            self.on_week(state.week[0])
        return report

    def _drain(
        self, ledger: Ledger, token: str, state: _Round, stop: threading.Event | None
    ) -> None:
        while stop is None or not stop.is_set():
            batch = ledger.pending(self.section.batch_size)
            if not batch:
                return
            answer = self._client.send(token, batch)
            rejected = timekeeper.refusals(
                ledger, answer.rejected, batch, self._client.take_readings(), self._clock()
            )
            ledger.settle(answer.synced, rejected, answer.cards, self._clock(), answer.customers)
            state.batches += 1
            state.sent += len(batch)
            state.duplicate += answer.duplicates
            state.accepted += len(answer.synced) - answer.duplicates
            state.rejected += len(answer.rejected)
            state.cards += len(answer.cards)
            if answer.program_version is not None and answer.program_version != self._held_version(
                ledger
            ):
                self._check_program(ledger, token, state, force=True)
            if len(batch) < self.section.batch_size:
                return  # caught up: taps made meanwhile wait for the next wake

    def _week(self, token: str) -> tuple[tuple[str, int] | None] | None:
        """The customer of the week, or None (keep what the screen has) when the answer
        did not come: a greeting on the idle screen never fails a round."""
        try:
            return (self._client.customer_of_week(token),)
        except SyncFailure as failure:
            log.info("event=week ok=false error=%r", str(failure))
            return None

    def _held_version(self, ledger: Ledger) -> str | None:
        etag = None if self.programs is None else self.programs.held_version(ledger)
        return None if etag is None else etag.strip().removeprefix("W/").strip('"')

    def _check_program(self, ledger: Ledger, token: str, state: _Round, force: bool) -> None:
        if self.programs is None:
            return
        held = self.programs.held_version(ledger)
        if held is not None and not force:
            return
        answer = self._client.program(token, held)
        if self.programs.offer(ledger, answer.fields, answer.etag):
            state.program_updated = True

    def _refresh(
        self, ledger: Ledger, token: str, state: _Round, now: datetime, force: bool,
        stop: threading.Event | None,
    ) -> None:
        """Pull the cards changed at the central since the last pull (kiosk.adapters.card_pull):
        after an upload, and when idle at most every refresh_interval."""
        if self.section.refresh_cards == 0:
            return
        last = _when(self._held(ledger).get(LAST_REFRESH))
        too_soon = last is not None and (now - last).total_seconds() < self.section.refresh_interval
        if too_soon and not force:
            return
        state.cards += card_pull.pull(self._client, token, ledger, self.section.url, now, stop)
        self._held(ledger)[LAST_REFRESH] = now.isoformat()  # written with the status

    def _report(self, ledger: Ledger, token: str) -> None:
        """Report the kiosk and its till's tickets (kept in the ledger first)."""
        if self.report is None:
            return
        mine = self.report()
        hours = hours_from_mapping(json.loads(ledger.get_meta(TICKETS) or "[]"))
        for ticket in mine.tickets:
            hours = count_ticket(hours, ticket.basket, ticket.with_card, ticket.at.astimezone(self.tz))
        if mine.tickets:
            ledger.set_meta({TICKETS: json.dumps([h.to_mapping() for h in hours.values()])})
        body = {
            "software_version": __version__, "program_version": self._held_version(ledger) or None,
            "reader_online": mine.reader_online, "clock_ok": mine.clock_ok,
            "pending": ledger.outbox().pending, "tickets": [h.to_mapping() for h in hours.values()],
        }
        now = self._clock()
        if self._reported is not None and self._reported[0] == body and \
                now - self._reported[1] < REPORT_EVERY:
            return
        try:
            self._client.report(token, body)
        except SyncFailure as failure:  # the events went through: the report waits a round
            log.warning("event=report ok=false error=%r", str(failure))
            return
        self._reported = (body, now)

    def _held(self, ledger: Ledger) -> dict[str, str]:
        """The status notes in memory; read from the ledger at this worker's first round."""
        if self._notes is None:
            self._notes = {k: v for k in STATUS_KEYS if (v := ledger.get_meta(k)) is not None}
            self._written = dict(self._notes)
        return self._notes

    def _record(self, ledger: Ledger, state: _Round, started: datetime) -> None:
        timekeeper.note(ledger, self._client.take_readings())
        notes = self._held(ledger)
        now = self._clock()
        notes |= {LAST_ATTEMPT: started.isoformat(), ONLINE: "0" if state.error else "1"}
        if state.error:
            notes[LAST_ERROR] = state.error
        else:
            notes[LAST_SUCCESS] = now.isoformat()
            notes[LAST_ERROR] = ""
        wrote = bool(state.sent or state.program_updated)
        if status_worth_writing(self._written, notes, self._written_at, now, wrote):
            ledger.set_meta(notes)
            self._written, self._written_at = dict(notes), now

    @staticmethod
    def _log(report: SyncReport, status: SyncStatus) -> None:
        if report.error:
            log.warning("event=sync ok=false sent=%d pending=%d error=%r",
                        report.sent, status.pending, report.error)
        elif report.sent or report.program_updated:
            log.info(
                "event=sync ok=true sent=%d accepted=%d duplicate=%d rejected=%d batches=%d pending=%d",
                report.sent, report.accepted, report.duplicate, report.rejected, report.batches,
                status.pending,
            )

    # --- the thread -------------------------------------------------------------------------

    def next_delay(self, report: SyncReport) -> float:
        """How long to wait after a round: the interval, a backoff, or the server's Retry-After."""
        if report.ok:
            self.failures = 0
            return self.section.interval
        self.failures += 1
        delay = backoff_delay(
            self.failures, self.section.backoff_base, self.section.backoff_max, self._rng
        )
        if report.retry_after is not None:
            delay = max(delay, min(report.retry_after, self.section.retry_after_max))
        return delay

    def run(self, stop: threading.Event) -> None:
        """Sync until `stop` is set. Never dies of a bad answer or a storage error."""
        while not stop.is_set():
            # cleared before the round reads the outbox: a tap during the round wakes the next
            self._wake.clear()
            try:
                report = self.sync_once(stop)
            except KioskError as error:  # the ledger: full disk, damaged file...
                log.error("event=sync ok=false error=%r", str(error))
                report = SyncReport(error=str(error))
            except Exception as error:  # a bug must not stop sync for good: log, back off, retry
                log.exception("event=sync ok=false unexpected=%s", error.__class__.__name__)
                report = SyncReport(error=f"unexpected {error.__class__.__name__}")
            delay = self.next_delay(report)
            self._pause(stop, delay, wakeable=report.ok)
        self.close()

    def _pause(self, stop: threading.Event, seconds: float, wakeable: bool) -> None:
        """Wait `seconds`, or less when stopped, or (between good rounds) when woken."""
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # during a backoff a wake is not obeyed: taps must not hammer a failing server
            if wakeable and self._wake.wait(min(left, STOP_POLL)):
                return
            if not wakeable:
                stop.wait(min(left, STOP_POLL))

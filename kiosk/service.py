"""The counter: a tap or a staff action goes through the rules and into the ledger.

This is the thin imperative shell around the pure rules: it hashes the UID, reads the
card from the ledger, asks the rules, and commits the events before it returns the
outcome (so whatever shows the outcome shows only what is already durable).

    counter = Counter.open(config.load())
    outcome = counter.tap(bytes.fromhex("04a1b2c3d4e5f6"))
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, tzinfo

from kiosk.adapters import timekeeper
from kiosk.adapters.card_link import LinkBook, qr_modules
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.ledger_binding import SITE_KEY_BYTES as SITE_KEY_BYTES  # re-exported
from kiosk.adapters.ledger_binding import load_site_key as load_site_key  # re-exported
from kiosk.adapters.ledger_binding import open_bound
from kiosk.config import Config
from kiosk.core import cardid
from kiosk.core.cardlink import (
    TOKEN_BYTES,
    draws_link,
    on_second_tap,
    page_url,
    token_from,
    with_link,
)
from kiosk.core.clock import ClockVerdict, event_time
from kiosk.core.corrections import decide_adjust, decide_replace
from kiosk.core.events import CardState, Event, EventKind, record
from kiosk.core.giving import decide_donate
from kiosk.core.outcome import Cooldown, Replaced
from kiosk.core.perks import Basket, active_booster
from kiosk.core.program import Expiry
from kiosk.core.rules import (
    Outcome,
    Program,
    RefusalReason,
    Refused,
    decide_expiry,
    decide_redeem,
    decide_tap,
)
from kiosk.core.staff import StaffPolicy, decide_undo, figures, todays_figures
from kiosk.errors import KioskError, UnknownCard
from kiosk.served import FROM_CONFIG, Running, running_program

EXPIRY_DAY_KEY = "expiry_pass_day"  # ledger meta: the local day of the last finished pass
EXPIRY_COMMITS = 2  # expired cards recorded per slice of the pass, at most (one fsync each)
RETENTION_SLICE = 50  # events looked at per slice of the retention walk: a few ms under the lock
RECLAIM_PAGES = 64  # free pages given back to the file system per slice (256 KiB)
# between two slices of retention: each holds the counter (two commits, tens of ms on an
# SD card), so a tap seldom meets one, even while an upgraded ledger catches up
RETENTION_PAUSE = timedelta(seconds=2)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    """A random (version 4) UUID's text, as str(uuid.uuid4()) gives it, without building a
    UUID object (its __init__ is most of uuid4's cost, paid once per event)."""
    drawn = bytearray(os.urandom(16))
    drawn[6] = drawn[6] & 0x0F | 0x40  # version 4
    drawn[8] = drawn[8] & 0x3F | 0x80  # RFC 4122 variant
    x = drawn.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _local_day(moment: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The local calendar day of `moment` in `tz`, as [start, end) instants."""
    day = moment.astimezone(tz).date()
    return (
        datetime.combine(day, time(), tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time(), tzinfo=tz),
    )


class ClockBehind(KioskError, ValueError):
    """An explicit time earlier than the last recorded event."""


class Counter:
    """Taps and staff actions of one kiosk."""

    def __init__(
        self,
        program: Program,
        ledger: Ledger,
        site_key: bytes,
        kiosk_id: str,
        clock: Callable[[], datetime] = _wall_clock,
        new_id: Callable[[], str] = _new_id,
        staff: StaffPolicy | None = None,
    ) -> None:
        self.program = program
        self.staff = staff or StaffPolicy()
        self.ledger = ledger
        ledger.use_tz(program.tz)  # the ledger folds stamp days in the program's zone
        self.kiosk_id = kiosk_id
        self._site_key = site_key
        self._last_ref: tuple[bytes, str] | None = None  # (UID, card_ref) of the last card named
        self._clock = clock
        self._new_id = new_id
        self._last_time = ledger.last_event_time()
        self.clock_behind = False
        self.program_source = FROM_CONFIG
        self._expiry_walk: tuple[str, str] | None = None  # (last card_ref checked, its day)
        self.retention = timedelta(days=400)  # [kiosk] retention_days
        self._retention_walk: int | None = None  # the last event row looked at
        self._retention_day: str | None = None  # the local day of the last finished walk
        self._retention_next: datetime | None = None  # no slice before this
        self.links: LinkBook | None = None  # [card_page]: new cards' page links
        self.link_base, self.write_links = "", False
        self._random: Callable[[int], bytes] = secrets.token_bytes

    @classmethod
    def open(cls, config: Config, *, check: bool = False, **kwargs: Callable[[], object]) -> Counter:
        """A counter running the served program held in the ledger, else [program].

        Refused (LedgerMismatch) when the ledger and the site key do not belong together;
        `check` (the daemon's start) also runs SQLite's quick_check (LedgerDamaged)."""
        site_key, ledger = open_bound(
            config.kiosk.site_key_path, config.kiosk.ledger_path, check=check, autocheckpoint=False
        )
        running = running_program(config, ledger.get_meta)
        counter = cls(
            running.program, ledger, site_key, config.kiosk.id, staff=running.staff, **kwargs  # type: ignore[arg-type]
        )
        counter.program_source = running.source
        counter.retention = timedelta(days=config.kiosk.retention_days)
        if config.card_page.base_url:
            counter.use_card_page(config.card_page.base_url, LinkBook(),
                                  config.card_page.write_on_card)
        return counter

    def use_program(self, running: Running) -> None:
        """Run another program from the next tap on (the caller holds the counter's lock)."""
        self.program, self.staff, self.program_source = running.program, running.staff, running.source
        self.ledger.use_tz(running.program.tz)

    def use_served_program(self, config: Config) -> Running:
        """Run the served program the ledger holds now (the sync worker stored a new one),
        else the config's, from the next tap on (the caller holds the counter's lock)."""
        running = running_program(config, self.ledger.get_meta)
        self.use_program(running)
        return running

    def close(self) -> None:
        self.ledger.close()

    def card_ref(self, uid: bytes) -> str:
        # a tap names its card twice (is it staff? then the customer's tap): one HMAC
        last = self._last_ref
        if last is not None and last[0] == uid:
            return last[1]
        ref = cardid.card_ref(self._site_key, uid)
        self._last_ref = (uid, ref)
        return ref

    @staticmethod
    def unfit(uid: bytes) -> RefusalReason | None:
        """Why a UID cannot name a card, or None when it can. The one place that decides
        it: a phone's random ID (drawn anew at every tap) or a blank UID (all 00 or all FF,
        shared by every card that sends it)."""
        if cardid.is_random_uid(uid):
            return RefusalReason.RANDOM_ID
        if cardid.is_blank_uid(uid):
            return RefusalReason.BLANK_ID
        return None

    @staticmethod
    def unproven(uid: bytes, signature: bytes | None, lost: bool, key: bytes) -> RefusalReason | None:
        """Why a card the reader asked for its originality signature (`[reader]
        originality_check`) is not taken: it left before answering, or the signature fails."""
        if lost:
            return RefusalReason.UNREADABLE
        if signature is not None and not cardid.is_original(uid, signature, key):
            return RefusalReason.NOT_ORIGINAL
        return None

    def identify(self, uid: bytes) -> str | None:
        """The card_ref of the card a UID names, or None when the UID cannot name a card."""
        return None if self.unfit(uid) is not None else self.card_ref(uid)

    def card(self, uid: bytes) -> CardState:
        """The card's state as this kiosk holds it: a blank one for a card never seen."""
        return self.ledger.card(self.card_ref(uid))

    def now(self, explicit: datetime | None = None, verdict: ClockVerdict | None = None) -> datetime:
        """The time of the next event: never earlier than the last recorded one.

        A Pi has no battery clock; after a power cut offline it may restart in the past.
        The wall clock is then held at the last event's time (and flagged), so cooldowns
        cannot be fooled; corrected by the central's clock once its readings agree, and
        not held at a last event that clock shows was dated wrong. An explicit time
        (history replay) earlier than that is refused. `verdict`: the clock's verdict
        when the caller has read it already (a tap reads it with its card).
        """
        if explicit is not None:
            moment = explicit if explicit.tzinfo else explicit.replace(tzinfo=UTC)
            if self._last_time is not None and moment < self._last_time:
                raise ClockBehind(
                    f"{moment.isoformat()} is earlier than the last recorded event "
                    f"({self._last_time.isoformat()}); replay history in order"
                )
            return moment.astimezone(UTC)
        if verdict is None:
            verdict = timekeeper.verdict(self.ledger)
        timing = event_time(self._clock(), self._last_time, verdict)
        self.clock_behind = timing.held
        return timing.at

    def _commit(self, outcome: Outcome, card_ref: str, now: datetime, staff: str | None) -> Outcome:
        changes = outcome.changes
        if not changes:
            return outcome

        def events(first_seq: int) -> tuple[Event, ...]:
            return record(
                changes,
                card_ref=card_ref,
                kiosk_id=self.kiosk_id,
                program_version=self.program.version,
                now=now,
                new_id=self._new_id,
                first_seq=first_seq,
                staff_ref=staff,
            )

        self.ledger.append_next(card_ref, events)
        self._last_time = now
        return outcome

    def use_card_page(self, base_url: str, links: LinkBook, write: bool = True) -> None:
        """Give each new card its own page link under `base_url` (kept in `links`)."""
        self.link_base, self.links, self.write_links = base_url, links, write

    def _page_link(self, outcome: Outcome, ref: str, now: datetime) -> tuple[Outcome, str | None]:
        """A new card (or one whose link was revoked, or a second tap of a card whose link
        this kiosk does not hold) draws its link's token; a second tap shows its QR code."""
        if self.links is None:
            return outcome, None
        url = self.links.url_for(ref) if isinstance(outcome, Cooldown) else None
        token = None
        if draws_link(outcome, now, url is not None):
            token = token_from(self._random(TOKEN_BYTES))
            outcome, url = with_link(outcome, token), page_url(self.link_base, token)
        qr = None if url is None else qr_modules(url)
        return on_second_tap(outcome, qr, fresh=token is not None), token

    def tap(
        self,
        uid: bytes,
        now: datetime | None = None,
        basket: Basket | None = None,
        on_decided: Callable[[Outcome], object] | None = None,
    ) -> Outcome:
        """A customer's card touched the reader; `basket` is the till's, for points per euro.

        `on_decided` is told the outcome once the rules have decided it and before it is
        committed, so a caller can start slow work (rendering the screen) while the disk
        syncs. The outcome is only recorded when this method returns: show it no earlier.
        """
        unfit = self.unfit(uid)
        if unfit is not None:
            return Refused(reason=unfit)
        ref = self.card_ref(uid)
        view = self.ledger.card_view(ref, timekeeper.READINGS)
        moment = self.now(now, timekeeper.verdict_of(view.meta))
        outcome = decide_tap(self.program, view.card, moment, view.customer, basket)
        outcome, token = self._page_link(outcome, ref, moment)
        if on_decided is not None:
            on_decided(outcome)
        committed = self._commit(outcome, ref, moment, None)
        if token is not None and self.links is not None:  # only once its digest is on disk
            self.links.remember(ref, uid, page_url(self.link_base, token), self.write_links)
        return committed

    def booster(self, now: datetime | None = None) -> int:
        """The stamp multiplier of the booster running now (1: none), for the idle screen."""
        running = active_booster(self.program, self.now(now))
        return 1 if running is None else running.multiplier

    def expiry_due(self, now: datetime | None = None) -> bool:
        """Whether today's expiry pass is still to run (or to finish)."""
        if self.program.expiry is Expiry.OFF:
            return False
        today = self.now(now).astimezone(self.program.tz).date().isoformat()
        return self._expiry_walk is not None or self.ledger.get_meta(EXPIRY_DAY_KEY) != today

    def expire_due(self, now: datetime | None = None, limit: int = 16) -> int:
        """One slice of the daily expiry pass: check the next `limit` cards and record an
        `expired` event for each with stamps due (at most EXPIRY_COMMITS of them: the
        slice stops early). Returns how many cards lost stamps.

        Call it until `expiry_due()` is false; the walk resumes where the last slice
        stopped, and the finished day is kept in the ledger so a restart does not redo it.
        """
        if self.program.expiry is Expiry.OFF:
            return 0
        moment = self.now(now)
        if self._expiry_walk is None:
            today = moment.astimezone(self.program.tz).date().isoformat()
            if self.ledger.get_meta(EXPIRY_DAY_KEY) == today:
                return 0
            self._expiry_walk = ("", today)
        after, day = self._expiry_walk
        refs = self.ledger.card_refs(after, limit)
        expired = 0
        for checked, ref in enumerate(refs, 1):
            outcome = decide_expiry(self.program, self.ledger.card(ref), moment)
            if outcome.changes:
                self._commit(outcome, ref, moment, None)
                expired += 1
                if expired == EXPIRY_COMMITS and checked < len(refs):
                    # each commit is an fsync: the slice ends here, the walk resumes after it
                    self._expiry_walk = (ref, day)
                    return expired
        if len(refs) < limit:
            self.ledger.set_meta({EXPIRY_DAY_KEY: day})
            self._expiry_walk = None
        else:
            self._expiry_walk = (refs[-1], day)
        return expired

    def known_card(self, uid: bytes) -> CardState:
        """The state of a card this kiosk knows; UnknownCard otherwise."""
        ref = self.identify(uid)
        if ref is None:
            raise UnknownCard("this UID changes at every tap (a phone): it cannot be a loyalty card")
        state = self.ledger.card(ref)
        if not state.enrolled:
            raise UnknownCard("this card is not enrolled here (tap it once to enrol it)")
        return state

    def redeem(
        self,
        uid: bytes,
        reward_id: str | None = None,
        now: datetime | None = None,
        staff_ref: str | None = None,
    ) -> Outcome:
        """Staff redeem a voucher of the card."""
        state = self.known_card(uid)
        moment = self.now(now)
        outcome = decide_redeem(self.program, state, moment, reward_id)
        return self._commit(outcome, state.card_ref, moment, staff_ref)

    def undo(self, uid: bytes, now: datetime | None = None, staff_ref: str | None = None) -> Outcome:
        """Staff take back the card's last stamp (within the undo window)."""
        state = self.known_card(uid)
        moment = self.now(now)
        events = self.ledger.events(state.card_ref)
        last_stamp = max(
            (i for i, e in enumerate(events) if e.kind is EventKind.STAMP), default=len(events)
        )
        outcome = decide_undo(self.program, state, events[last_stamp:], moment, self.staff)
        return self._commit(outcome, state.card_ref, moment, staff_ref)

    def adjust(
        self, ref: str, delta: int, reason: str, staff_ref: str, now: datetime | None = None
    ) -> Outcome:
        """Staff add or take `delta` stamps by hand on the card `ref`, saying why (a
        ValueError naming the fix for an adjustment that cannot be recorded as typed)."""
        moment = self.now(now)
        outcome = decide_adjust(self.program, self.ledger.card(ref), delta, reason, moment)
        return self._commit(outcome, ref, moment, staff_ref)

    def donate(self, ref: str, staff_ref: str, reward_id: str | None = None,
               now: datetime | None = None) -> Outcome:
        """Staff give one of the card's vouchers to the program's cause (kiosk.core.giving)."""
        moment = self.now(now)
        outcome = decide_donate(self.program, self.ledger.card(ref), moment, reward_id)
        return self._commit(outcome, ref, moment, staff_ref)

    def replace(
        self, old_ref: str, new_ref: str, staff_ref: str, now: datetime | None = None,
        merge: bool = False,
    ) -> Outcome:
        """A lost card's balance moves to a new card, and the old card is blocked: both
        cards' events in one durable transaction."""
        moment = self.now(now)
        outcome = decide_replace(
            self.program, self.ledger.card(old_ref), self.ledger.card(new_ref), moment, merge
        )
        if not isinstance(outcome, Replaced):
            return outcome
        old_changes, new_changes = outcome.old_changes, outcome.changes

        def events(first: int) -> tuple[Event, ...]:
            given = record(
                old_changes, card_ref=old_ref, kiosk_id=self.kiosk_id,
                program_version=self.program.version, now=moment, new_id=self._new_id,
                first_seq=first, staff_ref=staff_ref,
            )
            received = record(
                new_changes, card_ref=new_ref, kiosk_id=self.kiosk_id,
                program_version=self.program.version, now=moment, new_id=self._new_id,
                first_seq=first + len(given), staff_ref=staff_ref,
            )
            return (*given, *received)

        self.ledger.append_next(old_ref, events)
        self._last_time = moment
        return outcome

    def todays_figures(self, now: datetime | None = None) -> Outcome:
        """Taps, new cards, rewards and pending sync of the local day, for staff (reading
        that day's events only, whatever the ledger's age)."""
        moment = self.now(now)
        start, end = _local_day(moment, self.program.tz)
        today = todays_figures(
            self.ledger.events_between(start, end), moment, self.program.tz,
            self.ledger.outbox().pending,
        )
        return figures(today)

    def forget_due(self, now: datetime | None = None) -> int:
        """One slice of retention, between taps: forget synced events older than
        `retention` (at most RETENTION_SLICE looked at), then give back up to
        RECLAIM_PAGES free pages. One walk a day, a slice at most every RETENTION_PAUSE;
        returns how many events went."""
        moment = self.now(now)
        if self._retention_next is not None and moment < self._retention_next:
            return 0
        self._retention_next = moment + RETENTION_PAUSE
        today = moment.astimezone(self.program.tz).date().isoformat()
        forgotten = 0
        if self._retention_walk is not None or self._retention_day != today:
            step = self.ledger.forget_synced(
                moment - self.retention, self._retention_walk or 0, RETENTION_SLICE
            )
            forgotten, self._retention_walk = step.count, step.resume
            if step.resume is None:
                self._retention_day = today
        self.ledger.reclaim(RECLAIM_PAGES)
        return forgotten

    def history(self, uid: bytes) -> list[Event]:
        return self.ledger.events(self.known_card(uid).card_ref)

"""The ledger: the only code that touches SQLite.

One file under `state_dir` holds the append-only event journal (which is also the sync
outbox) and the card cache (each card's folded state, so a tap reads one row). WAL with
`synchronous=FULL`: a commit is on disk before `append` returns, so a stamp the customer
sees is durable. Raw UIDs never reach this module; cards are known by their card_ref.

Each thread opens its own `Ledger` on the same file; WAL lets the sync worker read while a
tap writes. A `Ledger` may be handed from the thread that opened it to the one that uses
it (the daemon builds everything in its main thread), but never used by two at once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from kiosk.adapters.ledger_base import LedgerBase
from kiosk.adapters.ledger_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    migrate,
    prepare,
)
from kiosk.adapters.ledger_tables import (
    FORGOTTEN_UNTIL,
    CardView,
    Forgotten,
    OutboxStats,
    Span,
    card_state,
    customer_of,
    fold_into_base,
    put_customers,
    put_states,
    state_in,
    storage_error,
)
from kiosk.core.events import EVENT_NAMES, CardState, Event, apply
from kiosk.core.perks import Customer
from kiosk.errors import StorageError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "CardView", "Forgotten", "Ledger", "OutboxStats", "Span"]

# the events table holds every field of kiosk.core.events.Event, in its order
_EVENT_COLUMNS = ", ".join(EVENT_NAMES)
_INSERT_EVENT = (
    f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' for _ in EVENT_NAMES)})"
)


# MAX(seq) has no index to use: it read every event at every tap (4 ms and the whole table
# through the page cache at 25,000 events). Events are only ever appended, each batch
# numbered from the previous maximum, so the newest row holds the maximum.
_LAST_SEQ = "COALESCE((SELECT seq FROM events ORDER BY rowid_ DESC LIMIT 1), 0)"
_CARD_AND_SEQ = f"SELECT (SELECT state FROM cards WHERE card_ref = ?), {_LAST_SEQ}"
_CARD_VIEW = (
    "SELECT (SELECT state FROM cards WHERE card_ref = ?1), "
    "(SELECT value FROM meta WHERE key = ?2), "
    "customers.card_ref IS NOT NULL, customers.first_name, customers.birthday "
    "FROM (SELECT ?1 AS card_ref) AS tapped "
    "LEFT JOIN customers ON customers.card_ref = tapped.card_ref"
)


def _row_to_event(row: Sequence[object]) -> Event:
    return Event.from_row(tuple(row))


def _stored_time(moment: datetime) -> str:
    """How a time is stored: UTC ISO 8601, so text order is time order."""
    return moment.astimezone(UTC).isoformat()


BUSY_SECONDS = 10.0  # how long a statement waits for another process's lock


def _write_ahead(db: sqlite3.Connection) -> None:
    """Put the ledger in WAL mode (a no-op once it is). While another process is switching
    the same new file at that moment, SQLite answers "locked" at once instead of waiting
    on its busy timeout (seen with several `kiosk` processes opening a new ledger on a
    loaded machine): ask again, for as long as a statement would wait."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class Ledger(LedgerBase):
    """Events and card cache in one SQLite file."""

    @classmethod
    def open(cls, path: Path, tz: tzinfo = UTC, *, autocheckpoint: bool = True) -> Ledger:
        """Open (creating and migrating if needed) the ledger at `path`.

        `autocheckpoint=False` is for the tap path: SQLite otherwise copies the WAL into
        the main file (more writes, two more fsyncs) inside whichever commit crosses its
        1,000-page mark, which on an SD card turns one tap in ~150 into a slow one. A
        `Checkpointer` thread does that work between taps instead.
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # touching a made ledger would write its inode at every open
                path.touch(mode=0o600, exist_ok=True)  # owner-only from its creation, whatever the umask
        except OSError as error:
            raise StorageError(f"ledger {path}: cannot create {path.parent}: {error.strerror}") from None
        try:
            db = sqlite3.connect(
                path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            prepare(db)
            _write_ahead(db)
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            # a tap reads a few B-tree paths; SQLite's default 2 MiB page cache only ever
            # filled with pages read once (RSS on a 512 MB Pi). Misses come from the OS cache.
            db.execute("PRAGMA cache_size = -512")
            if not autocheckpoint:
                db.execute("PRAGMA wal_autocheckpoint = 0")
            ledger = cls(db, path, tz)
            migrate(db, path)
        except sqlite3.Error as error:
            raise storage_error(error, path) from None
        return ledger

    # --- cards -------------------------------------------------------------------------

    def card_view(self, card_ref: str, meta_key: str) -> CardView:
        """A card's state, its customer and the meta value `meta_key`: what a tap reads
        before deciding, in one statement (three statements cost three times SQLite's
        and sqlite3's per-statement work on every tap)."""
        text, meta, held, first_name, birthday = self._query(_CARD_VIEW, (card_ref, meta_key)).fetchone()
        return CardView(
            card=CardState(card_ref=card_ref) if text is None else card_state(text),
            customer=customer_of(first_name, birthday) if held else None,
            meta=None if meta is None else str(meta),
        )

    def card(self, card_ref: str) -> CardState:
        """The cached state of a card (a fresh, unenrolled state for an unknown card)."""
        row = self._query("SELECT state FROM cards WHERE card_ref = ?", (card_ref,)).fetchone()
        if row is None:
            return CardState(card_ref=card_ref)
        return card_state(row[0])

    def cards(self) -> Iterator[CardState]:
        for (state,) in self._query("SELECT state FROM cards ORDER BY card_ref"):
            yield card_state(state)

    def card_refs(self, after: str = "", limit: int = 100) -> list[str]:
        """Up to `limit` known card refs sorted after `after`: a walk over every card in
        slices (the daily expiry pass), each slice one short query."""
        rows = self._query(
            "SELECT card_ref FROM cards WHERE card_ref > ? ORDER BY card_ref LIMIT ?", (after, limit)
        )
        return [ref for (ref,) in rows]

    def _put_cards(self, db: sqlite3.Connection, states: Sequence[CardState]) -> None:
        put_states(db, "cards", states)

    # --- events ------------------------------------------------------------------------

    def append(self, events: Sequence[Event]) -> CardState | None:
        """Record one tap's events and update their card, in one durable transaction (a
        card replacement records both cards' events in one).

        Returns the new state of the last event's card (None when `events` is empty).
        """
        if not events:
            return None
        with self._transaction() as db:
            return self._record(db, events, {})

    def append_next(self, card_ref: str, build: Callable[[int], Sequence[Event]]) -> CardState | None:
        """Record the events `build` makes from the next sequence number, as `append` does.

        The number is read inside the write transaction, with the card's row, in one
        statement: no other writer can take it in between, and the transaction re-reads
        the card (another connection, the sync worker's, may have changed it since the tap
        decided) without a statement of its own. `card_ref` names the card of the first
        event; a later event's card is read on its own."""
        with self._transaction() as db:
            text, last = db.execute(_CARD_AND_SEQ, (card_ref,)).fetchone()
            events = build(int(last) + 1)
            if not events:
                return None
            state = CardState(card_ref) if text is None else card_state(text)
            return self._record(db, events, {card_ref: state})

    def _record(
        self, db: sqlite3.Connection, events: Sequence[Event], states: dict[str, CardState]
    ) -> CardState:
        """Insert `events` and store their cards' new states (`states`: those already
        read in this transaction); the last event's card's state."""
        for ref in dict.fromkeys(e.card_ref for e in events):
            if ref not in states:
                states[ref] = state_in(db, "cards", ref)
        db.executemany(_INSERT_EVENT, [e.to_row() for e in events])
        for event in events:
            states[event.card_ref] = apply(states[event.card_ref], event, self._tz)
        self._put_cards(db, list(states.values()))
        return states[events[-1].card_ref]

    def next_seq(self) -> int:
        row = self._query(f"SELECT {_LAST_SEQ}").fetchone()
        return int(row[0]) + 1

    def last_event_time(self) -> datetime | None:
        row = self._query("SELECT MAX(occurred_at) FROM events").fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    def events(self, card_ref: str | None = None) -> list[Event]:
        """Every event in the order it was recorded, of one card or of all."""
        where, args = ("WHERE card_ref = ?", (card_ref,)) if card_ref else ("", ())
        rows = self._query(f"SELECT {_EVENT_COLUMNS} FROM events {where} ORDER BY rowid_", args)
        return [_row_to_event(r) for r in rows]

    def events_between(self, start: datetime, end: datetime) -> list[Event]:
        """The events that occurred in [start, end), read through the time index: today's
        figures cost the day's events, not the journal."""
        rows = self._query(
            f"SELECT {_EVENT_COLUMNS} FROM events INDEXED BY events_time "
            "WHERE occurred_at >= ? AND occurred_at < ? ORDER BY occurred_at, rowid_",
            (_stored_time(start), _stored_time(end)),
        )
        return [_row_to_event(r) for r in rows]

    def recent_card_refs(self, limit: int, scan: int) -> list[str]:
        """Up to `limit` cards with the newest events here, newest first, from at most
        `scan` of the newest events (the idle refresh: never a walk over every card)."""
        refs: dict[str, None] = {}
        rows = self._query("SELECT card_ref FROM events ORDER BY rowid_ DESC LIMIT ?", (scan,))
        for (ref,) in rows:
            refs.setdefault(str(ref))
            if len(refs) == limit:
                break
        return list(refs)

    # --- outbox ------------------------------------------------------------------------

    def pending(self, limit: int) -> list[Event]:
        """The oldest events not yet accepted by the central API (rejected ones excluded)."""
        rows = self._query(
            f"SELECT {_EVENT_COLUMNS} FROM events "
            "WHERE synced_at IS NULL AND rejected_reason IS NULL ORDER BY rowid_ LIMIT ?",
            (limit,),
        )
        return [_row_to_event(r) for r in rows]

    def settle(
        self,
        synced: Sequence[str],
        rejected: Mapping[str, str],
        remote_cards: Sequence[CardState],
        at: datetime,
        customers: Mapping[str, Customer | None] | None = None,
    ) -> None:
        """Apply one answer of the central API in one transaction.

        `synced`: ids the server named as stored (accepted or already known);
        `rejected`: id -> reason, kept aside and never sent again;
        `remote_cards`: the server's fold of each card (every kiosk's events). The cache of
        such a card becomes that state plus this kiosk's events the server has not got yet.
        `customers`: card_ref -> the customer the server holds (None: none, so forget it).
        """
        stamp = at.astimezone(UTC).isoformat()
        with self._transaction() as db:
            newly = db.executemany(
                "UPDATE events SET synced_at = ? WHERE id = ? AND synced_at IS NULL",
                [(stamp, i) for i in synced],
            ).rowcount
            if newly > 0:
                db.execute("UPDATE tallies SET value = value + ? WHERE name = 'synced'", (newly,))
            db.executemany(
                "UPDATE events SET rejected_reason = ? WHERE id = ? AND synced_at IS NULL",
                [(reason or "rejected", i) for i, reason in rejected.items()],
            )
            merged = []
            for remote in remote_cards:
                rows = db.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM events WHERE card_ref = ? "
                    "AND synced_at IS NULL AND rejected_reason IS NULL ORDER BY rowid_",
                    (remote.card_ref,),
                )
                state = remote
                for row in rows:
                    state = apply(state, _row_to_event(row), self._tz)
                merged.append(state)
            self._put_cards(db, merged)
            erased = put_customers(db, customers) if customers else 0
        self._forget_erased(erased)

    def requeue(self, ids: Sequence[str]) -> None:
        """Put events kept aside back in the outbox (refused for a time now acceptable)."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE events SET rejected_reason = NULL WHERE id = ? AND synced_at IS NULL",
                [(i,) for i in ids],
            )

    def rejected(self, newest: int = -1) -> list[tuple[Event, str]]:
        """Events the central API rejected, with the reason, oldest first (the `newest`
        ones only, when given)."""
        rows = self._query(
            f"SELECT {_EVENT_COLUMNS}, rejected_reason FROM ("
            f"SELECT {_EVENT_COLUMNS}, rejected_reason, rowid_ FROM events "
            "INDEXED BY events_rejected WHERE rejected_reason IS NOT NULL "
            "ORDER BY rowid_ DESC LIMIT ?) ORDER BY rowid_",
            (newest,),
        )
        return [(_row_to_event(tuple(r)[:-1]), str(tuple(r)[-1])) for r in rows]

    def outbox(self) -> OutboxStats:
        """Pending, rejected and synced counts: the pending and rejected rows through their
        partial indexes, the synced count from its tally (never a scan of the journal)."""
        pending, oldest = self._query(
            "SELECT COUNT(*), MIN(occurred_at) FROM events INDEXED BY events_outbox "
            "WHERE synced_at IS NULL AND rejected_reason IS NULL"
        ).fetchone()
        (rejected,) = self._query(
            "SELECT COUNT(*) FROM events INDEXED BY events_rejected "
            "WHERE rejected_reason IS NOT NULL"
        ).fetchone()
        return OutboxStats(
            pending=int(pending),
            oldest_pending=None if oldest is None else datetime.fromisoformat(oldest),
            rejected=int(rejected),
            synced=self._tally("synced"),
        )

    # --- retention: synced events older than the retention age leave the kiosk ----------

    def forget_synced(self, before: datetime, after: int = 0, limit: int = 200) -> Forgotten:
        """One slice of retention: of the next `limit` events recorded after row `after`,
        forget those the central API has stored (synced) that occurred before `before`.

        Each is first folded into its card's base, so the cache stays the fold of every
        event (base + kept ones). Pending and rejected events are never forgotten, nor
        the newest event (it carries the next sequence number and the clock's floor).
        Call again from `Forgotten.resume` until it is None.
        """
        if self._tally("synced") <= self._tally("forgotten"):
            return Forgotten(0, None)  # nothing synced is held here (or no central at all)
        cutoff = _stored_time(before)
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT rowid_, synced_at, {_EVENT_COLUMNS} FROM events "
                "WHERE rowid_ > ? AND rowid_ < (SELECT MAX(rowid_) FROM events) "
                "ORDER BY rowid_ LIMIT ?",
                (after, limit),
            ).fetchall()
            old = [r for r in rows if str(r[10]) < cutoff]
            gone = [(int(r[0]), _row_to_event(r[2:])) for r in old if r[1] is not None]
            if gone:
                fold_into_base(db, [event for _, event in gone], self._tz)
                db.executemany("DELETE FROM events WHERE rowid_ = ?", [(i,) for i, _ in gone])
                db.execute(
                    "UPDATE tallies SET value = value + ? WHERE name = 'forgotten'", (len(gone),)
                )
                newest = max(_stored_time(event.occurred_at) for _, event in gone)
                db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                    "SET value = MAX(value, excluded.value)",
                    (FORGOTTEN_UNTIL, newest),
                )
        # events are recorded in time order: a row at or past the cutoff ends the walk
        done = len(rows) < limit or len(old) < len(rows)
        return Forgotten(len(gone), None if done else int(rows[-1][0]))

    # --- maintenance -------------------------------------------------------------------

    def rebuild_cards(self) -> int:
        """Recompute every cached card from its base (the fold of its forgotten events)
        and the journal (after a restore or a bug)."""
        with self._transaction() as db:
            states = {
                str(ref): card_state(state)
                for ref, state in db.execute("SELECT card_ref, state FROM card_base")
            }
            for row in db.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY rowid_"):
                event = _row_to_event(row)
                state = states.get(event.card_ref) or CardState(event.card_ref)
                states[event.card_ref] = apply(state, event, self._tz)
            db.execute("DELETE FROM cards")
            self._put_cards(db, list(states.values()))
        return len(states)

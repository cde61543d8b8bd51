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

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from kiosk.core.events import EVENT_NAMES, CardState, Event, apply
from kiosk.core.perks import Customer
from kiosk.errors import SchemaTooNew, StorageError

# the events table holds every field of kiosk.core.events.Event, in its order
_EVENT_COLUMNS = ", ".join(EVENT_NAMES)
_INSERT_EVENT = (
    f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' for _ in EVENT_NAMES)})"
)

# Each entry migrates the schema from version i to i + 1. Never edit a shipped entry.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        rowid_ INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kiosk_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        card_ref TEXT NOT NULL,
        kind TEXT NOT NULL,
        delta INTEGER NOT NULL,
        reward_id TEXT,
        program_version TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        staff_ref TEXT,
        synced_at TEXT,
        rejected_reason TEXT
    );
    CREATE INDEX events_card ON events (card_ref);
    CREATE INDEX events_outbox ON events (rowid_) WHERE synced_at IS NULL AND rejected_reason IS NULL;
    CREATE TABLE cards (
        card_ref TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: customers who consented (first name, birthday), as the central API last said;
    # a row exists only with consent, and goes when the server says there is no customer
    """
    CREATE TABLE customers (
        card_ref TEXT PRIMARY KEY,
        first_name TEXT,
        birthday TEXT,
        consent INTEGER NOT NULL CHECK (consent = 1)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_pending: datetime | None
    rejected: int
    synced: int


def _row_to_event(row: Sequence[object]) -> Event:
    return Event.from_row(tuple(row))


def _storage_error(error: sqlite3.Error, path: Path) -> StorageError:
    text = str(error)
    if "full" in text:
        hint = "the disk is full: free some space; nothing was recorded"
    elif "disk I/O error" in text:
        hint = "the disk refused the write (full, or a failing SD card); nothing was recorded"
    elif "readonly" in text or "read-only" in text:
        hint = "the state directory is read-only: check its mount and owner"
    elif "unable to open" in text:
        hint = "cannot open the ledger file: check that the state directory exists and is writable"
    elif "malformed" in text or "not a database" in text:
        hint = "the ledger file is damaged: restore it from a backup"
    elif "locked" in text:
        hint = "the ledger is busy (is another kiosk process running on the same state_dir?)"
    else:
        hint = text
    return StorageError(f"ledger {path}: {hint}")


class Ledger:
    """Events and card cache in one SQLite file."""

    def __init__(self, connection: sqlite3.Connection, path: Path, tz: tzinfo = UTC) -> None:
        self._db = connection
        self.path = path
        self._tz = tz

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
        except OSError as error:
            raise StorageError(f"ledger {path}: cannot create {path.parent}: {error.strerror}") from None
        try:
            db = sqlite3.connect(
                path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            # a tap reads a few B-tree paths; SQLite's default 2 MiB page cache only ever
            # filled with pages read once (RSS on a 512 MB Pi). Misses come from the OS cache.
            db.execute("PRAGMA cache_size = -512")
            if not autocheckpoint:
                db.execute("PRAGMA wal_autocheckpoint = 0")
            ledger = cls(db, path, tz)
            ledger._migrate()
        except sqlite3.Error as error:
            raise _storage_error(error, path) from None
        return ledger

    def close(self) -> None:
        self._db.close()

    def use_tz(self, tz: tzinfo) -> None:
        """Count stamp days in `tz` from the next append on (the running program's zone)."""
        self._tz = tz

    def checkpoint(self) -> tuple[int, int]:
        """Copy the WAL's committed pages into the main file without waiting on anyone
        (a PASSIVE checkpoint: writers go on meanwhile). Returns (pages in the WAL, pages
        copied)."""
        try:
            _busy, logged, copied = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:
            raise _storage_error(error, self.path) from None
        return int(logged), int(copied)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise _storage_error(error, self.path) from None

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"ledger {self.path} has schema version {version}, this kiosk knows up to "
                f"{SCHEMA_VERSION}: upgrade the kiosk software; the file was not touched"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction() as db:
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    # --- cards -------------------------------------------------------------------------

    def card(self, card_ref: str) -> CardState:
        """The cached state of a card (a fresh, unenrolled state for an unknown card)."""
        row = self._query("SELECT state FROM cards WHERE card_ref = ?", (card_ref,)).fetchone()
        if row is None:
            return CardState(card_ref=card_ref)
        return CardState.from_dict(json.loads(row[0]))

    def cards(self) -> Iterator[CardState]:
        for (state,) in self._query("SELECT state FROM cards ORDER BY card_ref"):
            yield CardState.from_dict(json.loads(state))

    def card_refs(self, after: str = "", limit: int = 100) -> list[str]:
        """Up to `limit` known card refs sorted after `after`: a walk over every card in
        slices (the daily expiry pass), each slice one short query."""
        rows = self._query(
            "SELECT card_ref FROM cards WHERE card_ref > ? ORDER BY card_ref LIMIT ?", (after, limit)
        )
        return [ref for (ref,) in rows]

    def _put_cards(self, db: sqlite3.Connection, states: Sequence[CardState]) -> None:
        db.executemany(
            "INSERT INTO cards (card_ref, state) VALUES (?, ?) "
            "ON CONFLICT (card_ref) DO UPDATE SET state = excluded.state",
            [(s.card_ref, json.dumps(s.to_dict(), sort_keys=True)) for s in states],
        )

    # --- events ------------------------------------------------------------------------

    def append(self, events: Sequence[Event]) -> CardState | None:
        """Record one tap's events and update their card, in one durable transaction.

        Returns the card's new state (None when `events` is empty).
        """
        if not events:
            return None
        card_refs = {e.card_ref for e in events}
        if len(card_refs) != 1:
            raise ValueError("one tap's events belong to one card")
        with self._transaction() as db:
            state = self._card_in(db, events[0].card_ref)
            db.executemany(_INSERT_EVENT, [e.to_row() for e in events])
            for event in events:
                state = apply(state, event, self._tz)
            self._put_cards(db, [state])
        return state

    def _card_in(self, db: sqlite3.Connection, card_ref: str) -> CardState:
        row = db.execute("SELECT state FROM cards WHERE card_ref = ?", (card_ref,)).fetchone()
        return CardState(card_ref) if row is None else CardState.from_dict(json.loads(row[0]))

    def next_seq(self) -> int:
        # MAX(seq) has no index to use: it read every event at every tap (4 ms and the whole
        # table through the page cache at 25,000 events). Events are only ever appended, each
        # batch numbered from the previous maximum, so the newest row holds the maximum.
        row = self._query(
            "SELECT COALESCE((SELECT seq FROM events ORDER BY rowid_ DESC LIMIT 1), 0)"
        ).fetchone()
        return int(row[0]) + 1

    def last_event_time(self) -> datetime | None:
        row = self._query("SELECT MAX(occurred_at) FROM events").fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    def events(self, card_ref: str | None = None) -> list[Event]:
        """Every event in the order it was recorded, of one card or of all."""
        where, args = ("WHERE card_ref = ?", (card_ref,)) if card_ref else ("", ())
        rows = self._query(f"SELECT {_EVENT_COLUMNS} FROM events {where} ORDER BY rowid_", args)
        return [_row_to_event(r) for r in rows]

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
            db.executemany(
                "UPDATE events SET synced_at = ? WHERE id = ? AND synced_at IS NULL",
                [(stamp, i) for i in synced],
            )
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
            erased = self._put_customers(db, customers) if customers else 0
        self._forget_erased(erased)

    # --- customers (only with consent) -------------------------------------------------

    def customer(self, card_ref: str) -> Customer | None:
        """The consenting customer behind a card, as the central API last said, or None."""
        row = self._query(
            "SELECT first_name, birthday FROM customers WHERE card_ref = ?", (card_ref,)
        ).fetchone()
        if row is None:
            return None
        birthday = None if row[1] is None else date.fromisoformat(str(row[1]))
        return Customer(None if row[0] is None else str(row[0]), birthday, consent=True)

    def customer_refs(self) -> list[str]:
        """Cards whose customer's details are held here (there are few: consent only)."""
        return [str(r[0]) for r in self._query("SELECT card_ref FROM customers ORDER BY card_ref")]

    def _forget_erased(self, erased: int) -> None:
        """After an erasure, move the WAL into the main file and empty it: the frames that
        still held the customer's details are gone rather than left in the journal."""
        if erased:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as error:
                raise _storage_error(error, self.path) from None

    def _put_customers(
        self, db: sqlite3.Connection, customers: Mapping[str, Customer | None]
    ) -> int:
        """Store or forget customers; how many rows were erased."""
        keep = {ref: c for ref, c in customers.items() if c is not None and c.consent}
        gone = [(ref,) for ref in customers if ref not in keep]
        erased = 0
        if gone:
            # overwrite the freed bytes too: an erased name must not linger in the file
            db.execute("PRAGMA secure_delete = ON")
            erased = db.executemany("DELETE FROM customers WHERE card_ref = ?", gone).rowcount
        db.executemany(
            "INSERT INTO customers (card_ref, first_name, birthday, consent) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (card_ref) DO UPDATE SET first_name = excluded.first_name, "
            "birthday = excluded.birthday",
            [
                (ref, c.first_name, None if c.birthday is None else c.birthday.isoformat())
                for ref, c in keep.items()
            ],
        )
        return erased

    def rejected(self) -> list[tuple[Event, str]]:
        rows = self._query(
            f"SELECT {_EVENT_COLUMNS}, rejected_reason FROM events "
            "WHERE rejected_reason IS NOT NULL ORDER BY rowid_"
        )
        return [(_row_to_event(tuple(r)[:-1]), str(tuple(r)[-1])) for r in rows]

    def outbox(self) -> OutboxStats:
        row = self._query(
            "SELECT "
            "SUM(synced_at IS NULL AND rejected_reason IS NULL), "
            "MIN(CASE WHEN synced_at IS NULL AND rejected_reason IS NULL THEN occurred_at END), "
            "SUM(rejected_reason IS NOT NULL), "
            "SUM(synced_at IS NOT NULL) FROM events"
        ).fetchone()
        return OutboxStats(
            pending=int(row[0] or 0),
            oldest_pending=None if row[1] is None else datetime.fromisoformat(row[1]),
            rejected=int(row[2] or 0),
            synced=int(row[3] or 0),
        )

    # --- small facts (last sync, program tag, ...) -----------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._query("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, values: Mapping[str, str]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    # --- maintenance -------------------------------------------------------------------

    def _query(self, sql: str, args: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as error:
            raise _storage_error(error, self.path) from None


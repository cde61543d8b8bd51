"""The ledger's connection and the parts of it that are not the event journal: its
transactions, small facts (meta, tallies), the consenting customers, and the space it
takes. `kiosk.adapters.ledger.Ledger` adds the journal and the card cache."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Self

from kiosk.adapters.ledger_schema import incremental
from kiosk.adapters.ledger_tables import (
    FORGOTTEN_UNTIL,
    Span,
    customer_of,
    put_customers,
    state_in,
    storage_error,
)
from kiosk.core.binding import Holding
from kiosk.core.events import CardState
from kiosk.core.perks import Customer

FINGERPRINT = "site_key.fingerprint"  # meta: the site key's fingerprint (never the key)
LEDGER_ID = "ledger.id"  # meta: drawn when the ledger was bound, kept by its backups


class LedgerBase:
    """One SQLite connection to the ledger file (see `Ledger`)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, tz: tzinfo = UTC) -> None:
        self._db = connection
        self.path = path
        self._tz = tz

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
            raise storage_error(error, self.path) from None
        return int(logged), int(copied)

    def __enter__(self) -> Self:
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
            raise storage_error(error, self.path) from None

    def _query(self, sql: str, args: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as error:
            raise storage_error(error, self.path) from None

    def _tally(self, name: str) -> int:
        row = self._query("SELECT value FROM tallies WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

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

    # --- the site key this ledger belongs to, and whether its file is sound ------------

    def bind(self, fingerprint: str, ledger_id: str) -> tuple[str, str]:
        """Record the site key's fingerprint and this ledger's id unless already recorded
        (two processes binding at first start keep the first's); returns those recorded."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                [(FINGERPRINT, fingerprint), (LEDGER_ID, ledger_id)],
            )
        return str(self.get_meta(FINGERPRINT)), str(self.get_meta(LEDGER_ID))

    def holding(self) -> Holding:
        """The fingerprint this ledger keeps, and whether it holds events or cards."""
        held = self._query(
            "SELECT EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM cards)"
        ).fetchone()[0]
        return Holding(fingerprint=self.get_meta(FINGERPRINT), holds_data=bool(held))

    def damage(self, shown: int = 3) -> str | None:
        """What SQLite's quick_check finds wrong in the file (its first `shown` lines), or
        None when it is sound. It reads every page once: see the README for its cost."""
        try:
            lines = [str(r[0]) for r in self._db.execute(f"PRAGMA quick_check({int(shown)})")]
        except sqlite3.DatabaseError as error:
            return str(error)
        return None if lines == ["ok"] else "; ".join(lines)

    def copy_to(self, target: sqlite3.Connection) -> None:
        """Copy the whole ledger into `target` with SQLite's online backup: one read
        transaction, so the copy is one consistent moment and writers (WAL) go on."""
        try:
            self._db.backup(target)
        except sqlite3.Error as error:
            raise storage_error(error, self.path) from None

    # --- customers (only with consent) -------------------------------------------------

    def customer(self, card_ref: str) -> Customer | None:
        """The consenting customer behind a card, as the central API last said, or None."""
        row = self._query(
            "SELECT first_name, birthday FROM customers WHERE card_ref = ?", (card_ref,)
        ).fetchone()
        return None if row is None else customer_of(row[0], row[1])

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
                raise storage_error(error, self.path) from None

    def set_customers(self, customers: Mapping[str, Customer | None]) -> None:
        """Store or forget customers (card_ref -> Customer, or None to forget)."""
        with self._transaction() as db:
            erased = put_customers(db, customers)
        self._forget_erased(erased)

    # --- space: what retention leaves, and giving freed pages back ------------------------

    def base(self, card_ref: str) -> CardState:
        """The fold of the card's forgotten events (a fresh state when none were)."""
        return state_in(self._db, "card_base", card_ref)

    def reclaim(self, pages: int) -> int:
        """Give up to `pages` free pages back to the file system (incremental vacuum, one
        short transaction); returns how many free pages are left. (A ledger too big to
        convert when it was upgraded keeps them: new events fill them instead.)"""
        try:
            free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
            if free and incremental(self._db):
                # executescript steps the pragma to its end; execute() frees one page only
                # (0 would mean the whole free list: a long pause, never wanted here)
                self._db.executescript(f"PRAGMA incremental_vacuum({max(1, int(pages))})")
            return int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        except sqlite3.Error as error:
            raise storage_error(error, self.path) from None

    def span(self) -> Span:
        """What the journal held here covers: its first and last event, and the events
        forgotten under retention (all synced to the central API) before them."""
        # two subqueries: MIN and MAX in one SELECT would scan the whole index
        first, last = self._query(
            "SELECT (SELECT MIN(occurred_at) FROM events), (SELECT MAX(occurred_at) FROM events)"
        ).fetchone()
        until = self.get_meta(FORGOTTEN_UNTIL)
        return Span(
            first=None if first is None else datetime.fromisoformat(first),
            last=None if last is None else datetime.fromisoformat(last),
            forgotten=self._tally("forgotten"),
            forgotten_until=None if until is None else datetime.fromisoformat(until),
        )

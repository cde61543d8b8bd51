"""The ledger's schema and its migrations, for `kiosk.adapters.ledger` only.

Creating or upgrading a ledger is one exclusive transaction that reads the schema version
inside it: two processes opening the same file at once (the daemon at first boot and a
staff `kiosk status`, or two `kiosk tap`s) then take turns, and the second finds the work
done instead of creating the same tables again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kiosk.errors import SchemaTooNew

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
    # 3: what a routine question reads is bounded by its answer, not by the history.
    # events_time: today's figures and the last event's time read a day, not the journal;
    # events_rejected: the rejected count reads the rejected rows only;
    # card_base: each card's fold of its events forgotten under retention (synced, old),
    # so cache = base + kept events still holds; tallies: counts no query should recount.
    """
    CREATE INDEX events_time ON events (occurred_at);
    CREATE INDEX events_rejected ON events (rowid_) WHERE rejected_reason IS NOT NULL;
    CREATE TABLE card_base (
        card_ref TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    CREATE TABLE tallies (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    INSERT INTO tallies (name, value)
        SELECT 'synced', COUNT(*) FROM events WHERE synced_at IS NOT NULL;
    INSERT INTO tallies (name, value) VALUES ('forgotten', 0);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
INCREMENTAL = 2  # PRAGMA auto_vacuum: freed pages are given back by `incremental_vacuum`
# An older ledger is rewritten for incremental vacuum only up to this size: the rewrite
# holds up the start (about a second per 40 MB here, several on a Pi Zero), and systemd
# gives the start 60 s. A bigger one keeps its free pages for new events instead.
CONVERT_MAX_BYTES = 64 * 2**20


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"ledger {path} has schema version {version}, this kiosk knows up to "
            f"{SCHEMA_VERSION}: upgrade the kiosk software; the file was not touched"
        )


def prepare(db: sqlite3.Connection) -> None:
    """Before anything else on a new connection: a new file is made with incremental
    vacuum (it can only be chosen before the first table, or by a VACUUM)."""
    # only when not so already: on a made file the pragma writes its header page again,
    # at every open (each sync round opens the ledger)
    if not incremental(db):
        db.execute(f"PRAGMA auto_vacuum = {INCREMENTAL}")


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the schema of the ledger at `path` (an autocommit connection)."""
    version = _version(db)
    _refuse_newer(version, path)
    if version < SCHEMA_VERSION:
        # EXCLUSIVE: no other process reads a half-made schema, and the version read
        # below is the one this transaction changes
        db.execute("BEGIN EXCLUSIVE")
        try:
            version = _version(db)
            _refuse_newer(version, path)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    if not incremental(db) and path.stat().st_size <= CONVERT_MAX_BYTES:
        # A ledger made before incremental vacuum: rewrite it once so that space freed by
        # retention can be given back in small slices later. A VACUUM cannot run inside a
        # transaction; a process that loses the race waits on the lock, then repeats a
        # harmless VACUUM of a file already converted.
        db.execute("VACUUM")


def incremental(db: sqlite3.Connection) -> bool:
    """Whether freed pages can be given back to the file system a slice at a time."""
    return int(db.execute("PRAGMA auto_vacuum").fetchone()[0]) == INCREMENTAL

"""Ledger files as earlier kiosk versions left them, built from frozen copies of their DDL.

These copies never change: they are what shipped, so an upgrade test starts from the file
a kiosk in a shop really has, whatever the current migrations say.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta
from pathlib import Path

# schema version 1, as shipped
V1 = """
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
"""

# schema version 2, as shipped: version 1 plus the consenting customers
V2 = V1 + """
CREATE TABLE customers (
    card_ref TEXT PRIMARY KEY,
    first_name TEXT,
    birthday TEXT,
    consent INTEGER NOT NULL CHECK (consent = 1)
);
"""

SCHEMAS = {0: "", 1: V1, 2: V2}  # 0: a file in WAL mode with no table yet


def make_old_ledger(path: Path, version: int, stamps: int, synced: int, start: datetime) -> None:
    """A ledger file at schema `version` holding `stamps` stamp events of one card, one a
    day from `start`, the first `synced` of them synced. Written the way those kiosks
    wrote: WAL, no auto-vacuum."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMAS[version] + f"PRAGMA user_version = {version};")
    if not version:
        db.close()
        return
    rows = []
    for n in range(stamps):
        at = (start + timedelta(days=n)).isoformat()
        rows.append((
            str(uuid.uuid4()), "kiosk-old", n + 1, "ab" * 32, "stamp", 1, None, "1", at, None,
            at if n < synced else None,
        ))
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO events (id, kiosk_id, seq, card_ref, kind, delta, reward_id, "
        "program_version, occurred_at, staff_ref, synced_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.execute("COMMIT")
    db.close()

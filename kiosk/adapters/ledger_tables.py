"""Row-level helpers of `kiosk.adapters.ledger`: the card cache's JSON rows, the card
bases kept by retention, the consenting customers, and the results the ledger returns.
Each function works inside a transaction the ledger opened."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

from kiosk.core.cardtext import card_json
from kiosk.core.events import CardState, Event, apply
from kiosk.core.perks import Customer
from kiosk.errors import StorageError

FORGOTTEN_UNTIL = "retention.forgotten_until"  # meta: the newest event forgotten so far


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_pending: datetime | None
    rejected: int
    synced: int  # every event the central API has stored, forgotten ones included


@dataclass(frozen=True)
class Forgotten:
    """One slice of retention: events forgotten, and the row to resume after (None: done)."""

    count: int
    resume: int | None


@dataclass(frozen=True)
class Span:
    """The time range of the events held here, and how many were forgotten before it."""

    first: datetime | None
    last: datetime | None
    forgotten: int
    forgotten_until: datetime | None


# A tap reads its card's row twice: to decide, then again inside the write transaction
# (another connection, the sync worker's, may have changed it in between). The text is
# nearly always the same; parsing it (JSON, then the dates and buckets) was a tenth of a
# tap's instructions. CardState is immutable, so one parsed text serves every reader.
PARSED_KEPT = 64
_parsed: dict[str, CardState] = {}


def card_state(text: str) -> CardState:
    state = _parsed.get(text)
    if state is None:
        state = CardState.from_dict(json.loads(text))
        if len(_parsed) >= PARSED_KEPT:
            _parsed.clear()
        _parsed[text] = state
    return state


def card_rows(states: Iterable[CardState]) -> list[tuple[str, str]]:
    return [(s.card_ref, card_json(s)) for s in states]


def put_states(db: sqlite3.Connection, table: str, states: Iterable[CardState]) -> None:
    """Store card states in `cards` (the cache) or `card_base` (the forgotten events)."""
    db.executemany(
        f"INSERT INTO {table} (card_ref, state) VALUES (?, ?) "
        "ON CONFLICT (card_ref) DO UPDATE SET state = excluded.state",
        card_rows(states),
    )


def state_in(db: sqlite3.Connection, table: str, card_ref: str) -> CardState:
    """A card's state from `cards` or `card_base` (a fresh state when it has none)."""
    row = db.execute(f"SELECT state FROM {table} WHERE card_ref = ?", (card_ref,)).fetchone()
    return CardState(card_ref) if row is None else card_state(row[0])


def fold_into_base(db: sqlite3.Connection, events: Iterable[Event], tz: tzinfo) -> None:
    """Add events about to be forgotten to their cards' bases. The fold is commutative,
    so base + the kept events is the fold of every event, whatever the order."""
    bases: dict[str, CardState] = {}
    for event in events:
        base = bases.get(event.card_ref) or state_in(db, "card_base", event.card_ref)
        bases[event.card_ref] = apply(base, event, tz)
    put_states(db, "card_base", bases.values())


def customer_of(first_name: object, birthday: object) -> Customer:
    """A `customers` row's customer (a row exists only with consent)."""
    born = None if birthday is None else date.fromisoformat(str(birthday))
    return Customer(None if first_name is None else str(first_name), born, consent=True)


@dataclass(frozen=True)
class CardView:
    """What deciding a tap reads, in one statement: the card, its customer (None: none
    held) and one meta value (the clock's readings)."""

    card: CardState
    customer: Customer | None
    meta: str | None


def put_customers(db: sqlite3.Connection, customers: Mapping[str, Customer | None]) -> int:
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


def storage_error(error: sqlite3.Error, path: Path) -> StorageError:
    """A SQLite error as the operator's message, naming the fix."""
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
        hint = ("the ledger file is damaged: restore it from a `kiosk backup` copy (README: "
                "Backup and restore), or begin anew with `kiosk start-over`")
    elif "locked" in text:
        hint = "the ledger is busy (is another kiosk process running on the same state_dir?)"
    else:
        hint = text
    return StorageError(f"ledger {path}: {hint}")

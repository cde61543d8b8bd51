"""Shared helpers for the sync tests: a central server on loopback, kiosks that talk to it.

Everything is real: the central server is uvicorn on 127.0.0.1 over a SQLite file, each
kiosk has its own state directory and ledger, tokens live in files like on a Pi.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from central.serving import Limits
from central.testing import add_kiosk, running_server
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync import SyncWorker
from kiosk.config import Config
from kiosk.core.events import EVENT_NAMES, Event, fold
from kiosk.served import ServedPrograms
from kiosk.service import Counter
from tests.support.kiosk_config import make_config

# Fast retries and a short read timeout keep fault runs quick.
FAST_CENTRAL: dict[str, Any] = {
    "connect_timeout": 1.0,
    "read_timeout": 0.6,
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "retry_after_max": 5.0,
    "interval": 0.05,
}
# Every tap stamps: no cooldown, no cap, so a test controls the count exactly.
EVERY_TAP_STAMPS: dict[str, Any] = {"cooldown_minutes": 0, "daily_cap": 0, "timezone": "UTC"}


@dataclass(frozen=True)
class Central:
    """A running central server and where its data lives."""

    url: str
    db: Path
    root: Path

    def token_file(self, kiosk_id: str) -> Path:
        """Register `kiosk_id` and write its token to a file, as an installer would."""
        path = self.root / f"{kiosk_id}.token"
        path.write_text(add_kiosk(str(self.db), kiosk_id) + "\n", encoding="utf-8")
        return path

    def event_ids(self, kiosk_id: str | None = None) -> list[str]:
        """Every stored event id (one row per stored event; duplicates would show twice)."""
        return server_event_ids(self.db, kiosk_id)

    def stamps(self, card_ref: str) -> int:
        """The card's balance: the fold of every event the central stored for it (not a
        sum of deltas: a card enrolled at two kiosks counts its welcome bonus once)."""
        with sqlite3.connect(self.db) as db:
            rows = db.execute(f"SELECT {', '.join(EVENT_NAMES)} FROM events WHERE card_ref = ?",
                              (card_ref,)).fetchall()
        return fold(card_ref, [Event.from_row(row) for row in rows]).stamps


def server_event_ids(db_path: Path, kiosk_id: str | None = None) -> list[str]:
    with sqlite3.connect(db_path) as db:
        if kiosk_id is None:
            rows = db.execute("SELECT id FROM events").fetchall()
        else:
            rows = db.execute("SELECT id FROM events WHERE kiosk_id = ?", (kiosk_id,)).fetchall()
    return [str(r[0]) for r in rows]


def sqlite_integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


UNHURRIED = Limits(rate=10_000, burst=100_000)


@contextmanager
def central_server(root: Path, limits: Limits = UNHURRIED) -> Iterator[Central]:
    """A real central server on a free loopback port, over a SQLite file under `root`.

    Its per-kiosk rate limit is lifted unless `limits` says otherwise: these servers test
    sync and exactly-once, with kiosks restarted and drained as fast as a test can;
    the limit itself has its own tests (test_central_limits)."""
    root.mkdir(parents=True, exist_ok=True)
    db = root / "central.sqlite3"
    with running_server(str(db), limits=limits) as url:
        yield Central(url, db, root)


def kiosk_setup(
    state_dir: Path,
    url: str,
    token_file: Path | str,
    kiosk_id: str = "kiosk-1",
    site_key_file: Path | None = None,
    program: dict[str, Any] | None = None,
    **central: Any,
) -> Config:
    """A kiosk config syncing to `url` with fast retries; every tap stamps."""
    kiosk: dict[str, Any] = {"id": kiosk_id}
    if site_key_file is not None:
        kiosk["site_key_file"] = str(site_key_file)
    return make_config(
        state_dir,
        kiosk=kiosk,
        central={"url": url, "token_file": str(token_file), **FAST_CENTRAL, **central},
        program={**EVERY_TAP_STAMPS, **(program or {})},
    )


def worker_for(config: Config, **kwargs: Any) -> SyncWorker:
    """The sync worker as the daemon builds it: served programs go on the service layer's shelf."""
    kwargs.setdefault("programs", ServedPrograms())
    return SyncWorker(config.central, config.kiosk.ledger_path, config.program.to_program().tz,
                      **kwargs)


def local_event_ids(config: Config) -> list[str]:
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        return [e.id for e in ledger.events()]


def local_synced_ids(config: Config) -> set[str]:
    """Ids the kiosk has marked synced (read straight from its SQLite file)."""
    if not config.kiosk.ledger_path.exists():
        return set()
    with sqlite3.connect(config.kiosk.ledger_path) as db:
        rows = db.execute("SELECT id FROM events WHERE synced_at IS NOT NULL").fetchall()
    return {str(r[0]) for r in rows}


def tap_cards(config: Config, uids: list[bytes]) -> list[str]:
    """Tap each UID once at this kiosk; the ids of the events recorded."""
    made: list[str] = []

    def new_id() -> str:
        made.append(str(uuid.uuid4()))
        return made[-1]

    counter = Counter.open(config, new_id=new_id)
    try:
        for uid in uids:
            counter.tap(uid)
    finally:
        counter.close()
    return made


def uid(n: int) -> bytes:
    """A fixed 7-byte card UID (not a random-ID phone UID)."""
    return bytes([0x04]) + n.to_bytes(6, "big")

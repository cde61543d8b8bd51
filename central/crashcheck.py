"""SIGKILL a real `kiosk-central serve` while a kiosk uploads; prove nothing acknowledged is
lost or stored twice, and that the database (SQLite or PostgreSQL) stays sound.

    python -m central.crashcheck --kills 200     # prints a JSON report; exit 1 on a loss

`crash_run()` is what the test suite (a few kills) and `make soak` (many) call.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from central.db import events, open_database
from central.testing import Client, ServerProcess, add_kiosk, event_dict
from central.validate import body_sha256
from kiosk.core.events import Event

KIOSK = "crash-kiosk"


@dataclass
class CrashReport:
    kills: int = 0
    batches_sent: int = 0
    events_acknowledged: int = 0
    events_stored: int = 0
    lost: int = 0
    duplicated: int = 0
    altered: int = 0
    rejected: int = 0
    partial_batches: int = 0  # a killed upload found half-written (must stay 0)
    integrity: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bad = self.lost or self.duplicated or self.altered or self.rejected
        return not (bad or self.partial_batches) and (
            self.integrity == "ok"
        )


class _Kiosk:
    """Uploads batches in order, re-sending the one in flight after a crash, like a kiosk."""

    def __init__(self, token: str, rng: random.Random, batch_size: int) -> None:
        self.token, self.rng, self.batch_size = token, rng, batch_size
        self.seq = 0
        self.cards = [f"{rng.getrandbits(256):064x}" for _ in range(20)]
        self.sent: dict[str, dict[str, Any]] = {}
        self.acked: set[str] = set()
        self.acked_batches: list[list[dict[str, Any]]] = []
        self.pending: list[dict[str, Any]] | None = None
        self.requests = 0
        self.rejected: list[str] = []
        self.progress = threading.Condition()

    def _new_batch(self) -> list[dict[str, Any]]:
        batch = []
        for _ in range(self.batch_size):
            self.seq += 1
            event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
            event = event_dict(
                KIOSK, self.rng.choice(self.cards), self.seq, datetime.now(UTC),
                event_id=event_id,
            )
            self.sent[event_id] = event
            batch.append(event)
        return batch

    def upload(self, url: str, stop: threading.Event, max_batches: int | None = None) -> None:
        """Post batches until the server dies, `stop` is set, or max_batches are sent."""
        client = Client(url, self.token, timeout=10)
        sent = 0
        while not stop.is_set() and (max_batches is None or sent < max_batches):
            if self.pending is None:
                resend = self.acked_batches and self.rng.random() < 0.1
                self.pending = self.rng.choice(self.acked_batches) if resend else self._new_batch()
            with self.progress:
                self.requests += 1
                self.progress.notify_all()
            try:
                reply = client.post_events(self.pending)
            except (OSError, http.client.HTTPException):
                return  # the server died under us: this batch stays pending
            if reply.status != 200:
                return
            for result in reply.json()["results"]:
                if result["status"] == "rejected":
                    self.rejected.append(f"{result['id']}: {result['reason']}")
                else:
                    self.acked.add(result["id"])
            self.acked_batches.append(self.pending)
            self.pending = None
            sent += 1
        client.close()

    def wait_for_requests(self, count: int, timeout: float) -> None:
        with self.progress:
            self.progress.wait_for(lambda: self.requests >= count, timeout=timeout)


def _stored_of(db_url: str, batch: list[dict[str, Any]]) -> int:
    """How many of a batch's events the (stopped) server's database holds."""
    db = open_database(db_url)
    try:
        with db.engine.connect() as conn:
            ids = [e["id"] for e in batch]
            return int(conn.execute(
                select(func.count()).select_from(events).where(events.c.id.in_(ids))
            ).scalar_one())
    finally:
        db.dispose()


def _integrity(conn: Connection, is_sqlite: bool) -> str:
    """"ok" when the database finds its files sound (SQLite's integrity check; on
    PostgreSQL amcheck over the events' primary key, which a torn insert would break)."""
    if is_sqlite:
        return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
    conn.exec_driver_sql("SELECT bt_index_parent_check('events_pkey', true)")
    return "ok"


def _verify(db_url: str, kiosk: _Kiosk, report: CrashReport) -> None:
    db = open_database(db_url)
    try:
        with db.engine.connect() as conn:
            report.integrity = _integrity(conn, db.is_sqlite)
            counts: dict[str, int] = {
                row[0]: row[1]
                for row in conn.execute(select(events.c.id, func.count()).group_by(events.c.id))
            }
            hashes: dict[str, str] = {
                row[0]: row[1] for row in conn.execute(select(events.c.id, events.c.body_sha256))
            }
    finally:
        db.dispose()
    report.events_acknowledged = len(kiosk.acked)
    report.events_stored = sum(counts.values())
    report.lost = len(kiosk.acked - set(counts))
    report.duplicated = sum(1 for n in counts.values() if n > 1)
    report.altered = sum(
        1 for eid in kiosk.acked & set(hashes)
        if hashes[eid] != body_sha256(Event.from_dict(kiosk.sent[eid]))
    )
    report.rejected = len(kiosk.rejected)
    report.problems = kiosk.rejected[:5]


def crash_run(
    workdir: Path, kills: int, *, seed: int | None = None, batch_size: int = 50,
    db: str | None = None,
) -> CrashReport:
    """Kill the server `kills` times at random moments of an upload, then check the store
    (a SQLite file in `workdir`, or the database `db` names)."""
    rng = random.Random(seed)
    db_url = db or str(workdir / "central.sqlite3")
    kiosk = _Kiosk(add_kiosk(db_url, KIOSK), rng, batch_size)
    report = CrashReport()
    for _ in range(kills):
        server = ServerProcess(db_url)
        stop = threading.Event()
        uploader = threading.Thread(target=kiosk.upload, args=(server.url, stop), daemon=True)
        uploader.start()
        kiosk.wait_for_requests(kiosk.requests + rng.randint(1, 3), timeout=30)
        time.sleep(rng.uniform(0, 0.03))  # a random point inside a request, not a sync wait
        server.kill()
        stop.set()
        uploader.join(timeout=30)
        report.kills += 1
        pending = kiosk.pending
        if pending is not None and _stored_of(db_url, pending) not in (0, len(pending)):
            report.partial_batches += 1
    # After the last restart the kiosk re-sends what was in flight and one more batch.
    server = ServerProcess(db_url)
    try:
        kiosk.upload(server.url, threading.Event(), max_batches=2)
    finally:
        server.stop()
    report.batches_sent = kiosk.requests
    _verify(db_url, kiosk, report)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--dir", default=None, help="keep the database here (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.dir or tmp)
        os.makedirs(workdir, exist_ok=True)
        report = crash_run(workdir, args.kills, seed=args.seed)
    print(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Drain a 10,000-event backlog to a loopback central server: batches vs one per request.

    python -m bench.sync [--events 10000] [--batch-size N] [--sample 1000] [--cards 2000]

--batch-size defaults to the shipped `central.batch_size`, what a kiosk really sends.

A kiosk ledger is filled with an offline day's worth of stamps (round-robin over many
cards, as a busy shop would make them), then the real SyncWorker drains it to a real
`kiosk-central serve` child process. Sending one event per request is measured on a
sample and extrapolated to the whole backlog (said so in the JSON). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from central.testing import add_kiosk
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync import SyncWorker
from kiosk.config import from_mapping
from kiosk.core.events import Event, EventKind
from kiosk.served import ServedPrograms

TARGET_SECONDS = 3.0
TARGET_RATIO = 20.0


@contextmanager
def central_process(db: Path) -> Iterator[str]:
    """`kiosk-central serve` on a free loopback port; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "central.cli", "serve", "--db", str(db), "--port", "0",
         "--log-level", "error"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "http://" not in line:
            raise RuntimeError(f"kiosk-central serve did not start (said {line!r})")
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def fill_backlog(path: Path, kiosk_id: str, events: int, cards: int, rng: random.Random) -> None:
    """`events` stamps over `cards` cards, interleaved, each committed like a tap."""
    refs = [f"{rng.getrandbits(256):064x}" for _ in range(cards)]
    start = datetime.now(UTC) - timedelta(hours=10)
    with Ledger.open(path) as ledger:
        # several stamps per append keep the set-up quick; the order stays interleaved
        per_append = 5
        seq = 1
        for first in range(0, events, per_append):
            ref = refs[(first // per_append) % cards]
            group = [
                Event(
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), kiosk_id=kiosk_id,
                    seq=seq + i, card_ref=ref, kind=EventKind.STAMP, delta=1, reward_id=None,
                    program_version="1", occurred_at=start + timedelta(seconds=seq + i),
                )
                for i in range(min(per_append, events - first))
            ]
            ledger.append(group)
            seq += len(group)


def drain(root: Path, url: str, db: Path, name: str, events: int, batch_size: int,
          cards: int, rng: random.Random) -> dict[str, Any]:
    token_file = root / f"{name}.token"
    token_file.write_text(add_kiosk(str(db), name) + "\n", encoding="utf-8")
    config = from_mapping({
        "kiosk": {"id": name, "state_dir": str(root / name), "locale": "en"},
        "central": {"url": url, "token_file": str(token_file), "batch_size": batch_size,
                    "read_timeout": 60.0},
    }, "bench")
    fill_backlog(config.kiosk.ledger_path, name, events, cards, rng)
    # as the daemon builds it: a round also asks the central for a newer program
    worker = SyncWorker(config.central, config.kiosk.ledger_path, programs=ServedPrograms())
    try:
        started = time.perf_counter()
        report = worker.sync_once()
        seconds = time.perf_counter() - started
    finally:
        worker.close()
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        left = ledger.outbox().pending
    if not report.ok or left or report.accepted != events:
        raise RuntimeError(f"drain incomplete: {report}, {left} left")
    return {"events": events, "requests": report.batches, "seconds": round(seconds, 3)}


def run(events: int = 10_000, batch_size: int | None = None, sample: int = 1_000, cards: int = 2_000
        ) -> dict[str, Any]:
    """Drain `events` in batches (of the shipped `central.batch_size` unless told) and
    `sample` one per request; the figures as a dict."""
    if batch_size is None:
        batch_size = from_mapping({}).central.batch_size
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as scratch:
        root = Path(scratch)
        db = root / "central.sqlite3"
        add_kiosk(str(db), "warm-up")  # creates the schema before the server opens it
        with central_process(db) as url:
            batched = drain(root, url, db, "kiosk-batched", events, batch_size, cards, rng)
            single = drain(root, url, db, "kiosk-single", sample, 1, min(cards, sample), rng)
    per_event = single["seconds"] / sample
    extrapolated = per_event * events
    ratio = extrapolated / batched["seconds"]
    return {
        "backlog_events": events,
        "batch_size": batch_size,
        "drain_seconds": batched["seconds"],
        "drain_requests": batched["requests"],
        "events_per_second": round(events / batched["seconds"]),
        "one_per_request": {
            "sample_events": sample,
            "sample_seconds": single["seconds"],
            "extrapolated_seconds_for_backlog": round(extrapolated, 2),
            "extrapolated": True,
        },
        "speedup_vs_one_per_request": round(ratio, 1),
        "targets": {"drain_seconds_max": TARGET_SECONDS, "speedup_min": TARGET_RATIO},
        "met": batched["seconds"] <= TARGET_SECONDS and ratio >= TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--cards", type=int, default=2_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.events, args.batch_size, args.sample, args.cards)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

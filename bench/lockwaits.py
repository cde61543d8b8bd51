"""What PostgreSQL's backends wait on while bench.central's ingest runs on it.

    python -m bench.lockwaits [--workers 2] [--quick]

A private durable cluster (as bench.scale starts it); while `serve --workers N` takes the
ingest, a separate connection samples every 20 ms the wait event of each client backend of
the database (pg_stat_activity), the lock requests not granted (pg_locks: type, table,
the waiting statement) and what the transactions they wait for are doing
(pg_blocking_pids). Prints one JSON object: the ingest's figures, then the counts of
samples, most frequent first. A row every upload writes shows here as `transactionid`
waits on its statement; "waiting backends per sample" is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import central
from bench.scale import FULL, QUICK, Sizes, databases

_WAITS = text(
    "SELECT wait_event_type, wait_event, state FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'")
_NOT_GRANTED = text(
    "SELECT l.locktype, l.relation::regclass::text AS relation, left(a.query, 60) AS query "
    "FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted")
_BLOCKERS = text(
    "SELECT b.state, left(b.query, 60) AS query FROM pg_stat_activity a, "
    "unnest(pg_blocking_pids(a.pid)) AS blocker JOIN pg_stat_activity b ON b.pid = blocker "
    "WHERE a.datname = current_database()")
PERIOD_S = 0.02


def _top(counts: Counter[str], n: int = 10) -> list[list[Any]]:
    return [[key, count] for key, count in counts.most_common(n)]


def run(sizes: Sizes, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-lockwaits-") as tmp, \
            databases(Path(tmp)) as fresh:
        url = fresh("postgresql")
        engine = create_engine(url)
        stop = threading.Event()
        waits: Counter[str] = Counter()
        not_granted: Counter[str] = Counter()
        blockers: Counter[str] = Counter()
        samples = [0]

        def sample() -> None:
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                while not stop.wait(PERIOD_S):
                    samples[0] += 1
                    for row in conn.execute(_WAITS):
                        waits[f"{row.wait_event_type}/{row.wait_event} ({row.state})"] += 1
                    for row in conn.execute(_NOT_GRANTED):
                        not_granted[f"{row.locktype} {row.relation or ''}: {row.query}"] += 1
                    for row in conn.execute(_BLOCKERS):
                        blockers[f"{row.state}: {row.query}"] += 1

        sampler = threading.Thread(target=sample, name="lock-sampler")
        sampler.start()
        try:
            ingest = central.run(sizes.kiosks, sizes.batches, sizes.batch_size, Path(tmp),
                                 db=url, workers=workers)
        finally:
            stop.set()
            sampler.join()
            engine.dispose()
    waiting = sum(not_granted.values())
    return {
        "method": f"bench.central's ingest ({sizes.kiosks} kiosks x {sizes.batches} batches "
                  f"of {sizes.batch_size}) on `serve --workers {workers}`, PostgreSQL durable; "
                  f"pg_stat_activity, pg_locks and pg_blocking_pids sampled every "
                  f"{PERIOD_S * 1000:.0f} ms from another connection",
        "ingest": {k: v for k, v in ingest.items() if k != "failures"},
        "samples": samples[0],
        "waiting_backends_per_sample": round(waiting / max(samples[0], 1), 2),
        "wait_events": _top(waits),
        "lock_requests_not_granted": _top(not_granted),
        "what_the_waited_for_transactions_were_doing": _top(blockers),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(QUICK if args.quick else FULL, args.workers), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

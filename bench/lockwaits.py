"""What PostgreSQL's backends wait on while bench.central's ingest runs on it.

    python -m bench.lockwaits [--workers 2] [--quick]

A private durable cluster (as bench.scale starts it); while `serve --workers N` takes the
ingest, a separate connection samples every 20 ms the wait event of each client backend of
the database (pg_stat_activity), the lock requests not granted (pg_locks: type, table,
the waiting statement) and what the transactions they wait for are doing
(pg_blocking_pids). Prints one JSON object: the ingest's figures, then the counts of
samples, most frequent first. A row every upload writes shows here as `transactionid`
waits on its statement; "waiting backends per sample" is the figure to compare.

Beside the waits, what PostgreSQL itself spent per event over the ingest: WAL bytes
(`pg_current_wal_lsn`), WAL records and full-page images (`pg_stat_wal`), WAL flushes
(fsyncs) per second, rows per event by table (inserted, updated, of which HOT: no new
index entry), WAL bytes per event by the table or index its records change
(pg_walinspect), the CPU of the cluster's processes (the postmaster's process tree, from
/proc) and the machine's busy share (/proc/stat: 1.0 is every core busy, whoever used it;
on a shared machine read it beside the load average).
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
from sqlalchemy.exc import SQLAlchemyError

from bench import central
from bench.procstat import machine_seconds, postmaster, tree_cpu_seconds
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
_WAL = text(
    "SELECT pg_current_wal_lsn() - CAST('0/0' AS pg_lsn) AS bytes, wal_records, wal_fpi, "
    "wal_sync FROM pg_stat_wal")
# rows each table took (the database is fresh: these are the ingest's, and a few of the
# set-up's); a HOT update wrote no index entry
_ROWS = text(
    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables "
    "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname")
# WAL of the ingest by the relation its records change (pg_walinspect, PostgreSQL 15's
# contrib): a record's first block names the relation's file; commits name none
_LSN = text("SELECT CAST(pg_current_wal_lsn() AS text)")
_WAL_BY_RELATION = text(
    "SELECT COALESCE(CAST(pg_filenode_relation(0, CAST(file AS oid)) AS text), file, "
    "'(none)') AS relation, sum(record_length) AS bytes "
    "FROM (SELECT record_length, substring(block_ref FROM 'rel [0-9]+/[0-9]+/([0-9]+)') "
    "AS file FROM pg_get_wal_records_info(CAST(:start AS pg_lsn), CAST(:end AS pg_lsn))) AS w "
    "GROUP BY 1 ORDER BY 2 DESC LIMIT 12")
PERIOD_S = 0.02


def _wal(engine: Any) -> list[float]:
    with engine.connect() as conn:
        row = conn.execute(_WAL).one()
    return [float(value) for value in row]


def _rows_per_event(engine: Any, events: int) -> dict[str, dict[str, float]]:
    with engine.connect() as conn:
        rows = conn.execute(_ROWS).all()
    return {row.relname: {name: round(value / events, 3) for name, value in (
        ("inserted", row.n_tup_ins), ("updated", row.n_tup_upd),
        ("of_which_hot", row.n_tup_hot_upd), ("deleted", row.n_tup_del)) if value}
        for row in rows}


def _walinspect(engine: Any) -> bool:
    """pg_walinspect in the bench's database, if the cluster has it."""
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_walinspect"))
    except SQLAlchemyError:  # a cluster without contrib: no split, the rest stands
        return False
    return True


def _wal_by_relation(engine: Any, start: str, events: int) -> dict[str, float]:
    """Bytes of WAL per event since `start`, by relation, most first."""
    with engine.connect() as conn:
        end = conn.execute(_LSN).scalar_one()
        rows = conn.execute(_WAL_BY_RELATION, {"start": start, "end": end}).all()
    return {row.relation: round(float(row.bytes) / events, 1) for row in rows}


def postgres_cost(before: list[float], after: list[float], events: int, seconds: float,
                  cpu_s: float, busy: tuple[float, float]) -> dict[str, Any]:
    """PostgreSQL's own figures per event over the ingest."""
    wal_bytes, records, fpi, syncs = (b - a for a, b in zip(before, after, strict=True))
    return {
        "wal_bytes_per_event": round(wal_bytes / events),
        "wal_records_per_event": round(records / events, 2),
        "full_page_images_per_event": round(fpi / events, 3),
        # a write transaction's commit flushes the WAL (read-only ones do not): fsyncs
        "wal_flushes_per_second": round(syncs / seconds),
        "events_per_wal_flush": round(events / max(syncs, 1), 1),
        "postgres_cpu_us_per_event": round(cpu_s / events * 1e6),
        "machine_busy_share": round(busy[0] / max(busy[1], 1e-9), 2),
    }


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
        cluster = postmaster(url)
        marks: dict[str, tuple[float, tuple[float, float]]] = {}

        def mark(moment: str) -> None:  # CPU over the ingest alone, not its set-up
            marks[moment] = (tree_cpu_seconds(cluster), machine_seconds())

        inspect = _walinspect(engine)
        wal_before = _wal(engine)
        with engine.connect() as conn:
            start = conn.execute(_LSN).scalar_one()
        sampler.start()
        try:
            ingest = central.run(sizes.kiosks, sizes.batches, sizes.batch_size, Path(tmp),
                                 db=url, workers=workers, around=mark)
        finally:
            stop.set()
            sampler.join()
        try:
            # read after the server stopped: its backends report their WAL counts on exit
            (cpu_0, (busy_0, all_0)), (cpu_1, (busy_1, all_1)) = marks["start"], marks["end"]
            cost = postgres_cost(wal_before, _wal(engine), ingest["events"],
                                 ingest["seconds"], cpu_1 - cpu_0, (busy_1 - busy_0, all_1 - all_0))
            cost["rows_per_event"] = _rows_per_event(engine, ingest["events"])
            if inspect:
                cost["wal_bytes_per_event_by_relation"] = _wal_by_relation(
                    engine, start, ingest["events"])
        finally:
            engine.dispose()
    waiting = sum(not_granted.values())
    return {
        "method": f"bench.central's ingest ({sizes.kiosks} kiosks x {sizes.batches} batches "
                  f"of {sizes.batch_size}) on `serve --workers {workers}`, PostgreSQL durable; "
                  f"pg_stat_activity, pg_locks and pg_blocking_pids sampled every "
                  f"{PERIOD_S * 1000:.0f} ms from another connection",
        "ingest": {k: v for k, v in ingest.items() if k != "failures"},
        "postgresql": cost,
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

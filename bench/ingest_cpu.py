"""The central's work per uploaded event without HTTP, counted in instructions.

    python -m bench.ingest_cpu [--kiosks 10] [--batches 3] [--postgresql]

What the upload route does after reading the body (token lookup, JSON, the envelope and
event checks, the writer's group commit, the answer's JSON) for `kiosks` x `batches`
uploads of 200 events, bench.central's mix, in this process, on SQLite (`--postgresql`: on
a private PostgreSQL cluster started from Debian's binaries, as the tests start it; its
backends' work is not counted, psycopg's is). The server CPU figures of bench.central
move by a quarter with the machine's load; this one does not: the process re-runs itself
under `valgrind --tool=callgrind --instr-atstart=no` and counts the instructions between
two `callgrind_control` calls around the uploads (all threads). Prints one JSON object;
without valgrind, only the CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import central as mix
from central import store
from central.app import parse
from central.db import open_database
from central.serving import tune_collector
from central.testing import add_kiosk
from central.validate import check_event, envelope
from central.writer import BatchWriter
from tests.support.postgres import Cluster, start_cluster

BATCH = 200
COUNTING = "BENCH_INGEST_CPU_COUNTING"  # set in the child valgrind runs


def uploads(db_url: str, kiosks: int, batches: int) -> dict[str, Any]:
    """Post every kiosk's batch k at once (the writer groups them), k = 1..batches."""
    rng = random.Random(5)
    shared = mix._cards(rng, mix.SHARED_POOL)
    tokens = {f"bench-{k:02d}": add_kiosk(db_url, f"bench-{k:02d}") for k in range(kiosks)}
    bodies = {kid: mix._batches(kid, mix._cards(rng, 200), shared, batches, BATCH, rng)
              for kid in tokens}
    db = open_database(db_url)
    writer = BatchWriter(db)
    tune_collector()  # as a server process runs
    counting = os.environ.get(COUNTING) == "1"
    control = shutil.which("callgrind_control") or "callgrind_control"
    if counting:
        subprocess.run([control, "-i", "on", str(os.getpid())], check=True, capture_output=True)
    began = time.process_time()
    for round_ in range(batches):
        waiting = []
        for kid, token in tokens.items():
            kiosk = store.authenticate(db, token)
            assert kiosk is not None
            moment = datetime.now(UTC)
            items = envelope(parse(bodies[kid][round_]))
            waiting.append(writer.submit(kiosk, [check_event(i, kiosk.id, moment)
                                                 for i in items], moment))
        for future in waiting:
            future.result().to_json()  # the answer's body, as the route sends it
    cpu = time.process_time() - began
    if counting:
        subprocess.run([control, "-d", "uploads", str(os.getpid())], check=True,
                       capture_output=True)
        subprocess.run([control, "-i", "off", str(os.getpid())], check=True,
                       capture_output=True)
    writer.close()
    db.dispose()
    return {"events": kiosks * batches * BATCH,
            "cpu_us_per_event": round(cpu / (kiosks * batches * BATCH) * 1e6, 1)}


def counted(kiosks: int, batches: int, db_url: str | None = None) -> dict[str, Any]:
    """Run `uploads` in a child under callgrind (on a new database `db_url`, else a
    SQLite file of its own); instructions per event."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-cg-") as tmp:
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={tmp}/callgrind.out.%p", sys.executable, "-m",
                   "bench.ingest_cpu", "--kiosks", str(kiosks), "--batches", str(batches),
                   *(["--db-url", db_url] if db_url else [])]
        subprocess.run(command, check=True, capture_output=True,
                       env={**os.environ, COUNTING: "1"})
        for dump in Path(tmp).glob("callgrind.out.*"):
            text = dump.read_text(errors="replace")
            if "uploads" not in text[:2000]:  # the dump named by callgrind_control -d
                continue
            for line in text.splitlines():
                if line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
                    return {"instructions_per_event": round(total / (kiosks * batches * BATCH))}
    raise RuntimeError("callgrind wrote no dump of the uploads")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=10)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--postgresql", action="store_true",
                        help="on a private PostgreSQL cluster instead of a SQLite file")
    parser.add_argument("--db-url", help=argparse.SUPPRESS)  # the counting child's database
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get(COUNTING) == "1":
            uploads(args.db_url or str(Path(tmp) / "central.sqlite3"), args.kiosks,
                    args.batches)
            return 0
        if not args.postgresql:
            return _report(uploads(str(Path(tmp) / "central.sqlite3"), args.kiosks,
                                   args.batches), args, "sqlite", None)
        cluster = start_cluster()
        if not isinstance(cluster, Cluster):
            print(cluster, file=sys.stderr)
            return 1
        try:
            figures = uploads(cluster.fresh_database(), args.kiosks, args.batches)
            return _report(figures, args, "postgresql", cluster.fresh_database())
        finally:
            cluster.stop()


def _report(figures: dict[str, Any], args: argparse.Namespace, database: str,
            counting_db: str | None) -> int:
    figures.update(method=" ".join(__doc__.split("\n\n")[2].split()), database=database)
    if shutil.which("valgrind") and shutil.which("callgrind_control"):
        figures.update(counted(args.kiosks, args.batches, counting_db))
    else:
        figures["instructions_per_event"] = "skipped: install valgrind to count instructions"
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the ledger's integrity checks and its backup cost on ledgers of years of history.

    python -m bench.integrity [--quick] [--out FILE]

Each ledger is built as `bench.history` builds it (EVENTS_PER_DAY a day, cards of recent
months, the card cache by the real `Ledger.rebuild_cards`). Then the real paths are timed:

- start check: `Counter.open(config, check=True)`, what the daemon's start does (binding
  to the site key, then SQLite's `quick_check`), against a plain `Counter.open` (what
  each `kiosk` command does), closed each time;
- doctor: `kiosk.adapters.ledger_binding.health`, the doctor's ledger line;
- integrity_check: SQLite's full check (also checks every index against its table), for
  comparison: the kiosk does not run it;
- backup: `kiosk.adapters.ledger_backup.backup` into a new directory (online backup,
  quick_check of the copy, fsync).

The OS cache holds the file (it was just built): on a Pi's SD card a cold start reads the
whole file once more (quick_check reads every page; about 40 MB per 100,000 events).
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.history import build
from bench.rig import percentiles, publish, size_arguments
from kiosk.adapters.ledger_backup import backup
from kiosk.adapters.ledger_binding import health
from kiosk.config import Config, from_mapping
from kiosk.service import Counter

FULL_SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)


def _timed(action: Callable[[], object], runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1e3)
    return percentiles(samples)


def _open(config: Config, check: bool) -> None:
    Counter.open(config, check=check).close()


def _integrity(path: Path) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def measure(root: Path, size: int, runs: int) -> dict[str, Any]:
    config = from_mapping({"kiosk": {"id": f"kiosk-{size}", "state_dir": str(root / str(size)),
                                     "locale": "en"}}, "bench")
    built = build(config, size, random.Random(size))
    _open(config, False)  # binds the built ledger to its key, as its first start would
    kiosk = config.kiosk
    copies = iter(range(runs))
    return {
        "ledger": built,
        "open_ms": _timed(lambda: _open(config, False), runs),
        "open_with_quick_check_ms": _timed(lambda: _open(config, True), runs),
        "doctor_ledger_ms": _timed(lambda: health(kiosk.site_key_path, kiosk.ledger_path), runs),
        "integrity_check_ms": _timed(lambda: _integrity(kiosk.ledger_path), max(1, runs // 3)),
        "backup_ms": _timed(lambda: backup(kiosk.site_key_path, kiosk.ledger_path,
                                           root / f"backup-{size}-{next(copies)}"), runs),
    }


def main(argv: list[str] | None = None) -> int:
    args = size_arguments("python -m bench.integrity", __doc__, argv)
    runs = 3 if args.quick else 9
    with tempfile.TemporaryDirectory(prefix="bench-integrity-") as scratch:
        by_size = {str(size): measure(Path(scratch), size, runs)
                   for size in (QUICK_SIZES if args.quick else FULL_SIZES)}
    publish({"bench": "ledger integrity and backup", "quick": args.quick,
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "by_size": by_size}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ledger over years: what routine operations cost on ledgers of 10,000 to 1,000,000 events.

    python -m bench.history [--quick] [--out FILE]

For each size a ledger is built the fast way, as a café would have filled it over the
years (EVENTS_PER_DAY a day, a new card every NEW_CARD_EVERY events, the others from the
cards of recent months, all synced but the last PENDING): the schema by `Ledger.open`,
every event in one transaction with executemany, then the card cache by the real
`Ledger.rebuild_cards`. Then the real code paths are timed on it:

- tap: `Counter.tap` of a regular's card (rules, commit with its fsync);
- staff figures: `Counter.todays_figures` (the staff card's third tap);
- status: `kiosk status`, in-process (`kiosk.cli.main`: config, `Counter.open`, counts);
- sync round: `SyncWorker.sync_once(refresh=True)` to a real `kiosk-central serve` on
  loopback, sending the taps made since the previous round and re-reading recent cards;
- expiry slice: `Counter.expire_due(limit=EXPIRY_SLICE)` of the daily pass (expiry by
  inactivity), a thousand days after the last event so that every card is due and each
  slice records its full EXPIRY_COMMITS expirations, at every size;
- retention slice: `Counter.forget_due` (forget old synced events, give pages back) at
  the same moment, so every slice has its full RETENTION_SLICE of events to forget.

Each figure gives the wall time (p50, p90, max) and the process's CPU time (p50): a tap's
wall time is mostly its fsync, which on a shared machine varies with others' disk traffic.

Disk written is /proc/self/io `wchar` (bytes handed to write calls: WAL frames, checkpoint
copies) around the same real calls: a tap with its sync round and checkpoint, and an idle
hour (360 sync rounds 10 s apart on the kiosk's clock, see `_idle_hour`); a day is 200
such taps and 24 idle hours. Target: an idle hour writes at most 1 MiB.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.rig import publish, size_arguments
from bench.sync import central_process
from central.testing import add_kiosk
from kiosk import cli
from kiosk.adapters import timekeeper
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync import SyncWorker
from kiosk.app import EXPIRY_SLICE
from kiosk.config import Config, from_mapping
from kiosk.core.cardid import card_ref
from kiosk.core.clock import NOTE_EVERY, Reading
from kiosk.service import RETENTION_PAUSE, Counter, load_site_key

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 3_000, 10_000)
EVENTS_PER_DAY = 300  # about 200 taps a day with their enrolments and rewards
NEW_CARD_EVERY = 15
RECENT_CARDS = 300  # a visit picks a card among about this many of the newest cards
PENDING = 30
EXPIRY_DAYS = 30
RETENTION_DAYS = 30
TAPS_PER_DAY = 200
SYNC_INTERVAL = 10.0  # the shipped [central] interval: an idle round every 10 s
END = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # the last event of every built ledger
FLAT_RATIO, TAP_MS = 2.0, 5.0
DISK_TAPS = 10  # taps averaged for the bytes written per tap
IDLE_HOUR_BYTES = 2**20  # target: an idle hour writes at most 1 MiB


@contextlib.contextmanager
def _written() -> Iterator[list[int]]:
    """Bytes this process handed to write calls inside the block (box[0])."""
    def wchar() -> int:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
        return 0

    box = [0]
    before = wchar()
    yield box
    box[0] = wchar() - before


def _uid(n: int) -> bytes:
    return b"\x04" + n.to_bytes(6, "big")


def _config(state: Path, kiosk_id: str, url: str, token: Path) -> Config:
    return from_mapping({
        "kiosk": {"id": kiosk_id, "state_dir": str(state), "locale": "en",
                  "retention_days": RETENTION_DAYS},
        "central": {"url": url, "token_file": str(token), "read_timeout": 60.0},
        "program": {"cooldown_minutes": 0, "expiry": "inactivity", "expiry_days": EXPIRY_DAYS},
    }, "bench")


def build(config: Config, size: int, rng: random.Random) -> dict[str, Any]:
    """Fill a new ledger with `size` events ending at END; returns the build's figures."""
    started = time.perf_counter()
    Ledger.open(config.kiosk.ledger_path).close()  # the real schema
    key = load_site_key(config.kiosk.site_key_path)
    step = 86_400 / EVENTS_PER_DAY
    first = END - timedelta(seconds=step * (size - 1))
    refs: list[str] = []
    rows = []
    for i in range(size):
        at = first + timedelta(seconds=step * i)
        if i % NEW_CARD_EVERY == 0:
            refs.append(card_ref(key, _uid(len(refs))))
            ref, kind, delta, reward = refs[-1], "enrolled", 2, None
        else:
            ref = refs[max(0, len(refs) - 1 - int(rng.expovariate(1 / RECENT_CARDS)))]
            kind, delta, reward = ("reward_earned", 0, "reward") if i % 11 == 0 else (
                "stamp", 1, None)
        stored = at.isoformat()
        synced = (at + timedelta(minutes=1)).isoformat() if i < size - PENDING else None
        rows.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), config.kiosk.id,
                     i + 1, ref, kind, delta, reward, "1", stored, synced))
    db = sqlite3.connect(config.kiosk.ledger_path, isolation_level=None)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO events (id, kiosk_id, seq, card_ref, kind, delta, reward_id, "
        "program_version, occurred_at, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("UPDATE tallies SET value = ? WHERE name = 'synced'", (size - PENDING,))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    inserted = time.perf_counter() - started
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        rebuild = time.perf_counter()
        cards = ledger.rebuild_cards()
        rebuild = time.perf_counter() - rebuild
        ledger.checkpoint()
    # the build wrote the whole file just now: let the kernel finish writing it back, or
    # the measured fsyncs queue behind hundreds of MB a years-old ledger never has pending
    os.sync()
    return {"events": size, "cards": cards, "days": round(size / EVENTS_PER_DAY),
            "insert_s": round(inserted, 2), "rebuild_cards_s": round(rebuild, 2),
            "file_mb": round(config.kiosk.ledger_path.stat().st_size / 2**20, 1)}


def _ms(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {"n": len(ordered), "p50": round(statistics.median(ordered) * 1e3, 3),
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))] * 1e3, 3),
            "max": round(ordered[-1] * 1e3, 3)}


class Kiosk:
    """One built ledger with the real Counter and SyncWorker on it, and its own clock."""

    def __init__(self, config: Config, cards: int, runs: int) -> None:
        self.config = config
        self.counter = Counter.open(config)
        self.worker = SyncWorker(config.central, config.kiosk.ledger_path,
                                 self.counter.program.tz, clock=lambda: self.clock)
        self.clock = END
        # regulars: the newest cards, tapped in turn
        self._uids = iter([_uid(n) for n in range(max(0, cards - 20), cards)] * runs * 10)
        self.status_file = config.kiosk.state_dir / "kiosk.toml"
        self.status_file.write_text(
            f'[kiosk]\nid = "{config.kiosk.id}"\nstate_dir = "{config.kiosk.state_dir}"\n'
            f'[central]\nurl = "{config.central.url}"\n'
            f'token_file = "{config.central.token_file}"\n')
        self.expired = self.forgotten = 0

    def tick(self, minutes: float = 1.0) -> datetime:
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def tap(self) -> None:
        self.counter.tap(next(self._uids), self.tick())

    def figures(self) -> None:
        self.counter.todays_figures(self.clock)

    def status(self) -> None:
        cli.main(["--config", str(self.status_file), "status"], out=io.StringIO())

    def sync_round(self) -> None:
        report = self.worker.sync_once(refresh=True)
        if not report.ok:
            raise RuntimeError(f"sync round failed: {report.error}")

    def expiry_slice(self) -> None:
        self.expired += self.counter.expire_due(self.clock, limit=EXPIRY_SLICE)

    def retention_slice(self) -> None:
        self.forgotten += self.counter.forget_due(self.tick(RETENTION_PAUSE / timedelta(minutes=1)))

    def close(self) -> None:
        self.worker.close()
        self.counter.close()


def _interleaved(kiosks: list[Kiosk], runs: int, operation: Callable[[Kiosk], None],
                 before: Callable[[Kiosk], None] | None = None) -> list[dict[str, Any]]:
    """Time `operation` `runs` times on each kiosk, one kiosk after the other in each run,
    so that a noisy moment of a shared machine falls on every size alike."""
    samples: list[list[float]] = [[] for _ in kiosks]
    cpu: list[list[float]] = [[] for _ in kiosks]
    for _ in range(runs):
        for kiosk, times, cpu_times in zip(kiosks, samples, cpu, strict=True):
            if before is not None:
                before(kiosk)
            started, cpu_started = time.perf_counter(), time.process_time()
            operation(kiosk)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
    # CPU time beside the wall clock: a tap's wall time is mostly its fsync, which on a
    # shared machine varies with everyone's disk traffic; its CPU time does not
    return [_ms(times) | {"cpu_p50": round(statistics.median(c) * 1e3, 3)}
            for times, c in zip(samples, cpu, strict=True)]


def measure(kiosks: list[Kiosk], runs: int) -> list[dict[str, Any]]:
    """Every routine operation on every kiosk; one dict of figures per kiosk."""
    figures: list[dict[str, Any]] = [{} for _ in kiosks]

    def record(name: str, results: list[dict[str, Any]]) -> None:
        for figure, result in zip(figures, results, strict=True):
            figure[name] = result

    record("tap_ms", _interleaved(kiosks, runs, Kiosk.tap))
    record("staff_figures_ms", _interleaved(kiosks, runs, Kiosk.figures))
    record("status_ms", _interleaved(kiosks, runs, Kiosk.status))
    for kiosk in kiosks:
        kiosk.worker.sync_once()  # the central learns the backlog's pending events

    def three_taps(kiosk: Kiosk) -> None:
        for _ in range(3):
            kiosk.tap()

    record("sync_round_ms", _interleaved(kiosks, max(3, runs // 3), Kiosk.sync_round,
                                         before=three_taps))
    for kiosk, figure in zip(kiosks, figures, strict=True):
        # before the jump below: the worker runs on the kiosk's clock, and a kiosk a
        # thousand days ahead of the central has its expiries refused and sent again
        figure["disk"] = _disk(kiosk)
    for kiosk in kiosks:
        # far enough on that every card is due to expire and every synced event is past
        # retention, at every size: each slice then does its full share of work
        kiosk.tick(1000 * 24 * 60)
    record("expiry_slice_ms", _interleaved(kiosks, runs, Kiosk.expiry_slice))
    record("retention_slice_ms", _interleaved(kiosks, runs, Kiosk.retention_slice))
    for kiosk, figure in zip(kiosks, figures, strict=True):
        figure["sync_round_ms"]["note"] = "3 taps sent and recent cards re-read from the central"
        figure["expiry_slice_ms"] |= {"cards_per_slice": EXPIRY_SLICE,
                                      "expired_cards": kiosk.expired}
        figure["retention_slice_ms"] |= {"events_forgotten": kiosk.forgotten}
        figure["disk"]["retention_events_per_slice"] = round(kiosk.forgotten / runs, 1)
    return figures


def _disk(kiosk: Kiosk) -> dict[str, Any]:
    """Bytes written by one tap with its sync round and checkpoint, an idle hour, a day."""
    counter, worker = kiosk.counter, kiosk.worker
    counter.ledger.checkpoint()
    tap, tap_sync, tap_checkpoint = [0], [0], [0]
    for _ in range(DISK_TAPS):  # an average: a tap now and then also splits a B-tree page
        with _written() as written:
            kiosk.tap()
        tap[0] += written[0] // DISK_TAPS
        with _written() as written:
            worker.sync_once()
        tap_sync[0] += written[0] // DISK_TAPS
        with _written() as written:
            counter.ledger.checkpoint()
        tap_checkpoint[0] += written[0] // DISK_TAPS
    per_tap = tap[0] + tap_sync[0] + tap_checkpoint[0]
    rounds, readings = _idle_hour(kiosk)
    idle_hour = rounds + readings
    day = TAPS_PER_DAY * per_tap + 24 * idle_hour
    return {
        "per_tap_bytes": tap[0],
        "per_tap_with_its_sync_and_checkpoint_bytes": per_tap,
        "idle_hour_bytes": idle_hour,
        "idle_hour_rounds_bytes": rounds,
        "idle_hour_clock_readings_bytes": readings,
        "idle_hour_within_target": idle_hour <= IDLE_HOUR_BYTES,
        "per_day_mb": round(day / 2**20, 2),
        "per_day_taps_share": round(TAPS_PER_DAY * per_tap / day, 3) if day else None,
        "method": f"/proc/self/io wchar, per tap the mean of {DISK_TAPS}; an idle hour = "
                  f"{round(3600 / SYNC_INTERVAL)} idle sync rounds {SYNC_INTERVAL:g} s apart "
                  "on the kiosk's clock with the minute's checkpoints, plus the clock "
                  "readings kept in it (see _idle_hour); a day = "
                  f"{TAPS_PER_DAY} taps x (tap + its sync round + checkpoint) + 24 idle hours",
    }


def _idle_hour(kiosk: Kiosk) -> tuple[int, int]:
    """Bytes an idle hour writes: its sync rounds and checkpoints, then its clock readings.

    The worker's status and the card refresh run on the kiosk's clock, moved 10 s a
    round here. The central's clock readings are stamped with the real clock, which
    moves only seconds during the rounds, so the readings an hour keeps (one per
    NOTE_EVERY) are written after them the same way the worker would: each on its own
    commit, then checkpointed.
    """
    ledger = kiosk.counter.ledger
    ledger.checkpoint()
    with _written() as rounds:
        for n in range(round(3600 / SYNC_INTERVAL)):
            kiosk.tick(SYNC_INTERVAL / 60)
            kiosk.worker.sync_once()
            if n % round(60 / SYNC_INTERVAL) == 0:
                ledger.checkpoint()  # the checkpoint thread, once a minute
        ledger.checkpoint()
    held = timekeeper.readings(ledger)
    start = held[-1] if held else Reading(datetime.now(UTC), datetime.now(UTC))
    with _written() as readings:
        for n in range(1, round(timedelta(hours=1) / NOTE_EVERY) + 1):
            later = start.local + n * NOTE_EVERY
            timekeeper.note(ledger, [Reading(later, later - start.offset)])
            ledger.checkpoint()
    return rounds[0], readings[0]


def run(sizes: tuple[int, ...] = FULL_SIZES, runs: int = 30) -> dict[str, Any]:
    """Build each ledger, measure them all, and compare the largest with the smallest."""
    rng = random.Random(20)
    built: list[dict[str, Any]] = []
    kiosks: list[Kiosk] = []
    with tempfile.TemporaryDirectory(prefix="bench-history-") as scratch:
        root = Path(scratch)
        db = root / "central.sqlite3"
        add_kiosk(str(db), "warm-up")  # the central's schema before the server opens it
        with central_process(db) as url:
            try:
                for size in sizes:
                    kiosk_id = f"kiosk-{size}"
                    token = root / f"{kiosk_id}.token"
                    token.write_text(add_kiosk(str(db), kiosk_id) + "\n", encoding="utf-8")
                    config = _config(root / kiosk_id, kiosk_id, url, token)
                    print(f"bench.history: building {size:,} events...", file=sys.stderr,
                          flush=True)
                    built.append(build(config, size, rng))
                    kiosks.append(Kiosk(config, built[-1]["cards"], runs))
                figures = measure(kiosks, runs)
            finally:
                for kiosk in kiosks:
                    kiosk.close()
    by_size = {str(size): {"ledger": ledger} | figure
               for size, ledger, figure in zip(sizes, built, figures, strict=True)}
    return _verdict(by_size, sizes)


OPERATIONS = ("tap_ms", "staff_figures_ms", "status_ms", "sync_round_ms", "expiry_slice_ms",
              "retention_slice_ms")


def _verdict(by_size: dict[str, Any], sizes: tuple[int, ...]) -> dict[str, Any]:
    small, large = by_size[str(sizes[0])], by_size[str(sizes[-1])]
    ratios = {op: round(large[op]["p50"] / small[op]["p50"], 2) if small[op]["p50"] else None
              for op in OPERATIONS}
    side_by_side = {op: {size: by_size[size][op]["p50"] for size in by_size} for op in OPERATIONS}
    cpu_side_by_side = {op: {size: by_size[size][op]["cpu_p50"] for size in by_size}
                        for op in OPERATIONS}
    flat = all(r is not None and r <= FLAT_RATIO for r in ratios.values())
    # p50: on this shared machine a p90 is other people's disk flushes as much as ours
    tap_ok = all(by_size[s]["tap_ms"]["p50"] <= TAP_MS for s in by_size)
    idle_ok = all(by_size[s]["disk"]["idle_hour_within_target"] for s in by_size)
    return {
        "method": "bench/history.py docstring; p50 in ms per operation and size, the sizes "
                  "measured in turn within each run",
        "sizes": list(sizes),
        "p50_ms_side_by_side": side_by_side,
        "ratio_largest_to_smallest_p50": ratios,
        "cpu_p50_ms_side_by_side": cpu_side_by_side,
        "disk_per_day_mb": {size: by_size[size]["disk"]["per_day_mb"] for size in by_size},
        "disk_idle_hour_bytes": {size: by_size[size]["disk"]["idle_hour_bytes"]
                                 for size in by_size},
        "targets": {"ratio_max": FLAT_RATIO, "tap_p50_ms_max": TAP_MS,
                    "idle_hour_bytes_max": IDLE_HOUR_BYTES},
        "flat": flat,
        "tap_within_target": tap_ok,
        "idle_hour_within_target": idle_ok,
        "met": flat and tap_ok and idle_ok,
        "by_size": by_size,
    }


def main(argv: list[str] | None = None) -> int:
    args = size_arguments("python -m bench.history", __doc__, argv)
    result = run(QUICK_SIZES if args.quick else FULL_SIZES, runs=8 if args.quick else 30)
    document = {"bench": "ledger over years", "quick": args.quick,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **result}
    publish(document, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Storage per tap: fsync calls and bytes written per tap through Counter on a real file.

    python -m bench.storage [--taps 200]

A child process taps N cards through kiosk.service.Counter on a ledger in a temporary
directory on the same file system as the project, under `strace -f` tracing the write and
sync system calls; markers written to stderr delimit the taps. The child also reads its
own /proc/self/io around the taps. Without strace only the /proc figures are given.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

START, END = "BENCH-STORAGE-START", "BENCH-STORAGE-END"
# the checkpoint the daemon's Checkpointer thread makes between taps, counted apart
CHECKPOINT_START, CHECKPOINT_END = "BENCH-CHECKPOINT-START", "BENCH-CHECKPOINT-END"
SYSCALLS = ("fsync", "fdatasync", "write", "pwrite64", "writev", "pwritev")
ROOT = Path(__file__).parents[1]


def _io() -> dict[str, int]:
    fields = (line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return {key: int(value) for key, value in fields}


def child(state: Path, taps: int) -> None:
    """Tap `taps` cards (some repeated) and report /proc/self/io deltas as JSON on stdout."""
    from kiosk.config import from_mapping
    from kiosk.service import Counter

    config = from_mapping({"kiosk": {"state_dir": str(state)},
                           "program": {"cooldown_minutes": 0}}, "bench")
    counter = Counter.open(config)
    counter.tap(b"\x04warmup")  # the schema and the first pages exist before we count
    uids = [bytes([4]) + (n % max(1, taps // 3)).to_bytes(6, "big") for n in range(taps)]
    before = _io()
    os.write(2, f"{START}\n".encode())
    started = time.perf_counter()
    for uid in uids:
        counter.tap(uid)
    seconds = time.perf_counter() - started
    os.write(2, f"{END}\n".encode())
    after = _io()
    os.write(2, f"{CHECKPOINT_START}\n".encode())
    counter.ledger.checkpoint()  # what kiosk.adapters.checkpoint does every minute
    os.write(2, f"{CHECKPOINT_END}\n".encode())
    counter.close()
    print(json.dumps({key: after[key] - before[key] for key in ("wchar", "write_bytes",
                                                                "syscw")} | {"seconds": seconds}))


def _count(trace: str, start: str = START, end: str = END) -> dict[str, dict[str, int]]:
    """Calls and bytes per system call between two markers of an strace -f log."""
    inside = False
    counts: dict[str, dict[str, int]] = {}
    call = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)")
    for line in trace.splitlines():
        if start in line:
            inside = True
            continue
        if end in line:
            break
        match = call.match(line)
        if not inside or match is None or match.group(1) not in SYSCALLS:
            continue
        name, _args, result = match.groups()
        entry = counts.setdefault(name, {"calls": 0, "bytes": 0})
        entry["calls"] += 1
        if name not in ("fsync", "fdatasync"):
            entry["bytes"] += max(0, int(result))
    return counts


def measure(taps: int) -> dict[str, Any]:
    """Figure 8: fsyncs and bytes per tap."""
    strace = shutil.which("strace")
    with tempfile.TemporaryDirectory(prefix="bench-storage-", dir=ROOT) as tmp:
        trace = Path(tmp) / "trace.txt"
        command = [sys.executable, "-m", "bench.storage", "--child", "--taps", str(taps),
                   "--state", str(Path(tmp) / "state")]
        if strace:
            command = [strace, "-f", "-qq", "-e", f"trace={','.join(SYSCALLS)}",
                       "-e", "signal=none", "-o", str(trace), *command]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"storage child failed: {done.stderr[-500:]}")
        io = json.loads(done.stdout.strip().splitlines()[-1])
        calls = _count(trace.read_text()) if strace else {}
        checkpoint = (_count(trace.read_text(), CHECKPOINT_START, CHECKPOINT_END)
                      if strace else {})
    syncs = sum(calls.get(name, {}).get("calls", 0) for name in ("fsync", "fdatasync"))
    written = sum(entry["bytes"] for name, entry in calls.items() if "write" in name)
    result: dict[str, Any] = {
        "method": "child process taps through kiosk.service.Counter (real SQLite WAL file, "
                  "synchronous=FULL) on the project's file system; strace -f counts "
                  f"{', '.join(SYSCALLS)} between markers; /proc/self/io around the taps",
        "taps": taps,
        "syscalls_per_tap": {name: {"calls": round(e["calls"] / taps, 2),
                                    "bytes": round(e["bytes"] / taps)}
                             for name, e in sorted(calls.items())} if strace else None,
        "fsync_per_tap": round(syncs / taps, 2) if strace else None,
        "bytes_written_per_tap": round(written / taps) if strace else round(io["wchar"] / taps),
        "proc_io_per_tap": {"wchar": round(io["wchar"] / taps),
                            "write_bytes": round(io["write_bytes"] / taps),
                            "syscw": round(io["syscw"] / taps, 2)},
        "tap_ms_mean_under_strace" if strace else "tap_ms_mean": round(
            1000 * io["seconds"] / taps, 2),
        "target_fsync_per_tap": 1,
        "checkpoint_after_the_taps": {
            "note": "the tap path has SQLite's autocheckpoint off; the daemon's checkpoint "
                    "thread copies the WAL into the main file between taps (every minute). "
                    "This is one such checkpoint after all the taps, counted apart",
            "fsync": sum(checkpoint.get(n, {}).get("calls", 0) for n in ("fsync", "fdatasync")),
            "bytes": sum(e["bytes"] for n, e in checkpoint.items() if "write" in n),
        } if strace else None,
    }
    if not strace:
        result["skipped_strace"] = "strace is not installed: fsyncs not counted"
    result["met"] = None if not strace else syncs / taps <= 1.0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--taps", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.state, args.taps)
        return 0
    print(json.dumps(measure(args.taps), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

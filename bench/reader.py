"""Reader benchmark over nfcpy's UDP device: prints one JSON document.

    python -m bench.reader [--taps 1000] [--ntag-taps 100] [--idle-seconds 20]

- taps per second the loop sustains (cards placed as soon as the previous one was counted);
- time from the virtual card answering anticollision to the Outcome being ready
  (reader + kiosk.service.Counter with a real SQLite ledger), p50/p99;
- idle CPU seconds per minute of polling an empty field, with the shipped poll_interval,
  the field served by another process (`kiosk-sim field`) so only the kiosk side counts.

The simulated field answers "no card" at once; real readers take tens of milliseconds.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.adapters.reader import CardRead, Reader
from kiosk.config import Config, from_mapping
from kiosk.service import Counter
from sim.harness import ReaderRig
from sim.nfc import make_card


def _config(state: Path, **reader: Any) -> Config:
    return from_mapping(
        {
            "kiosk": {"state_dir": str(state)},
            "reader": reader or {"path": "udp:127.0.0.1:1"},
            "display": {"driver": "none"},
            "lights": {"factory": "mock"},
        },
        "bench",
    )


def tap_run(state: Path, kind: str, taps: int, poll_interval: float) -> dict[str, Any]:
    """`taps` different cards of `kind`: each placed, counted, lifted; the next one follows as
    soon as the reader polls again (a queue of customers with perfect timing)."""
    config = _config(state, path="udp:127.0.0.1:1", poll_interval=poll_interval)
    local = threading.local()
    latencies: list[float] = []
    done = threading.Event()

    def on_card(read: CardRead) -> Any:
        if not hasattr(local, "counter"):  # the ledger's connection lives on the reader thread
            local.counter = Counter.open(config)
        outcome = local.counter.tap(read.uid)
        ready = time.monotonic()
        card = rig.field.card
        if card is not None and card.identified_at is not None:
            latencies.append(ready - card.identified_at)
        done.set()
        return outcome.kind

    rig = ReaderRig(config.reader, on_card=on_card)
    with rig:
        if not rig.wait_for(lambda: rig.statuses == [True], 30):
            raise RuntimeError("the reader never came online")
        started = time.monotonic()
        for number in range(taps):
            done.clear()
            rig.field.place(make_card(kind, name=f"bench-{number}"))
            if not done.wait(10):
                raise RuntimeError(f"tap {number} was never counted")
            rig.field.remove()  # lifted; the next customer waits until the reader polls again
            rig.field.wait_polls(1, 10)
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "kind": kind,
        "taps": taps,
        "counted": len(rig.reads),
        "poll_interval_s": poll_interval,
        "taps_per_second": round(taps / elapsed, 1),
        "anticollision_to_outcome_ms": {
            "p50": round(1000 * statistics.median(latencies), 2),
            "p99": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
            "max": round(1000 * latencies[-1], 2),
        },
    }


def idle_cpu(state: Path, seconds: float) -> dict[str, Any]:
    """CPU this process spends polling an empty field served by a separate process."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    field = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "field", "--port", str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert field.stdout is not None
        field.stdout.readline()
        config = _config(state, path=f"udp:127.0.0.1:{port}")
        online = threading.Event()
        reader = Reader(config.reader, lambda read: None, lambda up: up and online.set())
        stop = threading.Event()
        thread = threading.Thread(target=reader.run, args=(stop,))
        thread.start()
        online.wait(30)
        cpu0, wall0 = time.process_time(), time.monotonic()
        stop.wait(seconds)  # the measuring window
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        stop.set()
        thread.join(10)
    finally:
        field.kill()
        field.wait()
    return {
        "poll_interval_s": config.reader.poll_interval,
        "window_s": round(wall, 1),
        "cpu_seconds_per_minute": round(60 * cpu / wall, 3),
        "percent_of_one_core": round(100 * cpu / wall, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reader", description=__doc__)
    parser.add_argument("--taps", type=int, default=1000, help="taps for the latency run")
    parser.add_argument("--ntag-taps", type=int, default=100, help="NTAG taps (read and held)")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result = {
            "note": "simulated field over UDP: an empty field answers at once",
            "classic_fast_poll": tap_run(root / "a", "mifare-classic-1k", args.taps, 0.01),
            "ntag213_fast_poll": tap_run(root / "b", "ntag213", args.ntag_taps, 0.01),
            "classic_shipped_poll": tap_run(root / "c", "mifare-classic-1k", 40, 0.25),
            "idle": idle_cpu(root / "d", args.idle_seconds),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

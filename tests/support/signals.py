"""`kiosk run` over the simulator, told to reload (SIGHUP) and stop (SIGTERM) at random moments.

Each process runs on a virtual field with cards coming and going and the virtual OLED; a
test waits only on what the process says: READY=1 on systemd's notify socket (after its
start and after each reload) and its exit. The moments the signals are sent at are
random on purpose: back to back, right after a READY=1, or after a random pause; the
pauses make the moments, nothing waits on them.

    report = storm(tmp_path, processes=3, hups=100, seed=7)
    assert report.slowest_stop < 1.0 and report.exit_codes == {0}
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sim.nfc import VirtualField, make_card
from sim.notify import NotifyListener

ROOT = Path(__file__).parents[2]
START_TIMEOUT = 60.0  # a cold start on a busy 2-core machine, imports included
RELOAD_TIMEOUT = 30.0
STOP_LIMIT = 1.0  # seconds from SIGTERM to the process's exit (issue: stopping must always work)
KILL_AFTER = 30.0  # a process that has not stopped by then is hung: killed, and reported
CARD_KINDS = ("ntag213", "mifare-classic-1k", "felica", "random-id")


@dataclass
class StormReport:
    """What a storm did and how every stop went."""

    processes: int = 0
    hups: int = 0
    terms: int = 0
    reloads_seen: int = 0
    stops: list[float] = field(default_factory=list)  # seconds from SIGTERM to exit, each process
    clean_stops: int = 0  # processes whose last words were event=stop (they shut down themselves)
    exit_codes: set[int | None] = field(default_factory=set)
    hung: list[str] = field(default_factory=list)  # the last log lines of each hung process

    @property
    def slowest_stop(self) -> float:
        return max(self.stops, default=0.0)

    @property
    def late_stops(self) -> list[float]:
        return [s for s in self.stops if s >= STOP_LIMIT]

    def as_dict(self) -> dict[str, object]:
        ordered = sorted(self.stops)
        return {
            "processes": self.processes,
            "signals": self.hups + self.terms,
            "sighup": self.hups,
            "sigterm": self.terms,
            "reloads_seen": self.reloads_seen,
            "stop_p50_s": round(ordered[len(ordered) // 2], 3) if ordered else None,
            "stop_max_s": round(self.slowest_stop, 3),
            "late_stops": len(self.late_stops),
            "clean_stops": self.clean_stops,
            "exit_codes": sorted(str(c) for c in self.exit_codes),
            "hung": len(self.hung),
        }


def write_config(path: Path, state: Path, reader: str) -> Path:
    path.write_text(
        f"""
[kiosk]
id = "kiosk-signals"
state_dir = "{state}"
locale = "en"
[reader]
path = "{reader}"
poll_interval = 0.05
[display]
driver = "virtual"
outcome_seconds = 0.3
[lights]
factory = "mock"
""",
        encoding="utf-8",
    )
    return path


@dataclass
class KioskProcess:
    """One `kiosk run` child, its notify socket and the tail of its log."""

    proc: subprocess.Popen[str]
    notify: NotifyListener
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    pump: threading.Thread | None = None

    def pump_log(self) -> None:
        def pump() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.tail.append(line.rstrip())

        self.pump = threading.Thread(target=pump, name="kiosk-log", daemon=True)
        self.pump.start()

    def last_words(self) -> list[str]:
        """The end of its log, once the process is gone and the pipe read to its end."""
        if self.pump is not None:
            self.pump.join(timeout=KILL_AFTER)
        return list(self.tail)

    def wait_ready(self, timeout: float, since: float) -> bool:
        return self.notify.wait("READY=1", timeout, since=since) is not None


@contextmanager
def kiosk_process(config: Path, socket_path: Path) -> Iterator[KioskProcess]:
    notify = NotifyListener(socket_path)
    env = {**os.environ, "NOTIFY_SOCKET": str(socket_path), "PYTHONUNBUFFERED": "1"}
    env.pop("KIOSK_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "--config", str(config), "run"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )
    kiosk = KioskProcess(proc, notify)
    kiosk.pump_log()
    try:
        yield kiosk
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        notify.close()


def customers(nfc_field: VirtualField, rng: random.Random, stop: threading.Event) -> None:
    """Cards coming and going until `stop`: some are read, some lifted before the reader saw them."""
    while not stop.is_set():
        kind = rng.choice(CARD_KINDS)
        nfc_field.tap(make_card(kind, name=f"c{rng.randrange(6)}"), hold=rng.uniform(0, 0.1),
                      read_timeout=rng.uniform(0.01, 0.5))


def pause(rng: random.Random) -> None:
    """A random moment: nothing is waited for (a moment inside a tick, a reload, a tap)."""
    threading.Event().wait(rng.choice((0.0, 0.0, rng.uniform(0, 0.005), rng.uniform(0, 0.05))))


def one_process(root: Path, nfc_field: VirtualField, rng: random.Random, hups: int,
                report: StormReport) -> None:
    """Start a kiosk, send it `hups` SIGHUPs in bursts, then one SIGTERM at a random moment."""
    config = write_config(root / "kiosk.toml", root / "state", nfc_field.path)
    socket_path = root / f"notify-{report.processes}.sock"
    with kiosk_process(config, socket_path) as kiosk:
        report.processes += 1
        started = time.monotonic()
        assert kiosk.wait_ready(START_TIMEOUT, since=float("-inf")), list(kiosk.tail)
        sent, last_hup = 0, float("-inf")
        while sent < hups:
            burst = min(hups - sent, rng.choice((1, 1, 2, 5, 20)))
            for _ in range(burst):
                last_hup = time.monotonic()
                kiosk.proc.send_signal(signal.SIGHUP)
                sent += 1
                pause(rng)
            if rng.random() < 0.3:  # sometimes let the reload finish before the next burst
                assert kiosk.wait_ready(RELOAD_TIMEOUT, since=last_hup), list(kiosk.tail)
        report.hups += sent
        # the last moment: during a reload, right after one, or in a quiet tick
        moment = rng.choice(("reloading", "ready", "quiet"))
        if moment == "reloading":
            kiosk.proc.send_signal(signal.SIGHUP)
            report.hups += 1
            pause(rng)
        elif moment == "ready":
            assert kiosk.wait_ready(RELOAD_TIMEOUT, since=last_hup), list(kiosk.tail)
        else:
            pause(rng)
        report.reloads_seen += len(kiosk.notify.times("RELOADING=1", since=started))
        term_at = time.monotonic()
        kiosk.proc.send_signal(signal.SIGTERM)
        report.terms += 1
        try:
            code: int | None = kiosk.proc.wait(timeout=KILL_AFTER)
        except subprocess.TimeoutExpired:
            code = None
            report.hung.append("\n".join(kiosk.tail))
        report.stops.append(time.monotonic() - term_at)
        report.exit_codes.add(code)
    if any("event=stop " in line for line in kiosk.last_words()):
        report.clean_stops += 1


def storm(root: Path, processes: int, hups: int, seed: int) -> StormReport:
    """`processes` kiosks one after the other on one state directory, `hups` SIGHUPs each."""
    rng = random.Random(seed)
    report = StormReport()
    stop = threading.Event()
    with VirtualField() as nfc_field:
        hands = threading.Thread(target=customers, args=(nfc_field, random.Random(seed + 1), stop),
                                 name="customers", daemon=True)
        hands.start()
        try:
            for _ in range(processes):
                one_process(root, nfc_field, rng, hups, report)
        finally:
            stop.set()
            hands.join(timeout=10)
    return report

"""SIGKILL runs: kill a tapping, syncing kiosk process (and the server) at random points.

Used by the short crash test in the suite and by `python -m tests.soak` (the long run).
After the kills, one clean sync drains the outbox and `check` compares three records:
the ids the kiosk acknowledged (ACK file), the kiosk's ledger, and the server's table.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import requests

from kiosk import config as config_module
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync import SyncWorker
from kiosk.config import Config
from sim.harness import wait_until
from tests.support import server_event_ids, sqlite_integrity

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


def write_kiosk_toml(path: Path, state_dir: Path, url: str, token_file: Path, kiosk_id: str) -> Path:
    """A kiosk config file for a subprocess: fast retries, every tap stamps."""
    path.write_text(
        f"""
[kiosk]
id = "{kiosk_id}"
state_dir = "{state_dir}"
locale = "en"
[reader]
path = "udp:127.0.0.1:54321"
[display]
driver = "none"
[lights]
factory = "mock"
[central]
url = "{url}"
token_file = "{token_file}"
batch_size = 7
connect_timeout = 1.0
read_timeout = 2.0
backoff_base = 0.01
backoff_max = 0.05
[program]
cooldown_minutes = 0
daily_cap = 0
timezone = "UTC"
""",
        encoding="utf-8",
    )
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait_for_line(proc: subprocess.Popen[str], expected: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the child says it is ready, or dies
    if not line.startswith(expected):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"child did not start (said {line!r}, exit {proc.poll()})")


class KioskSpawner:
    """A ready kiosk parent process (tests.support.kiosk_loop) that forks kiosks to kill."""

    def __init__(self, config_file: Path, ack_file: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.kiosk_loop", str(config_file), str(ack_file)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            cwd=ROOT, env=_env(),
        )
        _wait_for_line(self.proc, "ready")

    def _ask(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer:
            raise RuntimeError(f"kiosk parent died (exit {self.proc.poll()})")
        return answer

    def spawn(self, seed: int) -> int:
        """Start a kiosk (a restart after the previous kill); its pid."""
        return int(self._ask(f"spawn {seed}"))

    def kill_kiosk(self) -> None:
        """SIGKILL the running kiosk, wherever it is."""
        self._ask("kill")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> KioskSpawner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.close()


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


class ServerProcess:
    """`kiosk-central serve` as a subprocess on a fixed loopback port, to kill and restart."""

    def __init__(self, db: Path, port: int) -> None:
        self.db, self.port = db, port
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "central.cli", "serve", "--db", str(self.db),
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error",
             # the runs restart and drain a kiosk as fast as the kills allow; the per-kiosk
             # rate limit has tests of its own (test_central_limits) and is not what is run here
             "--rate", "10000", "--burst", "100000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=_env(),
        )
        _wait_for_line(self.proc, "kiosk-central listening")
        if not wait_until(self._healthy, STARTUP_TIMEOUT, step=0.05):
            raise RuntimeError("central server did not answer /v1/health")

    def _healthy(self) -> bool:
        try:
            return requests.get(self.url + "/v1/health", timeout=1).ok
        except requests.RequestException:
            return False

    def kill(self) -> None:
        if self.proc is not None:
            kill(self.proc)
            self.proc = None


@dataclass(frozen=True)
class Verdict:
    kills: int
    events_checked: int
    acked: int
    lost: int
    duplicated: int
    phantom: int
    kiosk_integrity: str
    server_integrity: str
    cache_mismatches: int

    @property
    def ok(self) -> bool:
        return (
            self.lost == self.duplicated == self.phantom == self.cache_mismatches == 0
            and self.kiosk_integrity == self.server_integrity == "ok"
        )


def drain(config: Config, attempts: int = 50) -> None:
    """Sync until the outbox is empty (the faults and kills are over)."""
    worker = SyncWorker(config.central, config.kiosk.ledger_path)
    try:
        for _ in range(attempts):
            report = worker.sync_once()
            with Ledger.open(config.kiosk.ledger_path) as ledger:
                if report.ok and ledger.outbox().pending == 0:
                    return
        raise RuntimeError(f"could not drain the outbox: {report.error}")
    finally:
        worker.close()


def check(config: Config, ack_file: Path, server_db: Path, kills: int) -> Verdict:
    """Compare what the kiosk acknowledged, what its ledger holds and what the server holds."""
    acked = set(ack_file.read_text(encoding="utf-8").split()) if ack_file.exists() else set()
    integrity = sqlite_integrity(config.kiosk.ledger_path)
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        local = [e.id for e in ledger.events()]
        mismatches = sum(
            1 for card in ledger.cards()
            if card.stamps != sum(e.delta for e in ledger.events(card.card_ref))
        )
    stored = Counter(server_event_ids(server_db, config.kiosk.id))
    local_set = set(local)
    lost = len((acked | local_set) - set(stored))
    return Verdict(
        kills=kills,
        events_checked=len(local_set),
        acked=len(acked),
        lost=lost,
        duplicated=sum(n - 1 for n in stored.values()) + len(local) - len(local_set),
        phantom=len(set(stored) - local_set),
        kiosk_integrity=integrity,
        server_integrity=sqlite_integrity(server_db),
        cache_mismatches=mismatches,
    )


def kiosk_kill_loop(
    kiosks: KioskSpawner, kills: int, rng: random.Random, max_delay: float,
    server: ServerProcess | None = None, server_kill_chance: float = 0.0,
) -> tuple[int, int]:
    """Start a kiosk, let it run a random while, SIGKILL it; `kills` times.

    With a `server`, it is also killed (and restarted) at random points while the kiosk
    runs. Returns (kiosk kills, server kills).
    """
    server_kills = 0
    for _ in range(kills):
        kiosks.spawn(rng.getrandbits(32))
        # the random point of the kill is the point of the test, not a synchronisation
        time.sleep(rng.uniform(0.0, max_delay))
        if server is not None and rng.random() < server_kill_chance:
            server.kill()
            server_kills += 1
            time.sleep(rng.uniform(0.0, max_delay / 2))
            server.start()
        kiosks.kill_kiosk()
    return kills, server_kills


def load_config(config_file: Path) -> Config:
    return config_module.load(str(config_file))

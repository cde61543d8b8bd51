"""`kiosk run` with a PN532 on a serial line (`tty:<name>:pn532`): nfcpy's own pn532 driver
over the virtual chip, the cable pulled and put back while the daemon runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.nfc import make_card
from sim.serial_line import PN532Line
from tests.support.pn532 import pn532_line

ROOT = Path(__file__).parents[2]


class Daemon:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.log: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.log.append(line.rstrip())
                self._changed.notify_all()

    def wait_log(self, text: str, after: int = 0, timeout: float = 20.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: any(text in x for x in self.log[after:]), timeout)


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[tuple[Daemon, PN532Line]]:
    with pn532_line() as line:
        config = tmp_path / "kiosk.toml"
        config.write_text(
            f"""
[kiosk]
state_dir = "{tmp_path / 'state'}"
locale = "en"
[reader]
path = "{line.path}"
poll_interval = 0.05
[display]
driver = "virtual"
[lights]
factory = "mock"
"""
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("KIOSK_CONFIG", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "--config", str(config), "run"],
            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        daemon = Daemon(proc)
        try:
            assert daemon.wait_log("event=reader online=True"), daemon.log
            yield daemon, line
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def tap(daemon: Daemon, line: PN532Line, kind: str, name: str) -> str:
    before = len(daemon.log)
    card = line.place(make_card(kind, name=name))
    assert daemon.wait_log("event=tap", after=before), daemon.log[before:]
    assert card.identified.is_set()
    line.remove()
    return next(x for x in daemon.log[before:] if "event=tap" in x)


def test_kiosk_run_reads_taps_through_nfcpys_pn532_driver(kiosk: tuple[Daemon, PN532Line]) -> None:
    daemon, line = kiosk
    assert "outcome=welcome" in tap(daemon, line, "ntag213", "marie")
    assert "tech=212F" in tap(daemon, line, "felica", "yuki")


def test_kiosk_run_survives_the_cable_pulled_and_is_back_within_5_s_of_it(
    kiosk: tuple[Daemon, PN532Line]
) -> None:
    daemon, line = kiosk
    before = len(daemon.log)
    line.unplug()
    assert daemon.wait_log("event=reader online=False", after=before)
    assert any("is missing" in x for x in daemon.log[before:])  # says what to check
    line.replug()
    back, before = time.monotonic(), len(daemon.log)
    assert daemon.wait_log("event=reader online=True", after=before, timeout=5)
    assert time.monotonic() - back < 5
    assert "outcome=welcome" in tap(daemon, line, "mifare-classic-1k", "paul")
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=10) == 0

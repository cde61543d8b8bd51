"""What the sync worker writes to the ledger (the kiosk's microSD card) when nothing happens,
against the real central server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.adapters import timekeeper
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync import STATUS_EVERY
from kiosk.config import Config
from kiosk.core.clock import Reading
from tests.support import Central, central_server, kiosk_setup, tap_cards, uid, worker_for

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROUND = timedelta(seconds=10)  # the shipped interval between sync rounds


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with central_server(tmp_path_factory.mktemp("central")) as server:
        yield server


@pytest.fixture
def kiosk(central: Central, tmp_path: Path) -> Config:
    kiosk_id = f"wear-{tmp_path.name[-12:]}".replace("_", "-")
    return kiosk_setup(tmp_path / "state", central.url, central.token_file(kiosk_id), kiosk_id,
                       refresh_interval=300.0)


class Clock:
    """The worker's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def on_disk(config: Config) -> tuple[bytes, ...]:
    """The ledger's file and its WAL, byte for byte, with their modification times."""
    path = config.kiosk.ledger_path
    wal = path.with_name(path.name + "-wal")
    files = [f for f in (path, wal) if f.exists()]
    return tuple(f.read_bytes() + str(f.stat().st_mtime_ns).encode() for f in files)


def kiosk_status(config: Config, tmp_path: Path) -> str:
    """`kiosk status` in a process of its own, as staff run it beside the daemon."""
    toml = tmp_path / "kiosk.toml"
    toml.write_text(
        f'[kiosk]\nid = "{config.kiosk.id}"\nstate_dir = "{config.kiosk.state_dir}"\n'
        f'locale = "en"\n[program]\ntimezone = "UTC"\n'
        f'[central]\nurl = "{config.central.url}"\ntoken_file = "{config.central.token_file}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "status"], capture_output=True, text=True,
        env={**os.environ, "KIOSK_CONFIG": str(toml)}, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_idle_sync_rounds_leave_the_ledger_and_its_wal_untouched(kiosk: Config) -> None:
    tap_cards(kiosk, [uid(1), uid(2)])
    clock = Clock()
    worker = worker_for(kiosk, clock=clock)
    # the daemon's counter keeps the ledger open, so the WAL stays between rounds
    with Ledger.open(kiosk.kiosk.ledger_path) as counter:
        try:
            assert worker.sync_once(refresh=True).sent > 0
            # a kiosk whose clock the central's answers have confirmed already
            real = datetime.now(UTC)
            timekeeper.note(counter, [Reading(real - timedelta(minutes=m), real - timedelta(
                minutes=m)) for m in (3, 2, 1)])
            assert timekeeper.verdict(counter).confirmed
            counter.checkpoint()
            before = on_disk(kiosk)
            # ten minutes of idle rounds, an idle refresh of the recent cards among them
            for _ in range(60):
                clock.now += ROUND
                assert worker.sync_once().ok
                counter.checkpoint()  # as the checkpoint thread does every minute
            assert on_disk(kiosk) == before
            tap_cards(kiosk, [uid(3)])
            tapped = on_disk(kiosk)
            clock.now += ROUND
            assert worker.sync_once().sent > 0
            assert on_disk(kiosk) != tapped, "a round that sends events writes"
        finally:
            worker.close()


def test_kiosk_status_elsewhere_sees_a_last_success_at_most_status_every_old(
    kiosk: Config, tmp_path: Path
) -> None:
    clock = Clock()
    worker = worker_for(kiosk, clock=clock)
    try:
        assert worker.sync_once().ok
        assert f"last success   {START.isoformat(timespec='minutes')}" in kiosk_status(
            kiosk, tmp_path)
        clock.now = START + STATUS_EVERY / 2
        assert worker.sync_once().ok
        half = kiosk_status(kiosk, tmp_path)
        assert f"last success   {START.isoformat(timespec='minutes')}" in half
        clock.now = START + STATUS_EVERY + ROUND
        assert worker.sync_once().ok
        later = kiosk_status(kiosk, tmp_path)
        assert f"last success   {clock.now.isoformat(timespec='minutes')}" in later
        assert "online         yes" in later
        clock.now += STATUS_EVERY / 3
        assert worker.sync_once().ok
    finally:
        worker.close()  # the daemon's stop: the last success is written
    stopped = kiosk_status(kiosk, tmp_path)
    assert f"last success   {clock.now.isoformat(timespec='minutes')}" in stopped


def test_a_failed_round_after_a_good_one_is_written_at_once(kiosk: Config, tmp_path: Path) -> None:
    clock = Clock()
    worker = worker_for(kiosk, clock=clock)
    try:
        assert worker.sync_once().ok
        Path(kiosk.central.token_file).unlink()
        clock.now += ROUND
        assert not worker.sync_once().ok
        status = kiosk_status(kiosk, tmp_path)
    finally:
        worker.close()
    assert "online         no" in status
    assert "token" in status.split("last error", 1)[1].splitlines()[0]

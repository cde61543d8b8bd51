"""`kiosk backup DEST` while the kiosk taps, and a kiosk restored from that copy."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import cli
from kiosk.service import Counter
from sim.harness import wait_until
from tests.support import tap_cards, uid
from tests.support.ledger_files import config_file, event_ids

BEFORE_BACKUP = 40  # events the other process has committed when the backup starts


def kiosk(config: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(["--config", str(config), *args], out), out.getvalue()


def test_a_backup_taken_while_another_process_taps_restores_every_event_it_held(
    tmp_path: Path,
) -> None:
    path, config = config_file(tmp_path)
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.support.tapping", str(path), str(stop)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        assert wait_until(lambda: len(event_ids(config.kiosk.ledger_path)) >= BEFORE_BACKUP, 60)
        before = event_ids(config.kiosk.ledger_path)

        code, said = kiosk(path, "backup", str(tmp_path / "backup"))

        assert code == 0, said
        assert writer.poll() is None, "the taps went on during the backup"
    finally:
        stop.touch()
        writer.wait(timeout=60)
    assert writer.returncode == 0
    live = event_ids(config.kiosk.ledger_path)
    assert "holds the site key" in said

    # restore on a new card: stop (done), copy both files back, start
    restored_path, restored = config_file(tmp_path, "restored")
    restored.kiosk.state_dir.mkdir(mode=0o700)
    for name in ("ledger.sqlite3", "site.key"):
        shutil.copy2(tmp_path / "backup" / name, restored.kiosk.state_dir / name)
    counter = Counter.open(restored, check=True)
    try:
        held = [e.id for e in counter.ledger.events()]
    finally:
        counter.close()
    assert held[: len(before)] == before
    assert held == live[: len(held)]
    assert f"backed up {len(held)} events" in said
    assert restored.kiosk.site_key_path.read_bytes() == config.kiosk.site_key_path.read_bytes()


def test_the_backup_files_are_private_to_the_kiosk_user(tmp_path: Path) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])

    assert kiosk(path, "backup", str(tmp_path / "backup"))[0] == 0

    assert (tmp_path / "backup").stat().st_mode & 0o777 == 0o700
    for name in ("ledger.sqlite3", "site.key"):
        assert (tmp_path / "backup" / name).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "backup" / "site.key").read_bytes() == config.kiosk.site_key_path.read_bytes()


def test_a_second_backup_replaces_the_first_with_the_newer_events(tmp_path: Path) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])
    assert kiosk(path, "backup", str(tmp_path / "backup"))[0] == 0
    made = tap_cards(config, [uid(2)])

    assert kiosk(path, "backup", str(tmp_path / "backup"))[0] == 0

    assert event_ids(tmp_path / "backup" / "ledger.sqlite3")[-len(made):] == made
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["ledger.sqlite3", "site.key"]


def test_a_backup_of_a_ledger_whose_key_is_gone_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])
    config.kiosk.site_key_path.unlink()

    assert kiosk(path, "backup", str(tmp_path / "backup"))[0] == 1

    assert "is missing" in capsys.readouterr().err
    assert not (tmp_path / "backup").exists()


def test_a_backup_into_the_kiosks_own_state_directory_is_refused_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = config_file(tmp_path)
    made = tap_cards(config, [uid(1)])
    before = sorted(p.name for p in config.kiosk.state_dir.iterdir())

    assert kiosk(path, "backup", str(config.kiosk.state_dir / ".." / "state"))[0] == 1

    assert "name another directory" in capsys.readouterr().err
    assert sorted(p.name for p in config.kiosk.state_dir.iterdir()) == before
    assert event_ids(config.kiosk.ledger_path) == made

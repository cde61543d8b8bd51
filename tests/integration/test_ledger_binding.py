"""Never start over silently: a ledger and a site key that do not belong together are
refused by the daemon's start and by every command, with nothing written, and the
message says how to restore and how to start over on purpose."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from kiosk import cli
from kiosk.app import App
from kiosk.errors import LedgerMismatch
from kiosk.service import Counter
from tests.support import tap_cards, uid
from tests.support.ledger_files import config_file, damage_a_middle_page, event_ids

UNSYNCED = 60


def kiosk(config: Path, *args: str) -> tuple[int, str]:
    """The `kiosk` command in-process: its exit code and what it printed."""
    out = io.StringIO()
    return cli.main(["--config", str(config), *args], out), out.getvalue()


def test_an_emptied_ledger_beside_its_site_key_is_refused_and_nothing_is_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(n) for n in range(UNSYNCED // 2)])  # an enrolment and a stamp each
    key = config.kiosk.site_key_path.read_bytes()
    config.kiosk.ledger_path.write_bytes(b"")  # emptied, as a full SD card can leave it

    for command in (["status"], ["tap", "04A1B2C3D4E5F6"], ["card", "04A1B2C3D4E5F6"], ["sync"]):
        code, _ = kiosk(path, *command)
        error = capsys.readouterr().err
        assert code == 1, command
        assert "is empty or missing, but a ledger was bound here" in error
        assert "kiosk backup" in error and "kiosk start-over" in error

    assert config.kiosk.ledger_path.stat().st_size == 0
    assert config.kiosk.site_key_path.read_bytes() == key


def test_a_deleted_ledger_is_refused_like_an_emptied_one(tmp_path: Path) -> None:
    _, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])
    config.kiosk.ledger_path.unlink()

    with pytest.raises(LedgerMismatch, match="empty or missing"):
        Counter.open(config)
    assert not config.kiosk.ledger_path.exists()


def test_a_deleted_site_key_beside_a_ledger_with_events_is_refused_and_no_key_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = config_file(tmp_path)
    made = tap_cards(config, [uid(n) for n in range(3)])
    config.kiosk.site_key_path.unlink()

    code, _ = kiosk(path, "tap", "04A1B2C3D4E5F6")

    error = capsys.readouterr().err
    assert code == 1
    assert f"site key {config.kiosk.site_key_path} is missing" in error
    assert "6 not yet sent to the central API" in error and "kiosk start-over" in error
    assert not config.kiosk.site_key_path.exists()
    assert event_ids(config.kiosk.ledger_path) == made


def test_a_ledger_recorded_under_another_site_key_is_refused(tmp_path: Path) -> None:
    _, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])
    config.kiosk.site_key_path.write_bytes(b"another shop's key, 32 bytes....")

    with pytest.raises(LedgerMismatch, match="under another site key"):
        Counter.open(config)


def test_a_first_start_makes_the_key_and_binds_the_new_ledger_to_it(tmp_path: Path) -> None:
    path, config = config_file(tmp_path)

    assert kiosk(path, "status")[0] == 0

    assert config.kiosk.site_key_path.stat().st_mode & 0o777 == 0o600
    config.kiosk.ledger_path.unlink()  # bound at once, before any event
    with pytest.raises(LedgerMismatch):
        Counter.open(config)


def test_a_site_key_copied_in_before_the_first_start_is_taken_with_a_new_ledger(
    tmp_path: Path,
) -> None:
    _, config = config_file(tmp_path)
    config.kiosk.site_key_path.parent.mkdir(parents=True)
    config.kiosk.site_key_path.write_bytes(b"the shop's key for every kiosk..")

    assert tap_cards(config, [uid(1)])
    assert config.kiosk.site_key_path.read_bytes() == b"the shop's key for every kiosk.."


def test_the_daemon_refuses_to_start_on_an_emptied_ledger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])
    config.kiosk.ledger_path.write_bytes(b"")

    with caplog.at_level(logging.ERROR):
        assert App(str(path)).boot() == 1

    assert any("refused=true" in r.getMessage() and "kiosk start-over" in r.getMessage()
               for r in caplog.records)
    assert config.kiosk.ledger_path.stat().st_size == 0


def test_a_damaged_ledger_is_found_at_the_daemons_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(n) for n in range(200)])
    damage_a_middle_page(config.kiosk.ledger_path)

    with caplog.at_level(logging.ERROR):
        assert App(str(path)).boot() == 1

    assert any("is damaged (SQLite quick_check" in r.getMessage() for r in caplog.records)


def test_start_over_after_a_lost_ledger_keeps_the_key_and_sets_the_empty_file_aside(
    tmp_path: Path,
) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])
    key = config.kiosk.site_key_path.read_bytes()
    config.kiosk.ledger_path.write_bytes(b"")

    code, said = kiosk(path, "start-over")

    assert code == 0 and "kept site key" in said
    assert config.kiosk.site_key_path.read_bytes() == key
    assert [p.name for p in config.kiosk.ledger_path.parent.glob("ledger.sqlite3.set-aside-*")
            if not p.name.endswith(".bound")]
    assert kiosk(path, "status")[0] == 0


def test_start_over_after_a_lost_key_sets_the_ledger_aside_whole_and_makes_a_new_key(
    tmp_path: Path,
) -> None:
    path, config = config_file(tmp_path)
    made = tap_cards(config, [uid(1), uid(2)])
    config.kiosk.site_key_path.unlink()

    code, said = kiosk(path, "start-over")

    assert code == 0 and "made a new site key" in said
    [aside] = [p for p in config.kiosk.ledger_path.parent.glob("ledger.sqlite3.set-aside-*")
               if p.name.endswith("Z")]
    assert event_ids(aside) == made
    assert event_ids(config.kiosk.ledger_path) == []
    assert kiosk(path, "status")[0] == 0


def test_start_over_is_refused_when_the_ledger_and_key_belong_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = config_file(tmp_path)
    made = tap_cards(config, [uid(1)])

    assert kiosk(path, "start-over")[0] == 1

    assert "nothing to start over" in capsys.readouterr().err
    assert event_ids(config.kiosk.ledger_path) == made


def test_start_over_sets_aside_a_ledger_sqlite_cannot_even_open_and_keeps_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = config_file(tmp_path)
    tap_cards(config, [uid(1)])
    config.kiosk.ledger_path.write_bytes(b"not a database, a page of garbage " * 200)

    assert kiosk(path, "status")[0] == 1
    assert "kiosk start-over" in capsys.readouterr().err
    code, said = kiosk(path, "start-over")

    assert code == 0 and "kept site key" in said
    assert kiosk(path, "status")[0] == 0

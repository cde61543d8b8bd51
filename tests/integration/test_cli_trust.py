"""What a stolen or misconfigured kiosk's command line accepts: bounded times, strict
configuration, placeholder UIDs refused, nothing raw from the ledger on the terminal."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.adapters.ledger import Ledger
from kiosk.core.events import Event, EventKind

UID = "04A1B2C3D4E5F6"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\nlocale = "en"\n')
    return path


def kiosk(config_file: Path | None, *args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    if config_file is not None:
        env["KIOSK_CONFIG"] = str(config_file)
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, env=env,
        timeout=60, preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def test_a_tap_at_the_end_of_time_is_a_clear_refusal_not_an_overflow(config_file: Path):
    result = kiosk(config_file, "tap", UID, "--at", "9999-12-31T23:50:00+00:00")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    assert "is more than 1 day ahead of the clock: give a time from 2020-01-01 to tomorrow" in result.stderr


def test_a_tap_before_2020_is_refused_like_the_central_would(config_file: Path):
    result = kiosk(config_file, "tap", UID, "--at", "2019-06-01T09:00:00+00:00")
    assert result.returncode == 2 and "is before 2020-01-01" in result.stderr


@pytest.mark.parametrize("uid", ["00000000", "FFFFFFFF", "00000000000000", "FFFFFFFFFFFFFFFFFFFF"])
def test_an_all_zero_or_all_ff_uid_is_refused_as_a_card_with_its_own_reason(config_file: Path, uid: str):
    result = kiosk(config_file, "tap", uid, "--at", "2026-01-05T09:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused: this card cannot hold stamps (blank_id)")
    assert kiosk(config_file, "card", uid).returncode == 1  # never enrolled


def test_check_config_with_kiosk_config_set_checks_that_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[central]\nbatch_size = "200"\n')
    result = kiosk(bad, "check-config")
    assert result.returncode == 1
    assert f"{bad}: central.batch_size: Input should be a valid integer" in result.stderr
    good = tmp_path / "good.toml"
    good.write_text('[kiosk]\nid = "counter-2"\n')
    assert kiosk(good, "check-config").stdout == f"{good}: ok\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[central]\nbatch_size = "200"\n', "central.batch_size: Input should be a valid integer"),
        ('[central]\nverify_tls = "no"\n', "central.verify_tls: Input should be a valid boolean"),
        ("[central]\nread_timeout = inf\n", "central.read_timeout: Input should be a finite number"),
        ("[display]\ndim_after_seconds = inf\n",
         "display.dim_after_seconds: Input should be a finite number"),
        ("[reader]\npoll_interval = nan\n", "reader.poll_interval: Input should be a finite number"),
        ('[till]\nenabled = true\nhost = "0.0.0.0"\n', "till: Value error, host '0.0.0.0' is reachable"),
        ('[till]\nenabled = true\nhost = "192.168.1.20"\n', "set till.token_file"),
    ],
)
def test_check_config_refuses_loose_types_endless_seconds_and_an_open_till(
    tmp_path: Path, text: str, problem: str
):
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    result = kiosk(None, "check-config", str(path))
    assert result.returncode == 1
    assert problem.replace("Value error, ", "") in result.stderr


def test_a_till_on_loopback_or_with_a_token_passes_check_config(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    for till in ('host = "127.0.0.1"', 'host = "0.0.0.0"\ntoken_file = "/etc/kiosk/till.token"'):
        path.write_text(f"[till]\nenabled = true\n{till}\n")
        assert kiosk(None, "check-config", str(path)).returncode == 0


def test_the_ledger_is_created_owner_only_even_under_umask_022(config_file: Path, tmp_path: Path):
    assert kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00", umask=0o022).returncode == 0
    for name in ("ledger.sqlite3", "ledger.sqlite3-wal"):
        path = tmp_path / "state" / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_escape_sequences_held_in_the_ledger_are_shown_escaped_never_raw(config_file: Path, tmp_path: Path):
    assert kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00").returncode == 0
    ref = kiosk(config_file, "card-ref", UID).stdout.strip()
    with Ledger.open(tmp_path / "state" / "ledger.sqlite3") as ledger:
        seq = ledger.next_seq()
        ledger.append([Event("evil-1", "kiosk-1", seq, ref, EventKind.REWARD_EARNED, 0,
                             "tea\x1b]0;owned\x07", "v1", datetime(2026, 1, 5, 9, 1, tzinfo=UTC))])
        ledger.settle((), {"evil-1": "refused\x1b[2J"}, (), datetime(2026, 1, 5, 9, 2, tzinfo=UTC))
    history = kiosk(config_file, "history", UID)
    status = kiosk(config_file, "status")
    for result in (history, status):
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "tea\\x1b]0;owned\\x07" in history.stdout
    assert "refused\\x1b[2J" in status.stdout

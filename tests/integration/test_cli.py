"""The `kiosk` command as a person types it: real process, real files, one-line errors."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

UID = "04A1B2C3D4E5F6"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\nlocale = "en"\n'
        '[program]\ngoal = 4\nwelcome_bonus = 1\nreward = "free tea"\n'
    )
    return path


def kiosk(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_CONFIG": str(config_file)}
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        capture_output=True, text=True, env=env, timeout=60,
    )


def test_a_card_is_enrolled_stamped_to_its_reward_and_redeemed(config_file: Path):
    first = kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00")
    assert first.returncode == 0
    assert "welcome" in first.stdout and "stamps 2/4" in first.stdout
    second = kiosk(config_file, "tap", UID, "--at", "2026-01-06T09:00")
    assert "stamps 3/4 (1 more to a free tea)" in second.stdout
    third = kiosk(config_file, "tap", UID, "--at", "2026-01-07T09:00")
    assert "reward earned: free tea" in third.stdout
    card = kiosk(config_file, "card", UID)
    assert "stamps    0/4" in card.stdout and "1x free tea" in card.stdout
    redeem = kiosk(config_file, "redeem", UID, "--at", "2026-01-07T09:05")
    assert redeem.returncode == 0 and "redeemed: free tea" in redeem.stdout
    again = kiosk(config_file, "redeem", UID, "--at", "2026-01-07T09:06")
    assert again.returncode == 1 and "no voucher" in again.stdout
    history = kiosk(config_file, "history", UID).stdout.splitlines()
    assert [line.split()[2] for line in history] == [
        "enrolled", "stamp", "stamp", "stamp", "reward_earned", "reward_redeemed"
    ]


def test_staff_read_a_french_kiosk_in_french_at_the_shops_time(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\nlocale = "fr"\n'
        '[program]\ngoal = 4\nwelcome_bonus = 1\ntimezone = "Europe/Paris"\n'
    )
    first = kiosk(path, "tap", UID, "--at", "2026-01-05T09:00")
    assert "bienvenue : nouvelle carte, 1 tampon offert" in first.stdout
    assert "encore 2 pour : café offert" in first.stdout  # the shipped reward, in French
    again = kiosk(path, "tap", UID, "--at", "2026-01-05T09:10")
    # 09:00 UTC + 30 minutes is 10:30 in Paris in January
    assert "déjà tamponnée (prochain tampon à partir de 10:30)" in again.stdout
    card = kiosk(path, "card", UID).stdout
    assert "tampons   2/4" in card and "dernière visite 2026-01-05T10:00+01:00" in card
    assert kiosk(path, "history", UID).stdout.startswith("2026-01-05T10:00+01:00")


def test_a_second_tap_within_the_cooldown_is_shown_but_not_stamped(config_file: Path):
    kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00")
    again = kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:10")
    assert "already stamped" in again.stdout and "2/4" in again.stdout


def test_export_writes_every_event_as_csv_without_raw_uids(config_file: Path):
    kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00")
    out = kiosk(config_file, "export", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["kind"] for r in rows] == ["enrolled", "stamp"]
    assert UID.lower() not in out.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tap", "not-hex"), "is not hex"),
        (("tap", "0102"), "has 2 bytes"),
        (("card", UID), "not enrolled"),
        (("redeem", UID), "not enrolled"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(config_file: Path, args, message):
    result = kiosk(config_file, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_random_id_card_is_refused_and_not_enrolled(config_file: Path):
    result = kiosk(config_file, "tap", "08A1B2C3")
    assert "refused" in result.stdout
    assert kiosk(config_file, "card", "08A1B2C3").returncode != 0


def test_check_config_names_every_bad_field_and_fails(tmp_path: Path, config_file: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[reader]\npath = "nope"\n[program]\ngoal = 0\n')
    result = kiosk(config_file, "check-config", str(bad))
    assert result.returncode == 1
    assert "reader.path:" in result.stderr and "program.goal:" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_accepts_a_good_file(config_file: Path):
    result = kiosk(config_file, "check-config", str(config_file))
    assert result.returncode == 0 and "ok" in result.stdout


def test_replaying_a_time_before_the_last_event_is_refused(config_file: Path):
    kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00")
    result = kiosk(config_file, "tap", UID, "--at", "2026-01-01T09:00")
    assert result.returncode == 1 and "earlier than the last recorded event" in result.stderr


def test_a_ledger_on_an_unusable_path_is_reported_not_crashed(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    config_file = tmp_path / "k.toml"
    config_file.write_text(f'[kiosk]\nstate_dir = "{blocker / "state"}"\n')
    result = kiosk(config_file, "tap", UID)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_sync_sends_every_pending_event_and_status_says_so(tmp_path: Path, config_file: Path):
    from central.testing import add_kiosk, running_server

    db_url = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    token = tmp_path / "token"
    token.write_text(add_kiosk(db_url, "kiosk-1") + "\n")
    for day in (5, 6, 7):
        kiosk(config_file, "tap", UID, "--at", f"2026-01-0{day}T09:00")
    with running_server(db_url) as url:
        with config_file.open("a") as handle:
            handle.write(f'[central]\nurl = "{url}"\ntoken_file = "{token}"\n')
        before = kiosk(config_file, "status").stdout
        assert "pending        5 events" in before
        synced = kiosk(config_file, "sync")
        assert synced.returncode == 0, synced.stderr
        assert "sent 5 in 1 batches: 5 accepted" in synced.stdout
        again = kiosk(config_file, "sync")
        assert "sent 0" in again.stdout
        after = kiosk(config_file, "status").stdout
    assert "pending        0 events" in after and "synced         5 events" in after
    assert "online         yes" in after


def test_sync_with_the_server_down_reports_the_error_and_keeps_the_events(
    tmp_path: Path, config_file: Path
):
    token = tmp_path / "token"
    token.write_text("not-a-real-token\n")
    with config_file.open("a") as handle:
        handle.write(f'[central]\nurl = "http://127.0.0.1:9"\ntoken_file = "{token}"\nconnect_timeout = 1\n')
    kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00")
    synced = kiosk(config_file, "sync")
    assert synced.returncode == 1 and "error:" in synced.stdout
    status = kiosk(config_file, "status").stdout
    assert "pending        2 events" in status and "online         no" in status


def test_card_ref_prints_the_hmac_never_the_uid(config_file: Path):
    result = kiosk(config_file, "card-ref", UID)
    ref = result.stdout.strip()
    assert result.returncode == 0 and len(ref) == 64 and UID.lower() not in ref
    kiosk(config_file, "tap", UID, "--at", "2026-01-05T09:00")
    assert ref[:12] in kiosk(config_file, "card", UID).stdout

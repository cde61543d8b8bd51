"""systemd/kiosk-central-messages.{service,timer}: systemd's own checks, and the promises
the README makes about them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
SERVICE, TIMER = SYSTEMD / "kiosk-central-messages.service", SYSTEMD / "kiosk-central-messages.timer"
ANALYZE = shutil.which("systemd-analyze")


def settings(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.skipif(ANALYZE is None, reason="install systemd (Debian package systemd) to check "
                                            "the unit files")
def test_the_timer_and_its_service_pass_systemd_analyze_verify(tmp_path: Path):
    assert ANALYZE is not None
    for unit in (SERVICE, TIMER):
        (tmp_path / unit.name).write_text(unit.read_text().replace(
            "/opt/kiosk-central/venv/bin/kiosk-central", sys.executable))
    (tmp_path / "env").write_text("KIOSK_CENTRAL_DB=/var/lib/kiosk-central/central.sqlite3\n")
    result = subprocess.run([ANALYZE, "verify", "--man=no", str(tmp_path / TIMER.name),
                             str(tmp_path / SERVICE.name)], capture_output=True, text=True,
                            timeout=60, check=False, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


def test_the_run_shares_the_servers_user_and_state_and_keeps_secrets_off_the_command_line():
    unit = settings(SERVICE)
    assert unit["User"] == ["kiosk-central"] and unit["StateDirectory"] == ["kiosk-central"]
    assert unit["ExecStart"][0].endswith("kiosk-central send-messages")
    assert unit["EnvironmentFile"] == ["/etc/kiosk-central/env"]
    assert settings(TIMER)["OnCalendar"] == ["*:0/15"]

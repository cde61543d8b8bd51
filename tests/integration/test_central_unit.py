"""systemd/kiosk-central.service: systemd's own checks, and what the server relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mdwe import MDWE_RUN

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "kiosk-central.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is not installed (Debian package: systemd); the unit is unchecked",
)


def _settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def _analyze(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """systemd-analyze on a copy whose ExecStart names an executable this machine has."""
    assert ANALYZE is not None
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace("/opt/kiosk-central/venv/bin/kiosk-central",
                                             sys.executable))
    (tmp_path / "env").write_text("KIOSK_CENTRAL_DB=/var/lib/kiosk-central/central.sqlite3\n")
    return subprocess.run([ANALYZE, *args, str(copy)], capture_output=True, text=True,
                          timeout=60, check=False, cwd=tmp_path)


@needs_analyze
def test_the_unit_passes_systemd_analyze_verify_without_a_warning(tmp_path: Path) -> None:
    result = _analyze(tmp_path, "verify", "--man=no")
    assert (result.returncode, result.stderr) == (0, "")


@needs_analyze
def test_systemd_rates_the_server_unit_ok_or_better(tmp_path: Path) -> None:
    result = _analyze(tmp_path, "security", "--offline=true", "--no-pager")
    match = re.search(r"Overall exposure level for kiosk-central\.service: ([\d.]+) (\w+)",
                      result.stdout)
    assert match, result.stdout + result.stderr
    print(f"systemd-analyze security: {match[1]} {match[2]}")  # the README quotes it
    assert match[2] in ("PERFECT", "SAFE", "OK"), match[0]


def test_the_unit_serves_on_loopback_with_the_database_from_a_private_file() -> None:
    unit = _settings()
    command = unit["ExecStart"][0].split()
    assert command[:2] == ["/opt/kiosk-central/venv/bin/kiosk-central", "serve"]
    assert command[command.index("--host") + 1] == "127.0.0.1"  # behind the TLS proxy
    assert "--db" not in command  # a URL with a password would show in `ps`
    assert unit["EnvironmentFile"] == ["/etc/kiosk-central/env"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["DynamicUser"] == ["yes"] and unit["StateDirectory"] == ["kiosk-central"]
    assert unit["CapabilityBoundingSet"] == [""]


def test_the_server_stack_serves_under_memory_deny_write_execute(
    tmp_path: Path, central_db: str
) -> None:
    """MemoryDenyWriteExecute=yes must not break pydantic-core, psycopg's binary driver,
    uvicorn or SQLite: a real server answers a real upload under the kernel's guard."""
    assert _settings()["MemoryDenyWriteExecute"] == ["yes"]
    stack = (
        "import sys, datetime\n"
        "from central.testing import Client, add_kiosk, event_dict, running_server\n"
        "db = sys.argv[1]\n"
        "with running_server(db) as url:\n"
        "    client = Client(url, add_kiosk(db, 'k1'))\n"
        "    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)\n"
        "    reply = client.post_events([event_dict('k1', 'ab' * 32, 1, when)])\n"
        "    assert reply.status == 200, reply.body\n"
        "print('stack ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", MDWE_RUN, sys.executable, "-c", stack, central_db],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    assert result.returncode == 0, result.stderr
    assert "stack ok" in result.stdout

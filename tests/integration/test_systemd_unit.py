"""systemd/kiosk.service: systemd's own checks, and the promises the daemon relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support.mdwe import MDWE_RUN

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "kiosk.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is not installed (Debian package: systemd); the unit is unchecked",
)
RATINGS = ("PERFECT", "SAFE", "OK", "MEDIUM", "EXPOSED", "UNSAFE")  # best first


def directives(text: str) -> dict[str, list[str]]:
    """Each Key= of the unit with all its values (DeviceAllow= and others repeat)."""
    found: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found[key.strip()].append(value.strip())
    return found


def unit_copy(tmp_path: Path, text: str) -> Path:
    """The unit with ExecStart pointing at an executable this machine has (verify checks it)."""
    executable = Path(sys.executable).parent / "kiosk"
    if not executable.exists():
        executable = Path(sys.executable)
    copy = tmp_path / "kiosk.service"
    copy.write_text(text.replace("/opt/kiosk/venv/bin/kiosk", str(executable)))
    return copy


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=60, check=False, cwd=unit.parent,
    )


@needs_analyze
def test_the_unit_passes_systemd_analyze_verify_without_a_warning(tmp_path: Path) -> None:
    result = verify(unit_copy(tmp_path, UNIT.read_text()))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # verify reports unknown keys and bad values here, rc 0


@needs_analyze
def test_verify_as_run_here_would_catch_a_misspelt_directive(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("WatchdogSec=", "WatchDogSec=")
    assert "WatchDogSec" in verify(unit_copy(tmp_path, broken)).stderr


@needs_analyze
def test_systemd_rates_the_unit_ok_or_better(tmp_path: Path) -> None:
    copy = unit_copy(tmp_path, UNIT.read_text())
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=true", "--no-pager", str(copy)],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )
    match = re.search(r"Overall exposure level for kiosk\.service: ([\d.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    score, rating = float(match[1]), match[2]
    print(f"systemd-analyze security: {score} {rating}")  # the README quotes this figure
    assert rating in RATINGS[: RATINGS.index("OK") + 1], f"{score} {rating}"


def test_the_unit_is_a_notify_service_with_a_watchdog_restarted_on_failure() -> None:
    unit = directives(UNIT.read_text())
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]  # only the daemon itself may say READY/WATCHDOG
    assert 5 <= int(unit["WatchdogSec"][0]) <= 60
    assert unit["Restart"] == ["on-failure"]
    assert unit["ExecStart"] == ["/opt/kiosk/venv/bin/kiosk --config /etc/kiosk/kiosk.toml run"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


def test_the_unit_runs_unprivileged_with_only_the_hardware_groups() -> None:
    unit = directives(UNIT.read_text())
    assert unit["User"] == ["kiosk"]
    assert set(unit["SupplementaryGroups"][0].split()) == {"i2c", "dialout", "gpio", "plugdev"}
    assert unit["CapabilityBoundingSet"] == [""]
    assert unit["StateDirectory"] == ["kiosk"]  # /var/lib/kiosk, the defaults' state_dir
    assert unit["DevicePolicy"] == ["closed"]


def test_the_python_stack_starts_under_memory_deny_write_execute(tmp_path: Path) -> None:
    """The unit's MemoryDenyWriteExecute=yes must not break nfcpy, luma, ctypes or sqlite."""
    assert directives(UNIT.read_text())["MemoryDenyWriteExecute"] == ["yes"]
    stack = (
        "import ctypes, sqlite3, nfc, luma.oled.device, luma.core.interface.serial, PIL.Image\n"
        "callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)\n"
        "assert callback(41) == 42\n"
        "clf = nfc.ContactlessFrontend('udp:127.0.0.1:50321'); clf.close()\n"
        "db = sqlite3.connect(':memory:'); db.execute('PRAGMA journal_mode=WAL')\n"
        "import kiosk.config, kiosk.app\n"
        "print('stack ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", MDWE_RUN, sys.executable, "-c", stack],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    assert result.returncode == 0, result.stderr
    assert "stack ok" in result.stdout


def uart_drop_in() -> str:
    """The drop-in the unit's comments give for a PN532 on the UART, as shipped there."""
    text = UNIT.read_text()
    block = text[text.index("take them away with this drop-in"):].splitlines()[2:]
    lines = []
    for line in block:
        if not line.startswith("#   "):
            break
        lines.append(line.removeprefix("#   "))
    return "\n".join(lines) + "\n"


def security(unit: Path) -> tuple[float, str, str]:
    assert ANALYZE is not None
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True, text=True, timeout=60, check=False, cwd=unit.parent,
    )
    match = re.search(r"Overall exposure level for kiosk\.service: ([\d.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match[1]), match[2], result.stdout


@needs_analyze
def test_the_shipped_unit_allows_no_spi_and_the_uart_drop_in_takes_usb_away(tmp_path: Path) -> None:
    shipped = directives(UNIT.read_text())
    assert not any(d.startswith("char-spi") for d in shipped["DeviceAllow"])
    drop_in = uart_drop_in()
    assert drop_in.startswith("[Service]\nDeviceAllow=\n")
    # a drop-in's lines come after the unit's: appended, they act the same
    uart = unit_copy(tmp_path, UNIT.read_text().replace("\n[Install]", "\n" + drop_in + "\n[Install]"))
    assert verify(uart).stderr == ""
    score, rating, report = security(uart)
    base, _, _ = security(unit_copy(tmp_path / "..", UNIT.read_text()))
    print(f"systemd-analyze security: shipped {base}, with the UART drop-in {score} {rating}")
    device_acl = next(line for line in report.splitlines() if "DeviceAllow=" in line)
    assert "usb_device" not in device_acl and "ttyAMA" in device_acl
    assert any(line.startswith("✓ RestrictAddressFamilies=~AF_NETLINK") for line in report.splitlines())
    assert score <= base

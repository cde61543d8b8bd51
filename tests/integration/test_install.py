"""firmware_config/install.sh run against a fake Raspberry Pi OS root (`--root DIR`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "firmware_config" / "install.sh"
FRAGMENT = (REPO / "firmware_config" / "boot-config.txt").read_text()

# Raspberry Pi OS Bookworm's own files, as a fresh image ships them (`make pi-root` uses them too).
STOCK_BOOT = REPO / "tests" / "pi_root" / "boot-firmware"
STOCK_CONFIG = (STOCK_BOOT / "config.txt").read_text()
STOCK_CMDLINE = (STOCK_BOOT / "cmdline.txt").read_text()
SYSTEM_COMMANDS = (
    "apt-get", "useradd", "groupadd", "usermod", "systemctl", "udevadm", "chown", "pip", "python3",
)


@pytest.fixture
def pi_root(tmp_path: Path) -> Path:
    root = tmp_path / "pi"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "config.txt").write_text(STOCK_CONFIG)
    (root / "boot" / "firmware" / "cmdline.txt").write_text(STOCK_CMDLINE)
    return root


@pytest.fixture
def trap_bin(tmp_path: Path) -> Path:
    """Commands that must never run in --root mode: each one leaves a mark if it does."""
    trap = tmp_path / "trap"
    trap.mkdir()
    for name in SYSTEM_COMMANDS:
        script = trap / name
        script.write_text(f'#!/bin/sh\necho "$0 $*" >> "{tmp_path}/ran"\n')
        script.chmod(0o755)
    return trap


def install(root: Path, trap_bin: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{trap_bin}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), *options],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root with its content, mode and modification time."""
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mode, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_install_writes_unit_rules_blacklist_modules_and_config_under_the_root(
    pi_root: Path, trap_bin: Path
) -> None:
    install(pi_root, trap_bin)
    assert (pi_root / "etc/systemd/system/kiosk.service").read_text() == (
        REPO / "systemd/kiosk.service"
    ).read_text()
    assert (pi_root / "etc/udev/rules.d/60-kiosk-nfc.rules").is_file()
    assert "blacklist pn533_usb" in (pi_root / "etc/modprobe.d/kiosk-nfc-blacklist.conf").read_text()
    assert "i2c-dev" in (pi_root / "etc/modules-load.d/kiosk.conf").read_text()
    config = pi_root / "etc/kiosk/kiosk.toml"
    assert config.read_text() == (REPO / "firmware_config/kiosk.example.toml").read_text()
    assert config.stat().st_mode & 0o777 == 0o640  # may name a token file: not world-readable


def test_root_mode_runs_no_system_command_and_shows_each_one(
    pi_root: Path, trap_bin: Path, tmp_path: Path
) -> None:
    out = install(pi_root, trap_bin).stdout
    assert not (tmp_path / "ran").exists(), (tmp_path / "ran").read_text()
    for shown in (
        "would run: useradd --system",
        "would run: usermod --append --groups i2c kiosk",
        "would run: usermod --append --groups dialout kiosk",
        "would run: usermod --append --groups gpio kiosk",
        "would run: usermod --append --groups plugdev kiosk",
        "would run: python3 -m venv --system-site-packages /opt/kiosk/venv",
        "would run: /opt/kiosk/venv/bin/pip install --quiet",
        "would run: systemctl daemon-reload",
        "would run: systemctl enable kiosk.service",
        "would run: chown root:kiosk /etc/kiosk/kiosk.toml",
    ):
        assert shown in out
    assert "running:" not in out


def test_a_second_run_changes_nothing_and_says_so(pi_root: Path, trap_bin: Path) -> None:
    first = install(pi_root, trap_bin).stdout
    before = snapshot(pi_root)
    second = install(pi_root, trap_bin).stdout
    assert "change(s) made" in first
    assert snapshot(pi_root) == before
    assert "Nothing changed" in second
    assert not [line for line in second.splitlines() if line.startswith("changed:")]
    assert "unchanged: /boot/firmware/config.txt" in second


def test_an_existing_kiosk_toml_is_kept_as_the_owner_wrote_it(
    pi_root: Path, trap_bin: Path
) -> None:
    mine = pi_root / "etc/kiosk/kiosk.toml"
    mine.parent.mkdir(parents=True)
    mine.write_text('[kiosk]\nid = "bakery-counter"\n')
    out = install(pi_root, trap_bin).stdout
    assert mine.read_text() == '[kiosk]\nid = "bakery-counter"\n'
    assert "kept:      /etc/kiosk/kiosk.toml" in out
    assert (pi_root / "etc/kiosk/kiosk.example.toml").is_file()


def test_the_boot_fragment_is_appended_once_after_the_stock_config(
    pi_root: Path, trap_bin: Path
) -> None:
    install(pi_root, trap_bin)
    install(pi_root, trap_bin)
    config = (pi_root / "boot/firmware/config.txt").read_text()
    assert config == STOCK_CONFIG + FRAGMENT
    assert config.count("dtparam=i2c_arm_baudrate=400000") == 1
    assert (pi_root / "boot/firmware/config.txt.kiosk-backup").read_text() == STOCK_CONFIG


def test_the_fragment_resets_model_filters_before_its_settings() -> None:
    settings = [line for line in FRAGMENT.splitlines() if line and not line.startswith("#")]
    assert settings[0] == "[all]"
    assert set(settings[1:]) == {
        "dtparam=i2c_arm=on",
        "dtparam=i2c_arm_baudrate=400000",
        "enable_uart=1",
        "dtoverlay=disable-bt",
    }


def test_an_older_kiosk_fragment_is_replaced_not_duplicated(
    pi_root: Path, trap_bin: Path
) -> None:
    old_block = (
        "# --- loyalty-kiosk: begin (an older version) ---\n"
        "dtparam=i2c_arm=on\n"
        "# --- loyalty-kiosk: end ---\n"
    )
    config = pi_root / "boot/firmware/config.txt"
    config.write_text(STOCK_CONFIG + old_block + "gpu_mem=64\n")
    install(pi_root, trap_bin)
    assert config.read_text() == STOCK_CONFIG + "gpu_mem=64\n" + FRAGMENT


def test_the_serial_console_is_switched_off_and_the_rest_of_cmdline_kept(
    pi_root: Path, trap_bin: Path
) -> None:
    out = install(pi_root, trap_bin).stdout
    cmdline = (pi_root / "boot/firmware/cmdline.txt").read_text()
    assert cmdline == STOCK_CMDLINE.replace("console=serial0,115200 ", "")
    assert "console=tty1" in cmdline
    assert "REBOOT NEEDED" in out
    assert "serial console was switched off" in out


def test_an_older_os_without_boot_firmware_gets_boot_config_txt(
    tmp_path: Path, trap_bin: Path
) -> None:
    root = tmp_path / "buster"
    (root / "boot").mkdir(parents=True)
    (root / "boot/config.txt").write_text("dtparam=audio=on\n")
    (root / "boot/cmdline.txt").write_text("console=serial0,115200 console=tty1 rootwait\n")
    install(root, trap_bin)
    assert (root / "boot/config.txt").read_text() == "dtparam=audio=on\n" + FRAGMENT
    assert (root / "boot/cmdline.txt").read_text() == "console=tty1 rootwait\n"


def test_bookworms_moved_stub_at_boot_config_txt_is_left_alone(
    pi_root: Path, trap_bin: Path
) -> None:
    stub = pi_root / "boot/config.txt"
    stub.write_text("DO NOT EDIT THIS FILE\n\nThe file you are looking for has moved to "
                    "/boot/firmware/config.txt\n")
    before = stub.read_text()
    install(pi_root, trap_bin)
    assert stub.read_text() == before
    assert (pi_root / "boot/firmware/config.txt").read_text().endswith(FRAGMENT)


def test_without_a_boot_partition_the_owner_is_told_to_edit_it_by_hand(
    tmp_path: Path, trap_bin: Path
) -> None:
    root = tmp_path / "bare"
    root.mkdir()
    out = install(root, trap_bin).stdout
    assert "skipped:   no /boot/firmware/config.txt" in out
    assert "by hand" in out
    assert (root / "etc/systemd/system/kiosk.service").is_file()


def test_loaded_kernel_nfc_drivers_ask_for_a_reboot(pi_root: Path, trap_bin: Path) -> None:
    (pi_root / "proc").mkdir()
    (pi_root / "proc/modules").write_text(
        "port100 20480 0 - Live 0x0\nnfc 131072 1 port100, Live 0x0\nsnd 90112 0 - Live 0x0\n"
    )
    install(pi_root, trap_bin)
    out = install(pi_root, trap_bin).stdout  # the drivers stay loaded until the reboot
    assert "REBOOT NEEDED" in out
    assert "port100 nfc hold the USB reader" in out


def test_an_enabled_bluetooth_uart_helper_is_disabled(pi_root: Path, trap_bin: Path) -> None:
    wants = pi_root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "hciuart.service").symlink_to("/lib/systemd/system/hciuart.service")
    assert "would run: systemctl disable hciuart.service" in install(pi_root, trap_bin).stdout


def test_an_enabled_kiosk_service_is_not_enabled_again(pi_root: Path, trap_bin: Path) -> None:
    wants = pi_root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "kiosk.service").symlink_to("/etc/systemd/system/kiosk.service")
    out = install(pi_root, trap_bin).stdout
    assert "systemctl enable" not in out
    assert "unchanged: kiosk.service enabled" in out


def test_a_dry_run_writes_nothing(pi_root: Path, trap_bin: Path, tmp_path: Path) -> None:
    before = snapshot(pi_root)
    out = install(pi_root, trap_bin, "--dry-run").stdout
    assert snapshot(pi_root) == before
    assert not (tmp_path / "ran").exists()
    assert "would write: /etc/systemd/system/kiosk.service" in out
    assert "would edit: /boot/firmware/cmdline.txt" in out


def test_an_unknown_option_is_refused_with_a_hint(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--frobnicate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "unknown option --frobnicate" in result.stderr


def test_a_missing_root_directory_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--root", str(tmp_path / "nowhere")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "no such directory" in result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("script", [INSTALL, REPO / "tests" / "pi_root" / "run.sh"], ids=lambda p: p.name)
def test_the_install_script_and_its_arm64_check_are_shellcheck_clean(script: Path) -> None:
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout

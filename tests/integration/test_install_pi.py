"""What the Pi install can be checked for without a Pi or an arm64 root (`make pi-root` is
the slow check): the packages install.sh asks for, the `pi` extra, the README's wiring."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "firmware_config" / "install.sh"
PI_ROOT = REPO / "tests" / "pi_root" / "run.sh"
README = (REPO / "README.md").read_text(encoding="utf-8")
PI_MACHINE = {"platform_machine": "aarch64", "sys_platform": "linux"}
SERVER_LIBRARIES = {"fastapi", "uvicorn", "sqlalchemy"}

# The 40-pin header of every Pi since the B+ (Zero 2 W, 3, 4, 5): physical pin -> what it is.
HEADER = {
    1: "3V3", 2: "5V", 3: "GPIO 2", 4: "5V", 5: "GPIO 3", 6: "GND", 7: "GPIO 4", 8: "GPIO 14",
    9: "GND", 10: "GPIO 15", 11: "GPIO 17", 12: "GPIO 18", 13: "GPIO 27", 14: "GND",
    15: "GPIO 22", 16: "GPIO 23", 17: "3V3", 18: "GPIO 24", 19: "GPIO 10", 20: "GND",
    21: "GPIO 9", 22: "GPIO 25", 23: "GPIO 11", 24: "GPIO 8", 25: "GND", 26: "GPIO 7",
    27: "GPIO 0", 28: "GPIO 1", 29: "GPIO 5", 30: "GND", 31: "GPIO 6", 32: "GPIO 12",
    33: "GPIO 13", 34: "GND", 35: "GPIO 19", 36: "GPIO 16", 37: "GPIO 26", 38: "GPIO 20",
    39: "GND", 40: "GPIO 21",
}
# What the header's special functions are, for the Pi pin column.
FUNCTIONS = {"SDA": "GPIO 2", "SCL": "GPIO 3", "TXD": "GPIO 14", "RXD": "GPIO 15",
             "MOSI": "GPIO 10", "SCLK": "GPIO 11", "CE0": "GPIO 8"}


def pi_extra() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extra: list[str] = project["optional-dependencies"]["pi"]
    return extra


def requirement_names(requirements: list[str]) -> set[str]:
    from packaging.requirements import Requirement

    return {
        Requirement(line).name.lower()
        for line in requirements
        if Requirement(line).marker is None or Requirement(line).marker.evaluate(PI_MACHINE)
    }


def wiring_rows() -> list[dict[str, str]]:
    """The rows of every table in the README's Wiring section, keyed by their header."""
    section = README[README.index("### Wiring"):README.index("#### Check the I²C bus")]
    rows: list[dict[str, str]] = []
    header: list[str] = []
    for line in section.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if not header:
            header = cells
        elif not line.startswith("| ---"):
            rows.append(dict(zip(header, cells, strict=True)))
    return rows


def installed_by_pip(tmp_path: Path) -> list[str]:
    """The pip lines install.sh shows when it installs into a fake root."""
    root = tmp_path / "pi"
    root.mkdir()
    result = subprocess.run(
        ["bash", str(INSTALL), "--root", str(root)], capture_output=True, text=True, check=True,
    )
    return [line for line in result.stdout.splitlines() if "/pip install" in line]


def test_install_sh_installs_only_the_kiosk_with_its_pi_extra(tmp_path: Path) -> None:
    lines = installed_by_pip(tmp_path)
    assert lines == [
        "would run: /opt/kiosk/venv/bin/pip install --quiet --upgrade pip",
        f"would run: /opt/kiosk/venv/bin/pip install --quiet {REPO}\\[pi\\]",
    ]


def test_the_pi_extra_gives_lgpio_and_the_rpi_gpio_module_that_works_on_a_pi_5() -> None:
    names = requirement_names(pi_extra())
    assert {"lgpio", "rpi-lgpio", "smbus2", "spidev"} <= names
    # rpi-lgpio and legacy RPi.GPIO install the same module: never both, and legacy never.
    assert "rpi.gpio" not in names


def test_the_pi_extra_stays_off_other_machines_where_its_libraries_cannot_build() -> None:
    from packaging.requirements import Requirement

    x86 = {"platform_machine": "x86_64", "sys_platform": "linux"}
    on_x86 = {
        Requirement(line).name.lower()
        for line in pi_extra()
        if Requirement(line).marker is None or Requirement(line).marker.evaluate(x86)
    }
    assert on_x86 == {"smbus2"}


def test_the_pi_extra_brings_none_of_the_servers_libraries() -> None:
    assert not requirement_names(pi_extra()) & SERVER_LIBRARIES


def test_spidev_without_an_arm64_wheel_comes_from_debian_so_nothing_is_compiled() -> None:
    apt = re.search(r"^APT_PACKAGES=\((.*)\)$", INSTALL.read_text(), re.MULTILINE)
    assert apt is not None
    packages = apt.group(1).split()
    assert "python3-spidev" in packages
    assert "python3-lgpio" not in packages  # Raspberry Pi OS's archive only: not on Debian
    assert "--system-site-packages" in INSTALL.read_text()


def test_every_pin_in_the_wiring_tables_is_what_the_header_has_there() -> None:
    rows = wiring_rows()
    for row in rows:
        expected = HEADER[int(row["physical"])]
        if row["BCM"]:
            assert row["BCM"] == expected, f"{row}: that pin is {expected}"
        assert FUNCTIONS.get(row["Pi pin"], row["Pi pin"]) in (expected, "GPIO"), row
        assert row["Pi pin"] != "GPIO" or row["BCM"], row
    assert len(rows) >= 25  # six tables: none went missing


def test_the_wiring_tables_use_the_lights_pins_the_kiosk_ships_with() -> None:
    lights = tomllib.loads((REPO / "kiosk" / "defaults.toml").read_text())["lights"]
    settings = {
        match.group(1): (int(match.group(2)), row)
        for row in wiring_rows()
        for match in [re.fullmatch(r"`(\w+_pin) = (\d+)`.*", row.get("setting", ""))]
        if match
    }
    assert settings.keys() == {"green_pin", "red_pin", "buzzer_pin", "button_pin"}
    for name, (pin, row) in settings.items():
        assert row["BCM"] == f"GPIO {pin}", row
        if "(shipped)" in row["setting"]:
            assert lights[name] == pin, f"defaults.toml ships {name} = {lights[name]}"
        else:
            assert lights[name] == 0, f"{name} is fitted as shipped: the README says it is not"


def test_the_uart_table_crosses_the_pn532s_lines_to_the_pins_doctor_names() -> None:
    uart = {row["PN532 pin"]: row for row in wiring_rows()[:4]}
    assert (uart["TXD"]["Pi pin"], uart["TXD"]["physical"]) == ("RXD", "10")
    assert (uart["RXD"]["Pi pin"], uart["RXD"]["physical"]) == ("TXD", "8")
    assert uart["VCC"]["Pi pin"] == "3V3"  # the PN532's lines are 3.3 V, like the Pi's
    doctor = (REPO / "kiosk" / "doctor.py").read_text()
    assert "TX to pin 10, RX to pin 8" in doctor


def test_the_pi_root_check_skips_in_one_line_where_it_cannot_run(tmp_path: Path) -> None:
    """Not root: no binfmt registration, no chroot. (As root, run it as nobody.)"""
    command = ["bash", str(PI_ROOT)]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=30,
        env={**os.environ, "PI_ROOT_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1
    assert result.stdout.startswith("pi-root: skipped: needs root")
    assert not (tmp_path / "cache").exists()

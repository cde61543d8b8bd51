"""Reading a Raspberry Pi's boot files (config.txt, cmdline.txt) for what the kiosk needs.

Pure text in, facts out, except `find`, which only looks for the file under a root.
config.txt rules followed here: `[filter]` sections limit the lines after them to some
models until `[all]`; `dtparam=a=b,c=d` sets several parameters; the last value wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ON = {"on", "true", "yes", "okay", "1", ""}
I2C_LINES = ("dtparam=i2c_arm=on", "dtparam=i2c_arm_baudrate=400000")
UART_LINE = "enable_uart=1"
FREE_PL011_LINE = "dtoverlay=disable-bt"
SERIAL_CONSOLE = re.compile(r"^console=(serial0|ttyAMA0|ttyS0)(,\d+)?$")
# Kernel names of the header UART: the PL011 (Bluetooth's on a Pi 3/4/Zero 2 W) and the
# mini UART; serial0 is the alias of whichever is on GPIO 14/15.
HEADER_UARTS = {"AMA0": "ttyAMA0", "S0": "ttyS0", "serial0": "serial0"}


@dataclass
class BootSettings:
    """The lines of config.txt that apply to every model."""

    params: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    overlays: list[str] = field(default_factory=list)


def find(root: Path) -> Path | None:
    """config.txt under root: /boot/firmware (Bookworm) or /boot (older), else None."""
    for candidate in (root / "boot/firmware/config.txt", root / "boot/config.txt"):
        if candidate.is_file() and "has moved to /boot/firmware" not in candidate.read_text(
            errors="replace"
        ):
            return candidate
    return None


def parse(text: str) -> BootSettings:
    """The settings in force for every model (lines under a model filter are left out)."""
    settings = BootSettings()
    everywhere = True
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            everywhere = line[1:-1].strip().lower() == "all"
            continue
        if not everywhere or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key == "dtparam":
            for item in value.split(","):
                name, _, setting = item.partition("=")
                settings.params[_param_name(name.strip())] = setting.strip().lower()
        elif key == "dtoverlay":
            settings.overlays.append(value.split(",", 1)[0].strip())
        else:
            settings.values[key] = value
    return settings


def _param_name(name: str) -> str:
    return "i2c_arm" if name == "i2c" else name


def missing_lines(settings: BootSettings, *, i2c: bool, uart: str | None) -> list[str]:
    """The lines of firmware_config/boot-config.txt the wiring needs and the file lacks."""
    missing = []
    if i2c:
        if settings.params.get("i2c_arm") not in ON:
            missing.append(I2C_LINES[0])
        if settings.params.get("i2c_arm_baudrate") != "400000":
            missing.append(I2C_LINES[1])
    if uart is not None:
        if settings.values.get("enable_uart") != "1":
            missing.append(UART_LINE)
        freed = {"disable-bt", "pi3-disable-bt", "miniuart-bt", "pi3-miniuart-bt"}
        if uart != "ttyS0" and not freed & set(settings.overlays):
            missing.append(FREE_PL011_LINE)
    return missing


def pi_uart(reader_path: str) -> str | None:
    """The header UART an nfcpy path uses ('tty:AMA0:pn532' → 'ttyAMA0'), else None."""
    parts = reader_path.split(":")
    if len(parts) < 2 or parts[0] != "tty":
        return None
    return HEADER_UARTS.get(parts[1])


def serial_consoles(cmdline: str) -> list[str]:
    """The kernel console= words that put a login on the header UART."""
    return [word for word in cmdline.split() if SERIAL_CONSOLE.match(word)]

"""The doctor's probes: each touches one real thing (reader, I2C bus, clock, network, disk).

`Probes()` holds the real ones; tests swap single fields. Hardware libraries are imported
inside the probe that needs them, so importing this module needs none of them.
"""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit


def _open_reader(path: str) -> None:
    import nfc  # only here: nfcpy pulls in libusb and pyserial

    frontend = nfc.ContactlessFrontend(path)
    frontend.close()


def _probe_i2c(port: int, address: int) -> None:
    from smbus2 import SMBus  # the pi extra; missing elsewhere

    with SMBus(port) as bus:
        bus.write_quick(address)  # what i2cdetect does at 0x3C: an SSD1306 only ACKs


def _last_event_time(ledger_path: Path) -> datetime | None:
    from kiosk.adapters.ledger import Ledger

    with Ledger.open(ledger_path) as ledger:
        return ledger.last_event_time()


def _ledger_health(key_path: Path, ledger_path: Path) -> tuple[bool, str, str]:
    from kiosk.adapters.ledger_binding import health

    found = health(key_path, ledger_path)
    return found.sound, found.detail, found.fix


def _command_output(argv: Sequence[str]) -> str | None:
    """A command's stdout, or None when it is missing or fails (no systemd, no D-Bus)."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _http_status(url: str, connect_timeout: float, read_timeout: float, verify_tls: bool) -> int:
    """GET url; its HTTP status. Connect and read have their own timeouts, as in sync."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if not verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=connect_timeout)
    try:
        connection.connect()
        assert connection.sock is not None
        connection.sock.settimeout(read_timeout)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={"User-Agent": "loyalty-kiosk-doctor/1"})
        return connection.getresponse().status
    finally:
        connection.close()


def _free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Probes:
    """Everything the doctor asks of the hardware, the network, the clock and the OS."""

    open_reader: Callable[[str], None] = _open_reader
    probe_i2c: Callable[[int, int], None] = _probe_i2c
    last_event_time: Callable[[Path], datetime | None] = _last_event_time
    ledger_health: Callable[[Path, Path], tuple[bool, str, str]] = _ledger_health
    command: Callable[[Sequence[str]], str | None] = _command_output
    http_status: Callable[[str, float, float, bool], int] = _http_status
    free_bytes: Callable[[Path], int] = _free_bytes
    now: Callable[[], datetime] = _now

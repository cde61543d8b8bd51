"""`kiosk doctor`: check a live Raspberry Pi kiosk, one line per check, each with its fix.

Every look at the machine goes through a seam: files are read under `root` (so a test
builds a fake Pi in a temp dir), and hardware, network, clock and commands go through
`Probes`, whose defaults touch the real thing. Hardware libraries are imported inside
the default probes only, so importing this module needs none of them.

    $ sudo systemctl stop kiosk      # the reader opens for one process at a time
    $ sudo -u kiosk /opt/kiosk/venv/bin/kiosk --config /etc/kiosk/kiosk.toml doctor
"""

from __future__ import annotations

import errno
import http.client
import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TextIO

from kiosk import bootconfig
from kiosk.config import Config
from kiosk.doctor_probes import Probes

__all__ = ["CheckResult", "Probes", "Status", "main", "run_checks"]

SERVICE_USER = "kiosk"
SERVICE_GROUPS = ("i2c", "dialout", "gpio", "plugdev")
NFC_MODULES = ("port100", "pn533_usb", "pn533", "nfc")
MIN_FREE_BYTES = 100 * 1024 * 1024
EARLIEST_SANE_YEAR = 2024
READER_ATTEMPTS = 3  # a PN532 on a Pi Zero 2 W misses the first diagnose now and then


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: what was found and, when it failed, how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        first = f"{self.status.value}  {self.name:<13} {self.detail}"
        return [first, f"      {'':<13} fix: {self.fix}"] if self.fix else [first]


@dataclass
class Doctor:
    config: Config
    root: Path
    probes: Probes
    user: str = SERVICE_USER
    results: list[CheckResult] = field(default_factory=list)

    def under(self, path: Path | str) -> Path:
        """A system path as seen from `root`."""
        return self.root / Path(path).relative_to("/") if Path(path).is_absolute() else Path(path)

    def add(self, name: str, status: Status, detail: str, fix: str = "") -> None:
        self.results.append(CheckResult(name, status, detail, fix))

    # --- the reader ------------------------------------------------------------------

    def reader(self) -> None:
        path = self.config.reader.path
        failure: BaseException | None = None
        for _ in range(READER_ATTEMPTS):
            try:
                self.probes.open_reader(path)
            except Exception as error:  # nfcpy raises IOError, ValueError and its own kinds
                failure = error
                continue
            self.add("reader", Status.PASS, f"opened and closed {path}")
            return
        assert failure is not None
        reason = "libusb-1.0 is not installed" if "libusb" in str(failure) else str(failure)[:120]
        self.add("reader", Status.FAIL, f"cannot open {path}: {reason}", _reader_fix(path, failure))

    # --- the display -----------------------------------------------------------------

    def display(self) -> None:
        section = self.config.display
        if section.driver in ("none", "virtual"):
            self.add("display", Status.SKIP, f"[display] driver = {section.driver!r}: no OLED to ask")
            return
        if section.interface == "spi":
            node = f"/dev/spidev{section.spi_port}.{section.spi_device}"
            if self.under(node).exists():
                self.add("display", Status.PASS, f"{node} is there (SPI cannot be asked more)")
            else:
                self.add("display", Status.FAIL, f"{node} is missing",
                         "turn SPI on: add dtparam=spi=on to config.txt and reboot")
            return
        node = f"/dev/i2c-{section.i2c_port}"
        where = f"0x{section.i2c_address:02X} on {node}"
        if not self.under(node).exists():
            self.add("display", Status.FAIL, f"{node} is missing",
                     "I2C is off: run firmware_config/install.sh (or raspi-config > Interface "
                     "> I2C), then reboot")
            return
        try:
            self.probes.probe_i2c(section.i2c_port, section.i2c_address)
        except ImportError:
            self.add("display", Status.FAIL, "smbus2 is not installed",
                     "/opt/kiosk/venv/bin/pip install 'loyalty-kiosk[pi]'")
        except PermissionError:
            self.add("display", Status.FAIL, f"no permission to open {node}",
                     f"sudo usermod -aG i2c {self.user}, then log in again")
        except OSError as error:
            self.add("display", Status.FAIL, f"no answer at {where} ({error.strerror or error})",
                     f"check the wiring (SDA pin 3, SCL pin 5, 3V3, GND); `i2cdetect -y "
                     f"{section.i2c_port}` shows the address: set [display] i2c_address to it")
        else:
            self.add("display", Status.PASS, f"{section.driver} answers at {where}")

    # --- the OS around the kiosk -----------------------------------------------------

    def groups(self) -> None:
        users = _colon_table(self.under("/etc/passwd"))
        groups = _colon_table(self.under("/etc/group"))
        if self.user not in users:
            self.add("groups", Status.FAIL, f"no user {self.user!r}",
                     "sudo firmware_config/install.sh creates it")
            return
        primary_gid = users[self.user][2] if len(users[self.user]) > 2 else ""
        missing = [g for g in SERVICE_GROUPS if g not in groups]
        outside = [
            g for g in SERVICE_GROUPS
            if g in groups and self.user not in _members(groups[g]) and groups[g][1] != primary_gid
        ]
        if missing:
            self.add("groups", Status.FAIL, f"group(s) {', '.join(missing)} do not exist",
                     f"sudo groupadd --system {' '.join(missing)} (Raspberry Pi OS has them)")
        elif outside:
            self.add("groups", Status.FAIL, f"{self.user} is not in {', '.join(outside)}",
                     f"sudo usermod -aG {','.join(outside)} {self.user}")
        else:
            self.add("groups", Status.PASS, f"{self.user} is in {', '.join(SERVICE_GROUPS)}")

    def boot_config(self) -> None:
        found = bootconfig.find(self.root)
        wants_i2c = self.config.display.driver not in ("none", "virtual") and (
            self.config.display.interface == "i2c"
        )
        uart = bootconfig.pi_uart(self.config.reader.path)
        if not wants_i2c and uart is None:
            self.add("boot config", Status.SKIP, "neither an I2C display nor a reader on the UART")
            return
        if found is None:
            self.add("boot config", Status.FAIL, "no /boot/firmware/config.txt nor /boot/config.txt",
                     "is this Raspberry Pi OS? Add firmware_config/boot-config.txt by hand")
            return
        settings = bootconfig.parse(found.read_text(errors="replace"))
        shown = "/" + str(found.relative_to(self.root))
        missing = bootconfig.missing_lines(settings, i2c=wants_i2c, uart=uart)
        console = []
        if uart is not None:
            cmdline = found.with_name("cmdline.txt")
            text = cmdline.read_text(errors="replace") if cmdline.exists() else ""
            console = bootconfig.serial_consoles(text)
        if missing or console:
            problems = [f"missing {line}" for line in missing]
            problems += [f"serial console {word} in cmdline.txt" for word in console]
            self.add("boot config", Status.FAIL, f"{shown}: " + "; ".join(problems),
                     "sudo firmware_config/install.sh (or add the lines and remove the console "
                     "by hand), then reboot")
        else:
            self.add("boot config", Status.PASS, f"{shown} has what the wiring needs")

    def kernel_modules(self) -> None:
        if not self.config.reader.path.startswith("usb"):
            self.add("nfc modules", Status.SKIP, "the reader is not on USB")
            return
        blacklisted: set[str] = set()
        for conf in sorted(self.under("/etc/modprobe.d").glob("*.conf")):
            for line in conf.read_text(errors="replace").splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] == "blacklist":
                    blacklisted.add(words[1].replace("-", "_"))
        modules = self.under("/proc/modules")
        loaded_text = modules.read_text() if modules.exists() else ""
        loaded = {line.split()[0] for line in loaded_text.splitlines() if line.strip()}
        open_list = [m for m in NFC_MODULES if m not in blacklisted]
        holding = [m for m in NFC_MODULES if m in loaded]
        if open_list:
            self.add("nfc modules", Status.FAIL, f"not blacklisted: {', '.join(open_list)}",
                     "sudo firmware_config/install.sh installs /etc/modprobe.d/"
                     "kiosk-nfc-blacklist.conf; then reboot")
        elif holding:
            self.add("nfc modules", Status.FAIL, f"loaded, holding the reader: {', '.join(holding)}",
                     f"sudo modprobe -r {' '.join(holding)} (or reboot)")
        else:
            self.add("nfc modules", Status.PASS, "kernel NFC drivers blacklisted and not loaded")

    # --- time, network, disk ---------------------------------------------------------

    def clock(self) -> None:
        now = self.probes.now()
        if now.year < EARLIEST_SANE_YEAR:
            self.add("clock", Status.FAIL, f"the clock says {now:%Y-%m-%d %H:%M} UTC",
                     "a Pi has no battery clock: connect the network so NTP can set it "
                     "(timedatectl status)")
            return
        ledger = self.under(self.config.kiosk.ledger_path)
        notes = []
        if ledger.exists():
            try:
                last = self.probes.last_event_time(ledger)
            except OSError as error:  # StorageError, PermissionError
                notes.append(f"ledger unreadable ({error}): run doctor as {self.user}")
            else:
                if last is not None and now < last:
                    self.add("clock", Status.FAIL,
                             f"now ({now:%Y-%m-%d %H:%M} UTC) is before the last recorded "
                             f"event ({last:%Y-%m-%d %H:%M} UTC)",
                             "the clock went back after a power cut: let NTP set it "
                             "(timedatectl status), then restart the kiosk")
                    return
        synced = self.probes.command(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if synced == "no":
            self.add("clock", Status.FAIL, f"{now:%Y-%m-%d %H:%M} UTC, but NTP is not synchronized",
                     "check the network; sudo timedatectl set-ntp true; "
                     "systemctl status systemd-timesyncd")
            return
        if synced is None:
            notes.append("NTP state unknown (no timedatectl)")
        self.add("clock", Status.PASS, f"{now:%Y-%m-%d %H:%M} UTC" + "".join(f"; {n}" for n in notes))

    def central(self) -> None:
        section = self.config.central
        if not section.url:
            self.add("central", Status.SKIP, "no central server ([central] url is empty)")
            return
        url = f"{section.url}/v1/health"
        try:
            status = self.probes.http_status(
                url, section.connect_timeout, section.read_timeout, section.verify_tls
            )
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            self.add("central", Status.FAIL, f"cannot reach {url}: {reason}",
                     "check the network and [central] url; try: curl " + url)
            return
        if status != 200:
            self.add("central", Status.FAIL, f"{url} answered HTTP {status}",
                     "check [central] url (the server's base address) and the server's log")
            return
        token = section.token_file
        if not token:
            self.add("central", Status.FAIL, f"{url} is up, but [central] token_file is empty",
                     "ask the server's admin for this kiosk's token; put it in /etc/kiosk/token")
        elif not os.access(self.under(token), os.R_OK):
            self.add("central", Status.FAIL, f"{url} is up, but {token} cannot be read",
                     f"sudo chown root:{self.user} {token}; sudo chmod 0640 {token}")
        else:
            self.add("central", Status.PASS, f"{url} answers")

    def disk(self) -> None:
        state_dir = self.under(self.config.kiosk.state_dir)
        measured = state_dir
        while not measured.exists() and measured != measured.parent:
            measured = measured.parent
        free = self.probes.free_bytes(measured)
        shown = f"{free // (1024 * 1024)} MiB free for {self.config.kiosk.state_dir}"
        if free < MIN_FREE_BYTES:
            self.add("disk", Status.FAIL, shown,
                     "free space: sudo apt clean; sudo journalctl --vacuum-size=50M")
        else:
            self.add("disk", Status.PASS, shown)


    def ledger(self) -> None:
        """The ledger belongs to the site key and passes quick_check (read once, whole)."""
        kiosk = self.config.kiosk
        sound, detail, fix = self.probes.ledger_health(
            self.under(kiosk.site_key_path), self.under(kiosk.ledger_path))
        self.add("ledger", Status.PASS if sound else Status.FAIL, detail, fix)


def _reader_fix(path: str, error: BaseException) -> str:
    code = getattr(error, "errno", None)
    if "libusb" in str(error):
        return "sudo apt install libusb-1.0-0"
    if code == errno.EACCES:
        return ("no permission: sudo firmware_config/install.sh installs the udev rule "
                "(plugdev) and the groups; then replug the reader")
    if code == errno.EBUSY:
        return ("busy: stop the kiosk first (sudo systemctl stop kiosk); otherwise a kernel "
                "NFC driver holds it (see the nfc modules line)")
    if path.startswith("tty"):
        return ("check the PN532: switches on HSU (UART), TX to pin 10, RX to pin 8, 3V3, GND; "
                "the UART must be on (see the boot config line)")
    if path.startswith("usb"):
        return "plug the reader in; `lsusb` must list it; check [reader] path"
    return "check [reader] path"


def _colon_table(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    table = {}
    for line in path.read_text(errors="replace").splitlines():
        fields = line.split(":")
        if fields and fields[0] and not line.startswith("#"):
            table[fields[0]] = fields
    return table


def _members(group_fields: list[str]) -> set[str]:
    return set(filter(None, group_fields[3].split(","))) if len(group_fields) > 3 else set()


def run_checks(
    config: Config,
    root: Path = Path("/"),
    probes: Probes | None = None,
    user: str = SERVICE_USER,
) -> list[CheckResult]:
    """Run every check; files are read under `root`, the rest goes through `probes`."""
    doctor = Doctor(config, root, probes or Probes(), user)
    for check in (
        doctor.reader, doctor.display, doctor.groups, doctor.boot_config,
        doctor.kernel_modules, doctor.clock, doctor.central, doctor.disk, doctor.ledger,
    ):
        check()
    return doctor.results


def main(
    config: Config, out: TextIO | None = None, root: Path = Path("/"), probes: Probes | None = None
) -> int:
    """Print each check's line (and its fix); 1 if any check failed, else 0."""
    out = out or sys.stdout
    results = run_checks(config, root, probes)
    for result in results:
        for line in result.lines():
            out.write(line + "\n")
    failed = sum(r.status is Status.FAIL for r in results)
    counts = {s: sum(r.status is s for r in results) for s in Status}
    out.write(f"{counts[Status.PASS]} passed, {failed} failed, {counts[Status.SKIP]} skipped\n")
    return 1 if failed else 0

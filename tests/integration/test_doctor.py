"""`kiosk doctor` against a fake Raspberry Pi root, nfcpy's UDP reader, and a loopback server."""

from __future__ import annotations

import errno
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiosk import doctor
from kiosk.config import Config
from kiosk.doctor import CheckResult, Probes, Status
from kiosk.service import Counter
from sim.harness import free_port
from tests.support import tap_cards, uid
from tests.support.kiosk_config import make_config
from tests.support.ledger_files import damage_a_middle_page

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


class Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        code = type(self).status if self.path == "/v1/health" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def central() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Health,), {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def pi(tmp_path: Path) -> Path:
    """A root laid out as install.sh leaves a Raspberry Pi."""
    root = tmp_path / "pi"
    files = {
        "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nkiosk:x:995:993::/var/lib/kiosk:/usr/sbin/nologin\n",
        "etc/group": "root:x:0:\ndialout:x:20:pi,kiosk\nplugdev:x:46:pi,kiosk\n"
        "gpio:x:997:pi,kiosk\ni2c:x:998:pi,kiosk\nkiosk:x:993:\n",
        "boot/firmware/config.txt": "dtparam=audio=on\n[cm4]\notg_mode=1\n[all]\n"
        + (REPO / "firmware_config/boot-config.txt").read_text(),
        "boot/firmware/cmdline.txt": "console=tty1 root=PARTUUID=4e639091-02 rootwait\n",
        "etc/modprobe.d/kiosk-nfc-blacklist.conf": (
            REPO / "firmware_config/kiosk-nfc-blacklist.conf"
        ).read_text(),
        "proc/modules": "snd_bcm2835 24576 0 - Live 0x0\ni2c_bcm2835 16384 0 - Live 0x0\n",
        "dev/i2c-1": "",
        "etc/kiosk/token": "secret\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def oled_at(address: int) -> Any:
    """An I2C bus where only `address` acknowledges, as the kernel reports it."""

    def probe(port: int, asked: int) -> None:
        if asked != address:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")

    return probe


def healthy_probes(**overrides: Any) -> Probes:
    fields: dict[str, Any] = {
        "probe_i2c": oled_at(0x3C),
        "command": lambda argv: "yes",
        "now": lambda: NOW,
    }
    fields.update(overrides)
    return Probes(**fields)


def pi_config(central_url: str = "", **sections: dict[str, Any]) -> Config:
    """A Pi's config: real OLED on I2C, the reader over nfcpy's UDP device."""
    base: dict[str, dict[str, Any]] = {
        "reader": {"path": f"udp:127.0.0.1:{free_port()}"},
        "display": {"driver": "ssd1306"},
        "central": {"url": central_url, "token_file": "/etc/kiosk/token"},
    }
    for name, fields in sections.items():
        base.setdefault(name, {}).update(fields)
    return make_config(Path("/var/lib/kiosk"), **base)  # doctor reads it under the root


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def check(config: Config, pi: Path, probes: Probes | None = None) -> dict[str, CheckResult]:
    return by_name(doctor.run_checks(config, root=pi, probes=probes or healthy_probes()))


def test_a_well_set_up_pi_passes_every_check_and_exits_zero(
    pi: Path, central: ThreadingHTTPServer
) -> None:
    config = pi_config(url_of(central))
    out = io.StringIO()
    code = doctor.main(config, out=out, root=pi, probes=healthy_probes())
    text = out.getvalue()
    assert code == 0, text
    assert "FAIL" not in text
    for name in ("reader", "display", "groups", "boot config", "clock", "central", "disk"):
        assert f"PASS  {name}" in text


def test_each_line_says_pass_fail_or_skip_and_a_failure_carries_its_fix(pi: Path) -> None:
    out = io.StringIO()
    config = pi_config(display={"driver": "none"}, reader={"path": "tty:AMA0:pn532"})
    code = doctor.main(config, out=out, root=pi, probes=healthy_probes())
    lines = out.getvalue().splitlines()
    assert code == 1
    assert lines[0].startswith("FAIL  reader")
    assert "fix: check the PN532: switches on HSU" in lines[1]
    assert any(line.startswith("SKIP  display") for line in lines)
    assert lines[-1].endswith("skipped")


def test_a_reader_that_cannot_be_opened_fails_after_retries(pi: Path) -> None:
    attempts: list[str] = []

    def busy(path: str) -> None:
        attempts.append(path)
        raise OSError(errno.EBUSY, "Device or resource busy")

    result = check(pi_config(reader={"path": "usb:054c:06c1"}), pi,
                   healthy_probes(open_reader=busy))["reader"]
    assert result.status is Status.FAIL
    assert "sudo systemctl stop kiosk" in result.fix
    assert attempts == ["usb:054c:06c1"] * doctor.READER_ATTEMPTS


def test_a_pn532_missing_its_first_answer_passes_on_a_retry(pi: Path) -> None:
    answers = iter([OSError(errno.EIO, "no answer to diagnose"), None])

    def flaky(path: str) -> None:
        if (error := next(answers)) is not None:
            raise error

    result = check(pi_config(), pi, healthy_probes(open_reader=flaky))["reader"]
    assert result.status is Status.PASS


def test_a_reader_without_permission_points_at_the_udev_rule(pi: Path) -> None:
    def denied(path: str) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    result = check(pi_config(reader={"path": "usb"}), pi,
                   healthy_probes(open_reader=denied))["reader"]
    assert result.status is Status.FAIL
    assert "udev rule" in result.fix


def test_an_oled_at_another_address_fails_with_the_wiring_and_i2cdetect(pi: Path) -> None:
    result = check(pi_config(), pi, healthy_probes(probe_i2c=oled_at(0x3D)))["display"]
    assert result.status is Status.FAIL
    assert "no answer at 0x3C on /dev/i2c-1" in result.detail
    assert "i2cdetect -y 1" in result.fix


def test_the_display_passes_at_the_configured_address(pi: Path) -> None:
    config = pi_config(display={"i2c_address": 0x3D})
    result = check(config, pi, healthy_probes(probe_i2c=oled_at(0x3D)))["display"]
    assert result.status is Status.PASS
    assert "0x3D" in result.detail


def test_a_missing_i2c_device_node_means_i2c_is_off(pi: Path) -> None:
    (pi / "dev/i2c-1").unlink()
    result = check(pi_config(), pi)["display"]
    assert result.status is Status.FAIL
    assert "I2C is off" in result.fix


def test_a_user_missing_a_hardware_group_gets_the_usermod_line(pi: Path) -> None:
    group = pi / "etc/group"
    group.write_text(group.read_text().replace("gpio:x:997:pi,kiosk", "gpio:x:997:pi"))
    result = check(pi_config(), pi)["groups"]
    assert result.status is Status.FAIL
    assert result.fix == "sudo usermod -aG gpio kiosk"


def test_no_kiosk_user_sends_the_owner_to_install_sh(pi: Path) -> None:
    (pi / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    result = check(pi_config(), pi)["groups"]
    assert result.status is Status.FAIL
    assert "install.sh" in result.fix


def test_a_boot_config_without_the_fragment_lists_the_missing_lines(pi: Path) -> None:
    (pi / "boot/firmware/config.txt").write_text("dtparam=audio=on\n")
    result = check(pi_config(reader={"path": "tty:AMA0:pn532"}), pi)["boot config"]
    assert result.status is Status.FAIL
    for line in ("dtparam=i2c_arm=on", "dtparam=i2c_arm_baudrate=400000",
                 "enable_uart=1", "dtoverlay=disable-bt"):
        assert line in result.detail


def test_settings_under_a_model_filter_do_not_count_for_every_pi(pi: Path) -> None:
    (pi / "boot/firmware/config.txt").write_text(
        "[cm5]\ndtparam=i2c_arm=on,i2c_arm_baudrate=400000\n"
    )
    result = check(pi_config(), pi)["boot config"]
    assert result.status is Status.FAIL
    assert "dtparam=i2c_arm=on" in result.detail


def test_a_serial_console_on_the_readers_uart_fails(pi: Path) -> None:
    (pi / "boot/firmware/cmdline.txt").write_text("console=serial0,115200 console=tty1 rootwait\n")
    result = check(pi_config(reader={"path": "tty:AMA0:pn532"}), pi)["boot config"]
    assert result.status is Status.FAIL
    assert "serial console console=serial0,115200" in result.detail


def test_a_usb_reader_with_the_kernel_nfc_driver_loaded_fails(pi: Path) -> None:
    (pi / "proc/modules").write_text("port100 20480 0 - Live 0x0\nnfc 131072 1 port100, Live 0x0\n")
    result = check(pi_config(reader={"path": "usb:054c:06c1"}), pi)["nfc modules"]
    assert result.status is Status.FAIL
    assert result.fix == "sudo modprobe -r port100 nfc (or reboot)"


def test_a_usb_reader_without_the_blacklist_fails(pi: Path) -> None:
    (pi / "etc/modprobe.d/kiosk-nfc-blacklist.conf").unlink()
    result = check(pi_config(reader={"path": "usb"}), pi)["nfc modules"]
    assert result.status is Status.FAIL
    assert "not blacklisted: port100, pn533_usb, pn533, nfc" in result.detail


def test_a_clock_from_before_2024_fails(pi: Path) -> None:
    result = check(pi_config(), pi,
                   healthy_probes(now=lambda: datetime(1970, 1, 1, tzinfo=UTC)))["clock"]
    assert result.status is Status.FAIL
    assert "NTP" in result.fix


def test_a_clock_behind_the_ledgers_last_event_fails(pi: Path) -> None:
    config = make_config(pi / "var/lib/kiosk")
    counter = Counter.open(config)
    counter.tap(bytes.fromhex("04a1b2c3d4e5f6"), datetime(2026, 3, 15, 8, 0, tzinfo=UTC))
    counter.close()
    result = check(pi_config(), pi)["clock"]  # NOW is the day before that tap
    assert result.status is Status.FAIL
    assert "before the last recorded event (2026-03-15 08:00 UTC)" in result.detail


def test_a_clock_after_the_ledgers_last_event_passes(pi: Path) -> None:
    config = make_config(pi / "var/lib/kiosk")
    counter = Counter.open(config)
    counter.tap(bytes.fromhex("04a1b2c3d4e5f6"), datetime(2026, 3, 13, 8, 0, tzinfo=UTC))
    counter.close()
    assert check(pi_config(), pi)["clock"].status is Status.PASS


def test_an_unsynchronized_ntp_fails_and_unknown_ntp_is_noted(pi: Path) -> None:
    unsynced = check(pi_config(), pi, healthy_probes(command=lambda argv: "no"))["clock"]
    unknown = check(pi_config(), pi, healthy_probes(command=lambda argv: None))["clock"]
    assert unsynced.status is Status.FAIL
    assert "timedatectl set-ntp true" in unsynced.fix
    assert unknown.status is Status.PASS
    assert "NTP state unknown" in unknown.detail


def test_an_unreachable_central_fails_with_the_url_to_try(pi: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = check(pi_config(url), pi)["central"]
    assert result.status is Status.FAIL
    assert f"cannot reach {url}/v1/health" in result.detail
    assert f"curl {url}/v1/health" in result.fix


def test_a_central_answering_an_error_fails(pi: Path, central: ThreadingHTTPServer) -> None:
    central.RequestHandlerClass.status = 503  # type: ignore[attr-defined]
    result = check(pi_config(url_of(central)), pi)["central"]
    assert result.status is Status.FAIL
    assert "answered HTTP 503" in result.detail


def test_a_central_without_a_readable_token_fails(pi: Path, central: ThreadingHTTPServer) -> None:
    (pi / "etc/kiosk/token").unlink()
    result = check(pi_config(url_of(central)), pi)["central"]
    assert result.status is Status.FAIL
    assert "/etc/kiosk/token cannot be read" in result.detail


def test_no_central_configured_is_skipped(pi: Path) -> None:
    assert check(pi_config(), pi)["central"].status is Status.SKIP


def test_a_nearly_full_disk_fails_with_what_to_clean(pi: Path) -> None:
    result = check(pi_config(), pi, healthy_probes(free_bytes=lambda path: 20 * 1024 * 1024))
    assert result["disk"].status is Status.FAIL
    assert "20 MiB free" in result["disk"].detail


def test_the_real_probes_find_no_oled_or_reader_on_this_machine(pi: Path) -> None:
    """The default probes run for real: nfcpy finds no PN532 on this machine's UART."""
    config = pi_config(reader={"path": "tty:AMA0:pn532"})
    results = check(config, pi, Probes(now=lambda: NOW))
    assert results["reader"].status is Status.FAIL
    assert results["disk"].status is Status.PASS


def test_combined_dtparams_and_the_short_i2c_alias_count(pi: Path) -> None:
    (pi / "boot/firmware/config.txt").write_text(
        "[pi4]\narm_boost=1\n[all]\ndtparam=audio=on,i2c=on,i2c_arm_baudrate=400000\n"
    )
    assert check(pi_config(), pi)["boot config"].status is Status.PASS


def test_a_pn532_on_the_mini_uart_needs_the_uart_but_not_bluetooth_moved(pi: Path) -> None:
    (pi / "boot/firmware/config.txt").write_text("enable_uart=1\n")
    config = pi_config(reader={"path": "tty:S0:pn532"}, display={"driver": "none"})
    assert check(config, pi)["boot config"].status is Status.PASS
    config = pi_config(reader={"path": "tty:AMA0:pn532"}, display={"driver": "none"})
    assert "dtoverlay=disable-bt" in check(config, pi)["boot config"].detail


def test_a_usb_serial_pn532_needs_no_boot_config(pi: Path) -> None:
    config = pi_config(reader={"path": "tty:USB0:pn532"}, display={"driver": "none"})
    assert check(config, pi)["boot config"].status is Status.SKIP


def test_a_damaged_ledger_fails_the_ledger_check_with_how_to_restore(pi: Path) -> None:
    config = make_config(pi / "var/lib/kiosk")
    tap_cards(config, [uid(n) for n in range(200)])
    damage_a_middle_page(config.kiosk.ledger_path)

    result = check(pi_config(), pi)["ledger"]

    assert result.status is Status.FAIL
    assert "damaged" in result.detail
    assert "kiosk backup" in result.fix and "kiosk start-over" in result.fix


def test_a_ledger_whose_site_key_is_gone_fails_the_ledger_check_and_no_key_is_made(pi: Path) -> None:
    config = make_config(pi / "var/lib/kiosk")
    tap_cards(config, [uid(1)])
    config.kiosk.site_key_path.unlink()

    result = check(pi_config(), pi)["ledger"]

    assert result.status is Status.FAIL
    assert "is missing" in result.fix
    assert not config.kiosk.site_key_path.exists()


def test_a_sound_ledger_passes_and_a_pi_before_its_first_start_is_left_as_it_is(pi: Path) -> None:
    assert check(pi_config(), pi)["ledger"].status is Status.PASS
    assert not (pi / "var/lib/kiosk").exists()
    tap_cards(make_config(pi / "var/lib/kiosk"), [uid(1)])
    result = check(pi_config(), pi)["ledger"]
    assert result.status is Status.PASS and "passes quick_check" in result.detail

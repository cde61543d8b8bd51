"""`kiosk run` as a whole: a subprocess with a temp config over the simulator.

Real parts everywhere: nfcpy over its UDP device to a virtual field, luma's SSD1306 driver
onto the virtual controller (frames saved as PNG), gpiozero's MockFactory, SQLite files,
the central API on loopback, and systemd's notify protocol on a real unix socket.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from central import cli as central_cli
from central.testing import add_kiosk, running_server
from sim.harness import wait_until
from sim.nfc import VirtualField, make_card
from sim.notify import NotifyListener
from tests.support.log_lines import KEY_VALUE_LINE, uid_spellings

ROOT = Path(__file__).parents[2]


@dataclass
class Kiosk:
    proc: subprocess.Popen[str]
    config: Path
    frames: Path
    ledger: Path
    notify: NotifyListener
    central: str
    token: str
    log: list[str] = field(default_factory=list)
    _log_cond: threading.Condition = field(default_factory=threading.Condition)

    def follow_log(self) -> None:
        def pump() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                with self._log_cond:
                    self.log.append(line.rstrip())
                    self._log_cond.notify_all()

        threading.Thread(target=pump, daemon=True).start()

    def wait_log(self, text: str, timeout: float = 20.0, after: int = 0) -> bool:
        with self._log_cond:
            return self._log_cond.wait_for(lambda: any(text in x for x in self.log[after:]), timeout)

    def card(self, card_ref_prefix: str) -> dict[str, object] | None:
        with sqlite3.connect(self.ledger) as db:
            row = db.execute(
                "SELECT card_ref FROM cards WHERE card_ref LIKE ?", (card_ref_prefix + "%",)
            ).fetchone()
        if row is None:
            return None
        answer = requests.get(
            f"{self.central}/v1/cards/{row[0]}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=5,
        )
        return answer.json() if answer.status_code == 200 else None


def write_config(path: Path, state: Path, reader: str, central: str, token: Path, **extra: str) -> None:
    program_name = extra.get("program_name", "Café de la Gare")
    path.write_text(
        f"""
[kiosk]
id = "kiosk-1"
state_dir = "{state}"
locale = "fr"
[reader]
path = "{reader}"
poll_interval = 0.05
[display]
driver = "virtual"
frames_dir = "{state / 'frames'}"
outcome_seconds = 1.0
[lights]
factory = "mock"
[central]
url = "{central}"
token_file = "{token}"
interval = 0.5
[program]
name = "{program_name}"
"""
    )


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[tuple[Kiosk, VirtualField]]:
    db_url = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    token = add_kiosk(db_url, "kiosk-1")
    (tmp_path / "token").write_text(token)
    with running_server(db_url) as central, VirtualField() as nfc_field:
        config = tmp_path / "kiosk.toml"
        state = tmp_path / "state"
        write_config(config, state, nfc_field.path, central, tmp_path / "token")
        notify = NotifyListener(tmp_path / "notify.sock")
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "3000000",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("KIOSK_CONFIG", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "--config", str(config), "run"],
            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        env["WATCHDOG_PID"] = str(proc.pid)
        daemon = Kiosk(
            proc, config, state / "frames", state / "ledger.sqlite3", notify, central, token
        )
        daemon.follow_log()
        try:
            assert notify.wait("READY=1", 20) is not None, daemon.log
            yield daemon, nfc_field
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            notify.close()


def tap(daemon: Kiosk, nfc_field: VirtualField, kind: str, name: str, hold: float = 0.2) -> str:
    """Tap a card and wait for the daemon's log line about it; returns that line."""
    before = len(daemon.log)
    assert nfc_field.tap(make_card(kind, name=name), hold=hold)
    assert daemon.wait_log("event=tap", after=before), daemon.log[before:]
    return next(x for x in daemon.log[before:] if "event=tap" in x)


def test_a_tap_shows_on_the_oled_and_reaches_the_central_api(kiosk):
    daemon, nfc_field = kiosk
    frames_before = set(daemon.frames.glob("*.png"))
    line = tap(daemon, nfc_field, "ntag213", "marie")
    assert "outcome=welcome" in line and "stamps=3/10" in line
    # a new frame was drawn on the virtual OLED for it
    assert wait_until(lambda: set(daemon.frames.glob("*.png")) - frames_before, 10)
    # the events reach the central server without anyone asking
    card_prefix = line.split("card=")[1].split()[0]
    assert wait_until(lambda: daemon.card(card_prefix) is not None, 15, step=0.1)
    state = daemon.card(card_prefix)
    assert state is not None and state["stamps"] == 3 and state["visits"] == 1
    # no raw UID anywhere in the log
    spelled = uid_spellings(make_card("ntag213", name="marie").identity)
    assert not any(form in x for x in daemon.log for form in spelled)


def test_every_log_line_is_key_value_and_none_names_a_card_or_a_customer_even_at_debug(
    kiosk, tmp_path: Path
):
    daemon, nfc_field = kiosk
    # DEBUG (nfcpy's frames included, were they let through) and a quick card refresh, so
    # the customer's name set at the central below reaches this kiosk's cache
    daemon.config.write_text(
        daemon.config.read_text()
        .replace('locale = "fr"', 'locale = "fr"\nlog_level = "DEBUG"')
        .replace("interval = 0.5", "interval = 0.5\nrefresh_interval = 0.5")
    )
    before = len(daemon.log)
    daemon.proc.send_signal(signal.SIGHUP)
    assert daemon.wait_log("event=reload ok=true", after=before)
    cards = [make_card(kind, name="zoe") for kind in ("ntag213", "mifare-classic-1k", "felica", "type-b")]
    for card in cards:
        assert nfc_field.tap(card, hold=0.2)
        assert nfc_field.wait_polls(6, 10)  # lifted and seen gone: the next card is a new tap
    assert daemon.wait_log("event=tap", after=before)
    taps = [x for x in daemon.log[before:] if "event=tap" in x]
    prefix = taps[0].split("card=")[1].split()[0]
    with sqlite3.connect(daemon.ledger) as db:
        ref = db.execute("SELECT card_ref FROM cards WHERE card_ref LIKE ?", (prefix + "%",)).fetchone()[0]
    assert central_cli.main(["set-customer", ref, "--first-name", "Zoéline", "--consent",
                             "--db", str(tmp_path / "central.sqlite3")]) == 0

    def greeted() -> bool:
        with sqlite3.connect(daemon.ledger) as db:
            return db.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 1

    assert wait_until(greeted, 20, step=0.1)
    tap(daemon, nfc_field, "ntag213", "zoe")  # greeted by name on the screen, not in the log
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=10) == 0
    assert daemon.wait_log("event=stop")
    lines = list(daemon.log)
    assert [x for x in lines if not KEY_VALUE_LINE.match(x)] == []
    assert any("logger=nfc" in x for x in lines)  # the libraries' lines were checked too
    spelled = [form for card in cards for form in uid_spellings(card.identity)]
    assert [x for x in lines if any(form in x for form in spelled)] == []
    assert [x for x in lines if "Zoéline" in x or "Zo\\xe9line" in x] == []


def test_a_random_id_phone_is_refused_and_the_next_card_still_works(kiosk):
    daemon, nfc_field = kiosk
    assert "outcome=refused" in tap(daemon, nfc_field, "random-id", "phone")
    assert "outcome=welcome" in tap(daemon, nfc_field, "mifare-classic-1k", "paul")


def test_sigterm_blanks_the_display_and_exits_zero(kiosk):
    daemon, nfc_field = kiosk
    tap(daemon, nfc_field, "felica", "yuki")
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=10) == 0
    assert daemon.notify.times("STOPPING=1")
    assert daemon.wait_log("event=stop")
    with sqlite3.connect(daemon.ledger) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2


def test_sighup_with_a_bad_config_keeps_the_old_one_running(kiosk, tmp_path: Path):
    daemon, nfc_field = kiosk
    good = daemon.config.read_text()
    daemon.config.write_text(good.replace('locale = "fr"', 'locale = "klingon"'))
    before = len(daemon.log)
    daemon.proc.send_signal(signal.SIGHUP)
    assert daemon.wait_log("event=reload refused=true", after=before)
    assert any("kiosk.locale" in x for x in daemon.log[before:])
    assert daemon.proc.poll() is None
    assert "outcome=welcome" in tap(daemon, nfc_field, "ntag215", "ana")


def test_sighup_with_a_good_config_reloads_it(kiosk):
    daemon, nfc_field = kiosk
    daemon.config.write_text(daemon.config.read_text().replace("goal = 10", "") + "goal = 5\n")
    before = len(daemon.log)
    daemon.proc.send_signal(signal.SIGHUP)
    assert daemon.wait_log("event=reload ok=true", after=before)
    line = tap(daemon, nfc_field, "ntag213", "leo")
    assert "stamps=3/5" in line


def test_nfcpy_speaks_only_at_debug_and_sighup_applies_a_new_log_level(kiosk):
    daemon, nfc_field = kiosk
    # at INFO, nfcpy's "searching for reader" (said on every open, so on every retry while
    # a reader is unplugged) stays out of the journal
    assert "outcome=welcome" in tap(daemon, nfc_field, "ntag213", "ines")
    assert not any("searching for reader" in x for x in daemon.log)
    daemon.config.write_text(
        daemon.config.read_text().replace('locale = "fr"', 'locale = "fr"\nlog_level = "DEBUG"'))
    before = len(daemon.log)
    daemon.proc.send_signal(signal.SIGHUP)
    assert daemon.wait_log("event=reload ok=true", after=before)
    assert daemon.wait_log("searching for reader", after=before)  # the reload reopened it


def test_the_watchdog_stops_being_petted_while_the_reader_loop_hangs(kiosk):
    daemon, nfc_field = kiosk
    assert daemon.notify.wait("WATCHDOG=1", 20) is not None
    # Hold the ledger's write lock: the next tap blocks inside the reader loop, as a
    # stuck SD card would. The daemon must stop petting; systemd would then restart it.
    blocker = sqlite3.connect(daemon.ledger, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        card = nfc_field.place(make_card("ntag213", name="stuck"))
        assert card.identified.wait(10)  # the reader thread is now in the tap, blocked
        stuck = time.monotonic()
        # the loop counts as alive for half of WATCHDOG_USEC (1.5 s) after it got stuck;
        # from then on, for as long as systemd would wait, not one pet may arrive
        assert daemon.notify.wait("WATCHDOG=1", 4.0, since=stuck + 2.0) is None
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        nfc_field.remove()
    assert daemon.notify.wait("WATCHDOG=1", 10, since=time.monotonic()) is not None

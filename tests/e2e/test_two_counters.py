"""Two counters of one shop, end to end: two `kiosk run` processes over the simulator,
each paired with `kiosk pair` to one central on loopback. A card first used at one
counter is known at the other when it is tapped there: its balance, and no second
welcome. Real parts everywhere (nfcpy over its UDP device, luma's driver onto the
virtual controller, gpiozero's MockFactory, SQLite files, the central over HTTP)."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central import pairing
from central.cardcache import full_state
from central.db import open_database
from central.testing import running_server
from kiosk.cli import main as kiosk_cli
from sim.harness import wait_until
from sim.nfc import VirtualField, make_card
from sim.notify import NotifyListener
from tests.support.faultproxy import FaultProxy
from tests.support.kiosk_config import unpaired_config

ROOT = Path(__file__).parents[2]
# a counter back online retries within a second, not after the minutes a shop's backoff takes
QUICK_RETRY = "[central]\nbackoff_base = 0.2\nbackoff_max = 1.0\n"

@dataclass
class Counter:
    proc: subprocess.Popen[str]
    ledger: Path
    nfc: VirtualField
    config: Path
    log: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def follow(self) -> None:
        def pump() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                with self._cond:
                    self.log.append(line.rstrip())
                    self._cond.notify_all()

        threading.Thread(target=pump, daemon=True).start()

    def tap(self, name: str) -> str:
        """Tap a card, wait for the daemon's line about it; returns that line."""
        before = len(self.log)
        assert self.nfc.tap(make_card("ntag213", name=name), hold=0.2)
        with self._cond:
            assert self._cond.wait_for(
                lambda: any("event=tap" in x for x in self.log[before:]), 20), self.log[before:]
        return next(x for x in self.log[before:] if "event=tap" in x)

    def card(self, uid: str) -> str:
        """What `kiosk card UID` prints at this counter (its own ledger, while it runs)."""
        out = io.StringIO()
        assert kiosk_cli(["--config", str(self.config), "card", uid], out) == 0
        return out.getvalue()

    def knows(self, prefix: str) -> bool:
        with sqlite3.connect(self.ledger) as db:
            found = db.execute("SELECT 1 FROM cards WHERE card_ref LIKE ?", (prefix + "%",))
            return found.fetchone() is not None


def _start(root: Path, url: str, code: str, stack: ExitStack) -> Counter:
    nfc = stack.enter_context(VirtualField())
    state = root / "state"
    config = unpaired_config(root, nfc.path, f'driver = "virtual"\nframes_dir = "{state}/frames"'
                             '\noutcome_seconds = 1.0')
    config.write_text(config.read_text(encoding="utf-8").replace("[central]\n", QUICK_RETRY),
                      encoding="utf-8")
    assert kiosk_cli(["--config", str(config), "pair", url, code], io.StringIO()) == 0
    notify = NotifyListener(root / "notify.sock")
    stack.callback(notify.close)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NOTIFY_SOCKET": str(notify.path)}
    env.pop("KIOSK_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--config", str(config), "run"],
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    stack.callback(lambda: (proc.poll() is None and proc.kill(), proc.wait(timeout=10)))
    counter = Counter(proc, state / "ledger.sqlite3", nfc, config)
    counter.follow()
    assert notify.wait("READY=1", 30) is not None, counter.log
    return counter


@pytest.fixture
def two_counters(tmp_path: Path) -> Iterator[tuple[Counter, Counter]]:
    db_url = str(tmp_path / "central.sqlite3")
    with running_server(db_url) as url, ExitStack() as stack:
        db = open_database(db_url)
        try:
            codes = [pairing.add_kiosk(db, name, datetime.now(UTC)) for name in ("door", "bar")]
        finally:
            db.dispose()
        yield (_start(tmp_path / "door", url, codes[0], stack),
               _start(tmp_path / "bar", url, codes[1], stack))


def test_a_card_stamped_at_one_counter_is_known_at_the_other_with_its_balance(
    two_counters: tuple[Counter, Counter],
) -> None:
    door, bar = two_counters
    first = door.tap("marie")
    assert "outcome=welcome" in first and "stamps=3/10" in first
    prefix = first.split("card=")[1].split()[0]
    # door uploads it, bar pulls it: known before the customer reaches the other counter
    assert wait_until(lambda: bar.knows(prefix), 30, step=0.1), bar.log[-5:]
    there = bar.tap("marie")
    assert "outcome=welcome" not in there and "stamps=4/10" in there, there


def _central_card(db_path: Path, prefix: str) -> tuple[dict[str, object], int]:
    """The central's fold of the card (empty before its first upload), and how many
    enrolments of it it stored."""
    with sqlite3.connect(db_path) as db:
        found = db.execute("SELECT card_ref, state FROM card_states WHERE card_ref LIKE ?",
                           (prefix + "%",)).fetchall()
        state = full_state(*found[0]) if found else {}
        [(enrolments,)] = db.execute(
            "SELECT count(*) FROM events WHERE kind = 'enrolled' AND card_ref LIKE ?",
            (prefix + "%",)).fetchall()
    return state, enrolments


def test_a_new_card_enrolled_offline_at_both_counters_gets_one_welcome_and_one_balance(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "central.sqlite3"
    with running_server(str(db_path)) as url, FaultProxy(url) as proxy, ExitStack() as stack:
        db = open_database(str(db_path))
        try:
            codes = [pairing.add_kiosk(db, name, datetime.now(UTC)) for name in ("door", "bar")]
        finally:
            db.dispose()
        door = _start(tmp_path / "door", proxy.url, codes[0], stack)
        bar = _start(tmp_path / "bar", proxy.url, codes[1], stack)
        uid = make_card("ntag213", name="zoe").uid.hex()
        with proxy.refusing():  # the shop's line is down: neither counter reaches the central
            at_door, at_bar = door.tap("zoe"), bar.tap("zoe")
            # each counter welcomes the card it has never seen: 2 welcome stamps + the visit's
            assert "outcome=welcome" in at_door and "stamps=3/10" in at_door, at_door
            assert "outcome=welcome" in at_bar and "stamps=3/10" in at_bar, at_bar
        prefix = at_door.split("card=")[1].split()[0]
        # back online: both upload; the fold counts the welcome once (2 + two visits)
        assert wait_until(lambda: _central_card(db_path, prefix)[0].get("stamps") == 4, 30, step=0.1)
        state, enrolments = _central_card(db_path, prefix)
        assert enrolments == 2 and state["welcome"] == 2 and state["visits"] == 2
        # after their next pull both counters show the merged balance at `kiosk card`
        for counter in (door, bar):
            assert wait_until(lambda c=counter: "4/10" in c.card(uid), 30, step=0.2), (
                counter.card(uid), counter.log[-5:])
        # and on the screen at the next tap: one more visit on the merged balance
        again = bar.tap("zoe")
        assert "outcome=stamped" in again and "stamps=5/10" in again, again

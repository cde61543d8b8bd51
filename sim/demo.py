"""`make demo`: the real kiosk on simulated hardware, with a local central API.

Everything below the adapters is virtual: nfcpy talks to a virtual field over its UDP
device, luma.oled's SSD1306 driver writes to a virtual controller, gpiozero drives mock
pins, and the central API is the real `kiosk-central` app on loopback. The kiosk itself
is the same `App` that `kiosk run` starts. The terminal shows the OLED and the LEDs while
a scenario taps cards; frames land as PNG files in the state folder. Then a second
counter, in another shop of the same business, is paired with a one-time code (`kiosk
pair`), pulls the cards the first one made, and knows the first card at its first tap.

    python -m sim.demo [--scenario demo] [--speed 1] [--locale en] [--state-dir demo-state]
                       [--dashboard [--port 8080]]

It ends by making an owner account on the demo's central and printing how to open the
owner's dashboard on the demo's figures; `--dashboard` keeps the central serving them
until Ctrl-C.
"""

from __future__ import annotations

import argparse
import io
import logging
import secrets
import shutil
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import requests

from central import accounts, pairing, store
from central.db import open_database
from central.orgs import DEFAULT_ORG
from central.testing import add_kiosk, running_server
from kiosk.adapters.ledger_binding import write_private
from kiosk.adapters.sync import SyncWorker, sync_status
from kiosk.app import App
from kiosk.cli import main as kiosk_cli
from kiosk.config import load
from kiosk.core import cardid
from kiosk.core.describe import describe
from kiosk.logs import KeyValueFormatter
from kiosk.notify import Notifier
from kiosk.service import Counter, load_site_key
from sim.harness import running_app, wait_until
from sim.nfc import VirtualField
from sim.scenario import Scenario, StepResult, load_scenario, run_scenario
from sim.terminal import pin_states, render

PINS = {"green": 17, "red": 27, "buzzer": 18}
CLEAR = "\x1b[H\x1b[2J"


def write_config(path: Path, state: Path, reader: str, central: str, locale: str, staff: str) -> None:
    path.write_text(
        f"""# written by `make demo`
[kiosk]
id = "demo-kiosk"
state_dir = "{state}"
locale = "{locale}"
[reader]
path = "{reader}"
poll_interval = 0.1
[display]
driver = "virtual"
frames_dir = "{state / 'frames'}"
outcome_seconds = 2.5
[lights]
factory = "mock"
green_pin = {PINS['green']}
red_pin = {PINS['red']}
buzzer_pin = {PINS['buzzer']}
[central]
url = "{central}"
token_file = "{state / 'token'}"
interval = 2.0
[staff]
cards = ["{staff}"]
[program]
name = "Café de la Gare"
reward = "free coffee"
cooldown_minutes = 0
""",
        encoding="utf-8",
    )


class Screen:
    """Redraws the virtual OLED and the LEDs whenever they change."""

    def __init__(self, app: App, factory: Any, out: TextIO, live: bool) -> None:
        self.app, self.factory, self.out, self.live = app, factory, out, live
        self.notes: list[str] = []
        self._last = ""
        self._lock = threading.Lock()

    def frame(self) -> str:
        parts = self.app.parts
        if parts is None:
            return ""
        panel = parts.display.bus  # type: ignore[attr-defined]
        return render(panel, pin_states(self.factory, PINS), colour=self.live)

    def note(self, text: str) -> None:
        with self._lock:
            self.notes = (self.notes + [text])[-6:]
            if not self.live:
                self.out.write(f"\n{self.frame()}\n  {text}\n")
                self.out.flush()
        self.draw(force=True)

    def draw(self, force: bool = False) -> None:
        if not self.live:
            return
        with self._lock:
            picture = self.frame()
            if picture == self._last and not force:
                return
            self._last = picture
            status = self.app.status_line()
            lines = "\n".join(f"  {n}" for n in self.notes)
            title = "Loyalty kiosk demo: the OLED and LEDs"
            self.out.write(f"{CLEAR}{title}\n\n{picture}\n\n  {status}\n\n{lines}\n")
            self.out.flush()

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            self.draw()


def summary(app: App, scenario: Scenario, central: str, token: str, state: Path) -> list[str]:
    """What the central API holds for each card of the scenario, and where things are."""
    parts = app.parts
    assert parts is not None
    lines = ["", "What the central API holds now:"]
    for name, card in scenario.cards.items():
        ref = parts.counter.identify(card.identity)
        if ref is None or name == "staff":
            continue
        answer = requests.get(
            f"{central}/v1/cards/{ref}", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        if answer.status_code != 200:
            lines.append(f"  {name:<8} not known to the central API")
            continue
        body = answer.json()
        vouchers = ", ".join(f"{n}x {rid}" for rid, n in body.get("vouchers", {}).items()) or "none"
        visits = body["visits"]
        lines.append(
            f"  {name:<8} {body['stamps']}/{parts.counter.program.goal} stamps, "
            f"{visits} {'visit' if visits == 1 else 'visits'}, vouchers: {vouchers}, "
            f"redeemed: {sum(body['redeemed'].values())}"
        )
    status = sync_status(parts.counter.ledger)
    frames = sorted((state / "frames").glob("*.png"))
    lines += [
        "",
        f"Events synced: {status.synced}, pending: {status.pending}, rejected: {status.rejected}",
        f"OLED frames: {len(frames)} PNG files in {state / 'frames'}",
        f"Kiosk log: {state / 'kiosk.log'}; config: {state / 'kiosk.toml'}",
        f"Try: .venv/bin/kiosk --config {state / 'kiosk.toml'} card 04A1B2C3D4E5F6",
    ]
    return lines


SECOND = """# written by `make demo`: the second counter
[kiosk]
id = "unpaired"
state_dir = "{state}"
locale = "{locale}"
[reader]
path = "udp:127.0.0.1:9"
[display]
driver = "none"
[lights]
factory = "mock"
[program]
name = "Café de la Gare"
reward = "free coffee"
cooldown_minutes = 0
"""


def second_counter(db_url: str, central: str, root: Path, scenario: Scenario, locale: str
                   ) -> list[str]:
    """Another shop's counter: paired with a one-time code, it pulls the cards changed at
    the central, then taps the scenario's first card (known: its balance, no welcome)."""
    db = open_database(db_url)
    try:
        store.add_shop(db, "Terrasse", datetime.now(UTC))
        code = pairing.add_kiosk(db, "terrasse-1", datetime.now(UTC), shop="Terrasse")
    finally:
        db.dispose()
    root.mkdir(parents=True)
    config_file = root / "kiosk.toml"
    config_file.write_text(SECOND.format(state=root, locale=locale), encoding="utf-8")
    said = io.StringIO()
    if kiosk_cli(["--config", str(config_file), "pair", central, code], said) != 0:
        return ["", "(!) the second counter could not pair"]
    config = load(str(config_file))
    counter = Counter.open(config)
    try:
        worker = SyncWorker(config.central, config.kiosk.ledger_path,
                            counter.program.tz)
        pulled = worker.sync_once(refresh=True)
        worker.close()
        name, card = next((n, c) for n, c in scenario.cards.items() if n != "staff")
        outcome = counter.tap(card.identity, datetime.now(UTC))
        shown = describe(outcome, locale, counter.program.tz)
    finally:
        counter.close()
    return ["", f"Second counter (shop Terrasse), paired with code {code}: pulled "
                f"{pulled.cards_merged} cards from the central; {name} taps there:",
            f"  {shown}"]


def wait_for_sync(app: App, timeout: float) -> bool:
    """Wake the sync worker until the outbox is empty; False when `timeout` passed first."""
    parts = app.parts
    assert parts is not None and parts.sync is not None
    sync = parts.sync

    def drained() -> bool:
        if sync_status(parts.counter.ledger).pending == 0:
            return True
        sync.wake()
        return False

    return wait_until(drained, timeout, step=0.2)


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="demo", help="a shipped scenario name or a TOML path")
    parser.add_argument("--speed", type=float, default=1.0, help="play the scenario this much faster")
    parser.add_argument("--locale", choices=("en", "fr"), default="en")
    parser.add_argument("--state-dir", default="demo-state", help="wiped and rebuilt at each run")
    parser.add_argument("--plain", action="store_true", help="no live redrawing (for logs and pipes)")
    parser.add_argument("--dashboard", action="store_true",
                        help="then keep the central serving the owner's dashboard until Ctrl-C")
    parser.add_argument("--port", type=int, default=8080, choices=range(1024, 65536),
                        metavar="1024..65535", help="the dashboard's port with --dashboard")
    args = parser.parse_args(argv)
    state = Path(args.state_dir).resolve()
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    log_file = logging.FileHandler(state / "kiosk.log", encoding="utf-8")
    log_file.setFormatter(KeyValueFormatter())  # the kiosk's own lines, as in its journal
    root = logging.getLogger()
    root.addHandler(log_file)
    root.setLevel(logging.INFO)
    try:
        return _play(args, state, out)
    finally:
        root.removeHandler(log_file)
        log_file.close()


def _play(args: argparse.Namespace, state: Path, out: TextIO) -> int:
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    scenario = load_scenario(args.scenario)
    db_url = f"sqlite:///{state / 'central.sqlite3'}"
    token = add_kiosk(db_url, "demo-kiosk")
    (state / "token").write_text(token + "\n")
    # the organisation's key, as `kiosk pair` would have stored it: every counter alike
    db = open_database(db_url)
    try:
        org_key = store.site_key(db, DEFAULT_ORG)
    finally:
        db.dispose()
    assert org_key is not None
    write_private(state / "site.key", org_key, replace=True)
    site_key = load_site_key(state / "site.key")
    staff_card = scenario.cards.get("staff")
    staff_ref = cardid.card_ref(site_key, staff_card.identity) if staff_card else "0" * 64
    factory = MockFactory(pin_class=MockPWMPin)
    live = out.isatty() and not args.plain

    with running_server(db_url) as central, VirtualField() as nfc_field:
        config = state / "kiosk.toml"
        write_config(config, state, nfc_field.path, central, args.locale, staff_ref)
        with running_app(App(str(config), notifier=Notifier(None), pin_factory=factory)) as app:
            screen = Screen(app, factory, out, live)
            stop = threading.Event()
            drawer = threading.Thread(target=screen.run, args=(stop,), daemon=True)
            drawer.start()
            screen.note(f"{scenario.name}: {scenario.description}")

            def report(result: StepResult) -> None:
                text = result.step.note or result.note
                screen.note(("" if result.ok else "(!) ") + text)

            try:
                run_scenario(scenario, nfc_field, args.speed, report=report)
                time.sleep(min(3.0, 3.0 / args.speed))  # let the last screen be seen
                synced = wait_for_sync(app, 20.0)
            except KeyboardInterrupt:
                synced = False
            finally:
                stop.set()
                drawer.join(timeout=2)
            lines = summary(app, scenario, central, token, state)
            if not synced:
                lines.insert(0, "(!) some events were still pending sync when the demo ended")
            lines += second_counter(db_url, central, state / "counter-2", scenario, args.locale)
    lines += dashboard_login(state, args.port, args.dashboard)
    out.write("\n".join(lines) + "\n")
    out.flush()
    if args.dashboard:
        from central.cli import serve

        return serve(db_url, "127.0.0.1", args.port, "warning")
    return 0


DEMO_OWNER = "owner@demo.example"


def dashboard_login(state: Path, port: int, serving: bool) -> list[str]:
    """Make the demo's owner account (a new password each run) and say how to sign in."""
    password = secrets.token_urlsafe(12)
    database = state / "central.sqlite3"
    db = open_database(str(database))
    try:
        accounts.add_account(db, DEMO_OWNER, password, "owner", DEFAULT_ORG, None,
                             datetime.now(UTC))
    finally:
        db.dispose()
    url = f"http://127.0.0.1:{port}/login"
    how = ("The central keeps serving them until Ctrl-C." if serving else
           f"Serve them: .venv/bin/kiosk-central serve --db {database} --port {port}\n"
           "  (or run the demo again with --dashboard: `make demo-dashboard`)")
    return ["", "The owner's dashboard on these figures:", f"  {how}",
            f"  Open {url} and sign in as {DEMO_OWNER}, password {password}"]


if __name__ == "__main__":
    sys.exit(main())

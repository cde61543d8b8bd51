"""Points per euro, the daily expiry pass and boosters, end to end over the simulator:
the whole App in-process (its counter's clock is the test's), nfcpy over the UDP device to a
virtual field, the till endpoint on loopback, the real ledger, the virtual OLED and, for
expiry, the central API on loopback."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from PIL import Image, ImageChops

from central.testing import add_kiosk, running_server
from kiosk.app import App
from kiosk.core.events import Event, EventKind
from kiosk.core.outcome import Outcome
from kiosk.core.screens import Screens
from kiosk.core.status import KioskStatus
from kiosk.service import EXPIRY_DAY_KEY
from sim.cards import VirtualCard
from sim.harness import wait_until
from sim.nfc import make_card
from tests.support.app_runner import RunningApp, running_sim_app


class Clock:
    """The counter's wall clock; the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Kiosk:
    """The running App, its test clock, and what the tests here look at."""

    run: RunningApp
    clock: Clock

    @property
    def app(self) -> App:
        return self.run.app

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for _, outcome in self.run.outcomes]

    def tap(self, card: VirtualCard) -> Outcome:
        return self.run.tap(card)

    def wait_ticks(self, n: int = 2) -> None:
        self.run.wait_ticks(n)

    @property
    def glass(self) -> Image.Image:
        return self.run.parts.display.bus.glass()  # type: ignore[union-attr]

    @property
    def screens(self) -> Screens:
        return self.run.parts.display.screens  # type: ignore[union-attr]

    def till(self, method: str, payload: object | None = None) -> tuple[int, object]:
        till = self.run.parts.till
        assert till is not None, "[till] is not enabled"
        host, port = till.address
        conn = http.client.HTTPConnection(host, port, timeout=10)
        body = None if payload is None else json.dumps(payload).encode()
        conn.request(method, "/v1/basket", body=body)
        answer = conn.getresponse()
        result = answer.status, json.loads(answer.read())
        conn.close()
        return result

    def events(self, kind: EventKind) -> list[Event]:
        return [e for e in self.run.parts.counter.ledger.events() if e.kind is kind]


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.logical_xor(a, b).getbbox() is None


@contextmanager
def running_kiosk(tmp_path: Path, start: datetime, extra: str) -> Iterator[Kiosk]:
    """The App over the simulator, its clock at `start`, `extra` TOML added to its config."""
    clock = Clock(start)
    with running_sim_app(tmp_path, extra, clock=clock) as run:
        yield Kiosk(run, clock)


MONDAY_9H = datetime(2026, 3, 2, 8, tzinfo=UTC)  # 09:00 in Paris


POINTS = """
[till]
enabled = true
port = 0
basket_seconds = 60
[program]
points_per_euro = 1
goal = 100
welcome_bonus = 0
cooldown_minutes = 0
"""


def test_a_basket_from_the_till_earns_its_points_on_the_next_tap_only(tmp_path: Path) -> None:
    with running_kiosk(tmp_path, MONDAY_9H, POINTS) as kiosk:
        marie = make_card("ntag215", name="marie")
        assert kiosk.tap(marie).kind.value == "welcome"  # type: ignore[attr-defined]
        assert kiosk.till("POST", {"amount": 1250, "promo_amount": 0})[0] == 202
        assert kiosk.till("GET")[1]["held"]["amount"] == 1250  # type: ignore[index]
        outcome = kiosk.tap(marie)
        assert outcome.kind.value == "stamped"  # type: ignore[attr-defined]
        assert outcome.stamps_added == 12 and outcome.card.stamps == 12  # type: ignore[attr-defined]
        # the OLED shows that very screen: "Points added!", 12/100, "+12 points"
        assert same(kiosk.glass, kiosk.screens.outcome(outcome))  # type: ignore[attr-defined]
        assert not same(kiosk.glass, kiosk.screens.outcome(kiosk.outcomes[0]))  # type: ignore[attr-defined]
        # one basket, one tap: the next tap earns nothing and the till sees nothing held
        assert kiosk.till("GET")[1]["held"] is None  # type: ignore[index]
        again = kiosk.tap(marie)
        assert again.stamps_added == 0 and again.card.stamps == 12  # type: ignore[attr-defined]
        stamps = kiosk.events(EventKind.STAMP)
        assert [e.delta for e in stamps] == [0, 12, 0]  # type: ignore[attr-defined]


def test_a_refused_phone_leaves_the_basket_for_the_loyalty_card(tmp_path: Path) -> None:
    with running_kiosk(tmp_path, MONDAY_9H, POINTS) as kiosk:
        assert kiosk.till("POST", {"amount": 2000})[0] == 202
        assert kiosk.tap(make_card("random-id", name="phone")).kind.value == "refused"  # type: ignore[attr-defined]
        welcome = kiosk.tap(make_card("ntag213", name="paul"))
        assert welcome.stamps_added == 20  # type: ignore[attr-defined]


BOOSTED = """
[program]
boosters = [{ days = ["mon"], start = "10:00", end = "12:00", multiplier = 2 }]
"""


def test_the_idle_screen_announces_a_booster_during_its_hours_only(tmp_path: Path) -> None:
    with running_kiosk(tmp_path, MONDAY_9H, BOOSTED) as kiosk:
        screens = kiosk.screens
        plain = screens.idle(KioskStatus())  # type: ignore[attr-defined]
        boosted = screens.idle(KioskStatus(), booster=2)  # type: ignore[attr-defined]
        # each housekeeping tick reads the clock and redraws the idle screen if need be
        kiosk.wait_ticks()
        assert same(kiosk.glass, plain)
        kiosk.clock.now = MONDAY_9H + timedelta(hours=1, minutes=30)  # 10:30 in Paris
        kiosk.wait_ticks()
        assert same(kiosk.glass, boosted)
        kiosk.clock.now = MONDAY_9H + timedelta(hours=3)  # 12:00: over
        kiosk.wait_ticks()
        assert same(kiosk.glass, plain)
        kiosk.clock.now = MONDAY_9H + timedelta(days=1, hours=1, minutes=30)  # Tuesday 10:30
        kiosk.wait_ticks()
        assert same(kiosk.glass, plain)


def test_stamps_due_expire_in_the_daily_pass_and_the_event_syncs(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    token = add_kiosk(db_url, "kiosk-1")
    (tmp_path / "token").write_text(token)
    long_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=50)
    with running_server(db_url) as central:
        extra = f"""
[central]
url = "{central}"
token_file = "{tmp_path / 'token'}"
interval = 0.2
[program]
expiry = "inactivity"
expiry_days = 30
"""
        with running_kiosk(tmp_path, long_ago, extra) as kiosk:
            welcome = kiosk.tap(make_card("ntag213", name="old-customer"))
            ref = welcome.card.card_ref  # type: ignore[attr-defined]

            def central_card() -> dict[str, object] | None:
                answer = requests.get(f"{central}/v1/cards/{ref}",
                                      headers={"Authorization": f"Bearer {token}"}, timeout=5)
                return answer.json() if answer.status_code == 200 else None

            assert wait_until(lambda: (central_card() or {}).get("stamps") == 3, 15, step=0.05)
            assert kiosk.events(EventKind.EXPIRED) == []  # the boot pass found nothing due
            kiosk.clock.now = long_ago + timedelta(days=45)  # a new day, 45 days without a visit
            kiosk.wait_ticks()  # the housekeeping tick runs the pass: one card, one slice
            (expired,) = kiosk.events(EventKind.EXPIRED)
            assert expired.delta == -3 and expired.card_ref == ref  # type: ignore[attr-defined]
            assert wait_until(lambda: (central_card() or {}).get("stamps") == 0, 15, step=0.05)
            counter = kiosk.app.parts.counter  # type: ignore[union-attr]
            assert counter.ledger.card(ref).stamps == 0
            # the server stores the batch before the kiosk reads its answer: poll for that
            assert wait_until(lambda: counter.ledger.outbox().pending == 0, 15)


def test_a_kiosk_without_expiry_never_runs_a_pass(tmp_path: Path) -> None:
    with running_kiosk(tmp_path, MONDAY_9H, "") as kiosk:
        kiosk.tap(make_card("ntag213", name="ana"))
        kiosk.clock.now = MONDAY_9H + timedelta(days=4000)
        kiosk.wait_ticks()
        assert kiosk.events(EventKind.EXPIRED) == []
        # no walk over every card either: a finished pass marks its day in the ledger
        assert kiosk.run.parts.counter.ledger.get_meta(EXPIRY_DAY_KEY) is None

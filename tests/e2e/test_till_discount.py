"""The till's discount end to end: the whole App over the simulator (nfcpy over its UDP
device to a virtual field, the real ledger, the virtual OLED), and the till talking to
the kiosk's till endpoint over real loopback HTTP, waiting for the customer's tap."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import ImageChops

from kiosk.core.events import EventKind
from kiosk.core.outcome import Visit
from sim.harness import wait_until
from sim.nfc import make_card
from tests.support.app_runner import RunningApp, running_sim_app

GOLD = """
[till]
enabled = true
port = 0
basket_seconds = {seconds}
[program]
cooldown_minutes = 0
tiers = [{{ name = "Gold", threshold = 2, discount_percent = 10 }}]
"""


def till(run: RunningApp, method: str, path: str, payload: object | None = None
         ) -> tuple[int, dict[str, Any]]:
    listener = run.parts.till
    assert listener is not None, "[till] is not enabled"
    host, port = listener.address
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        body = None if payload is None else json.dumps(payload).encode()
        conn.request(method, path, body=body)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


class Waiting:
    """A till's POST ?wait= in its own thread: it blocks until the tap (or the wait) ends."""

    def __init__(self, run: RunningApp, path: str, payload: object) -> None:
        self.answer: tuple[int, dict[str, Any]] | None = None
        self._thread = threading.Thread(
            target=lambda: setattr(self, "answer", till(run, "POST", path, payload)))
        self._thread.start()

    def result(self) -> tuple[int, dict[str, Any]]:
        self._thread.join(timeout=30)
        assert self.answer is not None, "the till's request never came back"
        return self.answer


@contextmanager
def gold_kiosk(tmp_path: Path, seconds: float = 60) -> Iterator[RunningApp]:
    with running_sim_app(tmp_path, GOLD.format(seconds=seconds)) as run:
        yield run


def basket_held(run: RunningApp) -> bool:
    return till(run, "GET", "/v1/basket")[1]["held"] is not None


def test_the_till_waiting_on_a_basket_hears_the_gold_cards_discount_from_its_tap(
    tmp_path: Path,
) -> None:
    with gold_kiosk(tmp_path) as run:
        marie = make_card("ntag215", name="marie")
        run.tap(marie)
        assert run.parts.counter.ledger.events()  # enrolled
        reached = run.tap(marie)
        assert isinstance(reached, Visit) and reached.card.tier == "Gold"
        waiting = Waiting(run, "/v1/basket?wait=20", {"amount": 1250, "ticket": "T-1042"})
        assert wait_until(lambda: basket_held(run), 10, step=0.02)
        outcome = run.tap(marie)
        status, said = waiting.result()
        assert status == 200 and said["status"] == "done", said
        assert said["discount"] == {"percent": 10, "amount": 125, "tier": "Gold"}
        assert (said["to_pay"], said["no_discount"], said["outcome"]) == (1125, None, "stamped")
        assert said["card"] == outcome.card.card_ref[:12]  # type: ignore[union-attr]
        # the till may ask again by its ticket number
        assert till(run, "GET", "/v1/basket/T-1042") == (200, said)
        # recorded with the visit, and on the OLED: "-10 % on this ticket"
        [event] = [e for e in run.parts.counter.ledger.events() if e.kind is EventKind.DISCOUNT]
        assert event.reward_id == "10%:125" and event.delta == 0
        display = run.parts.display
        shown = display.bus.glass()  # type: ignore[union-attr]
        drawn = display.screens.outcome(outcome)  # type: ignore[union-attr]
        assert ImageChops.logical_xor(shown, drawn).getbbox() is None
        without = display.screens.outcome(replace(outcome, discount=None))  # type: ignore[union-attr]
        assert ImageChops.logical_xor(shown, without).getbbox() is not None


def test_a_card_without_the_tier_pays_the_full_basket_and_the_till_hears_why(
    tmp_path: Path,
) -> None:
    with gold_kiosk(tmp_path) as run:
        waiting = Waiting(run, "/v1/basket?wait=20", {"amount": 800})
        assert wait_until(lambda: basket_held(run), 10, step=0.02)
        run.tap(make_card("ntag215", name="newcomer"))
        status, said = waiting.result()
        assert status == 200 and said["outcome"] == "welcome"
        assert (said["discount"], said["to_pay"], said["no_discount"]) == (None, 800, "no_tier")
        assert said["ticket"]  # the kiosk numbered the basket the till did not number


def test_a_basket_no_card_was_tapped_for_is_answered_expired(tmp_path: Path) -> None:
    with gold_kiosk(tmp_path, seconds=0.5) as run:
        status, said = till(run, "POST", "/v1/basket?wait=10", {"amount": 800, "ticket": "T-7"})
        assert status == 200 and said["status"] == "expired" and said["no_discount"] == "no_tap"
        assert said["to_pay"] == 800


def test_a_short_wait_answers_202_while_the_basket_still_waits_for_its_tap(tmp_path: Path) -> None:
    with gold_kiosk(tmp_path) as run:
        status, said = till(run, "POST", "/v1/basket?wait=0.2", {"amount": 800, "ticket": "T-8"})
        assert status == 202 and said["status"] == "waiting" and said["held"]["amount"] == 800
        assert till(run, "GET", "/v1/basket/T-8")[1]["status"] == "waiting"
        # a newer basket replaces it: the till hears so by the first ticket's number
        till(run, "POST", "/v1/basket", {"amount": 900, "ticket": "T-9"})
        assert till(run, "GET", "/v1/basket/T-8")[1]["status"] == "replaced"


def test_a_bad_wait_or_ticket_is_refused_naming_the_fix_and_holds_nothing(tmp_path: Path) -> None:
    with gold_kiosk(tmp_path) as run:
        status, said = till(run, "POST", "/v1/basket?wait=600", {"amount": 800})
        assert status == 400 and "wait" in said["error"] and "?wait=30" in said["error"]
        status, said = till(run, "POST", "/v1/basket", {"amount": 800, "ticket": "T 1/2"})
        assert status == 400 and said["error"].startswith("ticket:")
        assert not basket_held(run)
        status, said = till(run, "GET", "/v1/basket/T-404")
        assert status == 404 and "send the basket again" in said["error"]

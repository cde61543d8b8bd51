"""Staff at the counter, end to end over the simulator: the whole App in-process (so the
test can press the staff button on gpiozero's MockFactory), nfcpy over the UDP device to a
virtual field, the real ledger and display."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from kiosk.core import cardid
from kiosk.core.events import Event, EventKind
from kiosk.core.outcome import Outcome
from kiosk.service import load_site_key
from sim.cards import VirtualCard
from sim.nfc import make_card
from tests.support.app_runner import RunningApp, running_sim_app

BUTTON_PIN = 22


@dataclass
class Counter:
    """The running App, the staff card it knows, and the checks the tests here make."""

    run: RunningApp
    staff: VirtualCard

    @property
    def factory(self) -> MockFactory:
        return self.run.factory

    @property
    def outcomes(self) -> list[tuple[str, Outcome]]:
        return self.run.outcomes

    def tap(self, card: VirtualCard, kind_wanted: str | None = None) -> Outcome:
        outcome = self.run.tap(card)
        if kind_wanted:
            assert outcome.kind.value == kind_wanted, outcome
        return outcome

    def wait_outcome(self, count: int) -> Outcome:
        return self.run.wait_outcome(count)

    def events(self, kind: EventKind) -> list[Event]:
        return [e for e in self.run.parts.counter.ledger.events() if e.kind is kind]


@pytest.fixture
def counter(tmp_path: Path) -> Iterator[Counter]:
    state = tmp_path / "state"
    staff = make_card("ntag213", name="staff-card")
    key = load_site_key(state / "site.key")  # made now, as on first run, to list the staff card
    staff_ref = cardid.card_ref(key, staff.uid)
    toml = f"""
[staff]
cards = ["{staff_ref}"]
[program]
cooldown_minutes = 0
goal = 4
welcome_bonus = 1
"""
    with running_sim_app(tmp_path, toml, lights=f"button_pin = {BUTTON_PIN}") as run:
        yield Counter(run, staff)


def test_a_staff_card_then_a_customer_card_redeems_the_voucher(counter: Counter):
    marie = make_card("ntag215", name="marie")
    counter.tap(marie, "welcome")  # 2/4
    counter.tap(marie, "stamped")  # 3/4
    counter.tap(marie, "reward_earned")
    counter.tap(counter.staff, "staff_mode")
    redeemed = counter.tap(marie, "redeemed")
    assert redeemed.card.all_vouchers() == {}  # type: ignore[attr-defined]
    (event,) = counter.events(EventKind.REWARD_REDEEMED)
    assert event.staff_ref is not None and cardid.is_card_ref(event.staff_ref)  # type: ignore[attr-defined]
    # staff mode lasts one customer card: the next tap is an ordinary stamp again
    counter.tap(marie, "stamped")


def test_a_staff_card_tapped_twice_undoes_the_next_cards_last_stamp(counter: Counter):
    paul = make_card("mifare-classic-1k", name="paul")
    counter.tap(paul, "welcome")
    stamped = counter.tap(paul, "stamped")
    assert stamped.card.stamps == 3  # type: ignore[attr-defined]
    assert counter.tap(counter.staff, "staff_mode").action == "redeem"  # type: ignore[attr-defined]
    assert counter.tap(counter.staff, "staff_mode").action == "undo"  # type: ignore[attr-defined]
    undone = counter.tap(paul, "undone")
    assert undone.card.stamps == 2  # type: ignore[attr-defined]
    assert len(counter.events(EventKind.ADJUSTMENT)) == 1


def test_a_third_staff_tap_shows_todays_figures(counter: Counter):
    counter.tap(make_card("ntag213", name="ana"), "welcome")
    counter.tap(make_card("ntag213", name="leo"), "welcome")
    for _ in range(2):
        counter.tap(counter.staff, "staff_mode")
    figures = counter.tap(counter.staff, "figures").figures  # type: ignore[attr-defined]
    assert figures.new_cards == 2 and figures.visits == 2


def test_a_customer_card_redeemed_without_a_voucher_changes_nothing(counter: Counter):
    counter.tap(counter.staff, "staff_mode")
    counter.tap(make_card("felica", name="never-seen"), "no_voucher")
    assert counter.events(EventKind.ENROLLED) == []


def test_the_staff_button_redeems_the_card_just_shown(counter: Counter):
    marie = make_card("ntag215", name="marie")
    for _ in range(3):
        counter.tap(marie)
    shown = len(counter.outcomes)
    pin = counter.factory.pin(BUTTON_PIN)
    pin.drive_low()
    pin.drive_high()
    outcome = counter.wait_outcome(shown + 1)
    assert outcome.kind.value == "redeemed"  # type: ignore[attr-defined]
    assert counter.events(EventKind.REWARD_REDEEMED)[0].staff_ref == "button"  # type: ignore[attr-defined]


def test_holding_the_staff_button_undoes_the_last_stamp(counter: Counter):
    paul = make_card("ntag213", name="paul")
    counter.tap(paul, "welcome")
    counter.tap(paul, "stamped")
    shown = len(counter.outcomes)
    pin = counter.factory.pin(BUTTON_PIN)
    pin.drive_low()
    outcome = counter.wait_outcome(shown + 1)  # fires after the hold time, while still pressed
    pin.drive_high()
    assert outcome.kind.value == "undone"  # type: ignore[attr-defined]
    assert len(counter.outcomes) == shown + 1  # releasing a long press does not also redeem

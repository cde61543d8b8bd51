"""Lights over gpiozero's MockFactory: what a person would see blink and hear."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.adapters.lights import Lights
from kiosk.config import from_mapping
from kiosk.core.rules import RefusalReason, Refused
from kiosk.core.status import KioskStatus
from sim.harness import wait_until
from tests.reference.samples import PROGRAM, sample_tap

GREEN, RED, BUZZER = 17, 27, 18


class RecordingPWMPin(MockPWMPin):
    """gpiozero's mock PWM pin, also keeping every frequency it was set to."""

    def __init__(self, factory: Any, info: Any) -> None:
        super().__init__(factory, info)
        self.frequencies: list[float | None] = []

    def _set_frequency(self, value: float | None) -> None:
        super()._set_frequency(value)
        self.frequencies.append(value)


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory(pin_class=RecordingPWMPin)
    yield mock
    mock.reset()


def make(factory: MockFactory, **lights: Any) -> Lights:
    fields = {"green_pin": GREEN, "red_pin": RED, "buzzer_pin": BUZZER, **lights}
    section = from_mapping({"lights": {"factory": "mock", **fields}}).lights
    made = Lights.from_config(section, factory, speed=0.05)
    factory.pin(BUZZER).frequencies.clear()  # gpiozero's own PWM set-up, not a note
    return made


def notes(factory: MockFactory) -> list[int]:
    return [round(f) for f in factory.pin(BUZZER).frequencies if f]


def states(factory: MockFactory, pin: int) -> list[Any]:
    return [s.state for s in factory.pin(pin).states]


def test_a_stamp_blinks_green_twice_and_beeps(factory: MockFactory) -> None:
    lights = make(factory)
    lights.react(sample_tap(PROGRAM, 3))
    assert lights.wait(5)
    assert states(factory, GREEN) == [False, True, False, True, False]
    assert states(factory, RED) == [False]
    assert notes(factory) == [1319]  # E6
    assert not factory.pin(BUZZER).state
    lights.close()


def test_a_reward_plays_the_celebration_and_melody(factory: MockFactory) -> None:
    lights = make(factory)
    lights.react(sample_tap(PROGRAM, 7))
    assert lights.wait(5)
    assert states(factory, GREEN) == [False] + [True, False] * 9
    assert notes(factory) == [1047, 1319, 1568, 2093]  # C6 E6 G6 C7
    assert factory.pin(BUZZER).state == 0
    lights.close()


def test_a_refused_card_blinks_red_and_sounds_low(factory: MockFactory) -> None:
    lights = make(factory)
    lights.react(Refused(reason=RefusalReason.RANDOM_ID))
    assert lights.wait(5)
    assert states(factory, RED) == [False, True, False, True, False]
    assert states(factory, GREEN) == [False]
    assert notes(factory) == [440, 349]  # A4, then F4 after a rest
    lights.close()


def test_react_returns_before_the_pattern_ends(factory: MockFactory) -> None:
    lights = make(factory)
    lights.react(sample_tap(PROGRAM, 7))
    assert not lights.wait(0)  # still celebrating in the background
    assert lights.wait(5)
    lights.close()


def test_a_new_tap_cuts_the_running_pattern_short(factory: MockFactory) -> None:
    lights = make(factory)
    lights.react(sample_tap(PROGRAM, 7))
    lights.react(Refused(reason=RefusalReason.RANDOM_ID))
    assert lights.wait(5)
    assert not factory.pin(GREEN).state
    assert states(factory, RED) == [False, True, False, True, False]
    lights.close()


def test_closing_in_the_middle_of_a_pattern_leaves_every_light_and_the_buzzer_off(
    factory: MockFactory,
) -> None:
    lights = make(factory)
    lights.react(sample_tap(PROGRAM, 7))  # the celebration: green on, notes playing
    assert wait_until(lambda: factory.pin(GREEN).state and notes(factory), 5)
    lights.close()
    assert factory.pin(GREEN).state == 0 and factory.pin(RED).state == 0
    assert not factory.pin(BUZZER).state


def test_the_heartbeat_blinks_slowly_while_idle(factory: MockFactory) -> None:
    lights = make(factory, heartbeat=True)
    assert wait_until(lambda: len(factory.pin(GREEN).states) >= 5, 5)
    assert states(factory, GREEN)[:5] == [False, True, False, True, False]
    lights.close()
    assert factory.pin(GREEN).state == 0


def test_a_reader_offline_blinks_red_until_it_is_back(factory: MockFactory) -> None:
    lights = make(factory)
    lights.set_status(KioskStatus(reader_online=False))
    assert wait_until(lambda: len(factory.pin(RED).states) >= 4, 5)
    lights.set_status(KioskStatus(reader_online=True))
    assert wait_until(lambda: factory.pin(RED).state == 0, 5)
    count = len(factory.pin(RED).states)
    time.sleep(0.3)  # several offline periods at this speed: nothing more may blink
    assert len(factory.pin(RED).states) == count
    lights.close()


def test_parts_that_are_not_fitted_are_skipped(factory: MockFactory) -> None:
    lights = make(factory, red_pin=0, buzzer_pin=0)
    lights.react(Refused(reason=RefusalReason.RANDOM_ID))
    lights.react(sample_tap(PROGRAM, 3))
    assert lights.wait(5)
    assert states(factory, GREEN) == [False, True, False, True, False]
    lights.close()


def test_an_active_buzzer_beeps_once_per_note(factory: MockFactory) -> None:
    lights = make(factory, buzzer_kind="active")
    lights.react(sample_tap(PROGRAM, 7))
    assert lights.wait(5)
    assert states(factory, BUZZER).count(1.0) + states(factory, BUZZER).count(True) >= 1
    assert not factory.pin(BUZZER).state
    lights.close()


def test_a_melody_with_a_bad_note_is_refused_naming_the_field() -> None:
    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError, match="lights.reward_melody"):
        from_mapping({"lights": {"reward_melody": "H9:0.1"}})


def test_a_replaced_card_blinks_red_like_a_refused_one(factory: MockFactory) -> None:
    from kiosk.core.events import CardState
    from kiosk.core.outcome import Blocked
    from kiosk.core.rules import progress
    from tests.reference.samples import NOON

    card = CardState(card_ref="ab" * 32, enrolled=True, blocked=True)
    lights = make(factory)
    lights.react(Blocked(card=card, progress=progress(PROGRAM, card, NOON)))
    assert lights.wait(5)
    assert states(factory, RED) == [False, True, False, True, False]
    assert states(factory, GREEN) == [False]
    lights.close()

"""The idle screen announces a running booster: drawn when it starts, gone when it ends,
and no frame sent while nothing changes."""

from __future__ import annotations

from PIL import Image, ImageChops

from kiosk.adapters.display import Display
from kiosk.config import from_mapping
from sim.oled import VirtualOled
from tests.reference.samples import PROGRAM, sample_tap


def open_display(**display: object) -> tuple[Display, VirtualOled]:
    bus = VirtualOled("ssd1306", 128, 64)
    section = from_mapping({"display": {"driver": "virtual", "shift_every_seconds": 0, **display}})
    shown = Display.from_config(section.display, "en", PROGRAM.name, bus=bus)
    assert isinstance(shown, Display)
    return shown, bus


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.logical_xor(a, b).getbbox() is None


def test_a_booster_starting_and_ending_redraws_the_idle_screen_once_each() -> None:
    display, bus = open_display()
    display.tick(10.0)
    frames = display.frames_sent
    display.set_booster(2, 10.25)
    assert same(bus.glass(), display.screens.idle(booster=2))
    assert display.frames_sent == frames + 1
    for step in range(10):  # the app says so every tick: nothing more goes out
        display.set_booster(2, 10.5 + step * 0.25)
        display.tick(10.5 + step * 0.25)
    assert display.frames_sent == frames + 1
    display.set_booster(1, 20.0)
    assert same(bus.glass(), display.screens.idle())
    assert display.frames_sent == frames + 2


def test_a_booster_starting_during_an_outcome_shows_when_idle_returns() -> None:
    display, bus = open_display(outcome_seconds=4.0)
    display.tick(0.0)
    outcome = sample_tap(PROGRAM, 3)
    display.show_outcome(outcome, 1.0)
    display.set_booster(3, 2.0)
    assert same(bus.glass(), display.screens.outcome(outcome))  # the outcome stays its time
    display.tick(5.5)
    assert same(bus.glass(), display.screens.idle(booster=3))


def test_a_booster_wakes_a_blanked_panel_to_announce_itself() -> None:
    display, bus = open_display(dim_after_seconds=5.0, blank_after_seconds=10.0)
    display.tick(0.0)
    display.tick(11.0)
    assert not bus.display_on
    display.set_booster(2, 12.0)
    assert bus.display_on and same(bus.glass(), display.screens.idle(booster=2))


def test_the_same_booster_said_every_tick_still_lets_the_idle_panel_blank() -> None:
    display, bus = open_display(dim_after_seconds=5.0, blank_after_seconds=10.0)
    for step in range(50):  # the app's loop: the same booster, then a tick, every 0.25 s
        display.set_booster(2, step * 0.25)
        display.tick(step * 0.25)
    assert not bus.display_on

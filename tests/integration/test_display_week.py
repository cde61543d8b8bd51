"""The customer of the week takes the idle screen's place now and then, never right
after a tap, and never while the reader is offline."""

from __future__ import annotations

from PIL import Image, ImageChops

from kiosk.adapters.display import WEEK_EVERY_SECONDS, WEEK_FOR_SECONDS, Display
from kiosk.config import from_mapping
from kiosk.core.status import KioskStatus
from sim.oled import VirtualOled
from tests.reference.samples import PROGRAM, sample_tap

LONG = {"dim_after_seconds": 3600.0, "blank_after_seconds": 7200.0, "shift_every_seconds": 0}
SHOWN_AT = WEEK_EVERY_SECONDS - WEEK_FOR_SECONDS / 2  # inside the week's slot of a round


def open_display(**display: object) -> tuple[Display, VirtualOled]:
    bus = VirtualOled("ssd1306", 128, 64)
    section = from_mapping({"display": {"driver": "virtual", **LONG, **display}})
    shown = Display.from_config(section.display, "en", PROGRAM.name, bus=bus)
    assert isinstance(shown, Display)
    return shown, bus


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.logical_xor(a, b).getbbox() is None


def test_the_customer_of_the_week_shows_at_the_end_of_each_idle_minute_then_idle_returns():
    display, bus = open_display()
    display.tick(0.0)
    display.set_week(("Ana", 5), 0.5)
    week = display.screens.customer_of_week("Ana", 5)
    display.tick(10.0)
    assert same(bus.glass(), display.screens.idle())
    display.tick(SHOWN_AT)
    assert same(bus.glass(), week)
    display.tick(WEEK_EVERY_SECONDS + 1.0)
    assert same(bus.glass(), display.screens.idle())
    display.tick(WEEK_EVERY_SECONDS + SHOWN_AT)
    assert same(bus.glass(), week)


def test_a_tap_restarts_the_round_so_the_customer_reads_their_own_screen_first():
    display, bus = open_display(outcome_seconds=4.0)
    display.tick(0.0)
    display.set_week(("Ana", 5), 0.0)
    outcome = sample_tap(PROGRAM, 3)
    display.show_outcome(outcome, SHOWN_AT - 1.0)
    display.tick(SHOWN_AT + 3.5)  # the outcome ended: idle, not the week's screen
    assert same(bus.glass(), display.screens.idle())


def test_nobody_to_show_keeps_the_idle_screen_and_sends_no_frame():
    display, bus = open_display()
    display.tick(0.0)
    display.set_week(None, 0.0)
    frames = display.frames_sent
    display.tick(SHOWN_AT)
    assert same(bus.glass(), display.screens.idle()) and display.frames_sent == frames


def test_an_offline_reader_is_never_hidden_by_the_customer_of_the_week():
    display, bus = open_display()
    display.tick(0.0)
    display.set_week(("Ana", 5), 0.0)
    display.set_status(KioskStatus(reader_online=False), 1.0)
    display.tick(1.0 + SHOWN_AT)
    assert same(bus.glass(), display.screens.reader_offline())

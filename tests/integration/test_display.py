"""The display adapter over luma.oled's real drivers and the virtual controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from kiosk.adapters.display import Display, NullDisplay
from kiosk.config import from_mapping
from kiosk.core.rules import RefusalReason, Refused
from kiosk.core.status import KioskStatus
from kiosk.errors import DisplayUnavailable
from sim.oled import VirtualOled
from tests.reference.samples import PROGRAM, SAMPLES, sample_tap


def section(**display: Any) -> Any:
    return from_mapping({"display": {"driver": "virtual", **display}}).display


def open_display(chip: str = "ssd1306", height: int = 64, **display: Any) -> tuple[Display, VirtualOled]:
    bus = VirtualOled(chip, 128, height)  # type: ignore[arg-type]
    shown = Display.from_config(
        section(virtual_chip=chip, height=height, **display), "fr", PROGRAM.name, bus=bus
    )
    assert isinstance(shown, Display)
    return shown, bus


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.logical_xor(a, b).getbbox() is None


@pytest.mark.parametrize("partial", [True, False])
@pytest.mark.parametrize("height", [64, 32])
@pytest.mark.parametrize("chip", ["ssd1306", "sh1106"])
def test_the_controller_shows_every_screen_pixel_for_pixel(chip: str, height: int, partial: bool) -> None:
    display, bus = open_display(chip, height, partial_updates=partial)
    assert bus.display_on and same(bus.glass(), display.screens.idle())
    for name, sample in SAMPLES.items():
        image = sample(display.screens)
        display.show_outcome(sample_tap(PROGRAM, 3), 0.0, image=image)  # a drawn screen, as sent
        assert same(bus.glass(), image), f"{chip} {height} {name}"


def test_a_rotated_panel_gets_the_picture_turned_half_a_turn() -> None:
    display, bus = open_display(rotate=2)
    image = display.screens.outcome(sample_tap(PROGRAM, 3), "Marie")
    display.show_outcome(sample_tap(PROGRAM, 3), 0.0, "Marie")
    assert same(bus.glass(), image.rotate(180))


@pytest.mark.parametrize("rotate", [1, 3])
def test_a_panel_turned_a_quarter_gets_the_tall_picture_turned(rotate: int) -> None:
    display, bus = open_display(rotate=rotate)
    image = display.screens.outcome(sample_tap(PROGRAM, 3), "Marie")
    assert image.size == (64, 128)
    display.show_outcome(sample_tap(PROGRAM, 3), 0.0, "Marie")
    assert same(bus.glass(), image.rotate(-90 * rotate, expand=True))


def test_no_frame_goes_out_when_nothing_changed() -> None:
    display, bus = open_display(shift_every_seconds=0)
    display.tick(100.0)
    writes, frames = bus.writes, display.frames_sent
    for step in range(20):
        display.tick(100.0 + step * 0.25)
        display.set_status(KioskStatus(), 100.0 + step * 0.25)
    assert bus.writes == writes and display.frames_sent == frames


def test_an_outcome_stays_then_the_idle_screen_returns() -> None:
    display, bus = open_display(outcome_seconds=4.0)
    display.tick(50.0)
    idle = bus.glass()
    display.show_outcome(sample_tap(PROGRAM, 3), 50.0, "Marie")
    assert not same(bus.glass(), idle)
    display.tick(53.9)
    assert not same(bus.glass(), idle)
    display.tick(54.0)
    assert same(bus.glass(), idle)


def test_the_idle_screen_dims_moves_and_blanks_and_a_tap_wakes_it() -> None:
    display, bus = open_display(
        contrast=200, dim_contrast=8, dim_after_seconds=60, blank_after_seconds=600,
        shift_every_seconds=30, shift_pixels=1,
    )
    display.tick(1000.0)
    first = bus.glass()
    assert bus.contrast == 200
    display.tick(1031.0)
    assert not same(bus.glass(), first)  # moved by a pixel
    display.tick(1061.0)
    assert bus.contrast == 8 and bus.display_on
    display.tick(1600.0)
    assert not bus.display_on
    writes = bus.writes
    display.tick(1700.0)
    assert bus.writes == writes  # nothing sent to a blank panel
    display.show_outcome(sample_tap(PROGRAM, 3), 1700.0)
    assert bus.display_on and bus.contrast == 200
    assert same(bus.glass(), display.screens.outcome(sample_tap(PROGRAM, 3)))


def test_a_reader_going_offline_wakes_the_screen_to_say_so() -> None:
    display, bus = open_display()
    display.tick(0.0)
    display.tick(700.0)
    assert not bus.display_on
    display.set_status(KioskStatus(reader_online=False), 701.0)
    assert bus.display_on and same(bus.glass(), display.screens.reader_offline())


def test_a_small_change_costs_fewer_bytes_than_a_whole_frame() -> None:
    partial, _ = open_display(partial_updates=True, shift_every_seconds=0)
    whole, _ = open_display(partial_updates=False, shift_every_seconds=0)
    for display in (partial, whole):
        display.tick(0.0)
        display.set_status(KioskStatus(central_online=False, pending_events=3), 1.0)
    assert whole.last_frame_bytes >= 1024
    assert partial.last_frame_bytes < 300


def test_the_virtual_driver_from_config_alone_saves_frames(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    shown = Display.from_config(section(frames_dir=str(frames)), "en", PROGRAM.name)
    assert isinstance(shown, Display) and isinstance(shown.bus, VirtualOled)
    shown.show_outcome(Refused(reason=RefusalReason.RANDOM_ID), 0.0)
    shown.close()
    saved = sorted(frames.glob("frame-*.png"))
    assert len(saved) >= 3  # idle, refused, blank at close
    assert Image.open(saved[0]).size == (512, 256)


def test_driver_none_is_a_display_that_does_nothing() -> None:
    shown = Display.from_config(section(driver="none"), "en", PROGRAM.name)
    assert isinstance(shown, NullDisplay)
    shown.show_outcome(sample_tap(PROGRAM, 1), 0.0)
    shown.tick(1.0)
    shown.close()


def test_a_panel_that_does_not_answer_is_reported_by_name() -> None:
    bus = VirtualOled(address=0x3D)
    with pytest.raises(DisplayUnavailable, match="0x3C"):
        Display.from_config(section(), "en", PROGRAM.name, bus=bus)


def test_close_blanks_the_panel() -> None:
    display, bus = open_display()
    display.close()
    assert not bus.display_on

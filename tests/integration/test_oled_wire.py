"""The virtual OLED's controller in another process than the kiosk's display (sim.oled_wire)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import ImageChops

from kiosk.adapters.display import Display
from kiosk.config import from_mapping
from sim.harness import wait_until
from sim.oled import WIRE_ENVIRONMENT, VirtualOled, virtual_bus
from sim.oled_wire import OledWire, WireBus
from tests.reference.samples import PROGRAM, SAMPLES, sample_tap


def test_every_screen_the_display_sends_over_the_wire_reaches_the_controller_pixel_for_pixel(
    tmp_path: Path,
) -> None:
    section = from_mapping({"display": {"driver": "virtual"}}).display
    with OledWire(tmp_path / "oled") as wire:
        display = Display.from_config(section, "fr", PROGRAM.name, bus=WireBus(wire.path))
        assert isinstance(display, Display)
        sent = 1  # the idle screen, when the display opened
        for name, sample in SAMPLES.items():
            image = sample(display.screens)
            display.show_outcome(sample_tap(PROGRAM, 3), 0.0, image=image)
            if display.frames_sent == sent:
                continue  # the same screen as the one before: nothing sent
            sent = display.frames_sent
            assert wait_until(lambda sent=sent: wire.frames == sent, 5), name
            assert ImageChops.logical_xor(wire.oled.glass(), image).getbbox() is None, name


def test_the_wire_bus_answers_only_at_the_panels_address(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="0x3D"):
        WireBus(tmp_path / "nobody", address=0x3C).write_i2c_block_data(0x3D, 0x00, [0xAF])


def test_a_frame_sent_when_nobody_listens_is_lost_without_an_error(tmp_path: Path) -> None:
    bus = WireBus(tmp_path / "nobody")
    bus.write_i2c_block_data(0x3C, 0x00, [0xAF])
    bus.end_frame()  # a bus has no answer to give: the display goes on


def test_the_simulators_bus_is_a_wire_when_the_environment_names_a_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"chip": "ssd1306", "width": 128, "height": 64, "address": 0x3C, "frames_dir": ""}
    assert isinstance(virtual_bus(**options), VirtualOled)
    monkeypatch.setenv(WIRE_ENVIRONMENT, str(tmp_path / "oled"))
    assert isinstance(virtual_bus(**options), WireBus)

"""Our luma subclasses against luma's own drivers, both over the virtual controller: a
whole frame sends exactly the bytes luma sends, and a changed region leaves the
controller's RAM byte for byte as luma's whole frame would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from luma.core.interface.serial import i2c
from luma.oled.device import sh1106, ssd1306, ssd1309
from PIL import Image, ImageChops

from kiosk.adapters.panels import SH1106, SSD1306, SSD1309
from kiosk.core.lanes import Frame
from sim.oled import VirtualOled

CHIPS = {  # [display] driver: (ours, luma's, the virtual controller that speaks it)
    "ssd1306": (SSD1306, ssd1306, "ssd1306"),
    "ssd1309": (SSD1309, ssd1309, "ssd1306"),
    "sh1106": (SH1106, sh1106, "sh1106"),
}


class RecordingOled(VirtualOled):
    """The virtual controller, also keeping every write after the driver's init."""

    def __init__(self, chip: Any, height: int) -> None:
        super().__init__(chip, 128, height)
        self.sent: list[tuple[int, bytes]] = []

    def write_i2c_block_data(self, address: int, control: int, data: Sequence[int]) -> None:
        self.sent.append((control, bytes(data)))
        super().write_i2c_block_data(address, control, data)


def pair(driver: str, height: int, **settings: Any) -> tuple[Any, RecordingOled, Any, RecordingOled]:
    """Our panel and luma's, each on its own controller, both just initialised."""
    ours, theirs, chip = CHIPS[driver]
    our_bus, their_bus = RecordingOled(chip, height), RecordingOled(chip, height)
    our_panel = ours(i2c(bus=our_bus), width=128, height=height, **settings)
    their_panel = theirs(i2c(bus=their_bus), width=128, height=height, **settings)
    our_bus.sent.clear()
    their_bus.sent.clear()
    return our_panel, our_bus, their_panel, their_bus


def frames(height: int) -> st.SearchStrategy[Image.Image]:
    return st.binary(min_size=16 * height, max_size=16 * height).map(
        lambda raw: Image.frombytes("1", (128, height), raw)
    )


def ram(bus: VirtualOled) -> list[bytes]:
    return [bytes(page) for page in bus.ram]


@pytest.mark.parametrize("height", [64, 32])
@pytest.mark.parametrize("driver", sorted(CHIPS))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_a_whole_frame_sends_exactly_the_bytes_luma_sends(
    driver: str, height: int, data: st.DataObject
) -> None:
    image = data.draw(frames(height))
    ours, our_bus, theirs, their_bus = pair(driver, height)
    ours.display(image)
    theirs.display(image)
    assert our_bus.sent == their_bus.sent
    assert ram(our_bus) == ram(their_bus)


@pytest.mark.parametrize("height", [64, 32])
@pytest.mark.parametrize("driver", sorted(CHIPS))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_changed_region_leaves_the_ram_as_lumas_whole_frame_does(
    driver: str, height: int, data: st.DataObject
) -> None:
    before = data.draw(frames(height))
    x0 = data.draw(st.integers(0, 127))
    y0 = data.draw(st.integers(0, height - 1))
    box = (x0, y0, data.draw(st.integers(x0 + 1, 128)), data.draw(st.integers(y0 + 1, height)))
    after = before.copy()
    after.paste(data.draw(frames(height)).crop(box), box[:2])
    ours, our_bus, theirs, their_bus = pair(driver, height)
    ours.display(before)
    theirs.display(before)
    changed = ImageChops.logical_xor(before, after).getbbox()
    our_bus.sent.clear()
    if changed is not None:
        ours.display_frame(Frame.of(after), changed)
    theirs.display(after)
    assert ram(our_bus) == ram(their_bus)


def test_an_sh1106_at_another_column_offset_lands_where_lumas_does() -> None:
    ours, our_bus, theirs, their_bus = pair("sh1106", 64, page_address_offset=0)
    image = Image.new("1", (128, 64), 0)
    image.paste(1, (0, 0, 3, 64))
    ours.display(image)
    theirs.display(image)
    assert our_bus.sent == their_bus.sent and our_bus.ram[0][:4] == b"\xff\xff\xff\x00"


@pytest.mark.parametrize("driver", sorted(CHIPS))
def test_a_panel_turned_half_a_turn_gets_the_same_ram_as_lumas(driver: str) -> None:
    ours, our_bus, theirs, their_bus = pair(driver, 32, rotate=2)
    image = Image.new("1", (128, 32), 0)
    image.paste(1, (5, 3, 40, 9))
    ours.display(image)
    theirs.display(image)
    assert ram(our_bus) == ram(their_bus) and any(any(page) for page in our_bus.ram)

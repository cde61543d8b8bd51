"""The terminal view of the virtual OLED shows what the panel shows, LEDs beside it."""

from __future__ import annotations

from gpiozero import LED
from gpiozero.pins.mock import MockFactory

from kiosk.adapters.display import Display
from kiosk.config import from_mapping
from sim.oled import VirtualOled
from sim.terminal import panel_lines, pin_states, render
from tests.reference.samples import PROGRAM


def test_the_terminal_draws_the_lit_panel_and_the_leds() -> None:
    bus = VirtualOled(height=32)
    section = from_mapping({"display": {"driver": "virtual", "height": 32}}).display
    display = Display.from_config(section, "en", PROGRAM.name, bus=bus)
    factory = MockFactory()
    green = LED(17, pin_factory=factory)
    green.on()
    text = render(bus, pin_states(factory, {"green": 17, "red": 0}))
    lines = text.splitlines()
    assert len(lines) == 16 + 2
    assert "\u25cf green" in lines[1] and "red" not in text
    assert max(len(line) for line in lines) <= 80  # fits an ordinary terminal
    assert panel_lines(bus.lit()) == [line[1:65] for line in lines[1:-1]]
    assert set("".join(panel_lines(bus.lit()))) != {" "}  # so the blank check below means something
    display.close()
    assert set("".join(panel_lines(bus.lit()))) == {" "}  # a blank panel draws dark
    green.close()


def test_each_character_shows_exactly_its_two_by_two_pixels() -> None:
    from PIL import Image

    image = Image.new("1", (4, 2))
    image.putpixel((0, 0), 1)  # top left of the first cell
    image.putpixel((3, 1), 1)  # bottom right of the second
    assert panel_lines(image) == ["\u2598\u2597"]
    image = Image.new("1", (2, 2), 1)
    assert panel_lines(image) == ["\u2588"]

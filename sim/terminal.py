"""Draw the virtual OLED and the LEDs in a terminal, two pixel rows per character.

    >>> from sim.oled import VirtualOled
    >>> panel = VirtualOled(height=32)
    >>> len(render(panel, {"green": False}).splitlines())
    18

Upper half block U+2580, lower half U+2584 and full block U+2588 give each character
cell two pixels stacked; a frame around the panel keeps its edges visible when dark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PIL import Image

from sim.oled import VirtualOled

_CELLS = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584", (True, True): "\u2588"}
_LED_COLOURS = {"green": "\x1b[32m", "red": "\x1b[31m", "buzzer": "\x1b[33m"}
_RESET = "\x1b[0m"


def panel_lines(image: Image.Image) -> list[str]:
    """A 1-bit image as text rows of half blocks (height rounded up to even)."""
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    rows = []
    for y in range(0, height, 2):
        cells = []
        for x in range(width):
            top = bool(pixels[x, y])
            bottom = bool(pixels[x, y + 1]) if y + 1 < height else False
            cells.append(_CELLS[(top, bottom)])
        rows.append("".join(cells))
    return rows


def led_lines(leds: Mapping[str, bool | float], colour: bool = False) -> list[str]:
    """One line per LED (or buzzer): a filled dot when lit."""
    lines = []
    for name, state in leds.items():
        dot = "\u25cf" if state else "\u25cb"
        if colour and state:
            dot = f"{_LED_COLOURS.get(name, '')}{dot}{_RESET}"
        lines.append(f"{dot} {name}")
    return lines


def render(panel: VirtualOled, leds: Mapping[str, bool | float], colour: bool = False) -> str:
    """The panel as lit (dark when off), framed, with the LED states beside it."""
    body = panel_lines(panel.lit())
    status = "on" if panel.display_on else "off"
    caption = f" {panel.chip} {status} contrast {panel.contrast} "
    width = panel.width
    top = "\u250c" + caption.center(width, "\u2500") + "\u2510"
    framed = [top] + [f"\u2502{row}\u2502" for row in body] + ["\u2514" + "\u2500" * width + "\u2518"]
    side = led_lines(leds, colour)
    return "\n".join(
        line + ("  " + side[i - 1] if 0 < i <= len(side) else "") for i, line in enumerate(framed)
    )


def pin_states(factory: Any, pins: Mapping[str, int]) -> dict[str, bool | float]:
    """LED states read back from a gpiozero MockFactory, by name (0 = not fitted)."""
    pin = factory.pin
    return {name: pin(number).state for name, number in pins.items() if number}

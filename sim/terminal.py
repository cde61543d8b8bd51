"""Draw the virtual OLED and the LEDs in a terminal, 2x2 pixels per character.

    >>> from sim.oled import VirtualOled
    >>> panel = VirtualOled(height=32)
    >>> len(render(panel, {"green": False}).splitlines())
    18

Unicode's quadrant blocks (U+2596..U+259F with the half and full blocks) have a glyph for
each of the 16 patterns of a 2x2 cell, so a 128-pixel panel fits in 64 columns, exactly,
inside an 80-column terminal; a frame around the panel keeps its edges visible when dark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PIL import Image

from sim.oled import VirtualOled

# (top left, top right, bottom left, bottom right) -> the glyph lighting those quarters
_QUADS = " \u2598\u259d\u2580\u2596\u258c\u259e\u259b\u2597\u259a\u2590\u259c\u2584\u2599\u259f\u2588"
_LED_COLOURS = {"green": "\x1b[32m", "red": "\x1b[31m", "buzzer": "\x1b[33m"}
_RESET = "\x1b[0m"


def panel_lines(image: Image.Image) -> list[str]:
    """A 1-bit image as text rows of quadrant blocks (odd sizes padded with dark pixels)."""
    width, height = image.size
    pixels = image.load()
    assert pixels is not None

    def lit(x: int, y: int) -> int:
        return int(x < width and y < height and bool(pixels[x, y]))

    rows = []
    for y in range(0, height, 2):
        cells = []
        for x in range(0, width, 2):
            index = lit(x, y) | lit(x + 1, y) << 1 | lit(x, y + 1) << 2 | lit(x + 1, y + 1) << 3
            cells.append(_QUADS[index])
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
    width = (panel.width + 1) // 2
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

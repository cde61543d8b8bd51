"""A tiny 1-bit layout engine: blocks stacked vertically, text that never overflows.

Screens (kiosk.core.screens) describe what to show as a list of blocks; `compose` measures
them, spreads them evenly over the panel's height and draws them. Pure: fonts come in
as loaded objects, nothing here reads a file or a clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
ELLIPSIS = "\u2026"
ON, OFF = 1, 0
MARGIN = 2  # keeps pixel shift from pushing ink off the panel


@dataclass(frozen=True)
class Fonts:
    """The three faces screens use; loaded by kiosk.fonts.load()."""

    title: Font
    body: Font
    small: Font


# Measuring and rasterising text (FreeType through HarfBuzz) was most of a screen's cost,
# and the same strings come back tap after tap: headlines, "7/10", a regular's name. Fonts
# are immutable and loaded once, so (font, text) -> result never goes stale. The sizes
# bound the RSS they hold: a mask is about 5 KB, a width about 200 bytes.
def _features(font: Font) -> list[str] | None:
    """No ligatures: at these pixel sizes HarfBuzz's "fi"/"ffi" glyphs leave a gap after
    them ("fi délité"). Only the complex layout (libraqm) has features to turn off."""
    if isinstance(font, ImageFont.FreeTypeFont) and font.layout_engine == ImageFont.Layout.RAQM:
        return NO_LIGATURES
    return None


NO_LIGATURES = ["-liga"]


@lru_cache(maxsize=512)
def text_width(font: Font, text: str) -> int:
    """`text`'s advance width in whole pixels at `font`."""
    if isinstance(font, ImageFont.FreeTypeFont):
        return int(font.getlength(text, features=_features(font)))
    return int(font.getlength(text))


@lru_cache(maxsize=16)
def line_height(font: Font) -> int:
    """Ascent plus descent of `font`: the pitch of wrapped lines."""
    ascent, descent = font.getmetrics()  # type: ignore[union-attr]
    return int(ascent + descent)


@lru_cache(maxsize=64)
def _glyph_mask(
    font: ImageFont.FreeTypeFont, text: str, mode: str, anchor: str, ink: int
) -> tuple[Any, tuple[int, int]]:
    return font.getmask2(text, mode, anchor=anchor, ink=ink, features=_features(font))


def draw_text(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: Font, ink: int, anchor: str
) -> None:
    """What `draw.text(xy, text, font=font, fill=ink, anchor=anchor)` draws, pixel for pixel,
    from a cached mask: Pillow draws one line at whole-pixel `xy` as the mask FreeType
    renders at `anchor`, moved by the offset it reports."""
    if "\n" in text or not isinstance(font, ImageFont.FreeTypeFont):
        draw.text(xy, text, font=font, fill=ink, anchor=anchor, features=_features(font))
        return
    core_ink = draw.draw.draw_ink(ink)  # as ImageDraw.text resolves `fill`
    mask, (dx, dy) = _glyph_mask(font, text, draw.fontmode, anchor, core_ink)
    draw.draw.draw_bitmap((xy[0] + dx, xy[1] + dy), mask, core_ink)


def ellipsize(text: str, font: Font, width: int) -> str:
    """`text` cut to fit `width` pixels, ending with an ellipsis when it was cut."""
    if text_width(font, text) <= width:
        return text
    cut = text
    while cut and text_width(font, cut.rstrip() + ELLIPSIS) > width:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS if cut else ""


def wrap(text: str, font: Font, width: int, max_lines: int) -> tuple[list[str], bool]:
    """Greedy word wrap; returns the lines and whether everything fitted uncut."""
    lines: list[str] = []
    current = ""
    words = text.split()
    for index, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if text_width(font, candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        if len(lines) == max_lines:
            rest = " ".join([lines.pop(), *words[index:]])
            lines.append(ellipsize(rest, font, width))
            return lines, False
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], ellipsize(rest, font, width)]
        return lines, False
    fitted = all(text_width(font, line) <= width for line in lines)
    return [ellipsize(line, font, width) for line in lines], fitted


@dataclass(frozen=True)
class Text:
    """A line (or a few wrapped lines) of text, centred.

    `template` is formatted with `values`; when it is too wide at every font in `fonts`
    (largest first), the value named `squeeze` (e.g. a customer's name or a reward) is
    shortened with an ellipsis first, so "Hello Maximilia…!" keeps its "Hello" and "!".
    """

    template: str
    fonts: tuple[str, ...] = ("body",)
    values: Mapping[str, str] = field(default_factory=dict)
    squeeze: str | None = None
    max_lines: int = 1
    stars: bool = False
    width: int | None = None  # narrower than the panel, e.g. beside a badge
    align: str = "center"

    def lines(self, fonts: Fonts, panel_width: int) -> tuple[Font, list[str]]:
        """The font and lines this text is drawn with, all within the available width."""
        width = (self.width or panel_width - 2 * MARGIN) - (22 if self.stars else 0)
        faces = [getattr(fonts, name) for name in self.fonts]
        full = self.template.format(**self.values)
        for face in faces:
            lines, fitted = wrap(full, face, width, self.max_lines)
            if fitted and self.max_lines > 1:
                return face, lines
            if self.max_lines == 1 and text_width(face, full) <= width:
                return face, [full]
        face = faces[-1]
        if self.squeeze and self.max_lines == 1:
            return face, [self._squeezed(face, width)]
        return face, wrap(full, face, width, self.max_lines)[0]

    def _squeezed(self, face: Font, width: int) -> str:
        assert self.squeeze is not None
        value = self.values[self.squeeze]
        others = dict(self.values, **{self.squeeze: ""})
        room = width - text_width(face, self.template.format(**others))
        short = ellipsize(value, face, max(room, 0))
        return ellipsize(self.template.format(**dict(self.values, **{self.squeeze: short})), face, width)

    def height(self, fonts: Fonts, panel_width: int) -> int:
        face, lines = self.lines(fonts, panel_width)
        return line_height(face) * len(lines)

    def draw(self, draw: ImageDraw.ImageDraw, fonts: Fonts, box: tuple[int, int, int], ink: int) -> None:
        left, top, width = box
        face, lines = self.lines(fonts, width)
        step = line_height(face)
        for i, line in enumerate(lines):
            line_width = text_width(face, line)
            x = MARGIN if self.align == "left" else left + (width - line_width) // 2
            y = top + i * step
            draw_text(draw, (x, y), line, face, ink, "la")
            if self.stars:
                centre_y = y + step // 2
                _star(draw, x - 10, centre_y, 4, ink)
                _star(draw, x + line_width + 9, centre_y, 4, ink)


@dataclass(frozen=True)
class Stamps:
    """The card's stamps: round icons when they fit, else a progress bar; "7/10" beside."""

    stamps: int
    goal: int
    size: int = 10
    max_icons: int = 12

    def height(self, fonts: Fonts, panel_width: int) -> int:
        return max(self.size, line_height(fonts.small) - 2)

    def draw(self, draw: ImageDraw.ImageDraw, fonts: Fonts, box: tuple[int, int, int], ink: int) -> None:
        left, top, width = box
        count = f"{self.stamps}/{self.goal}"
        count_width = text_width(fonts.small, count)
        room = width - 2 * MARGIN - count_width - 4
        row_height = self.height(fonts, width)
        icon_top = top + (row_height - self.size) // 2
        pitch = room // self.goal if self.goal else 0
        if self.goal <= self.max_icons and pitch >= 5:
            diameter = min(self.size, pitch - 1)
            used = pitch * self.goal
            x = MARGIN + (room - used) // 2
            y = top + (row_height - diameter) // 2
            for i in range(self.goal):
                box_ = (x + i * pitch, y, x + i * pitch + diameter - 1, y + diameter - 1)
                if i < self.stamps:
                    draw.ellipse(box_, fill=ink, outline=ink)
                else:
                    draw.ellipse(box_, outline=ink)
        else:
            bar = (MARGIN, icon_top, MARGIN + room - 1, icon_top + self.size - 1)
            draw.rectangle(bar, outline=ink)
            filled = (room - 4) * min(self.stamps, self.goal) // max(self.goal, 1)
            if filled > 0:
                draw.rectangle((bar[0] + 2, bar[1] + 2, bar[0] + 1 + filled, bar[3] - 2), fill=ink)
        draw_text(draw, (width - MARGIN - count_width, top + row_height // 2), count, fonts.small, ink, "lm")


@dataclass(frozen=True)
class Contactless:
    """The contactless symbol: a card edge and three waves, `size` pixels tall."""

    size: int = 16

    def height(self, fonts: Fonts, panel_width: int) -> int:
        return self.size

    def draw(self, draw: ImageDraw.ImageDraw, fonts: Fonts, box: tuple[int, int, int], ink: int) -> None:
        left, top, width = box
        centre_x = left + width // 2 - self.size // 2
        for i in range(3):
            radius = self.size // 4 + i * (self.size // 5)
            bounds = (
                centre_x - radius,
                top + self.size // 2 - radius,
                centre_x + radius,
                top + self.size // 2 + radius,
            )
            draw.arc(bounds, start=-45, end=45, fill=ink, width=2)
        middle = top + self.size // 2
        draw.ellipse((centre_x - 2, middle - 2, centre_x + 1, middle + 1), fill=ink)


Block = Text | Stamps | Contactless


def _star(draw: ImageDraw.ImageDraw, x: int, y: int, radius: int, ink: int) -> None:
    # a four-pointed sparkle reads better than a five-pointed star at 9 pixels
    inner = max(1, radius // 3)
    points = [
        (x, y - radius), (x + inner, y - inner), (x + radius, y), (x + inner, y + inner),
        (x, y + radius), (x - inner, y + inner), (x - radius, y), (x - inner, y - inner),
    ]
    draw.polygon(points, fill=ink)


def compose(
    blocks: Sequence[Block],
    size: tuple[int, int],
    fonts: Fonts,
    inverted: bool = False,
) -> Image.Image:
    """Draw `blocks` top to bottom on a new 1-bit image, spread evenly over its height."""
    width, height = size
    image = Image.new("1", size, ON if inverted else OFF)
    ink = OFF if inverted else ON
    draw = ImageDraw.Draw(image)
    heights = [block.height(fonts, width) for block in blocks]
    spare = max(0, height - sum(heights))
    gap = spare // (len(blocks) + 1) if blocks else 0
    top = gap + (spare - gap * (len(blocks) + 1)) // 2
    for block, block_height in zip(blocks, heights, strict=True):
        block.draw(draw, fonts, (0, top, width), ink)
        top += block_height + gap
    return image

"""A tiny 1-bit layout engine: blocks stacked vertically, text that never overflows.

Screens (kiosk.core.screens) describe what to show as a list of blocks; `sketch` measures
them, spreads them evenly over the panel's height and places each one's cached masks
(kiosk.core.lanes): a Pillow image or the panel's lanes from the same marks. Pure: fonts
come in as loaded objects, nothing here reads a file or a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from kiosk.core.lanes import Drawing, Mark, Mask

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
ELLIPSIS = "\u2026"
ON, OFF = 1, 0
MARGIN = 2  # keeps pixel shift from pushing ink off the panel
# No line on a 128-pixel panel holds more characters than this, even two lines of the
# smallest face: longer text is cut to it before anything is measured, so fitting costs
# the same for a 12,000-character name as for a 200-character one.
MAX_CHARS = 200


@dataclass(frozen=True)
class Fonts:
    """The three faces screens use; loaded by kiosk.fonts.load()."""

    title: Font
    body: Font
    small: Font


# Measuring and rasterising text (FreeType) was most of a screen's cost,
# and the same strings come back tap after tap: headlines, "7/10", a regular's name. Fonts
# are immutable and loaded once, so (font, text) -> result never goes stale. The sizes
# bound the RSS they hold: a mask is about 5 KB, a width about 200 bytes.
@lru_cache(maxsize=1024)
def text_width(font: Font, text: str) -> int:
    """Pixels from the pen's start to the right edge of `text`'s ink at `font`: what must
    fit in a line. The ink, not the advance: the last glyph's side bearing is blank, and
    counting it pushed headlines such as "Passez votre carte" down to the smaller face."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        return int(font.getlength(text))
    # FreeType's mask for this line: measured once, drawn from the same (text_mask)
    mask, (dx, _) = _glyph_mask(font, text, "1", "la", ON)
    box = mask.getbbox()
    return 0 if box is None else int(dx + box[2])


@lru_cache(maxsize=1024)
def advance_width(font: Font, text: str) -> float:
    """Where the pen ends after `text` at `font`, glyphs hinted as they are drawn (1-bit):
    ten times cheaper than finding its ink."""
    if isinstance(font, ImageFont.FreeTypeFont):
        return float(font.getlength(text, mode="1"))
    return float(font.getlength(text))


# Measured at 1 bit, a text's ink ends at most this far past its advance (DejaVu at
# 10-13 px: 1 px) and the blank after its last glyph is at most this wide: only a text
# whose advance is that close to the room left needs its ink found.
INK_SLACK = 3


def fits(font: Font, text: str, width: int) -> bool:
    """Whether `text`'s ink at `font` ends within `width` pixels of the pen's start."""
    advance = advance_width(font, text)
    if advance <= width - INK_SLACK:
        return True
    if advance > width + INK_SLACK:
        return False
    return text_width(font, text) <= width


@lru_cache(maxsize=16)
def line_height(font: Font) -> int:
    """Ascent plus descent of `font`: the pitch of wrapped lines."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        left, top, right, bottom = font.getbbox("Ag")
        return int(bottom)
    ascent, descent = font.getmetrics()
    return int(ascent + descent)


@lru_cache(maxsize=64)
def _glyph_mask(
    font: ImageFont.FreeTypeFont, text: str, mode: str, anchor: str, ink: int
) -> tuple[Any, tuple[int, int]]:
    return font.getmask2(text, mode, anchor=anchor, ink=ink)


# Only lines that are drawn land here (fitting measures its candidates through
# text_width): a drawn line's mask and lanes are a few KB, so 256 of them at most.
@lru_cache(maxsize=256)
def text_mask(font: Font, text: str, anchor: str) -> tuple[Mask, tuple[int, int]]:
    """`text` at `font` as a mask and the offset of its top-left corner from the pen at
    `anchor`: what `draw_text` draws, kept as a Mask (its lanes made once too)."""
    offset: tuple[int, int] = (0, 0)
    if isinstance(font, ImageFont.FreeTypeFont) and "\n" not in text:
        core, offset = _glyph_mask(font, text, "1", anchor, ON)
        image = Image.new("1", core.size, OFF)
        draw = ImageDraw.Draw(image).draw
        draw.draw_bitmap((0, 0), core, draw.draw_ink(ON))
    else:  # Pillow's own layout (several lines, a bitmap font), drawn on a canvas its size
        left, top, right, bottom = ImageDraw.Draw(Image.new("1", (1, 1))).textbbox(
            (0, 0), text, font=font, anchor=anchor)
        offset = (int(left), int(top))
        image = Image.new("1", (max(0, int(right - left)), max(0, int(bottom - top))), OFF)
        ImageDraw.Draw(image).text((-left, -top), text, font=font, fill=ON, anchor=anchor)
    return Mask(image), offset


def text_mark(font: Font, text: str, xy: tuple[int, int], anchor: str) -> Mark:
    """Where `text`'s mask goes for the pen at `xy`."""
    mask, (dx, dy) = text_mask(font, text, anchor)
    return xy[0] + dx, xy[1] + dy, mask


def draw_text(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: Font, ink: int, anchor: str
) -> None:
    """What `draw.text(xy, text, font=font, fill=ink, anchor=anchor)` draws, pixel for pixel,
    from a cached mask: Pillow draws one line at whole-pixel `xy` as the mask FreeType
    renders at `anchor`, moved by the offset it reports."""
    if "\n" in text or not isinstance(font, ImageFont.FreeTypeFont):
        draw.text(xy, text, font=font, fill=ink, anchor=anchor)
        return
    core_ink = draw.draw.draw_ink(ink)  # as ImageDraw.text resolves `fill`
    mask, (dx, dy) = _glyph_mask(font, text, draw.fontmode, anchor, core_ink)
    draw.draw.draw_bitmap((xy[0] + dx, xy[1] + dy), mask, core_ink)


def _longest(count: int, fits: Callable[[int], bool]) -> int:
    """The largest n in 0..count with fits(n), for a `fits` that stays true up to some n
    and false after it: a binary search, log2(count) measurements."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def ellipsize(text: str, font: Font, width: int) -> str:
    """`text` cut to fit `width` pixels, ending with an ellipsis when it was cut."""
    text = text[:MAX_CHARS]
    if fits(font, text, width):
        return text
    keep = _longest(len(text), lambda n: fits(font, text[:n].rstrip() + ELLIPSIS, width))
    return text[:keep].rstrip() + ELLIPSIS if keep else ""


def clip_words(text: str, font: Font, width: int) -> str:
    """`text` fitted to `width` by dropping whole words from its end (then an ellipsis);
    only a first word too long alone is cut inside."""
    text = text[:MAX_CHARS]
    if fits(font, text, width):
        return text
    words = text.split()
    keep = _longest(
        len(words), lambda n: fits(font, " ".join(words[:n]) + ELLIPSIS, width)
    )
    return " ".join(words[:keep]) + ELLIPSIS if keep else ellipsize(text, font, width)


def _words_that_fit(words: Sequence[str], font: Font, width: int) -> int:
    return _longest(len(words), lambda n: fits(font, " ".join(words[:n]), width))


def wrap(text: str, font: Font, width: int, max_lines: int) -> tuple[list[str], bool]:
    """Greedy word wrap; returns the lines and whether everything fitted uncut. Text
    beyond `max_lines` loses whole words (an ellipsis says so), never half a word."""
    words = text[:MAX_CHARS].split()
    lines: list[str] = []
    while words and len(lines) < max_lines:
        # a word wider than the line goes alone, cut
        take = max(1, _words_that_fit(words, font, width))
        lines.append(" ".join(words[:take]))
        words = words[take:]
    fitted = not words and len(text) <= MAX_CHARS
    if not fitted and lines:
        lines[-1] = clip_words(" ".join([lines[-1], *words]), font, width)
    fitted = fitted and all(fits(font, line, width) for line in lines)
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
        """The font and lines this text is drawn with, all within the available width:
        the fewest lines first, each at the largest face that holds it."""
        # a screen asks three times (to fit it, to place it, to draw it), and the same
        # headlines, names and counts come back tap after tap: measured once by what it says
        return _text_lines(self.template, self.fonts, tuple(self.values.items()), self.squeeze,
                           self.max_lines, self.stars, self.width, fonts, panel_width)

    def height(self, fonts: Fonts, panel_width: int) -> int:
        face, lines = self.lines(fonts, panel_width)
        return line_height(face) * len(lines)

    def marks(self, fonts: Fonts, box: tuple[int, int, int]) -> list[Mark]:
        left, top, width = box
        face, lines = self.lines(fonts, width)
        step = line_height(face)
        marks = []
        for i, line in enumerate(lines):
            line_width = text_width(face, line)
            x = MARGIN if self.align == "left" else left + (width - line_width) // 2
            y = top + i * step
            marks.append(text_mark(face, line, (x, y), "la"))
            if self.stars:
                centre_y = y + step // 2
                marks.append(_star(x - 10, centre_y, 4))
                marks.append(_star(x + line_width + 9, centre_y, 4))
        return marks


@lru_cache(maxsize=512)
def _text_lines(
    template: str,
    face_names: tuple[str, ...],
    values: tuple[tuple[str, str], ...],
    squeeze: str | None,
    max_lines: int,
    stars: bool,
    narrower: int | None,
    fonts: Fonts,
    panel_width: int,
) -> tuple[Font, list[str]]:
    width = (narrower or panel_width - 2 * MARGIN) - (22 if stars else 0)
    faces = [getattr(fonts, name) for name in face_names]
    cut = {key: value[:MAX_CHARS] for key, value in values}
    full = template.format(**cut)
    for count in range(1, max_lines + 1):
        for face in faces:
            if count == 1 and fits(face, full, width):
                return face, [full]
            lines, fitted = wrap(full, face, width, count)
            if fitted and count > 1:
                return face, lines
    face = faces[-1]
    if squeeze and max_lines == 1:
        return face, [_squeezed(template, squeeze, face, width, cut)]
    return face, wrap(full, face, width, max_lines)[0]


def _squeezed(template: str, key: str, face: Font, width: int, values: dict[str, str]) -> str:
    """`template` with the value `key` shortened (an ellipsis at its end) until it fits."""
    value = values[key]

    def shown(n: int) -> str:
        return template.format(**{**values, key: value[:n].rstrip() + ELLIPSIS})

    keep = _longest(len(value), lambda n: fits(face, shown(n), width))
    return shown(keep) if keep else ellipsize(shown(0), face, width)


@dataclass(frozen=True)
class Stamps:
    """The card's stamps: round icons when they fit, else a progress bar; "7/10" beside."""

    stamps: int
    goal: int
    size: int = 10
    max_icons: int = 12

    def height(self, fonts: Fonts, panel_width: int) -> int:
        return max(self.size, line_height(fonts.small) - 2)

    def marks(self, fonts: Fonts, box: tuple[int, int, int]) -> list[Mark]:
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
            row = (x, y, _stamp_row(min(self.stamps, self.goal), self.goal, pitch, diameter))
        else:
            filled = (room - 4) * min(self.stamps, self.goal) // max(self.goal, 1)
            row = (MARGIN, icon_top, _bar(room, self.size, filled))
        pen = (width - MARGIN - count_width, top + row_height // 2)
        return [row, text_mark(fonts.small, count, pen, "lm")]


@lru_cache(maxsize=64)
def _stamp_row(stamps: int, goal: int, pitch: int, diameter: int) -> Mask:
    """The row of stamp icons as a 1-bit mask: `stamps` filled circles, then empty ones,
    one every `pitch` pixels. The same few rows come back tap after tap (3/10, 4/10 ...);
    drawn once, each is placed like a cached text line instead of ten circles drawn."""
    row = Image.new("1", (pitch * goal, diameter), OFF)
    draw = ImageDraw.Draw(row)
    for i in range(goal):
        box = (i * pitch, 0, i * pitch + diameter - 1, diameter - 1)
        if i < stamps:
            draw.ellipse(box, fill=ON, outline=ON)
        else:
            draw.ellipse(box, outline=ON)
    return Mask(row)


@lru_cache(maxsize=64)
def _bar(room: int, size: int, filled: int) -> Mask:
    """The progress bar that stands for stamps too many to draw: an outline `room` wide,
    filled `filled` pixels."""
    bar = Image.new("1", (room, size), OFF)
    draw = ImageDraw.Draw(bar)
    draw.rectangle((0, 0, room - 1, size - 1), outline=ON)
    if filled > 0:
        draw.rectangle((2, 2, 1 + filled, size - 3), fill=ON)
    return Mask(bar)


@dataclass(frozen=True)
class Contactless:
    """The contactless symbol: a card edge and three waves, `size` pixels tall."""

    size: int = 16

    def height(self, fonts: Fonts, panel_width: int) -> int:
        return self.size

    def marks(self, fonts: Fonts, box: tuple[int, int, int]) -> list[Mark]:
        left, top, width = box
        mask, (dx, dy) = _contactless(self.size)
        return [(left + width // 2 - self.size // 2 + dx, top + self.size // 2 + dy, mask)]


@lru_cache(maxsize=4)
def _contactless(size: int) -> tuple[Mask, tuple[int, int]]:
    """The symbol drawn once around its centre: its mask and the mask's corner from there."""

    def draw(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
        for i in range(3):
            radius = size // 4 + i * (size // 5)
            draw.arc((x - radius, y - radius, x + radius, y + radius), start=-45, end=45, fill=ON, width=2)
        draw.ellipse((x - 2, y - 2, x + 1, y + 1), fill=ON)

    return _shape(draw, size)


Block = Text | Stamps | Contactless


def _shape(draw: Callable[[ImageDraw.ImageDraw, int, int], None], reach: int) -> tuple[Mask, tuple[int, int]]:
    """A shape that `draw` draws around a point, no further than `reach` pixels from it, as
    a mask cut to its ink and the offset of the mask's corner from that point."""
    canvas = Image.new("1", (2 * reach + 1, 2 * reach + 1), OFF)
    draw(ImageDraw.Draw(canvas), reach, reach)
    box = canvas.getbbox() or (reach, reach, reach, reach)
    return Mask(canvas.crop(box)), (box[0] - reach, box[1] - reach)


@lru_cache(maxsize=4)
def _sparkle(radius: int) -> tuple[Mask, tuple[int, int]]:
    # a four-pointed sparkle reads better than a five-pointed star at 9 pixels
    inner = max(1, radius // 3)

    def draw(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
        draw.polygon([
            (x, y - radius), (x + inner, y - inner), (x + radius, y), (x + inner, y + inner),
            (x, y + radius), (x - inner, y + inner), (x - radius, y), (x - inner, y - inner),
        ], fill=ON)

    return _shape(draw, radius)


def _star(x: int, y: int, radius: int) -> Mark:
    mask, (dx, dy) = _sparkle(radius)
    return x + dx, y + dy, mask


def sketch(
    blocks: Sequence[Block],
    size: tuple[int, int],
    fonts: Fonts,
    inverted: bool = False,
) -> Drawing:
    """`blocks` top to bottom on a blank 1-bit panel, spread evenly over its height."""
    width, height = size
    heights = [block.height(fonts, width) for block in blocks]
    spare = max(0, height - sum(heights))
    gap = spare // (len(blocks) + 1) if blocks else 0
    top = gap + (spare - gap * (len(blocks) + 1)) // 2
    marks: list[Mark] = []
    for block, block_height in zip(blocks, heights, strict=True):
        marks += block.marks(fonts, (0, top, width))
        top += block_height + gap
    return Drawing(size, tuple(marks), inverted)


def compose(
    blocks: Sequence[Block],
    size: tuple[int, int],
    fonts: Fonts,
    inverted: bool = False,
) -> Image.Image:
    """Draw `blocks` top to bottom on a new 1-bit image, spread evenly over its height."""
    return sketch(blocks, size, fonts, inverted).image()

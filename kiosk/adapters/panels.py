"""luma.oled's drivers for the chips [display] offers, able to send only a changed region.

luma's `display(image)` always sends the whole frame, converting it pixel by pixel in
Python. These subclasses add `display_frame(frame, box)`: the pages under `box`, sliced
from a frame already in the controller's format (kiosk.core.lanes), addressed with the
chip's own commands through luma's public `command()` and `data()`. Each one knows its
column window from what it was built with (SH1106: the documented `page_address_offset`;
SSD1306/SSD1309: column 0 at the widths [display] allows), never from luma's private
attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from luma.oled.const import ssd1306 as ssd1306_commands
from luma.oled.device import sh1106, ssd1306, ssd1309
from PIL import Image

from kiosk.core.lanes import Frame

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 as Image.getbbox() gives it
SH1106_SET_PAGE = 0xB0  # page addressing: 0xB0 + page, then the column's two nibbles
SH1106_COLUMN_OFFSET = 2  # luma's default: a 128-column panel centred in 132 columns of RAM


def page_strips(frame: Frame, box: Box) -> list[bytes]:
    """The pages under `box`, one byte per column x0..x1-1, top row in bit 0: slices of
    the frame's bytes (every pages-th byte), never a loop over pixels."""
    x0, y0, x1, y1 = box
    pages = frame.size[1] // 8
    raw = frame.pages
    return [raw[x0 * pages + page:x1 * pages:pages] for page in range(y0 // 8, (y1 - 1) // 8 + 1)]


class _WholeFrame:
    """`display(image)` as the region covering the whole panel: the same bytes and
    commands as luma's own, without its Python loop over every pixel."""

    if TYPE_CHECKING:  # from luma's device, and from each chip's class below
        size: tuple[int, int]

        def preprocess(self, image: Image.Image) -> Image.Image: ...

        def display_frame(self, frame: Frame, box: Box) -> None: ...

    def display(self, image: Image.Image) -> None:
        assert image.mode == "1" and image.size == self.size
        frame = Frame.of(self.preprocess(image))
        self.display_frame(frame, (0, 0, *frame.size))


class SSD1306(_WholeFrame, ssd1306):
    """An SSD1306 in horizontal addressing (luma's init sets it): one column window and
    one page window, then the bytes of every page in a row."""

    first_column = 0  # every width [display] allows starts at RAM column 0

    def display_frame(self, frame: Frame, box: Box) -> None:
        """Send the pages under `box` of `frame` (in the panel's orientation)."""
        x0, y0, x1, y1 = box
        start = self.first_column + x0
        self.command(
            ssd1306_commands.COLUMNADDR, start, start + x1 - x0 - 1,
            ssd1306_commands.PAGEADDR, y0 // 8, (y1 - 1) // 8,
        )
        self.data(b"".join(page_strips(frame, box)))


class SSD1309(SSD1306, ssd1309):
    """The SSD1309 speaks the SSD1306's commands (luma's ssd1309 adds nothing)."""


class SH1106(_WholeFrame, sh1106):
    """An SH1106: page addressing only, so each page gets its own column address."""

    def __init__(self, serial: Any, **settings: Any) -> None:
        self.first_column = settings.setdefault("page_address_offset", SH1106_COLUMN_OFFSET)
        super().__init__(serial, **settings)

    def display_frame(self, frame: Frame, box: Box) -> None:
        """Send the pages under `box` of `frame` (in the panel's orientation)."""
        first_page = box[1] // 8
        column = self.first_column + box[0]
        for page, strip in enumerate(page_strips(frame, box), first_page):
            self.command(SH1106_SET_PAGE + page, column & 0x0F, 0x10 | column >> 4)
            self.data(strip)


PANELS: dict[str, type[SSD1306] | type[SH1106]] = {
    "ssd1306": SSD1306, "sh1106": SH1106, "ssd1309": SSD1309,
}

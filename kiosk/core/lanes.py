"""1-bit pictures as "column lanes": one int, the SSD1306's own page format. Pure.

A panel `height` pixels tall holds column x in bits x*height .. x*height+height-1 of one
int, row y at bit x*height + y. Written out little-endian, that int *is* what the
controller's RAM holds: byte x*pages + p is page p of column x, top row in bit 0.
So a cached text mask is placed on a screen with one shift and one OR, a frame is
compared with the panel by one XOR, and a page is a slice of its bytes: nothing is
packed pixel by pixel on a tap. Pillow images stay available for what looks at
pictures (golden screens, previews, the simulator's PNGs).

    >>> from PIL import Image
    >>> dot = Image.new("1", (3, 8), 0)
    >>> dot.putpixel((1, 2), 1)
    >>> Mask(dot).lanes(8) == 1 << (1 * 8 + 2)
    True
    >>> frame = Frame.of(Drawing((4, 8), ((2, 1, Mask(dot)),)).image())
    >>> frame.lanes == 1 << ((2 + 1) * 8 + (1 + 2))
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from PIL import Image, ImageDraw

ON, OFF = 1, 0
# a byte's bits in the other order: Pillow packs the top pixel in the MSB, pages want bit 0
REVERSED_BITS = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


def lanes_of(image: Image.Image) -> int:
    """`image` (mode "1") as column lanes `image.height` bits apart: transposed and
    packed once, in C. Its height must be a whole number of bytes."""
    columns = image.transpose(Image.Transpose.TRANSPOSE).tobytes()
    return int.from_bytes(columns.translate(REVERSED_BITS), "little")


def image_of(lanes: int, size: tuple[int, int]) -> Image.Image:
    """The picture `lanes_of` made `lanes` from."""
    width, height = size
    columns = lanes.to_bytes(width * height // 8, "little").translate(REVERSED_BITS)
    return Image.frombytes("1", (height, width), columns).transpose(Image.Transpose.TRANSPOSE)


@lru_cache(maxsize=8)
def filled(size: tuple[int, int]) -> int:
    """Every pixel of a panel of `size` lit."""
    return (1 << size[0] * size[1]) - 1


class Mask:
    """A small 1-bit shape drawn once (a line of text, a stamps row, a sparkle) and placed
    on screens many times. Its lanes are made once per panel height and kept."""

    __slots__ = ("image", "_lanes")

    def __init__(self, image: Image.Image) -> None:
        assert image.mode == "1"
        self.image = image
        self._lanes: dict[int, int] = {}

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def lanes(self, stride: int) -> int:
        """The mask at the top-left corner of a panel `stride` pixels tall (the mask's
        own height at most)."""
        kept = self._lanes.get(stride)
        if kept is None:
            width, height = self.image.size
            assert height <= stride and stride % 8 == 0
            tall = self.image
            if height != stride:
                tall = Image.new("1", (width, stride), OFF)
                tall.paste(self.image, (0, 0))
            kept = self._lanes[stride] = lanes_of(tall) if width else 0
        return kept


Mark = tuple[int, int, Mask]  # (x, y) of the mask's top-left corner, the mask


@dataclass(frozen=True)
class Drawing:
    """A screen as masks placed on a blank panel (all lit when `inverted`, the masks then
    unlit): the same marks become a Pillow image or the panel's lanes, pixel for pixel."""

    size: tuple[int, int]
    marks: tuple[Mark, ...]
    inverted: bool = False

    @classmethod
    def of(cls, image: Image.Image) -> Drawing:
        """A screen drawn some other way (pasted pictures, a QR code), as one mark."""
        return cls(image.size, ((0, 0, Mask(image)),))

    def image(self) -> Image.Image:
        """The screen as a Pillow image: each mark drawn as a bitmap, as text is drawn."""
        image = Image.new("1", self.size, ON if self.inverted else OFF)
        draw = ImageDraw.Draw(image).draw
        ink = draw.draw_ink(OFF if self.inverted else ON)
        for x, y, mask in self.marks:
            draw.draw_bitmap((x, y), mask.image.im, ink)
        return image

    def lanes(self) -> int:
        """The screen as column lanes `size[1]` bits apart: one shift and one OR a mark."""
        width, height = self.size
        ink = 0
        for x, y, mask in self.marks:
            mask_width, mask_height = mask.image.size
            if x >= 0 and y >= 0 and x + mask_width <= width and y + mask_height <= height:
                ink |= mask.lanes(height) << (x * height + y)
            else:
                ink |= _clipped(x, y, mask, self.size)
        return filled(self.size) ^ ink if self.inverted else ink


def _clipped(x: int, y: int, mask: Mask, size: tuple[int, int]) -> int:
    """The part of a mark inside the panel (one partly off it: rare, not kept)."""
    width, height = mask.size
    left, top = max(0, -x), max(0, -y)
    right, bottom = min(width, size[0] - x), min(height, size[1] - y)
    if right <= left or bottom <= top:
        return 0
    inside = Mask(mask.image.crop((left, top, right, bottom)))
    return inside.lanes(size[1]) << ((x + left) * size[1] + y + top)


@dataclass(frozen=True, eq=False)
class Frame:
    """A picture in the panel's own orientation, as the controller's RAM holds it."""

    lanes: int
    size: tuple[int, int]

    @classmethod
    def of(cls, image: Image.Image) -> Frame:
        return cls(lanes_of(image), image.size)

    @cached_property
    def pages(self) -> bytes:
        """Column after column, each column's pages in order, top row in bit 0."""
        return self.lanes.to_bytes(self.size[0] * self.size[1] // 8, "little")

    def image(self) -> Image.Image:
        return image_of(self.lanes, self.size)

    def turned(self) -> Frame:
        """Half a turn: the last pixel first, which is the lanes' bits in reverse order."""
        turned = self.pages.translate(REVERSED_BITS)[::-1]
        return Frame(int.from_bytes(turned, "little"), self.size)

    def changed(self, shown: Frame) -> tuple[int, int, int, int] | None:
        """Where this frame differs from `shown` (same size): columns x0..x1-1 and pages
        covering rows y0..y1-1, as a box; None when they are the same."""
        difference = self.lanes ^ shown.lanes
        if not difference:
            return None
        height = self.size[1]
        x0 = ((difference & -difference).bit_length() - 1) // height
        x1 = (difference.bit_length() - 1) // height + 1
        # the first and last pages touched, one AND each from either end: a screen that
        # replaces another touches the top and bottom pages, so that is two ANDs
        rows = _page_rows(self.size)
        first = next(page for page, row in enumerate(rows) if difference & row)
        last = next(page for page in range(len(rows) - 1, first - 1, -1) if difference & rows[page])
        return x0, first * 8, x1, last * 8 + 8


@lru_cache(maxsize=8)
def _page_rows(size: tuple[int, int]) -> tuple[int, ...]:
    """For each page of a panel of `size`, its eight rows lit in every column."""
    width, height = size
    pages = height // 8
    return tuple(int.from_bytes(bytes(0xFF if byte == page else 0 for byte in range(pages)) * width,
                                "little") for page in range(pages))

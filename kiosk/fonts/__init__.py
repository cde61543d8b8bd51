"""The screens' typefaces: DejaVu Sans (body) and DejaVu Sans Condensed Bold (headlines).

DejaVu covers every French accent and stays legible as 1-bit glyphs at 9-13 px, which
Pillow's built-in font does not (it has no accented letters). Licence: LICENSE-DejaVu.txt.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from pathlib import Path

from PIL import ImageFont

from kiosk.core.layout import Fonts

REGULAR = "DejaVuSans.ttf"
BOLD = "DejaVuSansCondensed-Bold.ttf"


# Pillow's basic layout places each glyph at its hinted advance, as the 1-bit glyphs are
# drawn; the complex one (HarfBuzz) places them at unhinted advances, which left gaps inside
# words at these sizes ("Stamp ad ded"). Nothing here needs shaping: French and English
# only, and no ligatures wanted.
LAYOUT = ImageFont.Layout.BASIC


def _face(name: str, size: int) -> ImageFont.FreeTypeFont:
    source = resources.files(__name__).joinpath(name)
    if isinstance(source, Path):
        # Installed on disk (always, from a wheel or a checkout): FreeType maps the file and
        # reads the glyphs it needs. Handing Pillow the bytes instead would keep two copies
        # of the whole file per face in the heap (4.3 MB for the three faces).
        return ImageFont.truetype(str(source), size, layout_engine=LAYOUT)
    return ImageFont.truetype(io.BytesIO(source.read_bytes()), size, layout_engine=LAYOUT)


@cache
def load(title: int = 13, body: int = 11, small: int = 10) -> Fonts:
    """The title, body and small faces at their pixel sizes (cached: fonts are immutable)."""
    return Fonts(title=_face(BOLD, title), body=_face(REGULAR, body), small=_face(REGULAR, small))

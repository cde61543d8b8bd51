"""Rewrite the golden screen PNGs after an intended change: `make golden`.

Goldens are 1-bit images at the panel's native size (small in git); pass `--preview DIR`
to also write 4x enlargements for a person to look at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from kiosk.core.screens import Screens
from kiosk.fonts import load
from tests.reference.samples import LOCALES, PROGRAM, SAMPLES, SIZES, golden_name

HERE = Path(__file__).parent


def render_all() -> dict[str, Image.Image]:
    """Every sample screen in every language and size, by golden file name."""
    images = {}
    for size in SIZES:
        for locale in LOCALES:
            screens = Screens(load(), size, locale, PROGRAM.name)
            for name, sample in SAMPLES.items():
                images[golden_name(name, size, locale)] = sample(screens)
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preview", type=Path, help="also write 4x enlargements here")
    args = parser.parse_args()
    for name, image in render_all().items():
        image.save(HERE / name, optimize=True)
        if args.preview:
            args.preview.mkdir(parents=True, exist_ok=True)
            big = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
            big.save(args.preview / name)
    print(f"wrote {len(SAMPLES) * len(SIZES) * len(LOCALES)} golden screens to {HERE}")


if __name__ == "__main__":
    main()

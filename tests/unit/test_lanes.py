"""Column lanes: screens placed as ints are the very pixels Pillow draws from the same marks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from kiosk.core.lanes import Drawing, Frame, Mask, image_of, lanes_of
from kiosk.core.outcome import Outcome
from kiosk.core.screens import Screens
from kiosk.fonts import load
from tests.reference.regenerate import HERE
from tests.reference.samples import LOCALES, PROGRAM, SAMPLES, SIZES, golden_name


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.logical_xor(a, b).getbbox() is None


@dataclass(frozen=True)
class ScreensAsLanes(Screens):
    """Screens whose outcome images go through the panel's lanes and back."""

    def outcome(self, outcome: Outcome, first_name: str | None = None) -> Image.Image:
        drawing = self.outcome_drawing(outcome, first_name)
        return Frame(drawing.lanes(), drawing.size).image()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_screen_made_as_lanes_matches_its_golden_image(size: tuple[int, int], locale: str) -> None:
    screens = ScreensAsLanes(load(), size, locale, PROGRAM.name)  # type: ignore[arg-type]
    for name, sample in SAMPLES.items():
        golden = Image.open(HERE / golden_name(name, size, locale))
        assert same(sample(screens), golden), name


def masks() -> st.SearchStrategy[Mask]:
    @st.composite
    def build(draw: st.DrawFn) -> Mask:
        width, height = draw(st.integers(1, 40)), draw(st.integers(1, 24))
        raw = draw(st.binary(min_size=(width + 7) // 8 * height, max_size=(width + 7) // 8 * height))
        return Mask(Image.frombytes("1", (width, height), raw))

    return build()


@settings(max_examples=200, deadline=None)
@given(
    size=st.sampled_from([(128, 64), (128, 32), (64, 128), (24, 16)]),
    placed=st.lists(st.tuples(st.integers(-45, 130), st.integers(-30, 130), masks()), max_size=6),
    inverted=st.booleans(),
)
def test_marks_placed_as_lanes_light_exactly_the_pixels_pillow_draws(
    size: tuple[int, int], placed: list[tuple[int, int, Mask]], inverted: bool
) -> None:
    drawing = Drawing(size, tuple(placed), inverted)
    assert drawing.lanes() == lanes_of(drawing.image())
    assert same(image_of(drawing.lanes(), size), drawing.image())


@settings(max_examples=50, deadline=None)
@given(size=st.sampled_from([(128, 64), (128, 32)]), data=st.data())
def test_a_frame_turned_half_a_turn_is_the_image_rotated(size: tuple[int, int], data: st.DataObject) -> None:
    raw = data.draw(st.binary(min_size=size[0] * size[1] // 8, max_size=size[0] * size[1] // 8))
    image = Image.frombytes("1", size, raw)
    assert same(Frame.of(image).turned().image(), image.rotate(180))


@settings(max_examples=100, deadline=None)
@given(size=st.sampled_from([(128, 64), (128, 32)]), data=st.data())
def test_a_change_is_found_in_the_columns_and_pages_it_touches(
    size: tuple[int, int], data: st.DataObject
) -> None:
    before = Image.new("1", size, 0)
    after = before.copy()
    x, y = data.draw(st.integers(0, size[0] - 1)), data.draw(st.integers(0, size[1] - 1))
    x1, y1 = data.draw(st.integers(x + 1, size[0])), data.draw(st.integers(y + 1, size[1]))
    after.paste(1, (x, y, x1, y1))
    assert Frame.of(after).changed(Frame.of(before)) == (x, y // 8 * 8, x1, (y1 + 7) // 8 * 8)
    assert Frame.of(after).changed(Frame.of(after.copy())) is None


def test_a_frame_holds_each_page_as_the_controller_does() -> None:
    image = Image.new("1", (128, 64), 0)
    image.putpixel((5, 9), 1)  # page 1 of column 5, second row from its top
    frame = Frame.of(image)
    assert frame.pages[5 * 8 + 1] == 0b10 and sum(frame.pages) == 0b10

"""Screens: golden images of every screen, and text that never leaves the panel."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from kiosk.core.layout import MARGIN, Text, ellipsize, text_width
from kiosk.core.rules import Program, decide_tap
from kiosk.core.screens import Screens
from kiosk.core.status import KioskStatus
from kiosk.fonts import load
from tests.reference.regenerate import HERE, render_all
from tests.reference.samples import LOCALES, NOON, PROGRAM, SIZES, sample_card

RENDERED = render_all()


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_every_screen_matches_its_golden_image(name: str) -> None:
    golden = Image.open(HERE / name)
    assert golden.mode == "1" and golden.size == RENDERED[name].size
    difference = ImageChops.logical_xor(golden, RENDERED[name]).getbbox()
    assert difference is None, f"{name} changed in {difference}; if intended: make golden"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_two_languages_show_different_words(size: tuple[int, int], locale: str) -> None:
    other = "en" if locale == "fr" else "fr"
    mine = RENDERED[f"stamped-{locale}-{size[0]}x{size[1]}.png"]
    theirs = RENDERED[f"stamped-{other}-{size[0]}x{size[1]}.png"]
    assert ImageChops.logical_xor(mine, theirs).getbbox() is not None


def test_accented_letters_draw_differently_from_plain_ones() -> None:
    fonts = load()
    for accented, plain in (("é", "e"), ("à", "a"), ("ç", "c"), ("É", "E"), ("ô", "o")):
        a, p = Image.new("1", (20, 16)), Image.new("1", (20, 16))
        from PIL import ImageDraw

        ImageDraw.Draw(a).text((2, 0), accented, font=fonts.body, fill=1)
        ImageDraw.Draw(p).text((2, 0), plain, font=fonts.body, fill=1)
        assert ImageChops.logical_xor(a, p).getbbox() is not None, accented


def test_the_faces_read_the_font_files_in_place_not_copies_in_memory() -> None:
    # Pillow keeps two copies of a font handed over as bytes (2.1 MB per set of faces);
    # given a path, FreeType maps the file. The daemon's RSS depends on it.
    fonts = load()
    for face in (fonts.title, fonts.body, fonts.small):
        assert isinstance(face.path, str) and face.path.endswith(".ttf")


names = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Zs", "Pd")), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(first_name=names, reward=names, program_name=names)
def test_long_names_are_shortened_never_drawn_past_the_edge(
    first_name: str, reward: str, program_name: str
) -> None:
    fonts = load()
    program = Program(name=program_name or "x", reward_name=reward.strip() or "x", goal=10)
    card = sample_card(program, 3)
    outcome = decide_tap(program, card, NOON.replace(year=2027))
    for size in SIZES:
        screens = Screens(fonts, size, "fr", program.name)
        screens.outcome(outcome, first_name=first_name)
        screens.idle(KioskStatus(pending_events=5))
        greeting = Text("Bonjour {name} !", ("title", "body"), {"name": first_name}, "name")
        face, lines = greeting.lines(fonts, size[0])
        assert all(text_width(face, line) <= size[0] - 2 * MARGIN for line in lines)


def test_a_long_first_name_keeps_the_greeting_around_it() -> None:
    fonts = load()
    greeting = Text("Hello {name}!", ("title", "body"), {"name": "Maximilienne-Éléonore"}, "name")
    _, [line] = greeting.lines(fonts, 128)
    assert line.startswith("Hello Maxim") and line.endswith("\u2026!")


def test_ellipsize_leaves_text_that_fits_alone() -> None:
    font = load().body
    assert ellipsize("café", font, 100) == "café"
    assert ellipsize("café offert " * 5, font, 60).endswith("\u2026")


def test_the_staff_badge_appears_only_when_sync_lags() -> None:
    screens = Screens(load(), (128, 64), "en", PROGRAM.name)
    calm = screens.idle(KioskStatus(central_online=True, pending_events=0))
    lagging = screens.idle(KioskStatus(central_online=False, pending_events=3))
    box = ImageChops.logical_xor(calm, lagging).getbbox()
    assert box is not None and box[1] < 12  # only the top row changes


def test_a_shifted_idle_screen_moves_by_the_shift() -> None:
    screens = Screens(load(), (128, 64), "en", PROGRAM.name)
    still, moved = screens.idle(), screens.idle(shift=(1, 1))
    assert still.getbbox() is not None and moved.getbbox() is not None
    a, b = still.getbbox(), moved.getbbox()
    assert (b[0] - a[0], b[1] - a[1]) == (1, 1)

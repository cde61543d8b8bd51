"""Screens: golden images of every screen, and text that never leaves the panel."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFont

from kiosk.core.i18n import shipped, text
from kiosk.core.layout import (
    ELLIPSIS,
    MARGIN,
    MAX_CHARS,
    Fonts,
    Text,
    ellipsize,
    text_width,
)
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


def test_french_takes_the_singular_for_zero_and_one_and_english_only_for_one() -> None:
    assert text("fr", "figures_rewards", n=0) == "0 cadeau remis"
    assert text("fr", "figures_visits", n=1, new=0) == "1 visite \u00b7 0 nouv."
    assert text("fr", "figures_rewards", n=2) == "2 cadeaux remis"
    assert text("en", "figures_rewards", n=0) == "0 rewards given"
    assert text("en", "figures_visits", n=1, new=0) == "1 visit \u00b7 0 new"


def test_the_shipped_names_follow_the_language_and_a_shops_own_names_do_not() -> None:
    shipped_program = Program()
    assert shipped("fr", shipped_program.name) == "Carte fidélité"
    assert shipped("fr", shipped_program.reward_name) == "café offert"
    assert shipped("en", shipped_program.reward_name) == shipped_program.reward_name
    assert shipped("en", "café offert") == "café offert"  # a French shop's own word


words = st.lists(
    st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1, max_size=14),
    min_size=1, max_size=30,
)


@settings(max_examples=80, deadline=None)
@given(reward=words, max_lines=st.integers(1, 3))
def test_a_reward_name_that_does_not_fit_loses_whole_words_never_half_of_one(
    reward: list[str], max_lines: int
) -> None:
    fonts = load()
    name = " ".join(reward)
    face, lines = Text(name, ("title", "body", "small"), max_lines=max_lines).lines(fonts, 128)
    shown = " ".join(lines).removesuffix(ELLIPSIS).split()
    assert all(text_width(face, line) <= 128 - 2 * MARGIN for line in lines)
    if len(reward[0]) < 8:  # only a first word too long for a line alone may be cut
        assert shown == reward[: len(shown)]
        assert " ".join(lines).endswith(ELLIPSIS) or shown == reward


class CountingFont(ImageFont.FreeTypeFont):
    """A real face that also counts the characters handed to FreeType to measure or draw."""

    characters = 0

    def getlength(self, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        CountingFont.characters += len(text)
        return super().getlength(text, *args, **kwargs)

    def getmask2(self, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        CountingFont.characters += len(text)
        return super().getmask2(text, *args, **kwargs)


def counting_fonts() -> Fonts:
    shipped_faces = load()
    return Fonts(*(
        CountingFont(face.path, face.size, layout_engine=face.layout_engine)
        for face in (shipped_faces.title, shipped_faces.body, shipped_faces.small)
    ))


def test_fitting_a_huge_name_costs_about_what_a_short_one_costs() -> None:
    def cost(name: str) -> int:
        fonts = counting_fonts()  # new faces: nothing cached for them yet
        CountingFont.characters = 0
        for max_lines in (1, 2, 3):
            Text("Encore 2 \u2192 {reward}", ("title", "body", "small"), {"reward": name},
                 max_lines=max_lines).lines(fonts, 128)
        Text("Bonjour {name} !", ("title", "body"), {"name": name}, squeeze="name").lines(fonts, 128)
        return CountingFont.characters

    short, huge = " ".join(["gâteau"] * 30), " ".join(["gâteau"] * 2000)  # 209 and 13,999
    assert cost(huge) <= 2 * cost(short)


FACES = ("title", "body", "small")


def test_a_huge_name_is_shown_as_the_same_name_cut_to_what_any_line_can_hold() -> None:
    fonts = load()
    huge = " ".join(["gâteau"] * 2000)
    def lines(name: str, max_lines: int) -> list[str]:
        text = Text("Encore 2 \u2192 {reward}", FACES, {"reward": name}, max_lines=max_lines)
        return text.lines(fonts, 128)[1]

    for max_lines in (1, 2, 3):
        assert lines(huge, max_lines) == lines(huge[:MAX_CHARS], max_lines)
    squeezed = Text("Bonjour {name} !", ("title", "body"), {"name": "x" * 12_000}, squeeze="name")
    assert squeezed.lines(fonts, 128)[1][0].endswith("\u2026 !")


@settings(max_examples=40, deadline=None)
@given(first_name=names, reward=names)
def test_no_ink_reaches_the_panels_edge_margin(first_name: str, reward: str) -> None:
    fonts = load()
    program = Program(name="x", reward_name=reward.strip() or "x", goal=10)
    outcome = decide_tap(program, sample_card(program, 3), NOON.replace(year=2027))
    for size in SIZES:
        image = Screens(fonts, size, "fr", program.name).outcome(outcome, first_name=first_name)
        box = image.getbbox()
        assert box is not None and box[0] >= MARGIN and box[2] <= size[0] - MARGIN


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


@pytest.mark.parametrize("locale", LOCALES)
def test_every_refusal_reason_has_its_own_screen_and_counter_line(locale: str) -> None:
    """A reason added later without its words would fail here, not at a customer's tap."""
    from datetime import UTC

    from kiosk.core.describe import describe
    from kiosk.core.outcome import RefusalReason, Refused

    screens = Screens(load(), SIZES[0], locale, PROGRAM.name)
    drawn = {reason: screens.outcome(Refused(reason=reason)).tobytes() for reason in RefusalReason}
    lines = {reason: describe(Refused(reason=reason), locale, UTC) for reason in RefusalReason}
    assert len(set(drawn.values())) == len(RefusalReason)
    assert len(set(lines.values())) == len(RefusalReason)

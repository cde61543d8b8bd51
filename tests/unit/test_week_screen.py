"""The customer of the week on the kiosk's panel: title, first name, visits, both sizes."""

from __future__ import annotations

import pytest
from PIL import ImageChops

from kiosk.core.screens import Screens
from kiosk.fonts import load

FONTS = load()


def lit(image: object) -> int:
    return sum(1 for value in image.convert("L").tobytes() if value)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(128, 64), (128, 32)])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_week_screen_names_the_customer_and_differs_from_the_idle_screen(
    size: tuple[int, int], lang: str
):
    screens = Screens(FONTS, size, lang, "Café Lune")  # type: ignore[arg-type]
    week = screens.customer_of_week("Ana", 5)
    assert week.size == size and lit(week) > 0
    assert ImageChops.difference(week, screens.idle()).getbbox() is not None
    assert ImageChops.difference(week, screens.customer_of_week("Léo", 5)).getbbox() is not None


def test_the_visits_line_shows_on_the_tall_panel_and_follows_the_count():
    screens = Screens(FONTS, (128, 64), "fr", "Café Lune")
    assert ImageChops.difference(screens.customer_of_week("Ana", 5),
                                 screens.customer_of_week("Ana", 6)).getbbox() is not None


def test_a_long_first_name_is_squeezed_onto_the_panel_not_cut_off_the_screen():
    screens = Screens(FONTS, (128, 64), "en", "Café Lune")
    image = screens.customer_of_week("Marie-Bérénice-Alexandrine", 12)
    assert image.size == (128, 64) and lit(image) > 0

"""The program editor's preview: the kiosk's own rules and screens, drawn to PNG."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image, ImageChops

from central import program as programs
from central.web import program_preview as preview
from kiosk.core.outcome import Redeemed, RewardEarned, Stamped, Welcome
from kiosk.core.screens import Screens
from kiosk.fonts import load

START = datetime(2026, 12, 2, 1, tzinfo=UTC)


def program(**changed: Any) -> Any:
    fields = programs.check({**programs.shipped_defaults(), "version": "v1", **changed})
    return preview.program_of(fields)


def test_a_new_card_meets_the_four_screens_in_order_of_its_visits() -> None:
    found = preview.visits(program(goal=5, welcome_bonus=2), START).outcomes
    assert isinstance(found["welcome"], Welcome) and found["welcome"].stamps == 3
    assert isinstance(found["stamped"], Stamped) and found["stamped"].stamps == 4
    assert isinstance(found["reward"], RewardEarned)
    assert isinstance(found["redeemed"], Redeemed) and found["redeemed"].reward.id == "reward"


def test_a_card_that_earns_at_its_first_tap_has_no_plain_stamp_screen() -> None:
    found = preview.visits(program(goal=1, welcome_bonus=0), START).outcomes
    assert set(found) == {"welcome", "reward", "redeemed"}


def test_a_points_program_reaches_its_reward_through_the_tills_basket() -> None:
    found = preview.visits(program(goal=100, welcome_bonus=0, points_per_euro=1), START).outcomes
    assert set(found) == set(preview.SCREENS)


@pytest.mark.parametrize("size", preview.SIZES)
def test_the_png_is_the_kiosks_own_screen_pixel_for_pixel(size: tuple[int, int]) -> None:
    shown = program(goal=5, name="Café Lune")
    for screen, outcome in preview.visits(shown, START).outcomes.items():
        for lang in preview.LANGS:
            data = preview.png(shown, outcome, lang, size)
            drawn = Screens(load(), size, lang, "Café Lune").outcome(outcome)
            with Image.open(io.BytesIO(data)) as image:
                assert image.size == size
                assert ImageChops.difference(image.convert("L"), drawn.convert("L")).getbbox() is None, screen


def test_french_and_english_screens_differ() -> None:
    shown = program()
    outcome = preview.visits(shown, START).outcomes["welcome"]
    assert preview.png(shown, outcome, "fr", (128, 64)) != preview.png(shown, outcome, "en", (128, 64))


def test_only_the_kiosks_sizes_and_languages_are_named() -> None:
    assert preview.size_named("128x32") == (128, 32)
    with pytest.raises(ValueError, match="128x64"):
        preview.size_named("640x480")
    with pytest.raises(ValueError, match="fr, en"):
        preview.locale("de")


def test_a_card_visits_as_often_as_a_long_cooldown_lets_it() -> None:
    found = preview.visits(program(goal=3, welcome_bonus=0, cooldown_minutes=3 * 24 * 60 + 1),
                           START).outcomes
    assert set(found) == set(preview.SCREENS)
    assert found["reward"].card.last_visit.date().isoformat() == "2026-12-10"  # type: ignore[union-attr]


def test_a_ladder_program_previews_its_first_rung() -> None:
    ladder = program(mode="ladder", goal=10, welcome_bonus=0,
                     milestones=[{"id": "cookie", "name": "cookie", "stamps": 3}])
    found = preview.visits(ladder, START).outcomes
    assert set(found) == set(preview.SCREENS)
    assert found["redeemed"].reward.id == "cookie"  # type: ignore[union-attr]

"""The kiosk's own screens for a program not yet published, as PNG images.

A new card visits the kiosk once a day, decided by the kiosk's rules (`kiosk.core.rules`)
and drawn by the kiosk's screen code (`kiosk.core.screens`, the drawing the OLED shows):
its first tap (welcome), a plain stamp, the tap that earns the reward, and the staff's
redemption. What the owner sees is what a customer will see, in French and English, on
the two panel sizes kiosks have.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from PIL import Image

from kiosk.config import ProgramSection
from kiosk.core.events import CardState
from kiosk.core.i18n import LOCALES, Locale
from kiosk.core.outcome import Outcome, RewardEarned, Stamped, Visit, Welcome
from kiosk.core.perks import Basket
from kiosk.core.program import Program
from kiosk.core.rules import decide_redeem, decide_tap
from kiosk.core.screens import Screens
from kiosk.fonts import load

Screen = Literal["welcome", "stamped", "reward", "redeemed"]
SCREENS: tuple[Screen, ...] = ("welcome", "stamped", "reward", "redeemed")
SIZES: tuple[tuple[int, int], ...] = ((128, 64), (128, 32))
LANGS: tuple[Locale, ...] = LOCALES
# a points program earns from the till's basket: the preview's customer spends this
BASKET = Basket(amount=1000)
# the longest card a preview walks through before saying no reward is in reach
MAX_VISITS = 1000
PREVIEW_REF = "0" * 64


@dataclass(frozen=True)
class Visits:
    """The outcomes a new card meets, by screen; a screen the program never reaches
    (no plain stamp before the reward, say) is missing."""

    outcomes: dict[Screen, Outcome]


def visits(program: Program, start: datetime) -> Visits:
    """A new card's visits, one a day at 10:00 in the program's time zone from `start`'s
    day (or as often as the cooldown lets it), until its first reward, then the
    redemption. Pure: `start` is passed in."""
    found: dict[Screen, Outcome] = {}
    card = CardState(PREVIEW_REF)
    first_day = start.astimezone(program.tz).date()
    basket = BASKET if program.uses_points else None
    every = max(1, -(-program.cooldown // timedelta(days=1)))  # whole days, rounded up
    for visit in range(MAX_VISITS):
        day = first_day + timedelta(days=visit * every)
        now = datetime.combine(day, time(10), program.tz)
        outcome = decide_tap(program, card, now, basket=basket)
        if not isinstance(outcome, Visit):  # a cap or a cooldown: no new card meets them
            break
        card = outcome.card
        if isinstance(outcome, Welcome) and "welcome" not in found:
            found["welcome"] = outcome
        elif isinstance(outcome, Stamped) and "stamped" not in found:
            found["stamped"] = outcome
        if isinstance(outcome, RewardEarned) or outcome.rewards_earned:
            found["reward"] = outcome
            found["redeemed"] = decide_redeem(program, card, now + timedelta(minutes=1))
            break
    return Visits(found)


def png(program: Program, outcome: Outcome, lang: Locale, size: tuple[int, int]) -> bytes:
    """One screen as the panel shows it (white on black), as a PNG at the panel's size."""
    screens = Screens(load(), size, lang, program.name)
    image = screens.outcome(outcome)
    buffer = io.BytesIO()
    image.convert("1").save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def program_of(fields: dict[str, object]) -> Program:
    """The kiosk's Program for checked fields (central.program.check's answer)."""
    section = {k: v for k, v in fields.items() if k in ProgramSection.model_fields}
    return ProgramSection.model_validate(section).to_program()


def locale(lang: str) -> Locale:
    for known in LOCALES:
        if known == lang:
            return known
    raise ValueError(f"language must be one of {', '.join(LOCALES)}, not {lang!r}")


def size_named(name: str) -> tuple[int, int]:
    """(128, 64) for "128x64": only the sizes kiosks have."""
    for size in SIZES:
        if name == f"{size[0]}x{size[1]}":
            return size
    raise ValueError(f"panel size must be one of {', '.join(f'{w}x{h}' for w, h in SIZES)}")


def dimensions(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size

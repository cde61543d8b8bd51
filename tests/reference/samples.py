"""Every screen the kiosk can show, built from real rules outcomes (shared by the golden
tests and `make golden`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PIL import Image

from kiosk.core.events import CardState
from kiosk.core.rules import Program, RefusalReason, decide_redeem, decide_tap, refuse
from kiosk.core.screens import Screens
from kiosk.core.status import KioskStatus

PROGRAM = Program(name="Café de la Gare", reward_name="café offert", goal=10, welcome_bonus=2)
LONG = Program(
    name="Boulangerie-Pâtisserie des Trois Frères Lumière",
    reward_name="grand chocolat chaud à la chantilly maison",
    goal=20,
    welcome_bonus=0,
)
NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
CARD = "ab" * 32


def _card(program: Program, taps: int) -> CardState:
    """A card after `taps` taps a day apart."""
    card = CardState(card_ref=CARD)
    for day in range(taps):
        outcome = decide_tap(program, card, NOON + timedelta(days=day))
        assert outcome.card is not None
        card = outcome.card
    return card


def _tap(program: Program, taps_before: int, later: timedelta = timedelta(days=1)):  # noqa: ANN202
    when = NOON + timedelta(days=max(taps_before - 1, 0)) + later
    return decide_tap(program, _card(program, taps_before), when)


Sample = Callable[[Screens], Image.Image]

SAMPLES: dict[str, Sample] = {
    "idle": lambda s: s.idle(),
    "idle_pending_sync": lambda s: s.idle(KioskStatus(central_online=False, pending_events=12)),
    "reader_offline": lambda s: s.idle(KioskStatus(reader_online=False)),
    "welcome": lambda s: s.outcome(_tap(PROGRAM, 0)),
    "stamped": lambda s: s.outcome(_tap(PROGRAM, 3), first_name="Marie"),
    "stamped_no_name": lambda s: s.outcome(_tap(PROGRAM, 3)),
    "stamped_long_names": lambda s: s.outcome(
        _tap(LONG, 4), first_name="Maximilienne-Éléonore"
    ),
    "reward_earned": lambda s: s.outcome(_tap(PROGRAM, 7)),
    "reward_available": lambda s: s.outcome(_tap(PROGRAM, 8), first_name="Marie"),
    "redeemed": lambda s: s.outcome(decide_redeem(PROGRAM, _card(PROGRAM, 8), NOON)),
    "no_voucher": lambda s: s.outcome(decide_redeem(PROGRAM, _card(PROGRAM, 3), NOON)),
    "cooldown": lambda s: s.outcome(_tap(PROGRAM, 3, later=timedelta(minutes=5))),
    "daily_cap": lambda s: s.outcome(
        _tap(
            Program(name=PROGRAM.name, reward_name="café offert", daily_cap=1,
                    cooldown=timedelta(0)),
            3,
            later=timedelta(hours=1),
        )
    ),
    "refused": lambda s: s.outcome(refuse(PROGRAM, RefusalReason.RANDOM_ID)),
    "unreadable": lambda s: s.outcome(refuse(PROGRAM, RefusalReason.UNREADABLE)),
}
SIZES = ((128, 64), (128, 32))
LOCALES = ("fr", "en")


def golden_name(name: str, size: tuple[int, int], locale: str) -> str:
    return f"{name}-{locale}-{size[0]}x{size[1]}.png"

"""What a card's page shows, from the card's fold, its events and the program. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kiosk.core.events import CardState, EventKind
from kiosk.core.outcome import Progress, TierProgress
from kiosk.core.program import Booster, Expiry, Program
from kiosk.core.rules import progress

LAST_VISITS = 5


@dataclass(frozen=True)
class CardView:
    """Everything the page says about the card."""

    stamps: int
    goal: int
    points: bool
    progress: Progress
    vouchers: tuple[tuple[str, str, int], ...]  # (reward id, name, count)
    tier: TierProgress | None
    tier_months: int
    expiry: Expiry
    expiry_days: int
    last_visits: tuple[date, ...]
    boosters: tuple[Booster, ...]


def card_view(program: Program, card: CardState, events: Sequence[Mapping[str, Any]],
              now: datetime) -> CardView:
    """The page's view of `card` at `now`; `events` in wire form, oldest first."""
    where = progress(program, card, now)
    visits = [datetime.fromisoformat(e["occurred_at"]).astimezone(program.tz).date()
              for e in events
              if e["kind"] == EventKind.STAMP.value and e.get("held_reason") is None]
    return CardView(
        stamps=max(0, card.stamps),
        goal=program.goal,
        points=program.uses_points,
        progress=where,
        vouchers=tuple((reward.id, reward.name, n) for reward, n in where.vouchers),
        tier=where.tier,
        tier_months=program.tier_months,
        expiry=program.expiry,
        expiry_days=program.expiry_days,
        last_visits=tuple(reversed(visits[-LAST_VISITS:])),
        boosters=program.boosters,
    )


def weekdays(booster: Booster, names: str) -> str:
    """A booster's days in the reader's words (`names`: seven comma-separated names)."""
    words = names.split(",")
    return ", ".join(words[day] for day in sorted(booster.weekdays))

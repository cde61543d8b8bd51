"""One upload's events applied to their cards' folds once, for everything that reads them.

The card cache (the folds after the upload), the daily visits (central.figures) and the
Overview's figures (central.tallies) each used to apply every event to a fold of its own:
three applications of the kiosk's fold per event, the largest cost of an upload. They read
one walk instead. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from kiosk.core.events import CardState, Event, apply


@dataclass(frozen=True, slots=True)
class Step:
    """One event and its card's fold just before and just after it."""

    event: Event
    old: CardState
    new: CardState


def _in_time(event: Event) -> tuple[object, str, int]:
    return (event.occurred_at, event.kiosk_id, event.seq)


def walk(batch: Iterable[Event], before: Mapping[str, CardState], tz: tzinfo) -> list[Step]:
    """Each event of `batch` applied to its card's fold (`before`: the folds before the
    batch, an absent card is new), oldest first: the order the figures count in (the
    fold itself is commutative, so its end is the same in any order)."""
    states = dict(before)
    steps = []
    for event in sorted(batch, key=_in_time):
        ref = event.card_ref
        old = states.get(ref) or CardState(card_ref=ref)
        new = states[ref] = apply(old, event, tz)
        steps.append(Step(event, old, new))
    return steps


def ends(steps: Sequence[Step]) -> dict[str, CardState]:
    """Each touched card's fold after the walk."""
    return {step.event.card_ref: step.new for step in steps}

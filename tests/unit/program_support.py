"""Shared helpers of the program-extras tests: run taps through the rules like the shell."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import count

from kiosk.core.events import CardState, Event, apply, record
from kiosk.core.outcome import Outcome
from kiosk.core.perks import Basket, Customer
from kiosk.core.program import Program
from kiosk.core.rules import decide_tap

REF = "cd" * 32
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


class Shell:
    """A kiosk in memory: decides with the rules, records events, folds them."""

    def __init__(self, program: Program, kiosk_id: str = "k1") -> None:
        self.program = program
        self.kiosk_id = kiosk_id
        self.card = CardState(REF)
        self.events: list[Event] = []
        self._ids = count()

    def commit(self, outcome: Outcome, now: datetime, staff_ref: str | None = None) -> Outcome:
        recorded = record(
            outcome.changes, card_ref=REF, kiosk_id=self.kiosk_id,
            program_version=self.program.version, now=now,
            new_id=lambda: f"{self.kiosk_id}-{next(self._ids)}",
            first_seq=len(self.events) + 1, staff_ref=staff_ref,
        )
        self.events.extend(recorded)
        for event in recorded:
            self.card = apply(self.card, event, self.program.tz)
        return outcome

    def tap(
        self, now: datetime, customer: Customer | None = None, basket: Basket | None = None
    ) -> Outcome:
        return self.commit(decide_tap(self.program, self.card, now, customer, basket), now)

    def taps(self, moments: Iterable[datetime]) -> list[Outcome]:
        return [self.tap(m) for m in moments]

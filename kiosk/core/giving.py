"""A voucher given to the shop's cause at the counter. Pure: (program, card, now) -> outcome.

The same `donated` event the customer's own page makes at the central: the voucher leaves
the card (the fold counts it like a redemption) and the central adds it to the cause's
total. Only a voucher the card holds can be given (a ladder's rung is not bought from
stamps here), the one named, else the most valuable one; a program without a cause gives
nothing.

    >>> from datetime import UTC, datetime
    >>> from kiosk.core.events import CardState
    >>> program = Program(cause="the food bank")
    >>> card = CardState(card_ref="ab" * 32, enrolled=True, earned={"reward": 1})
    >>> given = decide_donate(program, card, datetime(2026, 3, 2, tzinfo=UTC))
    >>> given.cause, [(c.kind.value, c.reward_id) for c in given.changes]
    ('the food bank', [('donated', 'reward')])
"""

from __future__ import annotations

from datetime import datetime

from kiosk.core.events import CardState, Change, EventKind, apply_change
from kiosk.core.outcome import Donated, NoVoucher, Outcome, RefusalReason, Refused
from kiosk.core.program import Program
from kiosk.core.rules import progress


def decide_donate(program: Program, card: CardState, now: datetime,
                  reward_id: str | None = None) -> Outcome:
    """Staff give one of the card's vouchers to the program's cause."""
    if program.cause is None:
        return Refused(reason=RefusalReason.NO_CAUSE)
    if card.blocked:
        return Refused(reason=RefusalReason.CARD_BLOCKED)
    held = [r for r in program.rewards if card.vouchers(r.id) > 0
            and (reward_id is None or r.id == reward_id)]
    if not held:
        return NoVoucher(card=card, progress=progress(program, card, now))
    choice = max(held, key=lambda r: r.stamps)
    changes = (Change(EventKind.DONATED, 0, choice.id),)
    after = apply_change(card, changes[0], now, program.tz)
    return Donated(card=after, progress=progress(program, after, now, changes), changes=changes,
                   reward=choice, cause=program.cause)

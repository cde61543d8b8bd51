"""Staff corrections at the counter, as pure decisions: a manual adjustment and a card
replacement. Pure: (program, card states, now) -> outcome; the shell records the changes
with the staff card's ref.

    >>> from datetime import datetime, UTC
    >>> card = CardState(card_ref="ab" * 32, enrolled=True, stamps=1)
    >>> decide_adjust(Program(), card, -2, "typo", datetime(2026, 1, 5, tzinfo=UTC)).reason
    <RefusalReason.NEGATIVE_BALANCE: 'negative_balance'>
"""

from __future__ import annotations

from datetime import datetime

from kiosk.core.events import MAX_DELTA, REWARD_ID, CardState, Change, EventKind, apply_change
from kiosk.core.outcome import Adjusted, RefusalReason, Refused, Replaced
from kiosk.core.program import Program
from kiosk.core.rules import progress

__all__ = ["REASON", "adjustment_problem", "decide_adjust", "decide_replace"]

REASON = REWARD_ID  # an adjustment's reason travels in the event's reward_id: same bound
LINK = 12  # hex characters of the other card's ref kept in a replacement's history


def adjustment_problem(delta: int, reason: str) -> str | None:
    """Why staff cannot record this adjustment as typed, naming the fix; None when fine."""
    if delta == 0 or not -MAX_DELTA <= delta <= MAX_DELTA:
        return f"the adjustment must be between -{MAX_DELTA} and +{MAX_DELTA}, and not 0"
    problem = REASON.problem("reason", reason.strip())
    if problem is not None or not reason.strip().isprintable():
        return (
            f"reason: say why in 1 to {REASON.max_length} printable characters "
            '(e.g. --reason "stamp forgotten on Monday")'
        )
    return None


def _after(program: Program, card: CardState, changes: tuple[Change, ...], now: datetime) -> CardState:
    for change in changes:
        card = apply_change(card, change, now, program.tz)
    return card


def decide_adjust(
    program: Program, card: CardState, delta: int, reason: str, now: datetime
) -> Adjusted | Refused:
    """Staff add (`delta` > 0) or take stamps (points) by hand, for `reason`. Refused for
    a card never seen here, a replaced card, or one the change would leave below zero.
    Stamps past the goal become a voucher at the card's next tap."""
    problem = adjustment_problem(delta, reason)
    if problem is not None:
        raise ValueError(problem)
    if not card.enrolled:
        return Refused(reason=RefusalReason.CARD_UNKNOWN)
    if card.blocked:
        return Refused(reason=RefusalReason.CARD_BLOCKED)
    if card.stamps + delta < 0:
        return Refused(reason=RefusalReason.NEGATIVE_BALANCE)
    changes = (Change(EventKind.MANUAL_ADJUSTMENT, delta, reason.strip()),)
    after = _after(program, card, changes, now)
    return Adjusted(
        card=after, progress=progress(program, after, now, changes), changes=changes,
        delta=delta, reason=reason.strip(),
    )


def decide_replace(
    program: Program, old: CardState, new: CardState, now: datetime, merge: bool = False
) -> Replaced | Refused:
    """A lost card (`old`) gives its stamps and vouchers to `new` and is blocked. A `new`
    card that already holds a balance is refused unless staff asked to `merge` the two."""
    if old.card_ref == new.card_ref:
        return Refused(reason=RefusalReason.SAME_CARD)
    if not old.enrolled:
        return Refused(reason=RefusalReason.CARD_UNKNOWN)
    if old.blocked or new.blocked:
        return Refused(reason=RefusalReason.CARD_BLOCKED)
    if new.enrolled and (new.stamps or new.all_vouchers()) and not merge:
        return Refused(reason=RefusalReason.CARD_IN_USE)
    stamps = max(0, old.stamps)
    vouchers = [(rid, n) for rid, n in old.all_vouchers().items() if n > 0]
    old_changes = (
        Change(EventKind.CARD_REPLACED, -stamps, new.card_ref[:LINK]),
        *(Change(EventKind.VOUCHER_MOVED_OUT, 0, rid) for rid, n in vouchers for _ in range(n)),
    )
    # a new card arrives enrolled (with no bonus of its own), so its first tap is a visit
    enrol = () if new.enrolled else (Change(EventKind.ENROLLED, 0),)
    changes = (
        *enrol,
        Change(EventKind.BALANCE_MOVED_IN, stamps, old.card_ref[:LINK]),
        *(Change(EventKind.VOUCHER_MOVED_IN, 0, rid) for rid, n in vouchers for _ in range(n)),
    )
    after = _after(program, new, changes, now)
    return Replaced(
        card=after, progress=progress(program, after, now, changes), changes=changes,
        old_ref=old.card_ref, old_changes=old_changes, stamps_moved=stamps,
        vouchers_moved=sum(n for _, n in vouchers),
    )

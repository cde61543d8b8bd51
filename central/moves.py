"""A replaced card's balance moves to its new card only as far as the central saw it go. Pure.

A card replacement is two sides: the lost card gives its stamps (`card_replaced`, its
delta the stamps given, its reward_id the new card's first LINK characters) and its
vouchers (`voucher_moved_out`), and the new card receives them (`balance_moved_in`,
its reward_id the old card's first LINK characters; `voucher_moved_in`). The central
checks the giving side against the old card's fold (central.plausible); this module
checks the receiving side against what was given: a new card never receives more
stamps, or more vouchers of a reward, than the old cards that name it gave, as counted.
So a stolen kiosk cannot mint a balance by "moving" one from a card that never held it:
a `balance_moved_in` of 7 from a card seen giving 5 is held ("a balance of 7 moved in
from aaaaaaaaaaaa…, which gave 5 here") until the old card's events say more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from kiosk.core.corrections import LINK
from kiosk.core.events import Event, EventKind

GIVING = frozenset({EventKind.CARD_REPLACED, EventKind.VOUCHER_MOVED_OUT})
RECEIVING = frozenset({EventKind.BALANCE_MOVED_IN, EventKind.VOUCHER_MOVED_IN})
KINDS = GIVING | RECEIVING


@dataclass
class Moves:
    """Counted moves between replaced cards and their new ones, by the cards' first LINK
    characters (what the events name of each other)."""

    given: Counter[tuple[str, str]] = field(default_factory=Counter)  # (old, new) -> stamps
    received: Counter[tuple[str, str]] = field(default_factory=Counter)
    vouchers_given: Counter[tuple[str, str]] = field(default_factory=Counter)  # (old, reward)
    vouchers_received: Counter[tuple[str, str]] = field(default_factory=Counter)  # (new, reward)
    successor: dict[str, str] = field(default_factory=dict)  # old -> the new card it named
    # new -> the old cards its balance_moved_in events name, counted or held
    named: dict[str, set[str]] = field(default_factory=dict)

    def note(self, event: Event) -> None:
        """Take in which old card a new card's balance came from, whether it counts or not."""
        if event.kind is EventKind.BALANCE_MOVED_IN and event.reward_id:
            self.named.setdefault(event.card_ref[:LINK], set()).add(event.reward_id)

    def waits_for(self, event: Event) -> set[str]:
        """The cards (first LINK characters) whose counted events may release this held
        move: the old card itself for what it gives, the old card for a move into the
        new one (the new card too, for a voucher whose old card is not known yet)."""
        if event.kind in GIVING:
            return {event.card_ref[:LINK]}
        if event.kind is EventKind.BALANCE_MOVED_IN:
            return {event.reward_id or event.card_ref[:LINK]}
        if event.kind is EventKind.VOUCHER_MOVED_IN:
            return {event.card_ref[:LINK], *self.named.get(event.card_ref[:LINK], ())}
        return set()

    @classmethod
    def of(cls, counted: Iterable[Event]) -> Moves:
        """The moves these counted events make (any order)."""
        moves = cls()
        for event in counted:
            moves.count(event)
        return moves

    def count(self, event: Event) -> None:
        """Take a counted event into account (events of other kinds change nothing)."""
        self.note(event)
        ref, rid = event.card_ref[:LINK], event.reward_id or ""
        match event.kind:
            case EventKind.CARD_REPLACED:
                self.given[(ref, rid)] += max(0, -event.delta)
                self.successor[ref] = rid
            case EventKind.VOUCHER_MOVED_OUT:
                self.vouchers_given[(ref, rid)] += 1
            case EventKind.BALANCE_MOVED_IN:
                self.received[(rid, ref)] += max(0, event.delta)
            case EventKind.VOUCHER_MOVED_IN:
                self.vouchers_received[(ref, rid)] += 1
            case _:
                pass

    def problem(self, event: Event) -> str | None:
        """Why the central cannot count a move into a new card yet (None: it can, or the
        event is no move in): more than the old card was seen giving."""
        new, rid = event.card_ref[:LINK], event.reward_id or ""
        if event.kind is EventKind.BALANCE_MOVED_IN:
            pair = (rid, new)
            if len(rid) != LINK:
                return f"a balance moved in names the card it came from ({LINK} characters)"
            gave = self.given.get(pair, 0) - self.received.get(pair, 0)
            if event.delta > gave:
                return (f"a balance of {event.delta} moved in from {rid}…, which gave "
                        f"{gave} here")
            return None
        if event.kind is EventKind.VOUCHER_MOVED_IN:
            olds = [old for old, named in self.successor.items() if named == new]
            gave = sum(self.vouchers_given.get((old, rid), 0) for old in olds)
            if self.vouchers_received.get((new, rid), 0) >= gave:
                return f"a {rid!r} voucher moved in that no replaced card gave here"
        return None


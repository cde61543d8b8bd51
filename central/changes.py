"""Cards changed since a cursor: how every kiosk of an organisation comes to know every card.

Each write of a card's fold takes the next number of its organisation's change sequence
(central.cardcache.take_seq) into `card_states.changed`. A kiosk keeps the last number it
has seen (its cursor) and asks for the cards changed after it, a page at a time, in
sequence order; a card changed twice meanwhile comes once, as it is now. The numbers
become visible in order (the organisation's row is locked from taking them to the
commit), so a page never skips a card another server process is still writing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from central.cardcache import Card
from central.db import Database, card_states, reading
from central.ingest import card_answers
from kiosk.core.events import CardState

MAX_CURSOR = 2**62  # a cursor is a number of the organisation's card-change sequence
DEFAULT_PAGE = 500
MAX_PAGE = 1000  # cards per page: a page of full cards stays within a few megabytes

_PAGE = (
    select(card_states)
    .where(card_states.c.org_id == bindparam("org"), card_states.c.changed > bindparam("after"))
    .order_by(card_states.c.changed)
    .limit(bindparam("limit"))
)


@dataclass(frozen=True)
class Page:
    """Up to `limit` cards changed after the cursor asked for, oldest change first."""

    cards: dict[str, dict[str, Any]]
    cursor: int  # the number of the last card here (the cursor asked for, when none)
    more: bool  # cards changed after `cursor` were left for the next page

    def to_dict(self) -> dict[str, Any]:
        return {"cards": self.cards, "cursor": self.cursor, "more": self.more}


def changed_cards(db: Database, org: int, after: int, limit: int = DEFAULT_PAGE) -> Page:
    """The organisation's cards changed after the cursor `after` (0: every card)."""
    with reading(db) as conn:
        rows = conn.execute(_PAGE, {"org": org, "after": after, "limit": limit + 1}).all()
        more = len(rows) > limit
        rows = rows[:limit]
        found = {}
        for row in rows:
            as_dict = json.loads(row.state)
            found[row.card_ref] = Card(CardState.from_dict(as_dict), json.loads(row.flagged),
                                       as_dict)
        cards = card_answers(conn, org, found)
    cursor = int(rows[-1].changed) if rows else after
    return Page(cards, cursor, more)

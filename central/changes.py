"""Cards changed since a cursor: how every kiosk of an organisation comes to know every card.

Each write of a card's row stores its position in the organisation's changes: a pair
(changed_xid, changed), and kiosks pull the cards whose position is after the last one
they have seen (their cursor), a page at a time, in position order; a card changed twice
meanwhile comes once, as it is now. The cursor is opaque to the kiosk: a short string it
echoes (`format_cursor`, `parse_cursor`).

SQLite has one writer at a time: `changed` is the next number of the organisation's
`card_seq` (taken under the write lock), changed_xid is 0, and numbers are committed in
the order they were taken. A page in number order therefore never passes a number that
a transaction still writing will commit later.

PostgreSQL has several writers committing side by side, and taking numbers from one row
of the organisation made each upload wait for the previous one's commit. There
(central.cardcache.take_seq) `changed` comes from the `card_changes` sequence (no lock;
numbers are handed out in an order that is not the commit order) and changed_xid is the
writing transaction's id (`pg_current_xact_id()`). A page returns only rows whose
changed_xid is below the xmin of the statement's own snapshot
(`pg_snapshot_xmin(pg_current_snapshot())`), in (changed_xid, changed) order. Why that
never skips a change:

1. Every transaction with an id below xmin had ended when the snapshot was taken, so each
   row it committed is visible to the statement: below xmin, the page sees everything
   there will ever be (an aborted transaction leaves no row).
2. A transaction that commits a row after that snapshot was running when it was taken (its
   id is at least xmin) or had no id yet (it gets one of at least the snapshot's xmax, not
   below xmin). So every row committed later has changed_xid >= xmin, above every
   position the page returned, the cursor included: the next pull finds it.
3. So a page's cursor (its last position, below its xmin) never passes a position that
   is not yet committed or that the page could not see. A card written again keeps only
   its newest position; written after the kiosk's last page, it is after that page's
   cursor (by 2.), and the kiosk gets it again, as it is now. Within one transaction the
   sequence's numbers order the rows, and (xid, number) never repeats.

What it costs: a long write transaction (a rebuild of every card, a migration) holds
xmin back, and cards changed after it started wait for it to end before kiosks see them.
Read-only transactions (a backup with pg_dump) take no transaction id and hold nothing
back. Rows written before this numbering keep their number with changed_xid 0: they sort
first, and a kiosk's old cursor N means (0, N), what it meant before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, cast, func, select, tuple_
from sqlalchemy.types import BigInteger, Text

from central.cardcache import Card, full_state
from central.db import Database, card_states, reading
from central.ingest import card_answers
from kiosk.core.events import CardState

MAX_CURSOR = 2**62  # bound of a change number (the sequence's and the organisation's)
MAX_XID = 2**63 - 1  # a PostgreSQL transaction id (xid8) as a signed 64-bit number
# "N" (changed_xid 0) or "X-N": at most 19 + 1 + 19 characters
CURSOR_PATTERN = r"^([0-9]{1,19}-)?[0-9]{1,19}$"
MAX_CURSOR_LENGTH = 39
DEFAULT_PAGE = 500
MAX_PAGE = 1000  # cards per page: a page of full cards stays within a few megabytes

Position = tuple[int, int]  # (changed_xid, changed)

_AFTER = tuple_(card_states.c.changed_xid, card_states.c.changed) > tuple_(
    bindparam("xid"), bindparam("after"))
_PAGE = (
    select(card_states)
    .where(card_states.c.org_id == bindparam("org"), _AFTER)
    .order_by(card_states.c.changed_xid, card_states.c.changed)
    .limit(bindparam("limit"))
)
# PostgreSQL: only what every transaction that could still commit a lower position has
# ended for (see above); the xmin of the statement's own snapshot
_FINISHED = card_states.c.changed_xid < cast(cast(
    func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
_PAGE_POSTGRESQL = _PAGE.where(_FINISHED)


def parse_cursor(cursor: str) -> Position:
    """The position a kiosk's cursor names; ValueError naming the bounds when it is none."""
    if len(cursor) > MAX_CURSOR_LENGTH or not re.fullmatch(CURSOR_PATTERN, cursor):
        raise ValueError("a cursor is a number, or two joined by '-', as a page gave it")
    xid, _, number = cursor.rpartition("-")
    position = (int(xid or 0), int(number))
    if position[0] > MAX_XID or position[1] > MAX_CURSOR:
        raise ValueError("a cursor is one a page gave: its numbers are out of bounds")
    return position


def format_cursor(position: Position) -> str:
    xid, number = position
    return str(number) if xid == 0 else f"{xid}-{number}"


@dataclass(frozen=True)
class Page:
    """Up to `limit` cards changed after the cursor asked for, oldest change first."""

    cards: dict[str, dict[str, Any]]
    cursor: str  # the position of the last card here (the cursor asked for, when none)
    more: bool  # cards changed after `cursor` were left for the next page

    def to_dict(self) -> dict[str, Any]:
        return {"cards": self.cards, "cursor": self.cursor, "more": self.more}


def changed_cards(db: Database, org: int, after: str, limit: int = DEFAULT_PAGE) -> Page:
    """The organisation's cards changed after the cursor `after` ("0": every card).
    ValueError when `after` is no cursor (parse_cursor)."""
    xid, number = parse_cursor(after)
    query = _PAGE if db.is_sqlite else _PAGE_POSTGRESQL
    with reading(db) as conn:
        rows = conn.execute(query, {"org": org, "xid": xid, "after": number,
                                    "limit": limit + 1}).all()
        more = len(rows) > limit
        rows = rows[:limit]
        found = {}
        for row in rows:
            as_dict = full_state(row.card_ref, row.state)
            found[row.card_ref] = Card(CardState.from_dict(as_dict), json.loads(row.flagged),
                                       as_dict)
        cards = card_answers(conn, org, found)
    cursor = format_cursor((int(rows[-1].changed_xid), int(rows[-1].changed))) if rows else after
    return Page(cards, cursor, more)

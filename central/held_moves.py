"""The database side of central.moves: what a batch's moves are checked against, the moves
held for want of the old card's events, and their release when those events come.

A replacement made at one counter may reach the central before the old card's visits
made at another (offline) counter: the old card then seems to give more than it held,
and the move is held. When the old card's events arrive and are counted, every move that
waits for that card is checked again, inside the same transaction: counted (its card's
fold advanced, its `held_reason` cleared) when it is plausible now, else kept held with
the reason as it stands now.

Every query here runs only for batches with moves, or against `held_moves`, a table that
holds a row per held move (empty in a shop where nothing is held).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from central import tallies
from central.cardcache import CardSession
from central.db import events, held_moves, kiosks
from central.fastsql import InQuery
from central.moves import GIVING, KINDS, RECEIVING, Moves
from kiosk.core.corrections import LINK
from kiosk.core.events import CardState, Event

# (events, folds before them, moves so far) -> event id -> why it stays held
Check = Callable[[Sequence[Event], Mapping[str, CardState], Moves], dict[str, str]]
MAX_ROUNDS = 4  # an old card released, then its new card's moves, then a card replacing that


def _event(row: Any) -> Event:
    return Event.from_dict(row._mapping)


def _prefix(ref: str) -> Any:
    """The cards whose card_ref starts with `ref` (a range: an index serves it)."""
    return and_(events.c.card_ref >= ref, events.c.card_ref < ref + "g")  # after hex 'f'


# asked on every upload with its counted cards (hundreds): built and compiled once, the
# cards one parameter (central.fastsql)
_WAITING = InQuery(held_moves.c.waits_for, lambda wanted: select(held_moves.c.event_id).where(
    held_moves.c.org_id == bindparam("org"), wanted))


def known_moves(conn: Connection, org: int, batch: Sequence[Event]) -> Moves:
    """The counted moves that `batch`'s moves into new cards are checked against: what the
    new cards received so far, and what the old cards they name gave."""
    new_cards = sorted({e.card_ref for e in batch if e.kind in RECEIVING})
    moves = Moves()
    if not new_cards:
        return moves
    received = [row for row in conn.execute(select(events).where(
        events.c.org_id == org, events.c.card_ref.in_(new_cards),
        events.c.kind.in_(sorted(RECEIVING))))]
    for row in received:
        (moves.count if row.held_reason is None else moves.note)(_event(row))
    for event in batch:
        moves.note(event)
    olds = sorted({old for named in moves.named.values() for old in named if len(old) == LINK})
    if olds:
        given = conn.execute(select(events).where(
            events.c.org_id == org, events.c.kind.in_(sorted(GIVING)),
            events.c.held_reason.is_(None), or_(*(_prefix(old) for old in olds))))
        for row in given:
            moves.count(_event(row))
    return moves


def remember(conn: Connection, org: int, held: Iterable[Event], moves: Moves) -> None:
    """Note each held move under the cards whose events may release it."""
    rows = [{"org_id": org, "waits_for": card, "event_id": event.id}
            for event in held if event.kind in KINDS for card in sorted(moves.waits_for(event))]
    if rows:
        conn.execute(insert(held_moves), rows)


def release(conn: Connection, org: int, counted: Sequence[Event], cards: CardSession,
            tz: tzinfo, check: Check) -> list[Event]:
    """Check again the held moves waiting for the cards of `counted` (just counted);
    count those plausible now, and what they release in turn. Returns the released."""
    released: list[Event] = []
    touched = {e.card_ref[:LINK] for e in counted}
    for _ in range(MAX_ROUNDS):
        if not touched:
            break
        waiting = sorted({row.event_id
                          for row in _WAITING.run(conn, sorted(touched), org=org)})
        if not waiting:
            break
        rows = conn.execute(select(events).where(events.c.id.in_(waiting),
                                                 events.c.held_reason.is_not(None))).all()
        candidates = sorted((_event(row) for row in rows),
                            key=lambda e: (e.occurred_at, e.kiosk_id, e.seq))
        folds = {ref: card.state
                 for ref, card in cards.get(org, {e.card_ref for e in candidates}).items()}
        still = check(candidates, folds, known_moves(conn, org, candidates))
        now_counted = [e for e in candidates if e.id not in still]
        for event_id, reason in still.items():  # say why, as it stands now
            conn.execute(update(events).where(events.c.id == event_id)
                         .values(held_reason=reason[:200]))
        if not now_counted:
            break
        _count(conn, org, now_counted, {row.id: row.flags for row in rows}, cards, tz, folds)
        released += now_counted
        touched = {e.card_ref[:LINK] for e in now_counted}
    return released


def _count(conn: Connection, org: int, released: Sequence[Event], flags: Mapping[str, str | None],
           cards: CardSession, tz: tzinfo, folds: Mapping[str, CardState]) -> None:
    ids = [e.id for e in released]
    conn.execute(update(events).where(events.c.id.in_(ids)).values(held_reason=None))
    conn.execute(delete(held_moves).where(held_moves.c.org_id == org,
                                          held_moves.c.event_id.in_(ids)))
    flagged = {i: f.split(",") for i, f in flags.items() if f and i in ids}
    cards.advance(org, released, flagged, tz)
    shop_of = {row.id: row.shop_id for row in conn.execute(
        select(kiosks.c.id, kiosks.c.shop_id).where(
            kiosks.c.id.in_(sorted({e.kiosk_id for e in released}))))}
    tallies.add(conn, org, tallies.count(released, folds, tz, shop_of),
                tallies.writer_shard(conn))

"""Events in, card states out: the write path of an upload, as portable Core queries.

A batch is checked first (no I/O), then written in one transaction: its new events, their
time flags, and every touched card's fold advanced by exactly those events. Either all of
that commits or none of it does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import bindparam, delete, insert, or_, select
from sqlalchemy.engine import Connection

from central import donations, figures, held_moves, links, tallies
from central import program as programs_mod
from central.cardcache import (
    Card,
    CardSession,
    bump_generation,
    load,
    lock_every_card,
    new_version,
    stored_text,
    take_seq,
)
from central.cards import time_flags
from central.db import Database, card_states, customers, events, kiosks, programs, reading
from central.fastsql import InQuery, InsertMany
from central.moves import KINDS as MOVE_KINDS
from central.moves import Moves
from central.plausible import implausible
from central.steps import ends, walk
from central.validate import Checked
from kiosk.core.events import (
    EVENT_NAMES,
    CardState,
    Event,
    EventKind,
    apply,
    evolved,
    fold,
)
from kiosk.core.program import Program

if TYPE_CHECKING:
    from central.orgs import Kiosk

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
HELD = "held"  # stored for the owner's review, not counted (central.plausible says why)
CLASHING_ID = "an event with this id is already stored with different content"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Result:
    id: str
    status: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "reason": self.reason}


@dataclass(frozen=True)
class Ingested:
    """The answer to an upload: one result per event, and the cards it touched (their
    folds as committed and their consenting customers; `cards` writes them out when the
    answer is read, after the commit, not while the cards are locked)."""

    results: list[Result]
    folds: Mapping[str, Card]
    people: Mapping[str, dict[str, Any]]
    program_version: str | None

    @cached_property
    def cards(self) -> dict[str, dict[str, Any]]:
        """Each touched card as the API answers it, by card ref."""
        return answer_cards(self.folds, self.people)

    def to_json(self) -> bytes:
        """The answer as the API sends it (contract.UploadAnswer): orjson writes it
        several times faster than json.dumps (the same document, UTF-8, no spaces)."""
        return orjson.dumps({"results": [r.to_dict() for r in self.results],
                             "cards": self.cards, "program_version": self.program_version})


# --- the program, as far as folding needs it ----------------------------------------------


# Built once, like every statement of the upload path: building a statement anew costs
# SQLAlchemy more than running it.
# a shop's own program first, else the organisation's (shop_id null sorts as 0 here)
_CURRENT = (
    select(programs.c.version, programs.c.body)
    .where(programs.c.org_id == bindparam("org"),
           or_(programs.c.shop_id.is_(None), programs.c.shop_id == bindparam("shop")))
    .order_by(programs.c.shop_id.is_(None), programs.c.n.desc())
    .limit(1)
)
_BEFORE = (
    select(events.c.occurred_at)
    .where(events.c.kiosk_id == bindparam("kiosk"), events.c.seq < bindparam("seq"))
    .order_by(events.c.seq.desc())
    .limit(1)
)


def current(conn: Connection, org: int, shop: int | None = None
            ) -> tuple[str, dict[str, Any]] | None:
    """(version, fields) of the program a kiosk of `shop` runs (the shop's own, else the
    organisation's), or None before one is set. No shop: the organisation's program."""
    row = conn.execute(_CURRENT, {"org": org, "shop": -1 if shop is None else shop}).first()
    return None if row is None else (row.version, json.loads(row.body))


_BY_VERSION = select(programs.c.version, programs.c.body)


@lru_cache(maxsize=32)
def _program(body: str) -> Program:
    return programs_mod.section(json.loads(body)).to_program()


def programs_of(conn: Connection, org: int, batch: Sequence[Event],
                found: tuple[str, dict[str, Any]] | None) -> dict[str, Program]:
    """The program each event of `batch` was decided under, by its version; the current
    program for a version the central never served (a kiosk's own file)."""
    if found is None:
        return {}
    current_version = found[0]
    wanted = {e.program_version for e in batch} - {current_version}
    bodies = {current_version: json.dumps(found[1])}
    if wanted:
        query = _BY_VERSION.where(programs.c.org_id == org,
                                  programs.c.version.in_(sorted(wanted)))
        bodies.update({row.version: row.body for row in conn.execute(query)})
    chosen = {v: _program(bodies.get(v, bodies[current_version]))
              for v in wanted | {current_version}}
    return chosen


# what central.plausible reads of a fold besides its stamps: the rest of the fold is left
# out while checking a batch (the full fold is advanced once, by CardSession.advance)
_CHECKED_KINDS = frozenset({EventKind.REWARD_EARNED, EventKind.REWARD_REDEEMED,
                            EventKind.REWARD_REVOKED, EventKind.BIRTHDAY,
                            # a second enrolment adds no bonus; voucher moves and a
                            # conversion are read by the checks of later events
                            EventKind.ENROLLED, EventKind.VOUCHER_MOVED_OUT,
                            EventKind.VOUCHER_MOVED_IN, EventKind.CONVERTED,
                            EventKind.TIER_CHANGED})


def _counted(state: CardState, event: Event, tz: tzinfo) -> CardState:
    if event.kind in _CHECKED_KINDS:
        return apply(state, event, tz)
    return evolved(state, {"stamps": state.stamps + event.delta})


def held(batch: Sequence[Event], programs_by_version: Mapping[str, Program],
         before: Mapping[str, CardState], tz: tzinfo, moves: Moves | None = None
         ) -> dict[str, str]:
    """Event id -> why it is held, for the events of `batch` the kiosk's rules could not
    have made; each checked against its card's fold with the counted events before it,
    and a move into a new card against what its old card was seen giving (`moves`)."""
    states = dict(before)
    reasons: dict[str, str] = {}
    moves = Moves() if moves is None else moves
    for event in sorted(batch, key=lambda e: e.seq):
        ref = event.card_ref
        state = states.get(ref) or CardState(card_ref=ref)
        reason = implausible(programs_by_version.get(event.program_version), state, event)
        if reason is None and event.kind in MOVE_KINDS:
            reason = moves.problem(event)
        if reason is None:
            states[ref] = _counted(state, event, tz)
            moves.count(event)
        else:
            moves.note(event)
            reasons[event.id] = reason
    return reasons


def program_tz(found: tuple[str, dict[str, Any]] | None) -> tzinfo:
    """The time zone a card's stamp day is counted in (UTC until a program is set)."""
    return UTC if found is None else programs_mod.timezone(found[1])


# --- card states ----------------------------------------------------------------------------


_INSERT_EVENT = InsertMany(insert(events), [column.name for column in events.columns])
_KNOWN_IDS = InQuery(events.c.id, lambda wanted: select(events.c.id, events.c.body_sha256)
                     .where(wanted))
_CONSENTING = InQuery(customers.c.card_ref, lambda wanted: select(
    customers.c.card_ref, customers.c.first_name, customers.c.birthday
).where(wanted, customers.c.org_id == bindparam("org"), customers.c.consent.is_(True)))


def rebuild(conn: Connection, org: int, tz: tzinfo) -> int:
    """Fold every card of the organisation again from its events (after a change of the
    program's time zone); each card counts as changed for the kiosks' pull."""
    lock_every_card(conn, org)  # before reading the events: none is being written meanwhile
    conn.execute(delete(card_states).where(card_states.c.org_id == org))
    by_card: dict[str, list[Any]] = defaultdict(list)
    shop_of = {row.id: row.shop_id for row in conn.execute(select(kiosks.c.id, kiosks.c.shop_id))}
    for row in conn.execute(select(events).where(events.c.org_id == org,
                                                 events.c.held_reason.is_(None))):
        by_card[row.card_ref].append(row)
    figures.recount(conn, org, shop_of,
                    (_event(row) for rows in by_card.values() for row in rows), tz)
    tallies.forget(conn, org)
    tallies.add(conn, org, tallies.count(
        (_event(row) for rows in by_card.values() for row in rows), {}, tz, shop_of), shard=0)
    positions = take_seq(conn, org, len(by_card))
    for (xid, seq), (ref, rows) in zip(positions, sorted(by_card.items()), strict=True):
        state = fold(ref, map(_event, rows), tz)
        flags = {row.id: row.flags.split(",") for row in rows if row.flags}
        conn.execute(insert(card_states).values(
            org_id=org, card_ref=ref, state=stored_text(state.to_dict()),
            flagged=json.dumps(flags), changed=seq, changed_xid=xid, version=new_version(),
        ))
    bump_generation(conn)
    return len(by_card)


def _cards(
    conn: Connection, org: int, refs: Iterable[str], known: Mapping[str, Card] | None = None
) -> dict[str, dict[str, Any]]:
    found = dict(known or {})
    found.update(load(conn, org, set(refs) - set(found)))
    return card_answers(conn, org, found)


def card_answers(conn: Connection, org: int, found: Mapping[str, Card]
                 ) -> dict[str, dict[str, Any]]:
    """Cards as the API answers them: card_json and the consenting customer, by card ref."""
    return answer_cards(found, _customers(conn, org, found))


def answer_cards(found: Mapping[str, Card], people: Mapping[str, dict[str, Any]]
                 ) -> dict[str, dict[str, Any]]:
    """card_answers, the consenting customers already read."""
    return {ref: {**card.to_json(), "customer": people.get(ref)} for ref, card in sorted(found.items())}


def _customers(conn: Connection, org: int, refs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """First name and birthday of the cards whose holder consented; nobody else's.

    Kiosks greet by first name and give the birthday bonus from this, and forget a
    customer when a card's answer holds none (that is how an erasure reaches them)."""
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    rows = _CONSENTING.run(conn, wanted, org=org)
    return {
        row.card_ref: {"first_name": row.first_name, "birthday": row.birthday} for row in rows
    }


def cards(db: Database, org: int, refs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """card_json of every named card of the organisation that has a counted event."""
    with reading(db) as conn:
        return _cards(conn, org, refs)


# --- events -----------------------------------------------------------------------------------


def _event(row: Any) -> Event:
    return Event.from_dict(row._mapping)  # the events table holds every field of an Event


def _row(org: int, checked: Checked, received_at: str, flags: list[str] | None,
         held_reason: str | None) -> dict[str, Any]:
    assert checked.event is not None
    return {
        **dict(zip(EVENT_NAMES, checked.wire or checked.event.to_row(), strict=True)),
        "org_id": org,
        "body_sha256": checked.body_sha256,
        "received_at": received_at,
        "flags": ",".join(flags) if flags else None,
        "held_reason": held_reason,
    }


def _by_id(row: dict[str, Any]) -> str:
    return str(row["id"])


def _classify(conn: Connection, checked: Sequence[Checked]) -> tuple[list[Result], list[Checked]]:
    ids = [c.id for c in checked if c.event is not None]
    known: dict[str, str] = {}
    if ids:
        known = {row.id: row.body_sha256 for row in _KNOWN_IDS.run(conn, ids)}
    results: list[Result] = []
    new: list[Checked] = []
    for item in checked:
        stored = known.get(item.id)
        if item.event is None:
            results.append(Result(item.id, REJECTED, item.reason))
        elif stored is None:
            known[item.id] = item.body_sha256
            new.append(item)
            results.append(Result(item.id, ACCEPTED))
        elif stored == item.body_sha256:
            results.append(Result(item.id, DUPLICATE))
        else:
            results.append(Result(item.id, REJECTED, CLASHING_ID))
    return results, new


def _before(conn: Connection, kiosk_id: str, first_seq: int) -> datetime | None:
    """When the kiosk's event just before `first_seq` claims to have happened."""
    found = conn.execute(_BEFORE, {"kiosk": kiosk_id, "seq": first_seq}).scalar_one_or_none()
    return None if found is None else datetime.fromisoformat(found)


def write_batch(
    conn: Connection, kiosk: Kiosk, checked: Sequence[Checked], now: datetime,
    cards: CardSession,
) -> Ingested:
    """Write one checked batch of `kiosk` inside the caller's transaction; answer it.

    Card folds are advanced in `cards` and written when the caller flushes it (once per
    transaction, see central.writer)."""
    org = kiosk.org_id
    results, new = _classify(conn, checked)
    program = current(conn, org, kiosk.shop_id)
    if new:
        batch = [c.event for c in new if c.event is not None]
        before = _before(conn, kiosk.id, min(e.seq for e in batch))
        flagged = time_flags(batch, now, before)
        received_at = iso(now)
        tz = program_tz(program)
        folds = {ref: card.state
                 for ref, card in cards.get(org, {e.card_ref for e in batch}).items()}
        moves = held_moves.known_moves(conn, org, batch)
        holding = held(batch, programs_of(conn, org, batch, program), folds, tz, moves)
        # in id order: two processes inserting one retried batch wait on each other in the
        # same order (a duplicate, not a deadlock)
        rows = sorted((_row(org, c, received_at, flagged.get(c.id), holding.get(c.id))
                       for c in new), key=_by_id)
        _INSERT_EVENT.run(conn, rows)
        counted = [e for e in batch if e.id not in holding]
        walked = walk(counted, folds, tz)  # each event applied once, for all that follows
        cards.take(org, ends(walked), counted, flagged)
        links.take_links(conn, org, counted, now)  # a card's own page link, drawn at a tap
        donations.add(conn, org, sum(e.kind is EventKind.DONATED for e in counted))
        figures.add_visits(conn, org, kiosk.shop_id, figures.visits_of(walked, tz))
        tallies.add(conn, org, tallies.count_steps(walked, folds, tz, kiosk.shop_id),
                    tallies.writer_shard(conn))
        held_moves.remember(conn, org, (e for e in batch if e.id in holding), moves)
        held_moves.release(conn, org, counted, cards, tz, lambda found, before, known: held(
            found, programs_of(conn, org, found, program), before, tz, known))
        results = [Result(r.id, HELD, holding[r.id]) if r.status == ACCEPTED and r.id in holding
                   else r for r in results]
    refs = [c.event.card_ref for c in checked if c.event is not None]
    touched = cards.get(org, refs)
    return Ingested(results, touched, _customers(conn, org, touched),
                    None if program is None else program[0])


def card_events(db: Database, org: int, card_ref: str) -> list[dict[str, Any]]:
    """Every stored event of one card in wire form (plus received_at and flags), oldest first."""
    with reading(db) as conn:
        rows = conn.execute(
            select(events).where(events.c.org_id == org, events.c.card_ref == card_ref)
            .order_by(events.c.occurred_at, events.c.kiosk_id, events.c.seq)
        ).all()
    return [
        {**_event(row).to_dict(), "received_at": row.received_at,
         "flags": row.flags.split(",") if row.flags else [], "held_reason": row.held_reason}
        for row in rows
    ]


def held_events(db: Database, org: int) -> list[dict[str, Any]]:
    """Every event of the organisation held for the owner's review, in wire form plus why,
    oldest first."""
    with reading(db) as conn:
        rows = conn.execute(
            select(events).where(events.c.org_id == org, events.c.held_reason.is_not(None))
            .order_by(events.c.received_at, events.c.kiosk_id, events.c.seq)
        ).all()
    return [{**_event(row).to_dict(), "received_at": row.received_at,
             "held_reason": row.held_reason} for row in rows]

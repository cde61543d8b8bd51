"""Events the central makes itself (a referral's bonuses, a donation), written like uploads.

Each is decided and written in one transaction: the cards' folds are read (and locked on
PostgreSQL), the pure decision runs on them, and its events are stored and folded in,
so two clicks at once cannot give one voucher twice. The events carry the kiosk id
CENTRAL (which no kiosk may take) and their own sequence, so kiosks receive their effect
in the card states they pull, exactly once, like any other kiosk's events.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from central import donations
from central.cardcache import CardSession
from central.db import Database, events, writing
from central.ingest import current, iso, program_tz
from central.store import CENTRAL
from central.validate import body_sha256
from kiosk.core.events import CardState, Change, Event, EventKind
from kiosk.core.wire import digits_only

ACCOUNT_PREFIX = "account:"  # staff_ref of an event a dashboard account made

# (connection, program fields or None, the cards' folds) -> (card_ref, change) to record
Decide = Callable[[Connection, Mapping[str, object] | None, Mapping[str, CardState]],
                  Sequence[tuple[str, Change]]]


# PostgreSQL: the transaction-level advisory lock that queues the central's writers
# between reading the sequence's end and committing past it (one key, outside the range
# central.cardcache.lock_key draws from in practice: a clash would merely queue)
_SEQ_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
SEQ_LOCK_KEY = int.from_bytes(hashlib.blake2b(b"central seq", digest_size=8).digest(), "big",
                              signed=True)


def _next_seq(conn: Connection) -> int:
    """The next of the central's own sequence numbers. Two server processes making events
    for different cards at once would both read the same end and write one number twice:
    on PostgreSQL they queue on a lock held until commit; SQLite has one writer."""
    if conn.dialect.name == "postgresql":
        conn.execute(_SEQ_LOCK, {"key": SEQ_LOCK_KEY})
    found = conn.execute(select(func.max(events.c.seq)).where(events.c.kiosk_id == CENTRAL))
    return int(found.scalar_one_or_none() or 0) + 1


def make(db: Database, org: int, refs: Sequence[str], decide: Decide, now: datetime,
         staff_ref: str | None = None) -> list[Event]:
    """Decide on the folds of the organisation's cards `refs` and store the events
    decided, in one transaction. Whatever `decide` raises leaves nothing written.
    `staff_ref` names who asked for them (`account_ref`: a dashboard account)."""
    with writing(db) as conn:
        # SQLite: one writer, and the flush renews the generation tag every cache checks;
        # PostgreSQL: the cards are locked as uploads lock them, and each row's new version
        # tells every process its kept fold is stale
        session = CardSession(conn, {}, trusted=db.is_sqlite)
        found = session.get(org, sorted(set(refs)))
        folds = {ref: found[ref].state if ref in found else CardState(card_ref=ref)
                 for ref in refs}
        program = current(conn, org)
        decided = decide(conn, None if program is None else program[1], folds)
        if not decided:
            return []
        version = "-" if program is None else program[0]
        seq = _next_seq(conn)
        made = [Event(id=str(uuid.uuid4()), kiosk_id=CENTRAL, seq=seq + n, card_ref=ref,
                      kind=change.kind, delta=change.delta, reward_id=change.reward_id,
                      program_version=version, occurred_at=now, staff_ref=staff_ref)
                for n, (ref, change) in enumerate(decided)]
        conn.execute(insert(events), [
            {**e.to_dict(), "org_id": org, "body_sha256": body_sha256(e), "received_at": iso(now),
             "flags": None, "held_reason": None} for e in made])
        session.advance(org, made, {}, program_tz(program))
        donations.add(conn, org, sum(1 for e in made if e.kind is EventKind.DONATED))
        session.flush()
    return made


def account_ref(account_id: int) -> str:
    """The `staff_ref` of the events a dashboard account makes: where a kiosk's corrections
    carry the staff card's ref, the central's carry the account (not its e-mail, which
    can be erased or changed)."""
    return f"{ACCOUNT_PREFIX}{account_id}"


def account_of(staff_ref: str | None) -> int | None:
    """The account id an event's `staff_ref` names, or None (a staff card, or nobody)."""
    if staff_ref is None or not staff_ref.startswith(ACCOUNT_PREFIX):
        return None
    rest = staff_ref.removeprefix(ACCOUNT_PREFIX)
    return int(rest) if digits_only(rest) and len(rest) <= 18 else None


# the card page and the dashboard read the total here
donations_total = donations.total

"""Everything the server reads and writes, as portable SQLAlchemy Core queries."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from central import program as programs_mod
from central.cards import Stored, card_json
from central.db import Database, customers, events, kiosks, programs
from central.validate import Checked, check_event
from kiosk.core.events import Event, EventKind

KIOSK_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


class StoreError(ValueError):
    """A request the store refuses (unknown kiosk, clashing program version...)."""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@contextmanager
def writing(db: Database) -> Iterator[Connection]:
    """One write transaction: committed on leaving the block, rolled back on an error."""
    with db.write_guard(), db.engine.connect() as conn:
        conn.execution_options(central_write=True)
        with conn.begin():
            yield conn


@contextmanager
def reading(db: Database) -> Iterator[Connection]:
    with db.engine.connect() as conn, conn.begin():
        yield conn


# --- kiosks and their tokens -------------------------------------------------------------


def add_kiosk(db: Database, kiosk_id: str, now: datetime) -> str:
    """Register a kiosk (or give a revoked one a new token); returns the token, shown once."""
    if not KIOSK_ID.match(kiosk_id):
        raise StoreError(f"kiosk id {kiosk_id!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
    token = secrets.token_urlsafe(32)
    with writing(db) as conn:
        row = conn.execute(select(kiosks.c.revoked_at).where(kiosks.c.id == kiosk_id)).first()
        values = {"token_sha256": token_sha256(token), "created_at": iso(now), "revoked_at": None}
        if row is None:
            conn.execute(insert(kiosks).values(id=kiosk_id, **values))
        elif row.revoked_at is None:
            raise StoreError(f"kiosk {kiosk_id!r} already has a token; revoke it first")
        else:
            conn.execute(update(kiosks).where(kiosks.c.id == kiosk_id).values(**values))
    return token


def revoke_kiosk(db: Database, kiosk_id: str, now: datetime) -> None:
    with writing(db) as conn:
        done = conn.execute(
            update(kiosks)
            .where(kiosks.c.id == kiosk_id, kiosks.c.revoked_at.is_(None))
            .values(revoked_at=iso(now))
        )
        if done.rowcount != 1:
            raise StoreError(f"no kiosk {kiosk_id!r} with a live token")


def list_kiosks(db: Database) -> list[dict[str, Any]]:
    with reading(db) as conn:
        rows = conn.execute(
            select(kiosks.c.id, kiosks.c.created_at, kiosks.c.revoked_at).order_by(kiosks.c.id)
        )
        return [dict(row._mapping) for row in rows]


def authenticate(db: Database, token: str) -> str | None:
    """The kiosk id a live token belongs to, else None."""
    digest = token_sha256(token)
    with reading(db) as conn:
        row = conn.execute(
            select(kiosks.c.id, kiosks.c.token_sha256).where(
                kiosks.c.token_sha256 == digest, kiosks.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return str(row.id)


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    id: str
    status: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "reason": self.reason}


def _row(checked: Checked, received_at: str) -> dict[str, Any]:
    assert checked.event is not None
    event = checked.event
    return {
        "id": event.id,
        "body_sha256": checked.body_sha256,
        "kiosk_id": event.kiosk_id,
        "seq": event.seq,
        "card_ref": event.card_ref,
        "kind": event.kind.value,
        "delta": event.delta,
        "reward_id": event.reward_id,
        "program_version": event.program_version,
        "occurred_at": iso(event.occurred_at),
        "staff_ref": event.staff_ref,
        "received_at": received_at,
    }


def _classify(
    conn: Connection, checked: Sequence[Checked], received_at: str
) -> tuple[list[Result], list[dict[str, Any]]]:
    ids = [c.id for c in checked if c.event is not None]
    known: dict[str, str] = {}
    if ids:
        rows = conn.execute(select(events.c.id, events.c.body_sha256).where(events.c.id.in_(ids)))
        known = {row.id: row.body_sha256 for row in rows}
    results: list[Result] = []
    new_rows: list[dict[str, Any]] = []
    for item in checked:
        if item.event is None:
            results.append(Result(item.id, REJECTED, item.reason))
            continue
        stored = known.get(item.id)
        if stored is None:
            known[item.id] = item.body_sha256
            new_rows.append(_row(item, received_at))
            results.append(Result(item.id, ACCEPTED))
        elif stored == item.body_sha256:
            results.append(Result(item.id, DUPLICATE))
        else:
            reason = "an event with this id is already stored with different content"
            results.append(Result(item.id, REJECTED, reason))
    return results, new_rows


def ingest(
    db: Database, kiosk_id: str, items: Sequence[Mapping[str, Any]], now: datetime
) -> list[Result]:
    """Check a batch, then write its new events in one transaction; one result per item."""
    checked = [check_event(item, kiosk_id, now) for item in items]
    # A concurrent writer can insert one of our ids between the read and the write on a
    # database without a global write lock: the unique key refuses it; judge again.
    for attempt in range(3):
        try:
            with writing(db) as conn:
                results, new_rows = _classify(conn, checked, iso(now))
                if new_rows:
                    conn.execute(insert(events), new_rows)
            return results
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _event(row: Any) -> Event:
    return Event(
        id=row.id,
        kiosk_id=row.kiosk_id,
        seq=row.seq,
        card_ref=row.card_ref,
        kind=EventKind(row.kind),
        delta=row.delta,
        reward_id=row.reward_id,
        program_version=row.program_version,
        occurred_at=datetime.fromisoformat(row.occurred_at),
        staff_ref=row.staff_ref,
    )


def _stored_events(conn: Connection, card_refs: Sequence[str]) -> dict[str, list[Stored]]:
    found: dict[str, list[Stored]] = defaultdict(list)
    if not card_refs:
        return found
    rows = conn.execute(
        select(events).where(events.c.card_ref.in_(card_refs)).order_by(events.c.id)
    )
    for row in rows:
        found[row.card_ref].append(Stored(_event(row), datetime.fromisoformat(row.received_at)))
    return found


def cards(db: Database, card_refs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """card_json of every named card that has at least one stored event."""
    wanted = sorted(set(card_refs))
    with reading(db) as conn:
        tz = _program_tz(conn)
        found = _stored_events(conn, wanted)
    return {ref: card_json(ref, found[ref], tz) for ref in wanted if found.get(ref)}


def card_events(db: Database, card_ref: str) -> list[dict[str, Any]]:
    """Every stored event of one card, oldest first, in wire form."""
    with reading(db) as conn:
        stored = _stored_events(conn, [card_ref]).get(card_ref, [])
    stored.sort(key=lambda s: (s.event.occurred_at, s.event.kiosk_id, s.event.seq))
    return [{**s.event.to_dict(), "received_at": iso(s.received_at)} for s in stored]


def event_count(db: Database) -> int:
    with reading(db) as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


# --- the program -------------------------------------------------------------------------


def _current(conn: Connection) -> tuple[str, dict[str, Any]] | None:
    row = conn.execute(
        select(programs.c.version, programs.c.body).order_by(programs.c.n.desc()).limit(1)
    ).first()
    return None if row is None else (row.version, json.loads(row.body))


def _program_tz(conn: Connection) -> tzinfo:
    current = _current(conn)
    return UTC if current is None else programs_mod.to_program(current[1]).tz


def current_program(db: Database) -> tuple[str, dict[str, Any]] | None:
    """(version tag, program fields) of the program kiosks should run, or None."""
    with reading(db) as conn:
        return _current(conn)


def set_program(db: Database, fields: dict[str, Any], now: datetime) -> bool:
    """Make a checked program current; False if it already was. A version tag names one
    program for ever, so reusing a tag for other content is refused."""
    body = json.dumps(fields, sort_keys=True)
    with writing(db) as conn:
        row = conn.execute(
            select(programs.c.body).where(programs.c.version == fields["version"])
        ).first()
        if row is not None:
            if json.loads(row.body) != fields:
                raise StoreError(
                    f"version {fields['version']!r} already names another program; "
                    "give this one a new version"
                )
            current = _current(conn)
            if current is not None and current[0] == fields["version"]:
                return False
            # going back to an older program: re-issue it under its own tag
            conn.execute(delete(programs).where(programs.c.version == fields["version"]))
        conn.execute(insert(programs).values(version=fields["version"], body=body, set_at=iso(now)))
    return True


# --- customers ---------------------------------------------------------------------------


def set_customer(
    db: Database, card_ref: str, details: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Store first name, birthday and consent for a card (replacing what was there)."""
    values = {
        "first_name": details.get("first_name"),
        "birthday": details.get("birthday"),
        "consent": bool(details["consent"]),
        "updated_at": iso(now),
    }
    with writing(db) as conn:
        done = conn.execute(
            update(customers).where(customers.c.card_ref == card_ref).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(customers).values(card_ref=card_ref, **values))
    return {"card_ref": card_ref, **values}


def customer(db: Database, card_ref: str) -> dict[str, Any] | None:
    with reading(db) as conn:
        row = conn.execute(select(customers).where(customers.c.card_ref == card_ref)).first()
    return None if row is None else dict(row._mapping)


def erase_customer(db: Database, card_ref: str) -> bool:
    """Forget the person behind a card; its events stay as anonymous counts."""
    with writing(db) as conn:
        done = conn.execute(delete(customers).where(customers.c.card_ref == card_ref))
    return done.rowcount > 0


def export_customer(db: Database, card_ref: str) -> dict[str, Any] | None:
    """All the server holds about one card: the person (if any), the card, its events."""
    person = customer(db, card_ref)
    found = cards(db, [card_ref])
    if person is None and not found:
        return None
    return {
        "card_ref": card_ref,
        "customer": person,
        "card": found.get(card_ref),
        "events": card_events(db, card_ref),
    }

"""The outbox: every message queued, claimed, sent and marked, as portable Core queries.

A message's row id is derived from its card, kind and occasion, so one occasion is one
row whatever runs the sender, how often, or how many at once. Sending is at most once:
a row is claimed ("sending", committed) before the mail server is spoken to and marked
after; a process that dies in between leaves the row "sending", and the next run marks it
"unknown" instead of sending it again. E-mail has no way to ask a mail server whether it
already took a message, so a possibly lost message is preferred to a certain duplicate;
the Message-ID header carries the same id, so a mail server or client that dedupes by
Message-ID folds any copy anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from central.db import mail_bounces, outbox
from central.ingest import iso
from central.messages.rules import Due, Facts, Kind, Sent

PENDING, SENDING, SENT = "pending", "sending", "sent"
FAILED = "failed"  # a template error, or a mail server that kept refusing for a while
BOUNCED = "bounced"  # the address was refused for good
SKIPPED = "skipped"  # consent withdrawn (or address gone) before it went out
STALE = "stale"  # out of date before it could go (quiet hours, a server down for days)
UNKNOWN = "unknown"  # the sender died between sending and marking: never sent again
STATUSES = (PENDING, SENDING, SENT, FAILED, BOUNCED, SKIPPED, STALE, UNKNOWN)
KINDS = frozenset(kind.value for kind in Kind)

# a claim older than this belongs to a process that died (an SMTP exchange times out far
# sooner); a run marks such rows UNKNOWN
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # temporary refusals (4xx, server down) before a message is given up
RETRY_AFTER = timedelta(minutes=15)  # times the attempt number
MAX_DETAIL = 200


def message_id(org: int, card_ref: str, kind: Kind, occasion: str) -> str:
    """The row id (and the Message-ID's local part) of one occasion's message."""
    return hashlib.sha256(f"{org}|{card_ref}|{kind.value}|{occasion}".encode()).hexdigest()


def address_sha256(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Queued:
    """A row of the outbox, as the sender needs it."""

    id: str
    card_ref: str
    kind: Kind
    facts: Facts
    until: datetime
    attempts: int


def _upsert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def queue(conn: Connection, org: int, messages: Iterable[Due], now: datetime) -> int:
    """Add an organisation's messages as pending; an occasion already in the outbox is
    left as it is. Returns how many rows were new."""
    rows = [{"id": message_id(org, m.card_ref, m.kind, m.occasion), "org_id": org,
             "card_ref": m.card_ref,
             "kind": m.kind.value, "occasion": m.occasion[:100],
             "facts": json.dumps(dict(m.facts), sort_keys=True), "queued_at": iso(now),
             "until": iso(m.until), "status": PENDING, "attempts": 0}
            for m in messages]
    if not rows:
        return 0
    before = _count(conn)
    statement = _upsert(conn)(outbox).on_conflict_do_nothing(index_elements=[outbox.c.id])
    conn.execute(statement, sorted(rows, key=lambda r: r["id"]))
    return _count(conn) - before


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def history(conn: Connection, org: int) -> list[Sent]:
    """Every message ever queued for the organisation (the rules' memory)."""
    rows = conn.execute(select(outbox.c.card_ref, outbox.c.kind, outbox.c.occasion,
                               outbox.c.queued_at).where(outbox.c.org_id == org))
    return [Sent(r.card_ref, Kind(r.kind), r.occasion, datetime.fromisoformat(r.queued_at))
            for r in rows if r.kind in KINDS]


def recover(conn: Connection, org: int, now: datetime) -> int:
    """The organisation's rows a dead sender left "sending": marked UNKNOWN, never sent
    again."""
    done = conn.execute(
        update(outbox)
        .where(outbox.c.org_id == org, outbox.c.status == SENDING,
               outbox.c.claimed_at < iso(now - CLAIM_TIMEOUT))
        .values(status=UNKNOWN, detail="the sender stopped while sending; not sent again"))
    return int(done.rowcount)


def ready(conn: Connection, org: int, now: datetime, limit: int) -> list[Queued]:
    """The organisation's pending rows whose time has come, oldest first."""
    rows = conn.execute(
        select(outbox).where(outbox.c.org_id == org, outbox.c.status == PENDING,
                             (outbox.c.next_try_at.is_(None)) | (outbox.c.next_try_at <= iso(now)))
        .order_by(outbox.c.queued_at, outbox.c.id).limit(limit))
    found = []
    for row in rows:
        try:
            kind, facts = Kind(row.kind), json.loads(row.facts)
        except ValueError:  # a kind this server no longer sends, or a damaged row
            kind, facts = None, None
        if kind is None or not isinstance(facts, dict):
            _set(conn, row.id, FAILED, now, "this server cannot read the queued message")
            continue
        found.append(Queued(row.id, row.card_ref, kind, facts,
                            datetime.fromisoformat(row.until), row.attempts))
    return found


def claim(conn: Connection, row_id: str, now: datetime, unsubscribe_sha256: str) -> bool:
    """Take a pending row for sending; False if another sender took it first."""
    done = conn.execute(
        update(outbox).where(outbox.c.id == row_id, outbox.c.status == PENDING)
        .values(status=SENDING, claimed_at=iso(now), attempts=outbox.c.attempts + 1,
                unsubscribe_sha256=unsubscribe_sha256))
    return done.rowcount == 1


def _set(conn: Connection, row_id: str, status: str, now: datetime, detail: str | None,
         **values: Any) -> None:
    conn.execute(update(outbox).where(outbox.c.id == row_id).values(
        status=status, detail=None if detail is None else detail[:MAX_DETAIL], **values))


def mark_sent(conn: Connection, row_id: str, now: datetime) -> None:
    _set(conn, row_id, SENT, now, None, sent_at=iso(now))


def mark(conn: Connection, row_id: str, status: str, now: datetime, detail: str) -> None:
    """A final status other than SENT, with why."""
    _set(conn, row_id, status, now, detail)


def retry_later(conn: Connection, row: Queued, now: datetime, detail: str) -> str:
    """Back to pending after a temporary refusal, later each time; FAILED after the last."""
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _set(conn, row.id, FAILED, now, f"gave up after {attempts} attempts: {detail}")
        return FAILED
    _set(conn, row.id, PENDING, now, detail, next_try_at=iso(now + RETRY_AFTER * attempts))
    return PENDING


def add_bounce(conn: Connection, address: str, now: datetime, reason: str) -> None:
    statement = _upsert(conn)(mail_bounces).on_conflict_do_nothing(
        index_elements=[mail_bounces.c.address_sha256])
    conn.execute(statement, {"address_sha256": address_sha256(address), "bounced_at": iso(now),
                             "reason": reason[:MAX_DETAIL]})


def bounced(conn: Connection) -> set[str]:
    """Hashes of the addresses refused for good."""
    return {row.address_sha256 for row in conn.execute(select(mail_bounces.c.address_sha256))}


def unsubscribing(conn: Connection, token_sha256: str) -> tuple[int, str, Kind] | None:
    """(organisation, card_ref, kind) of the message whose unsubscribe token hashes to
    `token_sha256`."""
    row = conn.execute(select(outbox.c.org_id, outbox.c.card_ref, outbox.c.kind)
                       .where(outbox.c.unsubscribe_sha256 == token_sha256)).first()
    if row is None or row.kind not in KINDS:
        return None
    return int(row.org_id), row.card_ref, Kind(row.kind)


def counts(conn: Connection, org: int, since: datetime | None = None
           ) -> Sequence[tuple[str, str]]:
    """(kind, status) of each of the organisation's messages queued since `since` (all
    when None)."""
    query = select(outbox.c.kind, outbox.c.status).where(outbox.c.org_id == org)
    if since is not None:
        query = query.where(outbox.c.queued_at >= iso(since))
    return [(row.kind, row.status) for row in conn.execute(query)]

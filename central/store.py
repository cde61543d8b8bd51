"""Everything the server reads and writes, as portable SQLAlchemy Core queries."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update

from central.db import (
    Database,
    customers,
    erasing,
    events,
    kiosks,
    owner_keys,
    programs,
    reading,
    writing,
)
from central.ingest import card_events, cards, current, iso, program_tz, rebuild

KIOSK_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CENTRAL = "central"  # the kiosk id of the events the central makes (central.made)


class StoreError(ValueError):
    """A request the store refuses (unknown kiosk, clashing program version...)."""


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- kiosks and owner keys: secrets shown once, only their hash kept ----------------------


def add_kiosk(db: Database, kiosk_id: str, now: datetime) -> str:
    """Register a kiosk (or give a revoked one a new token); returns the token, shown once."""
    if kiosk_id == CENTRAL:
        raise StoreError(f"kiosk {kiosk_id!r}: that name marks the central's own events; "
                         "choose another")
    return _issue(db, kiosks, "kiosk", kiosk_id, now)


def revoke_kiosk(db: Database, kiosk_id: str, now: datetime) -> None:
    _revoke(db, kiosks, "kiosk", kiosk_id, now)


def list_kiosks(db: Database) -> list[dict[str, Any]]:
    with reading(db) as conn:
        rows = conn.execute(
            select(kiosks.c.id, kiosks.c.created_at, kiosks.c.revoked_at).order_by(kiosks.c.id)
        )
        return [dict(row._mapping) for row in rows]


def authenticate(db: Database, token: str) -> str | None:
    """The kiosk id a live token belongs to, else None."""
    return _holder(db, kiosks, token)


def add_owner_key(db: Database, name: str, now: datetime) -> str:
    """A new owner API key named `name` (or a new key for a revoked name), shown once."""
    return _issue(db, owner_keys, "owner key", name, now)


def revoke_owner_key(db: Database, name: str, now: datetime) -> None:
    _revoke(db, owner_keys, "owner key", name, now)


def authenticate_owner(db: Database, key: str) -> str | None:
    """The name of the live owner key `key` is, else None."""
    return _holder(db, owner_keys, key)


def _issue(db: Database, table: Table, what: str, name: str, now: datetime) -> str:
    if not KIOSK_ID.match(name):
        raise StoreError(f"{what} {name!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
    secret = secrets.token_urlsafe(32)
    with writing(db) as conn:
        row = conn.execute(select(table.c.revoked_at).where(table.c.id == name)).first()
        values = {"token_sha256": token_sha256(secret), "created_at": iso(now),
                  "revoked_at": None}
        if row is None:
            conn.execute(insert(table).values(id=name, **values))
        elif row.revoked_at is None:
            raise StoreError(f"{what} {name!r} already exists and is live; revoke it first")
        else:
            conn.execute(update(table).where(table.c.id == name).values(**values))
    return secret


def _revoke(db: Database, table: Table, what: str, name: str, now: datetime) -> None:
    with writing(db) as conn:
        done = conn.execute(
            update(table)
            .where(table.c.id == name, table.c.revoked_at.is_(None))
            .values(revoked_at=iso(now))
        )
        if done.rowcount != 1:
            raise StoreError(f"no live {what} named {name!r}")


def _holder(db: Database, table: Table, secret: str) -> str | None:
    digest = token_sha256(secret)
    with reading(db) as conn:
        row = conn.execute(
            select(table.c.id, table.c.token_sha256).where(
                table.c.token_sha256 == digest, table.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return str(row.id)


# --- the program -------------------------------------------------------------------------


def current_program(db: Database) -> tuple[str, dict[str, Any]] | None:
    """(version tag, program fields) of the program kiosks should run, or None."""
    with reading(db) as conn:
        return current(conn)


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
            if (current(conn) or ("",))[0] == fields["version"]:
                return False
            # going back to an older program: re-issue it under its own tag
            conn.execute(delete(programs).where(programs.c.version == fields["version"]))
        old_tz = program_tz(current(conn))
        conn.execute(insert(programs).values(version=fields["version"], body=body, set_at=iso(now)))
        new_tz = program_tz(current(conn))
        if new_tz != old_tz:
            rebuild(conn, new_tz)  # stamp days are counted in the program's time zone
    return True


def event_count(db: Database) -> int:
    with reading(db) as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


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
    with erasing(db) as conn:
        done = conn.execute(
            update(customers).where(customers.c.card_ref == card_ref).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(customers).values(card_ref=card_ref, **values))
        # the whole record, with what the customer set on their card's page
        row = conn.execute(select(customers).where(customers.c.card_ref == card_ref)).one()
    return dict(row._mapping)


def customer(db: Database, card_ref: str) -> dict[str, Any] | None:
    with reading(db) as conn:
        row = conn.execute(select(customers).where(customers.c.card_ref == card_ref)).first()
    return None if row is None else dict(row._mapping)


def erase_customer(db: Database, card_ref: str) -> bool:
    """Forget the person behind a card; its events stay as anonymous counts."""
    with erasing(db) as conn:
        done = conn.execute(delete(customers).where(customers.c.card_ref == card_ref))
    db.flush_erased()
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

"""Who is who on the central: organisations, their shops, kiosks and owner keys.

An organisation is one business (a café, a chain): its cards, events, customers and
programs are its own. A shop is one of its locations; each kiosk stands in one shop.
Authenticating a kiosk token yields a `Kiosk` (its id, shop and organisation), and every
route reads and writes through that organisation alone. Secrets are shown once; only
their hash is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Connection

from central.db import Database, kiosks, organisations, owner_keys, reading, shops, writing
from central.ingest import iso

KIOSK_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CENTRAL = "central"  # the kiosk id of the events the central makes (central.made)
MAX_NAME = 64
# the organisation every database starts with (migration 0006): a single café's
DEFAULT_ORG = 1
SITE_KEY_BYTES = 32  # as kiosk.adapters.ledger_binding reads a site key file


class StoreError(ValueError):
    """A request the store refuses (unknown kiosk, clashing program version...)."""


@dataclass(frozen=True)
class Kiosk:
    """What a live kiosk token stands for: every route works inside `org_id`."""

    id: str
    shop_id: int
    org_id: int


@dataclass(frozen=True)
class Owner:
    """What a live owner key stands for: customer details of `org_id`."""

    name: str
    org_id: int


@dataclass(frozen=True)
class Shop:
    id: int
    org_id: int
    name: str


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(what: str, name: str) -> str:
    """An organisation's or shop's name: 1 to 64 printable characters, trimmed."""
    trimmed = name.strip()
    if not 1 <= len(trimmed) <= MAX_NAME or not trimmed.isprintable():
        raise StoreError(f"{what} name {name[:80]!r}: use 1 to {MAX_NAME} printable characters")
    return trimmed


# --- organisations ------------------------------------------------------------------------


def add_org(db: Database, name: str, now: datetime) -> int:
    """A new organisation with its own site key; returns its id."""
    name = check_name("organisation", name)
    with writing(db) as conn:
        if _org_id(conn, name) is not None:
            raise StoreError(f"an organisation named {name!r} exists already")
        done = conn.execute(insert(organisations).values(
            name=name, site_key=secrets.token_hex(SITE_KEY_BYTES), card_seq=0,
            created_at=iso(now)))
        return _new_id(done.inserted_primary_key)


def list_orgs(db: Database) -> list[dict[str, Any]]:
    with reading(db) as conn:
        rows = conn.execute(select(organisations.c.id, organisations.c.name,
                                   organisations.c.created_at).order_by(organisations.c.id))
        return [dict(row._mapping) for row in rows]


def _org_id(conn: Connection, name: str) -> int | None:
    found = conn.execute(select(organisations.c.id).where(organisations.c.name == name))
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


def org_id(conn: Connection, name: str | None) -> int:
    """The id of the organisation named `name`; with no name, the only one there is."""
    if name is not None:
        found = _org_id(conn, name.strip())
        if found is None:
            raise StoreError(f"no organisation named {name!r} (kiosk-central list-orgs)")
        return found
    ids = conn.execute(select(organisations.c.id).limit(2)).scalars().all()
    if len(ids) != 1:
        raise StoreError("this server holds several organisations: name one with --org")
    return int(ids[0])


def site_key(db: Database, org: int) -> bytes | None:
    """The organisation's site key, None while it has none (see set_site_key)."""
    with reading(db) as conn:
        found = conn.execute(
            select(organisations.c.site_key).where(organisations.c.id == org)).scalar()
    return None if found is None else bytes.fromhex(found)


# --- shops ----------------------------------------------------------------------------------


def add_shop(db: Database, name: str, now: datetime, *, org: str | None = None) -> Shop:
    """A new shop of the organisation named `org` (or of the only one)."""
    name = check_name("shop", name)
    with writing(db) as conn:
        owner = org_id(conn, org)
        if _shop(conn, owner, name) is not None:
            raise StoreError(f"a shop named {name!r} exists already")
        done = conn.execute(insert(shops).values(org_id=owner, name=name, created_at=iso(now)))
        return Shop(_new_id(done.inserted_primary_key), owner, name)


def _shop(conn: Connection, org: int, name: str) -> Shop | None:
    row = conn.execute(select(shops.c.id).where(shops.c.org_id == org, shops.c.name == name)
                       ).first()
    return None if row is None else Shop(int(row.id), org, name)


def find_shop(conn: Connection, name: str | None, org: str | None = None) -> Shop:
    """The shop named `name` of the organisation; with no name, its only shop."""
    owner = org_id(conn, org)
    if name is not None:
        found = _shop(conn, owner, name.strip())
        if found is None:
            raise StoreError(f"no shop named {name!r} (kiosk-central add-shop NAME adds one)")
        return found
    rows = conn.execute(select(shops.c.id, shops.c.name).where(shops.c.org_id == owner)
                        .limit(2)).all()
    if len(rows) != 1:
        raise StoreError("name the kiosk's shop with --shop NAME (kiosk-central list-shops)"
                         if rows else "add a shop first: kiosk-central add-shop NAME")
    return Shop(int(rows[0].id), owner, str(rows[0].name))


def list_shops(db: Database, *, org: str | None = None) -> list[dict[str, Any]]:
    """Each shop of the organisation with its number of live kiosks."""
    with reading(db) as conn:
        owner = org_id(conn, org)
        live = (select(kiosks.c.shop_id, func.count().label("n"))
                .where(kiosks.c.revoked_at.is_(None)).group_by(kiosks.c.shop_id).subquery())
        rows = conn.execute(
            select(shops.c.id, shops.c.name, func.coalesce(live.c.n, 0).label("kiosks"))
            .outerjoin(live, live.c.shop_id == shops.c.id)
            .where(shops.c.org_id == owner).order_by(shops.c.name))
        return [dict(row._mapping) for row in rows]


def shop_of(db: Database, kiosk_id: str) -> Shop | None:
    """The shop a kiosk stands in, None for an unknown kiosk."""
    with reading(db) as conn:
        row = conn.execute(
            select(shops.c.id, shops.c.org_id, shops.c.name)
            .join(kiosks, kiosks.c.shop_id == shops.c.id).where(kiosks.c.id == kiosk_id)
        ).first()
    return None if row is None else Shop(int(row.id), int(row.org_id), str(row.name))


# --- kiosks and owner keys ------------------------------------------------------------------


def add_kiosk(db: Database, kiosk_id: str, now: datetime, *, shop: str | None = None,
              org: str | None = None) -> str:
    """Register a kiosk in a shop (or give a revoked one a new token); returns the token,
    shown once. Without `shop`, the organisation's only shop."""
    _check_id("kiosk", kiosk_id)
    if kiosk_id == CENTRAL:
        raise StoreError(f"kiosk {kiosk_id!r}: that name marks the central's own events; "
                         "choose another")
    secret = secrets.token_urlsafe(32)
    with writing(db) as conn:
        where = find_shop(conn, shop, org)
        _issue(conn, kiosks, "kiosk", kiosk_id, secret, now, shop_id=where.id)
    return secret


def revoke_kiosk(db: Database, kiosk_id: str, now: datetime) -> None:
    _revoke(db, kiosks, "kiosk", kiosk_id, now)


def list_kiosks(db: Database, *, org: str | None = None) -> list[dict[str, Any]]:
    """Every kiosk of the organisation, with its shop's name."""
    with reading(db) as conn:
        owner = org_id(conn, org)
        rows = conn.execute(
            select(kiosks.c.id, shops.c.name.label("shop"), kiosks.c.created_at,
                   kiosks.c.revoked_at)
            .join(shops, shops.c.id == kiosks.c.shop_id)
            .where(shops.c.org_id == owner).order_by(kiosks.c.id))
        return [dict(row._mapping) for row in rows]


def authenticate(db: Database, token: str) -> Kiosk | None:
    """The kiosk a live token belongs to, with its shop and organisation; else None."""
    digest = token_sha256(token)
    with reading(db) as conn:
        row = conn.execute(
            select(kiosks.c.id, kiosks.c.token_sha256, kiosks.c.shop_id, shops.c.org_id)
            .join(shops, shops.c.id == kiosks.c.shop_id)
            .where(kiosks.c.token_sha256 == digest, kiosks.c.revoked_at.is_(None))
        ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return Kiosk(str(row.id), int(row.shop_id), int(row.org_id))


def add_owner_key(db: Database, name: str, now: datetime, *, org: str | None = None) -> str:
    """A new owner API key of the organisation (or a new key for a revoked name), shown once."""
    _check_id("owner key", name)
    secret = secrets.token_urlsafe(32)
    with writing(db) as conn:
        _issue(conn, owner_keys, "owner key", name, secret, now, org_id=org_id(conn, org))
    return secret


def revoke_owner_key(db: Database, name: str, now: datetime) -> None:
    _revoke(db, owner_keys, "owner key", name, now)


def authenticate_owner(db: Database, key: str) -> Owner | None:
    """The live owner key `key` is, with its organisation; else None."""
    digest = token_sha256(key)
    with reading(db) as conn:
        row = conn.execute(
            select(owner_keys.c.id, owner_keys.c.token_sha256, owner_keys.c.org_id).where(
                owner_keys.c.token_sha256 == digest, owner_keys.c.revoked_at.is_(None))
        ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return Owner(str(row.id), int(row.org_id))


def _new_id(key: Any) -> int:
    assert key is not None  # an INSERT of one row names its new key
    return int(key[0])


def _check_id(what: str, name: str) -> None:
    if not KIOSK_ID.match(name):
        raise StoreError(f"{what} {name!r}: use 1 to 64 letters, digits, '.', '_' or '-'")


def _issue(conn: Connection, table: Table, what: str, name: str, secret: str, now: datetime,
           **owned_by: int) -> None:
    row = conn.execute(select(table.c.revoked_at).where(table.c.id == name)).first()
    values = {"token_sha256": token_sha256(secret), "created_at": iso(now),
              "revoked_at": None, **owned_by}
    if row is None:
        conn.execute(insert(table).values(id=name, **values))
    elif row.revoked_at is None:
        raise StoreError(f"{what} {name!r} already exists and is live; revoke it first")
    else:
        conn.execute(update(table).where(table.c.id == name).values(**values))


def _revoke(db: Database, table: Table, what: str, name: str, now: datetime) -> None:
    with writing(db) as conn:
        done = conn.execute(
            update(table)
            .where(table.c.id == name, table.c.revoked_at.is_(None))
            .values(revoked_at=iso(now))
        )
        if done.rowcount != 1:
            raise StoreError(f"no live {what} named {name!r}")

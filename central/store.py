"""Everything the server reads and writes, as portable SQLAlchemy Core queries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from central.cardcache import take_seq
from central.db import (
    Database,
    card_states,
    customers,
    erasing,
    events,
    programs,
    reading,
    writing,
)
from central.ingest import card_events, cards, current, iso, program_tz, rebuild
from central.orgs import (
    CENTRAL,
    Kiosk,
    Owner,
    Shop,
    StoreError,
    add_kiosk,
    add_org,
    add_owner_key,
    add_shop,
    authenticate,
    authenticate_owner,
    find_shop,
    list_kiosks,
    list_orgs,
    list_shops,
    org_id,
    revoke_kiosk,
    revoke_owner_key,
    shop_of,
    site_key,
)

# who is who lives in central.orgs; named here too, as every caller knows the store
__all__ = ["Kiosk", "Owner", "Shop", "StoreError", "add_kiosk", "add_org", "add_owner_key",
           "add_shop", "authenticate", "authenticate_owner", "find_shop", "list_kiosks", "list_orgs",
           "list_shops", "org_id", "revoke_kiosk", "revoke_owner_key", "shop_of", "site_key",
           "CENTRAL"]


# --- the program -------------------------------------------------------------------------


def current_program(db: Database, org: int, shop: int | None = None
                    ) -> tuple[str, dict[str, Any]] | None:
    """(version tag, program fields) of the program a kiosk of `shop` runs (the shop's own,
    else the organisation's); with no shop, the organisation's. None before one is set."""
    with reading(db) as conn:
        return current(conn, org, shop)


def set_program(db: Database, fields: dict[str, Any], now: datetime, *,
                org: str | None = None, shop: str | None = None) -> bool:
    """Make a checked program current for the organisation (or for one of its shops);
    False if it already was. A version tag names one program of the organisation for
    ever, so reusing a tag for other content is refused."""
    body = json.dumps(fields, sort_keys=True)
    version = fields["version"]
    with writing(db) as conn:
        owner = org_id(conn, org)
        shop_id = None if shop is None else find_shop(conn, shop, org).id
        row = conn.execute(select(programs.c.body, programs.c.shop_id).where(
            programs.c.org_id == owner, programs.c.version == version)).first()
        if row is not None:
            if json.loads(row.body) != fields:
                raise StoreError(
                    f"version {version!r} already names another program; "
                    "give this one a new version"
                )
            if row.shop_id == shop_id and (_own(conn, owner, shop_id) or ("",))[0] == version:
                return False
            # going back to an older program: re-issue it under its own tag
            conn.execute(delete(programs).where(programs.c.org_id == owner,
                                                programs.c.version == version))
        old_tz = program_tz(current(conn, owner))
        conn.execute(insert(programs).values(org_id=owner, shop_id=shop_id, version=version,
                                             body=body, set_at=iso(now)))
        new_tz = program_tz(current(conn, owner))
        if new_tz != old_tz:
            rebuild(conn, owner, new_tz)  # stamp days are counted in the program's time zone
    return True


def _own(conn: Any, org: int, shop: int | None) -> tuple[str, dict[str, Any]] | None:
    """The newest program set for exactly this shop (None: the organisation's own)."""
    row = conn.execute(
        select(programs.c.version, programs.c.body)
        .where(programs.c.org_id == org,
               programs.c.shop_id.is_(None) if shop is None else programs.c.shop_id == shop)
        .order_by(programs.c.n.desc()).limit(1)).first()
    return None if row is None else (row.version, json.loads(row.body))


def event_count(db: Database, org: int | None = None) -> int:
    """Events stored (of one organisation, or of all)."""
    query = select(func.count()).select_from(events)
    if org is not None:
        query = query.where(events.c.org_id == org)
    with reading(db) as conn:
        return int(conn.execute(query).scalar_one())


# --- customers ---------------------------------------------------------------------------


def set_customer(
    db: Database, org: int, card_ref: str, details: Mapping[str, Any], now: datetime
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
            update(customers).where(*_card(org, card_ref)).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(customers).values(org_id=org, card_ref=card_ref, **values))
        card_changed(conn, org, card_ref)
        # the whole record, with what the customer set on their card's page
        row = conn.execute(select(customers).where(*_card(org, card_ref))).one()
    found = dict(row._mapping)
    del found["org_id"]
    return found


def card_changed(conn: Connection, org: int, card_ref: str) -> None:
    """Count a card as changed (its customer did): kiosks pull it again, and greet or
    forget the person. Its row is locked before the organisation's sequence, in the
    writers' order."""
    where = (card_states.c.org_id == org, card_states.c.card_ref == card_ref)
    if conn.execute(select(card_states.c.changed).where(*where).with_for_update()).first():
        (xid, number), = take_seq(conn, org, 1)
        conn.execute(update(card_states).where(*where).values(changed=number, changed_xid=xid))


def _card(org: int, card_ref: str) -> tuple[Any, Any]:
    return customers.c.org_id == org, customers.c.card_ref == card_ref


def customer(db: Database, org: int, card_ref: str) -> dict[str, Any] | None:
    with reading(db) as conn:
        row = conn.execute(select(customers).where(*_card(org, card_ref))).first()
    if row is None:
        return None
    found = dict(row._mapping)
    del found["org_id"]
    return found


def erase_customer(db: Database, org: int, card_ref: str) -> bool:
    """Forget the person behind a card; its events stay as anonymous counts."""
    with erasing(db) as conn:
        done = conn.execute(delete(customers).where(*_card(org, card_ref)))
        card_changed(conn, org, card_ref)
    db.flush_erased()
    return done.rowcount > 0


def export_customer(db: Database, org: int, card_ref: str) -> dict[str, Any] | None:
    """All the server holds about one card: the person (if any), the card, its events."""
    person = customer(db, org, card_ref)
    found = cards(db, org, [card_ref])
    if person is None and not found:
        return None
    return {
        "card_ref": card_ref,
        "customer": person,
        "card": found.get(card_ref),
        "events": card_events(db, org, card_ref),
    }

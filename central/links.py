"""Cards' own page links and referral codes, as the central keeps them.

A link is known by its token's digest only (kiosk.core.cardlink). Kiosks send it in the
`card_link` event of an enrolment; `take_links` files it in the same transaction as the
event, so a retried upload files it once. A card holds one live link at a time: a second
card_link for a card whose link is live is stored as an event but opens nothing (a stolen
kiosk cannot take over the page of a card that has one). The owner revokes a link
(`kiosk-central card-link --revoke`) and may issue a new one; so may the customer
(revoking from the page).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from central.db import Database, card_links, reading, referral_codes, writing
from kiosk.core.cardlink import TOKEN_BYTES, is_token, link_digest, token_from
from kiosk.core.events import Event, EventKind

# no 0/O, 1/I/L: a friend may type the code from a screen
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _live(conn: Connection, org: int, card_ref: str) -> bool:
    found = conn.execute(select(card_links.c.token_sha256).where(
        card_links.c.org_id == org, card_links.c.card_ref == card_ref,
        card_links.c.revoked_at.is_(None)).limit(1))
    return found.first() is not None


def take_links(conn: Connection, org: int, new: Sequence[Event]) -> int:
    """File the links of newly stored card_link events (inside the upload's transaction);
    returns how many now open a page."""
    filed = 0
    for event in new:
        if event.kind is not EventKind.CARD_LINK or not event.reward_id:
            continue
        if _live(conn, org, event.card_ref):
            continue
        taken = conn.execute(select(card_links.c.card_ref).where(
            card_links.c.token_sha256 == event.reward_id)).first()
        if taken is not None:
            continue
        conn.execute(insert(card_links).values(
            token_sha256=event.reward_id, org_id=org, card_ref=event.card_ref,
            created_at=iso(event.occurred_at), revoked_at=None))
        filed += 1
    return filed


def card_of(db: Database, token: str) -> tuple[int, str] | None:
    """(organisation, card) a live link opens, else None (unknown, revoked or malformed
    alike)."""
    if not is_token(token):
        return None
    with reading(db) as conn:
        row = conn.execute(select(card_links.c.org_id, card_links.c.card_ref).where(
            card_links.c.token_sha256 == link_digest(token),
            card_links.c.revoked_at.is_(None))).first()
    return None if row is None else (int(row.org_id), str(row.card_ref))


def revoke(db: Database, org: int, card_ref: str, now: datetime) -> int:
    """Revoke every live link of a card; returns how many were live."""
    with writing(db) as conn:
        done = conn.execute(update(card_links).where(
            card_links.c.org_id == org, card_links.c.card_ref == card_ref,
            card_links.c.revoked_at.is_(None)
        ).values(revoked_at=iso(now)))
    return int(done.rowcount)


def issue(db: Database, org: int, card_ref: str, now: datetime) -> str:
    """A new link for a card (its live ones revoked): the token, shown once."""
    token = token_from(secrets.token_bytes(TOKEN_BYTES))
    with writing(db) as conn:
        conn.execute(update(card_links).where(
            card_links.c.org_id == org, card_links.c.card_ref == card_ref,
            card_links.c.revoked_at.is_(None)
        ).values(revoked_at=iso(now)))
        conn.execute(insert(card_links).values(
            token_sha256=link_digest(token), org_id=org, card_ref=card_ref, created_at=iso(now),
            revoked_at=None))
    return token


def referral_code(db: Database, org: int, card_ref: str) -> str:
    """The card's referral code, made at its first use."""
    with reading(db) as conn:
        row = conn.execute(select(referral_codes.c.code).where(
            referral_codes.c.org_id == org, referral_codes.c.card_ref == card_ref)).first()
    if row is not None:
        return str(row.code)
    with writing(db) as conn:
        row = conn.execute(select(referral_codes.c.code).where(
            referral_codes.c.org_id == org, referral_codes.c.card_ref == card_ref)).first()
        if row is not None:  # another request made it meanwhile
            return str(row.code)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        conn.execute(insert(referral_codes).values(code=code, org_id=org, card_ref=card_ref))
    return code


def code_holder(db: Database, code: str) -> tuple[int, str] | None:
    """(organisation, card) a referral code belongs to, else None."""
    wanted = code.strip().upper()
    if len(wanted) != CODE_LENGTH or not set(wanted) <= set(CODE_ALPHABET):
        return None
    with reading(db) as conn:
        row = conn.execute(select(referral_codes.c.org_id, referral_codes.c.card_ref).where(
            referral_codes.c.code == wanted)).first()
    return None if row is None else (int(row.org_id), str(row.card_ref))


def referrer_of(db: Database, org: int, code: str) -> str | None:
    """The card of the organisation a referral code belongs to, else None."""
    found = code_holder(db, code)
    return found[1] if found is not None and found[0] == org else None

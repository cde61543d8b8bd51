"""Cards' own page links and referral codes, as the central keeps them.

A link is known by its token's digest only (kiosk.core.cardlink). Kiosks send it in a
`card_link` event (at enrolment, after a revocation, or on a second tap where the kiosk
holds none); `take_links` files it in the same transaction as the event, so a retried
upload files it once. A card holds one live link at a time. A card_link for a card that
had a link before replaces it (the old one stops) only when
- it is dated within REISSUE_AFTER before it arrives, and the live link (if any) is at
  least REISSUE_AFTER older than it: a copied UID or a curious hand gets a new link at
  most once a week, and an old event replayed takes nothing over;
- its kiosk filed fewer than REPLACEMENTS_PER_KIOSK replacements dated in the last
  REISSUE_AFTER: a stolen kiosk cannot take over every card's page;
otherwise it is stored as an event and opens nothing.

A link filed while the card holds a customer's details (first name, birthday, e-mail,
consent) is *limited*: its page shows the card (stamps, rewards, visits) but neither those
details nor their export or erasure, since whoever held the card at a counter may be
someone with a copy of its UID. A limited link opens them again once the card holds no
details (the customer may then give theirs, which the link then owns), or the owner gives
the card a full link (`kiosk-central card-link CARD --base-url ...`).

A revocation (the owner's `card-link --revoke`, or the customer's own page) is also a
`link_revoked` event made by the central: kiosks learn from the card's state that its
link is gone, and its next tap writes a new one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from central.db import Database, card_links, customers, reading, referral_codes, writing
from kiosk.core.cardlink import REISSUE_AFTER, TOKEN_BYTES, is_token, link_digest, token_from
from kiosk.core.events import CardState, Change, Event, EventKind

# replacements one kiosk may file per REISSUE_AFTER (dated by their events): a busy shop
# re-links a few cards a day; a stolen kiosk's token gets no further than this
REPLACEMENTS_PER_KIOSK = 200

# no 0/O, 1/I/L: a friend may type the code from a screen
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _card(org: int, card_ref: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return card_links.c.org_id == org, card_links.c.card_ref == card_ref


def holds_details(conn: Connection, org: int, card_ref: str) -> bool:
    """Whether the card holds any detail its customer gave (a limited link hides them)."""
    given = or_(customers.c.first_name.is_not(None), customers.c.birthday.is_not(None),
                customers.c.email.is_not(None), customers.c.consent_week.is_(True))
    return conn.execute(select(customers.c.card_ref).where(
        customers.c.org_id == org, customers.c.card_ref == card_ref, given)).first() is not None


def _replaces(conn: Connection, org: int, event: Event, now: datetime) -> bool:
    """Whether a card_link for a card that had a link before may replace it."""
    if event.occurred_at < now - REISSUE_AFTER:
        return False
    live = conn.execute(select(card_links.c.created_at).where(
        *_card(org, event.card_ref), card_links.c.revoked_at.is_(None))).first()
    if live is not None and live.created_at > iso(event.occurred_at - REISSUE_AFTER):
        return False
    filed = conn.execute(select(func.count()).select_from(card_links).where(
        card_links.c.org_id == org, card_links.c.kiosk_id == event.kiosk_id,
        card_links.c.replacing.is_(True),
        card_links.c.created_at >= iso(now - REISSUE_AFTER))).scalar_one()
    return int(filed) < REPLACEMENTS_PER_KIOSK


def take_links(conn: Connection, org: int, new: Sequence[Event], now: datetime | None = None
               ) -> int:
    """File the links of newly stored card_link events (inside the upload's transaction),
    received at `now`; returns how many now open a page."""
    filed = 0
    for event in new:
        if event.kind is not EventKind.CARD_LINK or not event.reward_id:
            continue
        taken = conn.execute(select(card_links.c.card_ref).where(
            card_links.c.token_sha256 == event.reward_id)).first()
        if taken is not None:
            continue
        had = conn.execute(select(card_links.c.token_sha256).where(
            *_card(org, event.card_ref)).limit(1)).first() is not None
        if had and not _replaces(conn, org, event, now or event.occurred_at):
            continue
        conn.execute(update(card_links).where(
            *_card(org, event.card_ref), card_links.c.revoked_at.is_(None)
        ).values(revoked_at=iso(event.occurred_at)))
        conn.execute(insert(card_links).values(
            token_sha256=event.reward_id, org_id=org, card_ref=event.card_ref,
            created_at=iso(event.occurred_at), revoked_at=None, kiosk_id=event.kiosk_id,
            replacing=had, limited=holds_details(conn, org, event.card_ref)))
        filed += 1
    return filed


@dataclass(frozen=True)
class Link:
    """What a live link opens: its organisation's card, and whether it is limited."""

    org: int
    card_ref: str
    limited: bool


def find(db: Database, token: str) -> Link | None:
    """The live link of a token, else None (unknown, revoked or malformed alike)."""
    if not is_token(token):
        return None
    with reading(db) as conn:
        row = conn.execute(select(
            card_links.c.org_id, card_links.c.card_ref, card_links.c.limited).where(
            card_links.c.token_sha256 == link_digest(token),
            card_links.c.revoked_at.is_(None))).first()
    return None if row is None else Link(int(row.org_id), str(row.card_ref), bool(row.limited))


def card_of(db: Database, token: str) -> tuple[int, str] | None:
    """(organisation, card) a live link opens, else None (unknown, revoked or malformed
    alike)."""
    found = find(db, token)
    return None if found is None else (found.org, found.card_ref)


def shows_details(db: Database, link: Link) -> bool:
    """Whether a link's page shows (and lets the customer change) the card's details."""
    if not link.limited:
        return True
    with reading(db) as conn:
        return not holds_details(conn, link.org, link.card_ref)


def own_details(db: Database, token: str) -> None:
    """The customer gave their details through this (limited) link: it now shows them."""
    with writing(db) as conn:
        conn.execute(update(card_links).where(
            card_links.c.token_sha256 == link_digest(token)).values(limited=False))


def _by_central(db: Database, org: int, card_ref: str, now: datetime, token: str | None
                ) -> int:
    """Revoke the card's live links and record what kiosks must learn of it, in one
    transaction: `link_revoked` (covering the links the card's fold counts) or, with
    `token`, the owner's new link as a card_link event (kiosks then write none)."""
    from central import made  # made -> ingest -> links: imported when a link changes

    revoked = 0

    def decide(conn: Connection, _program: Mapping[str, object] | None,
               folds: Mapping[str, CardState]) -> list[tuple[str, Change]]:
        nonlocal revoked
        done = conn.execute(update(card_links).where(
            *_card(org, card_ref), card_links.c.revoked_at.is_(None)
        ).values(revoked_at=iso(now)))
        revoked = int(done.rowcount)
        if token is not None:
            conn.execute(insert(card_links).values(
                token_sha256=link_digest(token), org_id=org, card_ref=card_ref,
                created_at=iso(now), revoked_at=None, kiosk_id=None, replacing=False,
                limited=False))
            return [(card_ref, Change(EventKind.CARD_LINK, 0, link_digest(token)))]
        if not revoked or not folds[card_ref].enrolled:
            return []
        return [(card_ref, Change(EventKind.LINK_REVOKED, 0, str(folds[card_ref].links)))]

    made.make(db, org, [card_ref], decide, now)
    return revoked


def revoke(db: Database, org: int, card_ref: str, now: datetime) -> int:
    """Revoke every live link of a card (its next tap at a kiosk writes a new one);
    returns how many were live."""
    return _by_central(db, org, card_ref, now, None)


def issue(db: Database, org: int, card_ref: str, now: datetime) -> str:
    """A new full link for a card (its live ones revoked): the token, shown once."""
    token = token_from(secrets.token_bytes(TOKEN_BYTES))
    _by_central(db, org, card_ref, now, token)
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

"""What a customer does from their card's page that becomes events: a referral, a gift.

The decisions are central.referral's (pure); the writing is central.made's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from central import made
from central import program as programs
from central.db import Database, events, reading, referrals
from central.ingest import iso
from central.links import referrer_of
from central.referral import Referrals, Refusal, donate, refer
from kiosk.core.events import CardState, Change, EventKind
from kiosk.core.program import Program


def program_from(fields: Mapping[str, Any] | None) -> Program | None:
    return None if fields is None else programs.section(dict(fields)).to_program()


def _stored(conn: Connection, org: int, new_ref: str, referrer: str) -> Referrals:
    def one(query: Any) -> int:
        return int(conn.execute(query).scalar_one())
    count = select(func.count()).select_from(referrals).where(referrals.c.org_id == org)
    return Referrals(
        new_card_referred=one(count.where(referrals.c.card_ref == new_ref)) > 0,
        referrer_count=one(count.where(referrals.c.referrer_ref == referrer)),
        referrer_brought_by_new=one(count.where(referrals.c.card_ref == referrer,
                                                referrals.c.referrer_ref == new_ref)) > 0,
    )


def take_referral(db: Database, org: int, new_ref: str, code: str, now: datetime) -> int:
    """Link the new card to the referrer its code names and give both the bonus; returns
    the bonus. Raises Refusal naming why not (nothing is written then)."""
    referrer = referrer_of(db, org, code)
    if referrer is None:
        raise Refusal("unknown_code", "no card has this referral code: check it with "
                      "your friend")

    def decide(conn: Connection, fields: Mapping[str, object] | None,
               folds: Mapping[str, CardState]) -> list[tuple[str, Change]]:
        program = program_from(fields)
        for_new, for_referrer = refer(program, folds[new_ref], folds[referrer],
                                      _stored(conn, org, new_ref, referrer), now)
        # the primary key on the new card makes a second referral of it fail here
        conn.execute(insert(referrals).values(org_id=org, card_ref=new_ref,
                                              referrer_ref=referrer, linked_at=iso(now)))
        return [*((new_ref, c) for c in for_new), *((referrer, c) for c in for_referrer)]

    return made.make(db, org, [new_ref, referrer], decide, now)[0].delta


def give_voucher(db: Database, org: int, card_ref: str, reward_id: str, now: datetime) -> None:
    """Give one voucher to the shop's cause; Refusal naming why not."""

    def decide(_conn: Connection, fields: Mapping[str, object] | None,
               folds: Mapping[str, CardState]) -> list[tuple[str, Change]]:
        return [(card_ref, donate(program_from(fields), folds[card_ref], reward_id))]

    made.make(db, org, [card_ref], decide, now)


def card_donations(db: Database, org: int, card_ref: str) -> int:
    """Vouchers this card gave to the cause."""
    with reading(db) as conn:
        return int(conn.execute(select(func.count()).select_from(events).where(
            events.c.org_id == org, events.c.card_ref == card_ref, events.c.kind == EventKind.DONATED.value,
            events.c.held_reason.is_(None))).scalar_one())


def referred_by(db: Database, org: int, card_ref: str) -> bool:
    with reading(db) as conn:
        return conn.execute(select(referrals.c.referrer_ref).where(
            referrals.c.org_id == org, referrals.c.card_ref == card_ref)).first() is not None


def friends_brought(db: Database, org: int, card_ref: str) -> int:
    with reading(db) as conn:
        return int(conn.execute(select(func.count()).select_from(referrals).where(
            referrals.c.org_id == org, referrals.c.referrer_ref == card_ref)).scalar_one())

"""Finding a customer for the owner's Customers page: by first name (only people who
consented have one stored) or by the last characters of a card's ref (what a card's
own page and the kiosk's staff screen show). Always within one organisation; a shop's
manager finds only the cards that visited their shop."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Connection

from central.db import Database, card_states, customers, events, kiosks, reading

MAX_RESULTS = 50
MIN_REF_END = 4  # fewer hex characters would match a crowd of cards
MAX_QUERY = 60
_HEX = re.compile(r"^[0-9a-f]+$")


class BadSearch(ValueError):
    """A search that cannot be run; the message says what to type instead."""


@dataclass(frozen=True)
class Found:
    card_ref: str
    first_name: str | None


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _seen_at(org: int, shop: int, ref: Any) -> Any:
    """A card of `org` has visited a kiosk of `shop` (a manager sees only those)."""
    return exists().where(events.c.org_id == org, events.c.card_ref == ref,
                          events.c.kiosk_id == kiosks.c.id, kiosks.c.shop_id == shop)


def seen_at(db: Database, org: int, shop: int, card_ref: str) -> bool:
    """Whether the card has visited one of the shop's kiosks."""
    with reading(db) as conn:
        return bool(conn.execute(select(_seen_at(org, shop, card_ref))).scalar())


def search(db: Database, org: int, query: str, shop: int | None = None) -> list[Found]:
    """Cards of `org` whose ref ends with `query` (hex), and consenting customers whose
    first name starts with it; at most MAX_RESULTS, names first. With a `shop`, only the
    cards that visited it."""
    wanted = query.strip()
    if not wanted:
        return []
    if len(wanted) > MAX_QUERY:
        raise BadSearch(f"type at most {MAX_QUERY} characters")
    found: dict[str, Found] = {}
    with reading(db) as conn:
        mine = [] if shop is None else [_seen_at(org, shop, customers.c.card_ref)]
        named = conn.execute(
            select(customers.c.card_ref, customers.c.first_name)
            .where(customers.c.org_id == org, customers.c.consent.is_(True), *mine,
                   func.lower(customers.c.first_name).like(
                       _like_escaped(wanted.lower()) + "%", escape="\\"))
            .order_by(customers.c.first_name, customers.c.card_ref).limit(MAX_RESULTS))
        for row in named:
            found[row.card_ref] = Found(row.card_ref, row.first_name)
        end = wanted.lower()
        if _HEX.match(end) and len(end) >= MIN_REF_END:
            mine = [] if shop is None else [_seen_at(org, shop, card_states.c.card_ref)]
            refs = conn.execute(
                select(card_states.c.card_ref).where(
                    card_states.c.org_id == org, card_states.c.card_ref.like("%" + end), *mine)
                .order_by(card_states.c.card_ref).limit(MAX_RESULTS))
            names = _names(conn, org, [row.card_ref for row in refs])
            for ref, name in names.items():
                found.setdefault(ref, Found(ref, name))
    return list(found.values())[:MAX_RESULTS]


def _names(conn: Connection, org: int, refs: list[str]) -> dict[str, str | None]:
    if not refs:
        return {}
    rows = conn.execute(
        select(customers.c.card_ref, customers.c.first_name)
        .where(customers.c.org_id == org, customers.c.card_ref.in_(refs),
               customers.c.consent.is_(True)))
    people = {row.card_ref: row.first_name for row in rows}
    return {ref: people.get(ref) for ref in refs}

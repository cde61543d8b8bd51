"""Who the messages may reach: the customers table read as `Recipient`s. Only what each
customer agreed to is read (their address, the purposes they ticked, a birthday they
gave); an address that bounced for good makes them unreachable."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from central.consent import EMAIL_PURPOSES, LANGUAGES, Purpose, column
from central.contact import withdraw_on
from central.db import customers
from central.messages.outbox import address_sha256, bounced
from central.messages.rules import Kind, Recipient

# which consent each kind of message needs (central.consent says what each purpose means)
PURPOSE_OF: Mapping[Kind, Purpose] = {
    Kind.EXPIRY: Purpose.REMINDERS,
    Kind.TIER: Purpose.REMINDERS,
    Kind.BIRTHDAY: Purpose.OFFERS,
    Kind.WINBACK: Purpose.OFFERS,
    Kind.BOOSTER: Purpose.OFFERS,
}


def _recipient(row: Any, refused: set[str], language: str) -> Recipient:
    """A customer as the messages see them; `language`: the shop's, for a customer who
    chose none on their card's page."""
    found = row._mapping
    allowed = frozenset(k for k, p in PURPOSE_OF.items() if found[column(p)])
    given = bool(found["consent"])
    birthday = date.fromisoformat(found["birthday"]) if given and found["birthday"] else None
    address = found["email"]
    return Recipient(
        card_ref=found["card_ref"], address=address, allowed=allowed,
        language=found["lang"] if found["lang"] in LANGUAGES else language,
        first_name=found["first_name"] if given else None, birthday=birthday,
        bounced=address is not None and address_sha256(address) in refused)


def recipients(conn: Connection, org: int, language: str) -> dict[str, Recipient]:
    """Every customer of the organisation who gave an address for at least one kind of
    e-mail, by card."""
    wanted = or_(*(customers.c[column(p)].is_(True) for p in sorted(EMAIL_PURPOSES)))
    rows = conn.execute(select(customers).where(customers.c.org_id == org,
                                                customers.c.email.is_not(None), wanted)).all()
    refused = bounced(conn)
    return {row.card_ref: _recipient(row, refused, language) for row in rows}


def withdraw(conn: Connection, org: int, card_ref: str, kind: Kind, now: datetime) -> None:
    """The one-click unsubscribe: the consent a kind of message was sent under is
    withdrawn; an address left without any e-mail purpose goes with it."""
    withdraw_on(conn, org, card_ref, PURPOSE_OF[kind], now)


def recipient(conn: Connection, org: int, card_ref: str, language: str) -> Recipient | None:
    """One customer as they stand now (consent is read again just before sending)."""
    row = conn.execute(select(customers).where(customers.c.org_id == org,
                                               customers.c.card_ref == card_ref)).first()
    return None if row is None else _recipient(row, bounced(conn), language)

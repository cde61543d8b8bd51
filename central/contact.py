"""A customer's own details and consent, as they set them on their card's page.

What each purpose means is in `central.consent`. The owner's API (`store.set_customer`)
still sets first name, birthday and the kiosk consent; this module adds the e-mail address
and the consent per purpose, which only the customer gives (through their card's link) and
which anyone may withdraw (an unsubscribe link, the owner on request).

For the messages: `recipients(db, purpose)` lists who may be written to for a purpose, and
`withdraw(db, card_ref, purpose, now)` is the one-click unsubscribe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from central.consent import (
    EMAIL_PURPOSES,
    LANGUAGES,
    Purpose,
    column,
    email_problem,
    normal_email,
)
from central.db import Database, customers, erasing, reading
from central.ingest import iso
from central.store import card_changed
from central.validate import customer_problem


class ContactError(ValueError):
    """Details the customer gave that cannot be kept as they are (the message names why)."""


@dataclass(frozen=True)
class Contact:
    """Everything a customer chose to give on their card's page; None/False when not."""

    first_name: str | None = None
    birthday: date | None = None
    email: str | None = None
    purposes: frozenset[Purpose] = frozenset()
    lang: str | None = None  # the language of their messages (LANGUAGES); None: the shop's

    def problem(self, today: date) -> str | None:
        """Why these details cannot be kept, or None."""
        if self.lang is not None and self.lang not in LANGUAGES:
            return "language: choose français or English"
        found = customer_problem(self.first_name, self.birthday, True, today)
        if found is not None:
            return found
        if self.email is not None:
            if not self.purposes & EMAIL_PURPOSES:
                return ("an e-mail address is kept only for the e-mails you tick: tick one, "
                        "or leave the address empty")
            return email_problem(self.email)
        if self.purposes & EMAIL_PURPOSES:
            return "to receive e-mails, give your e-mail address"
        if Purpose.WEEK in self.purposes and not self.first_name:
            return "to be shown as customer of the week, give your first name"
        return None


def set_contact(db: Database, org: int, card_ref: str, contact: Contact, now: datetime
                ) -> dict[str, Any]:
    """Keep exactly what the customer gave (replacing what was there); returns the record.

    Raises ContactError naming the field when something cannot be kept; nothing is
    written then."""
    problem = contact.problem(now.date())
    if problem is not None:
        raise ContactError(problem)
    values: dict[str, Any] = {
        "first_name": contact.first_name,
        "birthday": None if contact.birthday is None else contact.birthday.isoformat(),
        # the kiosks greet and give the birthday bonus from what the customer gave here
        "consent": contact.first_name is not None or contact.birthday is not None,
        "email": None if contact.email is None else normal_email(contact.email),
        "updated_at": iso(now),
        "consent_at": iso(now),
        "lang": contact.lang,
        **{column(p): p in contact.purposes for p in Purpose},
    }
    with erasing(db) as conn:
        done = conn.execute(
            update(customers).where(*_card(org, card_ref)).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(customers).values(org_id=org, card_ref=card_ref, **values))
        card_changed(conn, org, card_ref)  # kiosks pull it again: greet or forget the name
    return {"card_ref": card_ref, **values}


def _card(org: int, card_ref: str) -> tuple[Any, Any]:
    return customers.c.org_id == org, customers.c.card_ref == card_ref


def contact_of(db: Database, org: int, card_ref: str) -> Contact:
    """What the customer behind a card gave (an empty Contact when nothing)."""
    with reading(db) as conn:
        row = conn.execute(select(customers).where(*_card(org, card_ref))).first()
    if row is None:
        return Contact()
    found = row._mapping
    return Contact(
        first_name=found["first_name"] if found["consent"] else None,
        birthday=(date.fromisoformat(found["birthday"])
                  if found["consent"] and found["birthday"] else None),
        email=found["email"],
        purposes=frozenset(p for p in Purpose if found[column(p)]),
        lang=found["lang"] if found["lang"] in LANGUAGES else None,
    )


def recipients(db: Database, org: int, purpose: Purpose) -> list[dict[str, Any]]:
    """The customers who agreed to `purpose`, with what a message may use: card_ref,
    e-mail (None for a purpose that sends none) and first name (None unless given)."""
    consent = customers.c[column(purpose)]
    query = select(customers.c.card_ref, customers.c.email, customers.c.first_name,
                   customers.c.consent).where(customers.c.org_id == org, consent.is_(True))
    if purpose in EMAIL_PURPOSES:
        query = query.where(customers.c.email.is_not(None))
    with reading(db) as conn:
        rows = conn.execute(query.order_by(customers.c.card_ref)).all()
    return [{"card_ref": r.card_ref, "email": r.email,
             "first_name": r.first_name if r.consent else None} for r in rows]


def withdraw(db: Database, org: int, card_ref: str, purpose: Purpose, now: datetime) -> bool:
    """Withdraw one consent (an unsubscribe); False when it was not given. An address left
    with no e-mail purpose is erased with it."""
    with erasing(db) as conn:
        done = withdraw_on(conn, org, card_ref, purpose, now)
    db.flush_erased()
    return done


def withdraw_on(conn: Connection, org: int, card_ref: str, purpose: Purpose, now: datetime
                ) -> bool:
    """`withdraw` inside the caller's transaction (the messages' one-click unsubscribe)."""
    done = conn.execute(
        update(customers)
        .where(*_card(org, card_ref), customers.c[column(purpose)].is_(True))
        .values({column(purpose): False, "consent_at": iso(now), "updated_at": iso(now)}))
    if done.rowcount and purpose in EMAIL_PURPOSES:
        still = [customers.c[column(p)].is_(False) for p in EMAIL_PURPOSES]
        conn.execute(update(customers)
                     .where(*_card(org, card_ref), *still)
                     .values(email=None))
    return bool(done.rowcount)


def purposes_from(form: Mapping[str, Any]) -> frozenset[Purpose]:
    """The purposes ticked in a form (a box per purpose, named after it)."""
    return frozenset(p for p in Purpose if form.get(p.value) in ("on", "1", "true", True))

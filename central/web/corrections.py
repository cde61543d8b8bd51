"""Corrections the owner makes from a card's page: an adjustment by hand and a lost card
replaced. The decisions are the kiosk's own (`kiosk.core.corrections`, the rules of
`kiosk adjust` and `kiosk replace`); the events are the central's (`central.made`), so
kiosks receive them in the card states they pull, like any kiosk's events.

The form checks are pure: what the owner typed -> values, or problems by field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Connection

from central import made
from central.card_actions import program_from
from central.db import Database, accounts, card_states, events, kiosks, reading
from kiosk.core.corrections import REASON, decide_adjust, decide_replace
from kiosk.core.events import MAX_DELTA, CardState, Change, EventKind
from kiosk.core.outcome import Adjusted, Refused, Replaced
from kiosk.core.program import Program
from kiosk.core.wire import digits_only

NEW_CARDS_SINCE = timedelta(hours=24)  # how far back the replacement form lists new cards
NEW_CARDS_SHOWN = 20
MIN_END, MAX_END = 4, 64  # hex characters of a card's number the owner may type
HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class AdjustForm:
    """An adjustment as typed: its values when every field is fine, else `problems`
    (field -> the i18n key of what to fix)."""

    delta: int = 0
    reason: str = ""
    problems: Mapping[str, str] = field(default_factory=dict)


def adjust_form(delta_text: str, reason_text: str) -> AdjustForm:
    """Check the two fields of the adjustment form (bounds: the events' own)."""
    problems: dict[str, str] = {}
    cleaned = delta_text.strip().replace("\u2212", "-").replace(" ", "")
    digits = cleaned.removeprefix("+").removeprefix("-")
    delta = 0
    if not digits_only(digits) or len(digits) > 5 or cleaned.startswith("+-"):
        problems["delta"] = "fix_delta_bad"
    else:
        delta = int(cleaned)
        if delta == 0 or not -MAX_DELTA <= delta <= MAX_DELTA:
            problems["delta"] = "fix_delta_bad"
    reason = " ".join(reason_text.split())
    if not reason:
        problems["reason"] = "fix_reason_missing"
    elif REASON.problem("reason", reason) is not None or not reason.isprintable():
        problems["reason"] = "fix_reason_long"
    return AdjustForm(delta, reason, problems)


def card_end_problem(typed: str) -> str | None:
    """Why the typed end of a card's number cannot name a card (an i18n key), or None."""
    end = typed.strip().lower()
    if not MIN_END <= len(end) <= MAX_END or not set(end) <= HEX:
        return "fix_new_end_bad"
    return None


def _program(fields: Mapping[str, object] | None) -> Program:
    return program_from(fields) or Program()  # before any program: the kiosk's defaults


def adjust(db: Database, org: int, ref: str, delta: int, reason: str, account_id: int,
           now: datetime) -> Adjusted | Refused:
    """Record the adjustment the kiosk's rules allow on the card's fold at the central,
    as the account's; a refusal records nothing."""
    outcome: list[Adjusted | Refused] = []

    def decide(_conn: Connection, fields: Mapping[str, object] | None,
               folds: Mapping[str, CardState]) -> list[tuple[str, Change]]:
        outcome.append(decide_adjust(_program(fields), folds[ref], delta, reason, now))
        decided = outcome[-1]
        return [] if isinstance(decided, Refused) else [(ref, c) for c in decided.changes]

    made.make(db, org, [ref], decide, now, made.account_ref(account_id))
    return outcome[-1]


def replace(db: Database, org: int, old: str, new: str, merge: bool, account_id: int,
            now: datetime) -> Replaced | Refused:
    """Move the lost card's balance and vouchers to `new` and block it, in one
    transaction, as the account's; a refusal records nothing."""
    outcome: list[Replaced | Refused] = []

    def decide(_conn: Connection, fields: Mapping[str, object] | None,
               folds: Mapping[str, CardState]) -> list[tuple[str, Change]]:
        outcome.append(decide_replace(_program(fields), folds[old], folds[new], now, merge))
        decided = outcome[-1]
        if isinstance(decided, Refused):
            return []
        return [*((old, c) for c in decided.old_changes), *((new, c) for c in decided.changes)]

    made.make(db, org, [old, new], decide, now, made.account_ref(account_id))
    return outcome[-1]


@dataclass(frozen=True)
class NewCard:
    """A card first seen lately: a candidate for the lost card's replacement."""

    card_ref: str
    first_seen: str  # ISO 8601 UTC
    kiosk_id: str


def _at_shop(org: int, shop: int | None, ref: Any) -> list[Any]:
    """A manager's cards: those that visited one of their shop's kiosks."""
    if shop is None:
        return []
    return [exists().where(events.c.org_id == org, events.c.card_ref == ref,
                           events.c.kiosk_id == kiosks.c.id, kiosks.c.shop_id == shop)]


def new_cards(db: Database, org: int, shop: int | None, other_than: str, now: datetime
              ) -> list[NewCard]:
    """Cards enrolled in the last NEW_CARDS_SINCE (for a manager, cards seen at their
    shop), newest first: the owner taps the new card once at a kiosk, then picks it here."""
    first = func.min(events.c.occurred_at)
    query = (select(events.c.card_ref, first.label("first"),
                    func.min(events.c.kiosk_id).label("kiosk"))
             .where(events.c.org_id == org, events.c.held_reason.is_(None),
                    events.c.kind == EventKind.ENROLLED.value,
                    events.c.occurred_at >= (now - NEW_CARDS_SINCE).isoformat(),
                    events.c.card_ref != other_than, *_at_shop(org, shop, events.c.card_ref))
             .group_by(events.c.card_ref).order_by(first.desc()).limit(NEW_CARDS_SHOWN))
    with reading(db) as conn:
        return [NewCard(row.card_ref, row.first, row.kiosk) for row in conn.execute(query)]


def cards_ending(db: Database, org: int, shop: int | None, end: str) -> Sequence[str]:
    """The organisation's cards (a manager's: seen at their shop) whose number ends with
    `end` (checked by `card_end_problem`); at most two, enough to tell one from several."""
    query = (select(card_states.c.card_ref)
             .where(card_states.c.org_id == org,
                    card_states.c.card_ref.like("%" + end.strip().lower()),
                    *_at_shop(org, shop, card_states.c.card_ref))
             .limit(2))
    with reading(db) as conn:
        return [row.card_ref for row in conn.execute(query)]


def account_emails(db: Database, org: int, staff_refs: Sequence[str | None]) -> dict[str, str]:
    """staff_ref -> the e-mail of the organisation's account it names (central.made's
    `account_ref`); a staff card's ref is not in it."""
    wanted = {n: ref for ref in staff_refs
              if ref is not None and (n := made.account_of(ref)) is not None}
    if not wanted:
        return {}
    with reading(db) as conn:
        rows = conn.execute(select(accounts.c.id, accounts.c.email).where(
            accounts.c.org_id == org, accounts.c.id.in_(sorted(wanted))))
        return {wanted[row.id]: row.email for row in rows}

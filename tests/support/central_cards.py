"""A card's stored fold against the fold of every stored event: what the central's card
states must always equal, however many processes wrote them."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from central import store
from central.cardcache import full_state
from central.db import Database, card_states, reading
from central.ingest import card_events
from central.orgs import DEFAULT_ORG
from central.program import timezone as program_timezone
from kiosk.core.events import CardState, Event, fold


def stored_fold(db: Database, card: str) -> CardState:
    """What folding every counted stored event of the card (of the default organisation)
    gives, in the program's time zone."""
    found = store.current_program(db, DEFAULT_ORG)
    tz = UTC if found is None else program_timezone(found[1])
    return fold(card, [Event.from_dict({k: v for k, v in e.items()
                                        if k not in ("received_at", "flags", "held_reason")})
                       for e in card_events(db, DEFAULT_ORG, card) if e["held_reason"] is None], tz)


def stored_state(db: Database, card: str) -> CardState:
    """The card's row in card_states (a card whose every event is held has none yet)."""
    with reading(db) as conn:
        row = conn.execute(select(card_states.c.state).where(
            card_states.c.org_id == DEFAULT_ORG, card_states.c.card_ref == card)).one_or_none()
    return CardState(card) if row is None else CardState.from_dict(full_state(card, row.state))

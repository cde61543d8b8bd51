"""A till's discount reaches the central with the visit: counted when a tier of the program
gives it, held otherwise, and in the owner's export. Over real HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from central.db import open_database
from central.export import events_csv
from central.program import from_toml, section
from kiosk.core.events import Event, EventKind, fold, record
from kiosk.core.perks import Basket
from kiosk.core.rules import decide_tap
from tests.support.program_central import serving

NOW = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
CARD = hashlib.sha256(b"a gold customer").hexdigest()
PROGRAM = from_toml('version = "v1"\ngoal = 10\ncooldown_minutes = 0\n'
                    '[[tiers]]\nname = "Gold"\nthreshold = 2\ndiscount_percent = 10\n')


def three_visits() -> list[Event]:
    """A card's three visits as the kiosk's rules record them, a basket at the last."""
    program = section(PROGRAM).to_program()
    events: list[Event] = []
    for n in range(3):
        moment = NOW - timedelta(hours=4 - n)
        basket = Basket(amount=12_50) if n == 2 else None
        outcome = decide_tap(program, fold(CARD, events), moment, basket=basket)
        events += record(outcome.changes, card_ref=CARD, kiosk_id="k1", program_version="v1",
                         now=moment, new_id=lambda: str(uuid.uuid4()), first_seq=len(events) + 1)
    return events


def statuses(reply: Any) -> dict[str, str]:
    return {r["id"]: r["status"] for r in reply.json()["results"]}


def test_a_tiers_discount_is_counted_with_its_visit_and_exported(central_db: str) -> None:
    events = three_visits()
    [discount] = [e for e in events if e.kind is EventKind.DISCOUNT]
    assert discount.reward_id == "10%:125"
    with serving(central_db, PROGRAM, NOW, "k1") as (kiosk,):
        reply = kiosk.post_events([e.to_dict() for e in events])
    assert set(statuses(reply).values()) == {"accepted"}
    db = open_database(central_db)
    try:
        exported = "".join(events_csv(db, 1, None, NOW.date(), NOW.date()))
    finally:
        db.dispose()
    assert f"{discount.id},k1," in exported and ",discount,0,10%:125," in exported


def test_a_discount_no_tier_gives_is_held(central_db: str) -> None:
    events = three_visits()
    forged = [e if e.kind is not EventKind.DISCOUNT else Event.from_dict(
        {**e.to_dict(), "reward_id": "90%:1125"}) for e in events]
    with serving(central_db, PROGRAM, NOW, "k1") as (kiosk,):
        reply = kiosk.post_events([e.to_dict() for e in forged])
    found = statuses(reply)
    [discount] = [e for e in forged if e.kind is EventKind.DISCOUNT]
    assert found.pop(discount.id) == "held"
    assert set(found.values()) == {"accepted"}

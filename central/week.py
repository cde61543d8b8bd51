"""The customer of the week: the most visits this week at a shop's counters, among the
customers who agreed to be shown (their first name, nothing else).

`winner` is pure; `customer_of_the_week` reads this week's visits and the consent. A
visit is what the kiosks' fold counts (a stamp is a visit, an undone stamp takes it
back), so the kiosk's figures and this never disagree. The week runs Monday to Sunday in
the program's time zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from central.contract import KIOSK, Strict, errors
from central.db import Database, customers, events, kiosks, reading
from central.ingest import current, iso, program_tz
from central.orgs import Kiosk as KioskIdentity
from kiosk.core.events import CardState, Event, EventKind, apply

VISIT_KINDS = (EventKind.STAMP.value, EventKind.ADJUSTMENT.value)


@dataclass(frozen=True)
class Champion:
    first_name: str
    visits: int
    week: str  # ISO week, e.g. 2026-W12

    def to_dict(self) -> dict[str, object]:
        return {"first_name": self.first_name, "visits": self.visits, "week": self.week}


def week_start(now: datetime, tz: tzinfo) -> datetime:
    """Monday 00:00 (local) of the week holding `now`."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, datetime.min.time(), tz)


def week_name(now: datetime, tz: tzinfo) -> str:
    year, week, _ = now.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def winner(visits: Mapping[str, int], names: Mapping[str, str]) -> tuple[str, int] | None:
    """(card_ref, visits) of the card with the most visits among those whose holder agreed
    to be shown (`names`); a tie goes to the smaller card ref, so every server and every
    run agree. None when no such card visited.

    >>> winner({"a": 3, "b": 5, "c": 9}, {"a": "Ana", "b": "Léo"})
    ('b', 5)
    """
    shown = [(n, ref) for ref, n in visits.items() if n > 0 and names.get(ref)]
    if not shown:
        return None
    visits_count, card_ref = min(shown, key=lambda item: (-item[0], item[1]))
    return card_ref, visits_count


def visits_since(batch: Collection[Event], tz: tzinfo) -> Counter[str]:
    """Visits per card in `batch` (what the fold counts for each event). Pure."""
    found: Counter[str] = Counter()
    for event in batch:
        found[event.card_ref] += apply(CardState(event.card_ref), event, tz).visits
    return found


def customer_of_the_week(db: Database, org: int, now: datetime, shop: int | None = None
                         ) -> Champion | None:
    """This week's customer at the shop's counters (the organisation's when None), or
    None."""
    with reading(db) as conn:
        tz = program_tz(current(conn, org, shop))
        query = select(events).where(
            events.c.org_id == org,
            events.c.occurred_at >= iso(week_start(now, tz)),
            events.c.occurred_at <= iso(now),
            events.c.kind.in_(VISIT_KINDS), events.c.held_reason.is_(None))
        if shop is not None:
            query = query.where(events.c.kiosk_id.in_(
                select(kiosks.c.id).where(kiosks.c.shop_id == shop)))
        batch = [Event.from_dict(dict(row._mapping)) for row in conn.execute(query)]
        visits = visits_since(batch, tz)
        if not visits:
            return None
        rows = conn.execute(select(customers.c.card_ref, customers.c.first_name).where(
            customers.c.org_id == org,
            customers.c.card_ref.in_(sorted(visits)), customers.c.consent_week.is_(True),
            customers.c.consent.is_(True), customers.c.first_name.is_not(None)))
        names = {row.card_ref: row.first_name for row in rows}
    found = winner(visits, names)
    if found is None:
        return None
    return Champion(names[found[0]], found[1], week_name(now, tz))


class WeekAnswer(Strict):
    """The shop's customer of the week for a kiosk's idle screen; nulls when nobody."""

    first_name: str | None
    visits: int | None
    week: str


def routes(app: FastAPI, db: Database, kiosk: Callable[..., Any],
           now: Callable[[], datetime]) -> None:
    """GET /v1/customer-of-the-week for kiosks (`kiosk`: the dependency naming one)."""

    @app.get("/v1/customer-of-the-week", response_model=None,
             responses={200: {"model": WeekAnswer}, **errors(*KIOSK)})
    async def customer_of_week(
        asking: KioskIdentity = Depends(kiosk),  # noqa: B008 - the app's own dependency
    ) -> dict[str, Any]:
        """This week's customer of the kiosk's shop (most visits, first name shown only
        with its holder's consent), for the idle screen; first_name is null when nobody."""
        return await run_in_threadpool(week_answer, db, asking.org_id, asking.shop_id, now())


def week_answer(db: Database, org: int, shop: int, now: datetime) -> dict[str, Any]:
    """The answer of the kiosks' route: the champion, or nulls and the week's name."""
    found = customer_of_the_week(db, org, now, shop)
    if found is not None:
        return found.to_dict()
    with reading(db) as conn:
        tz = program_tz(current(conn, org, shop))
    return {"first_name": None, "visits": None, "week": week_name(now, tz)}

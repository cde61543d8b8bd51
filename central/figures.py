"""Figures for an owner's dashboard, kept current at ingest instead of scanned from events.

`daily_visits` holds visits per shop and kiosk per local day (the program's time zone),
of one organisation each: a shop's figure is the sum of its kiosks'. An event's visits
are what the kiosk's own fold counts for it (a stamp is a visit, an undone stamp takes
one back), so the figures and the cards never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from central.db import daily_visits, shops
from central.steps import Step, walk
from kiosk.core.events import Event


def visits_by_day(batch: Iterable[Event], tz: tzinfo) -> Counter[tuple[str, str]]:
    """(kiosk id, local day) -> visits the events add (negative for undone ones). Pure."""
    return visits_of(walk(batch, {}, tz), tz)


def visits_of(steps: Iterable[Step], tz: tzinfo) -> Counter[tuple[str, str]]:
    """`visits_by_day` of a batch already walked (central.steps.walk)."""
    found: Counter[tuple[str, str]] = Counter()
    for step in steps:
        visits = step.new.visits - step.old.visits
        if visits:
            event = step.event
            day = event.occurred_at.astimezone(tz).date().isoformat()
            found[(event.kiosk_id, day)] += visits
    return found


def add_visits(conn: Connection, org: int, shop: int | Mapping[str, int],
               counts: Counter[tuple[str, str]]) -> None:
    """Add counts to the stored figures of the organisation, in key order (writers lock rows
    in one order). `shop`: the kiosks' shop, or each kiosk's shop by kiosk id."""
    def shop_of(kiosk: str) -> int:
        return shop if isinstance(shop, int) else shop[kiosk]

    rows = [{"org_id": org, "shop_id": shop_of(k), "kiosk_id": k, "day": d, "visits": n}
            for (k, d), n in sorted(counts.items()) if n]
    if not rows:
        return
    conn.execute(_ADD_VISITS[conn.dialect.name == "postgresql"], rows)


def _adding_visits(dialect: Any) -> Any:
    statement = dialect.insert(daily_visits)
    return statement.on_conflict_do_update(
        index_elements=[daily_visits.c.shop_id, daily_visits.c.kiosk_id, daily_visits.c.day],
        set_={"visits": daily_visits.c.visits + statement.excluded.visits},
    )


# built once per dialect (PostgreSQL or not): SQLAlchemy then finds its compiled form
# without building and keying the statement again on every upload
_ADD_VISITS = {True: _adding_visits(postgresql), False: _adding_visits(sqlite)}


def recount(conn: Connection, org: int, shops: Mapping[str, int], events: Iterable[Event],
            tz: tzinfo) -> None:
    """Count every visit of the organisation again (after the program's time zone changed);
    `shops`: each kiosk's shop."""
    conn.execute(delete(daily_visits).where(daily_visits.c.org_id == org))
    add_visits(conn, org, shops, visits_by_day(events, tz))


def visits_per_day(conn: Connection, org: int, first_day: str, last_day: str
                   ) -> Sequence[tuple[str, str, int]]:
    """(kiosk id, day, visits) for each day from first_day to last_day (YYYY-MM-DD)."""
    query = (select(daily_visits.c.kiosk_id, daily_visits.c.day,
                    func.sum(daily_visits.c.visits).label("visits"))
             .where(daily_visits.c.org_id == org,
                    daily_visits.c.day >= first_day, daily_visits.c.day <= last_day)
             .group_by(daily_visits.c.kiosk_id, daily_visits.c.day)
             .order_by(daily_visits.c.day, daily_visits.c.kiosk_id))
    return [(row.kiosk_id, row.day, int(row.visits)) for row in conn.execute(query)]


def visits_per_shop(conn: Connection, org: int, first_day: str, last_day: str
                    ) -> Sequence[tuple[str, str, int]]:
    """(shop name, day, visits) for each day from first_day to last_day (YYYY-MM-DD)."""
    query = (select(shops.c.name, daily_visits.c.day,
                    func.sum(daily_visits.c.visits).label("visits"))
             .join(shops, shops.c.id == daily_visits.c.shop_id)
             .where(daily_visits.c.org_id == org,
                    daily_visits.c.day >= first_day, daily_visits.c.day <= last_day)
             .group_by(shops.c.name, daily_visits.c.day)
             .order_by(daily_visits.c.day, shops.c.name))
    return [(row.name, row.day, int(row.visits)) for row in conn.execute(query)]

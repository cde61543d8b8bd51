"""CSV exports of a date range for the dashboard: the events, and the cards seen then.

Rows are produced a thousand at a time from one read transaction, so an export of a
year of events streams in constant memory. Days are local (the program's time zone);
a cell a spreadsheet would run as a formula (= + - @ first) is written with a quote first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select

from central.db import Database, events, reading
from central.ingest import cards, current, iso, program_tz
from kiosk.core.events import EVENT_NAMES

MAX_DAYS = 366  # one export covers a year at most
CHUNK = 1000
EVENT_COLUMNS = (*EVENT_NAMES, "received_at", "flags", "held_reason")
CARD_COLUMNS = ("card_ref", "enrolled", "stamps", "visits", "vouchers", "first_seen",
                "last_visit", "overdrawn", "flags")


class BadRange(ValueError):
    """A date range the export refuses; the message names the fix (and the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def date_range(first: str | None, last: str | None) -> tuple[date, date]:
    """The days asked for (YYYY-MM-DD each), checked: from <= to, MAX_DAYS at most."""
    days = []
    for name, text in (("from", first), ("to", last)):
        try:
            days.append(date.fromisoformat((text or "").strip()[:10]))
        except ValueError:
            raise BadRange(name, "date_bad") from None
    if days[0] > days[1]:
        raise BadRange("to", "range_backwards")
    if (days[1] - days[0]).days + 1 > MAX_DAYS:
        raise BadRange("to", "range_too_long")
    return days[0], days[1]


def _bounds(first: date, last: date, tz: tzinfo) -> tuple[str, str]:
    """The range's start and end as stored instants (ISO UTC text sorts like time)."""
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    return iso(start), iso(end)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv(rows: Iterator[Sequence[Any]], header: Sequence[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if n % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def events_csv(db: Database, org: int, kiosk_ids: Sequence[str] | None, first: date,
               last: date) -> Iterator[str]:
    """The events that happened from `first` to `last` (local days), oldest first, held
    ones too (with why); `kiosk_ids`: those kiosks' only (a manager's shop)."""
    def rows() -> Iterator[Sequence[Any]]:
        with reading(db) as conn:
            start, end = _bounds(first, last, program_tz(current(conn, org)))
            query = (select(*(events.c[name] for name in EVENT_COLUMNS))
                     .where(events.c.org_id == org, events.c.occurred_at >= start,
                            events.c.occurred_at < end)
                     .order_by(events.c.occurred_at, events.c.kiosk_id, events.c.seq))
            if kiosk_ids is not None:
                query = query.where(events.c.kiosk_id.in_(kiosk_ids))
            yield from conn.execution_options(yield_per=CHUNK).execute(query)
    return _csv(rows(), EVENT_COLUMNS)


def cards_csv(db: Database, org: int, kiosk_ids: Sequence[str] | None, first: date,
              last: date) -> Iterator[str]:
    """Every card with an event from `first` to `last`, as the central holds it now."""
    def rows() -> Iterator[Sequence[Any]]:
        with reading(db) as conn:
            start, end = _bounds(first, last, program_tz(current(conn, org)))
            query = (select(events.c.card_ref).distinct()
                     .where(events.c.org_id == org, events.c.occurred_at >= start,
                            events.c.occurred_at < end)
                     .order_by(events.c.card_ref))
            if kiosk_ids is not None:
                query = query.where(events.c.kiosk_id.in_(kiosk_ids))
            refs = [row.card_ref for row in conn.execute(query)]
        for n in range(0, len(refs), CHUNK):
            found = cards(db, org, refs[n:n + CHUNK])
            for ref in refs[n:n + CHUNK]:
                card = found.get(ref)
                if card is None:
                    continue  # only held events: no card
                vouchers = ";".join(f"{k}:{v}" for k, v in sorted(card["vouchers"].items()))
                yield (ref, card["enrolled"], card["stamps"], card["visits"], vouchers,
                       card["first_seen"], card["last_visit"], card["overdrawn"],
                       ";".join(card["flags"]))
    return _csv(rows(), CARD_COLUMNS)

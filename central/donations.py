"""How many vouchers an organisation's customers gave to its cause, kept current as they go.

A donation is a `donated` event: made by the central from the card's page (central.made)
or posted by a kiosk when staff give a voucher at the counter (counted at ingest once the
central finds it plausible). Either way the count is added in the transaction that stores
the event, so the page and the dashboard read one row instead of counting events.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from central.db import Database, meta, reading

DONATIONS_KEY = "donations_total"  # meta, one per organisation: vouchers given to its cause


def _key(org: int) -> str:
    return f"{DONATIONS_KEY}:{org}"


def add(conn: Connection, org: int, n: int) -> None:
    """Count `n` more vouchers given (inside the transaction that stores their events)."""
    if n <= 0:
        return
    key = _key(org)
    row = conn.execute(select(meta.c.value).where(meta.c.key == key)).first()
    if row is None:
        conn.execute(insert(meta).values(key=key, value=str(n)))
    else:
        conn.execute(update(meta).where(meta.c.key == key)
                     .values(value=str(int(row.value) + n)))


def total(db: Database, org: int) -> int:
    """Vouchers given to the organisation's cause so far, every card together."""
    with reading(db) as conn:
        row = conn.execute(select(meta.c.value).where(meta.c.key == _key(org))).first()
    return 0 if row is None else int(row.value)

"""A central serving one program to a few kiosks, over real HTTP, for the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from central import store
from central.db import open_database
from central.testing import Client, add_kiosk, running_server


@contextmanager
def serving(
    central_db: str, program: dict[str, Any], now: datetime, *kiosk_ids: str
) -> Iterator[list[Client]]:
    """The central at `central_db`, its clock at `now`, running `program` (set 30 days
    before), with one client per kiosk id."""
    db = open_database(central_db)
    try:
        store.set_program(db, program, now - timedelta(days=30))
    finally:
        db.dispose()
    with running_server(central_db, clock=lambda: now) as url:
        yield [Client(url, add_kiosk(central_db, kiosk)) for kiosk in kiosk_ids]

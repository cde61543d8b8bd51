"""The dashboard's Overview at a million events: server time of the whole page.

    python -m bench.overview [--quick]

A database of `events` events over a year, 100 kiosks in 10 shops and 20,000 cards is
filled as ingest would have left it (the events, and the figures `central.tallies` keeps,
counted from the same events), then a signed-in owner asks for the Overview over real
HTTP: all shops and one shop, each period. The server's own time per answer is measured
inside the app (an ASGI wrapper around it), so the client's and the loopback's time are
left out; the client's time is given beside it. SQLite (what one shop runs) and, where
Debian's PostgreSQL is installed, PostgreSQL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.scale import synthetic_events
from central import tallies
from central.db import card_activity, events, hour_figures, open_database, writing
from central.testing import running_server
from kiosk.core.events import CardState, apply
from tests.support.accounts import WebSession, add_owner
from tests.support.postgres import Cluster, start_cluster

FULL_EVENTS, QUICK_EVENTS = 1_000_000, 5_000
KIOSKS, SHOPS, CARDS, DAYS = 100, 10, 20_000, 365
RUNS, QUICK_RUNS = 21, 5
TARGET_MS = 100
PAGES = [f"/dashboard?period={p}" for p in ("today", "7", "30")]


def shop_of(kiosk: str) -> int:
    return 1 + int(kiosk[1:]) % SHOPS


def fill(db_url: str, count: int, seed: int = 7) -> None:
    """`count` stamps and rewards, oldest first, written as ingest would have written them:
    the events, and the figures counted from them."""
    db = open_database(db_url)
    end = datetime.now(UTC)
    states: dict[str, CardState] = {}
    try:
        for chunk in synthetic_events(count, KIOSKS, DAYS, seed, in_order=True):
            rows = [{**e.to_dict(), "org_id": 1, "body_sha256": "-",
                     "received_at": end.isoformat(), "flags": None} for e in chunk]
            counts = tallies.count(chunk, states, UTC, {e.kiosk_id: shop_of(e.kiosk_id)
                                                        for e in chunk})
            for event in chunk:
                states[event.card_ref] = apply(
                    states.get(event.card_ref) or CardState(card_ref=event.card_ref), event, UTC)
            with writing(db) as conn:
                conn.execute(insert(events), rows)
                tallies.add(conn, 1, counts, shard=0)
        if not db.is_sqlite:
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        db.dispose()


class Timed:
    """ASGI wrapper: the server's own time for each answer, from the request's arrival
    to the last byte of its body handed to the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        began = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.times.append((time.perf_counter() - began) * 1000)


def measure(db_url: str, runs: int) -> dict[str, Any]:
    add_owner(db_url, "owner@example.org")
    db = open_database(db_url)
    with db.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
        figure_rows = conn.execute(select(func.count()).select_from(hour_figures)).scalar_one()
        card_rows = conn.execute(select(func.count()).select_from(card_activity)).scalar_one()
    db.dispose()
    server: list[float] = []
    client: list[float] = []
    timed: list[Timed] = []

    def wrap(app: Any) -> Any:
        timed.append(Timed(app))
        return timed[-1]

    with running_server(db_url, wrap=wrap) as base:
        web = WebSession(base)
        web.sign_in("owner@example.org")
        for page in PAGES:  # warm: templates compiled, pages of the database cached
            assert web.get(page).status_code == 200
        timed[0].times.clear()
        for _ in range(runs):
            for page in PAGES:
                began = time.perf_counter()
                answer = web.get(page)
                client.append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200 and "fig-visits" in answer.text
        server = list(timed[0].times)
    return {"events": int(stored), "hour_figure_rows": int(figure_rows),
            "card_activity_rows": int(card_rows), "answers": len(server),
            "server_ms_p50": round(statistics.median(server), 1),
            "server_ms_p99": round(sorted(server)[max(0, int(len(server) * 0.99) - 1)], 1),
            "server_ms_max": round(max(server), 1),
            "client_ms_p50": round(statistics.median(client), 1)}


def run(quick: bool = False, only: str | None = None) -> dict[str, Any]:
    count, runs = (QUICK_EVENTS, QUICK_RUNS) if quick else (FULL_EVENTS, RUNS)
    results: dict[str, Any] = {}
    if quick and only is None:
        only = "sqlite"  # a smoke run: a PostgreSQL cluster would cost more than the figure
    with tempfile.TemporaryDirectory(prefix="bench-overview-") as tmp:
        fresh: dict[str, Callable[[], str]] = {"sqlite": lambda: str(Path(tmp) / "c.sqlite3")}
        cluster = start_cluster(durable=True) if only != "sqlite" else "not asked for"
        if isinstance(cluster, Cluster):
            fresh["postgresql"] = cluster.fresh_database
        else:
            results["postgresql"] = {"skipped": cluster}
        try:
            for backend, make in fresh.items():
                if only is not None and backend != only:
                    continue
                db_url = make()
                began = time.monotonic()
                fill(db_url, count)
                filled = time.monotonic() - began
                results[backend] = {**measure(db_url, runs), "fill_seconds": round(filled, 1)}
        finally:
            if isinstance(cluster, Cluster):
                cluster.stop()
    measured = [r for r in results.values() if "server_ms_p99" in r]
    return {
        "method": f"GET /dashboard over HTTP as a signed-in owner, {len(PAGES)} pages (today, "
                  f"7 and 30 days; all shops and one of {SHOPS}) x {runs} runs, after "
                  f"{count} events over {DAYS} days, {KIOSKS} kiosks, {CARDS} cards; server "
                  "time measured around the app (ASGI), client time over loopback beside it",
        "runs": results, "target_ms": TARGET_MS,
        "met": bool(measured) and all(r["server_ms_p99"] <= TARGET_MS for r in measured),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events, a few runs")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.only), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What knowing every card of the organisation costs a kiosk: a first pull of N cards.

    python -m bench.card_pull [--cards 10000] [--out FILE]

A real central (`kiosk-central`'s app under uvicorn on loopback, SQLite) is filled with N
cards of one organisation (three events each, uploaded by another kiosk through
`/v1/events`). A kiosk with an empty ledger bound to a site key then runs the real pull
(`kiosk.adapters.card_pull.pull`, pages of card_pull.PAGE over `requests`), as its sync
worker does on its first round. Measured around that call alone:

- wall time and the process's CPU time (the central runs in this process too: its CPU
  is in the figure; on a Pi the kiosk's share is what parses and settles the pages);
- bytes received (the answers' bodies, before any compression: none is asked for);
- disk: the ledger's size (file and WAL) after the pull, and bytes written (/proc/self/io);
- memory: Python's peak allocation during the pull (tracemalloc), and the largest page.

Then a second pull with nothing changed: what an idle round costs (one small request).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from central.testing import Client, add_kiosk, event_dict, running_server
from kiosk.adapters import card_pull
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync_client import CentralClient
from kiosk.config import CentralSection
from kiosk.core.events import EventKind

BATCH = 500


def _written() -> int:
    with open("/proc/self/io", encoding="ascii") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar"))


def _fill(url: str, db: str, cards: int) -> None:
    client = Client(url, add_kiosk(db, "filler"))
    start = datetime.now(UTC) - timedelta(days=1)
    events: list[dict[str, Any]] = []
    seq = 0
    for n in range(cards):
        ref = hashlib.sha256(n.to_bytes(4, "big")).hexdigest()
        for kind, delta in ((EventKind.ENROLLED, 2), (EventKind.STAMP, 1), (EventKind.STAMP, 1)):
            seq += 1
            events.append(event_dict("filler", ref, seq, start + timedelta(seconds=seq),
                                     kind=kind, delta=delta))
        if len(events) >= BATCH - 2:
            assert client.post_events(events).status == 200
            events = []
    if events:
        assert client.post_events(events).status == 200


class _Counting(CentralClient):
    """The kiosk's own client, counting the bytes of the answers it reads."""

    received = 0
    largest = 0

    def read(self, token: str, path: str) -> Any:
        data = super().read(token, path)
        size = len(json.dumps(data))
        self.received += size
        self.largest = max(self.largest, size)
        return data


def measure(cards: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = str(root / "central.sqlite3")
        with running_server(db) as url:
            _fill(url, db, cards)
            token = add_kiosk(db, "counter-2")
            section = CentralSection.model_validate({
                "url": url, "token_file": "", "batch_size": 200, "interval": 10.0,
                "connect_timeout": 3.0, "read_timeout": 60.0, "backoff_base": 1.0,
                "backoff_max": 300.0, "retry_after_max": 900.0, "refresh_cards": 20,
                "refresh_interval": 10.0})
            client = _Counting(section)
            path = root / "ledger.sqlite3"
            with Ledger.open(path) as ledger:
                ledger.bind("bench", "bench-ledger")
                written = _written()
                tracemalloc.start()
                wall, cpu = time.perf_counter(), time.process_time()
                merged = card_pull.pull(client, token, ledger, url, datetime.now(UTC))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                written = _written() - written
                size = sum(p.stat().st_size for p in root.glob("ledger.sqlite3*"))
                received = client.received
                idle_wall = time.perf_counter()
                again = card_pull.pull(client, token, ledger, url, datetime.now(UTC))
                idle_wall = time.perf_counter() - idle_wall
            client.close()
    assert merged == cards and again == 0, (merged, again)
    return {
        "cards": cards,
        "page": card_pull.PAGE,
        "pull_wall_s": round(wall, 2),
        "pull_cpu_s": round(cpu, 2),
        "received_bytes": received,
        "received_bytes_per_card": round(received / cards),
        "largest_page_bytes": client.largest,
        "ledger_bytes_after": size,
        "ledger_bytes_per_card": round(size / cards),
        "written_bytes": written,
        "peak_python_memory_bytes": peak,
        "idle_pull_wall_ms": round(idle_wall * 1000, 1),
        "method": "kiosk.adapters.card_pull.pull from an empty bound ledger against a "
                  "loopback central holding the cards (three events each); central and "
                  "kiosk share this process",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    if not 1 <= args.cards <= 1_000_000:
        parser.error("--cards: from 1 to 1,000,000")
    found = {"card_pull": measure(args.cards)}
    text = json.dumps(found, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Several `kiosk-central serve` processes on one database: a kiosk's retry racing its
first try reaches two processes at the same moment, and each event is stored once.

Real server processes, real HTTP on loopback, the real databases.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from central import store
from central.db import open_database
from central.orgs import DEFAULT_ORG
from central.testing import Client, Reply, ServerProcess, add_kiosk, event_dict
from kiosk.core.events import Event, fold

CARDS = [hashlib.sha256(f"card {n}".encode()).hexdigest() for n in range(6)]
START = datetime.now(UTC) - timedelta(hours=2)


def _batch(kiosk: str, first_seq: int, size: int) -> list[dict[str, Any]]:
    return [event_dict(kiosk, CARDS[n % len(CARDS)], first_seq + n,
                       START + timedelta(seconds=first_seq + n)) for n in range(size)]


def _at_once(senders: list[tuple[str, str]], batch: list[dict[str, Any]]) -> list[Reply]:
    """Post one batch from several clients released together; their replies in order."""
    go = threading.Barrier(len(senders))
    replies: list[Reply | None] = [None] * len(senders)

    def send(index: int, url: str, token: str) -> None:
        client = Client(url, token)
        go.wait()
        replies[index] = client.post_events(batch)
        client.close()

    threads = [threading.Thread(target=send, args=(i, url, token))
               for i, (url, token) in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(reply is not None for reply in replies)
    return [reply for reply in replies if reply is not None]


def _stored(db_url: str) -> tuple[int, dict[str, Any]]:
    db = open_database(db_url)
    try:
        exported = {card: store.export_customer(db, DEFAULT_ORG, card) for card in CARDS}
        return store.event_count(db), exported
    finally:
        db.dispose()


def test_one_batch_at_two_server_processes_at_once_is_stored_once(central_db: str) -> None:
    token = add_kiosk(central_db, "k1")
    sent: list[dict[str, Any]] = []
    with ServerProcess(central_db) as one, ServerProcess(central_db) as two:
        for round_ in range(6):
            batch = _batch("k1", round_ * 40, 40)
            sent += batch
            first, second = _at_once([(one.url, token), (two.url, token)], batch)
            assert (first.status, second.status) == (200, 200), (first.body, second.body)
            for a, b in zip(first.json()["results"], second.json()["results"], strict=True):
                assert {a["status"], b["status"]} <= {"accepted", "duplicate"}
                assert "accepted" in (a["status"], b["status"])
                assert a["status"] != b["status"] or a["status"] == "duplicate"
            # whichever wrote first, both answer the same card states
            assert first.json()["cards"] == second.json()["cards"]
    count, exported = _stored(central_db)
    assert count == len(sent)
    for card in CARDS:
        mine = [Event.from_dict(e) for e in sent if e["card_ref"] == card]
        assert exported[card] is not None
        assert exported[card]["card"]["stamps"] == fold(card, mine).stamps
        assert len(exported[card]["events"]) == len(mine)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def test_workers_share_one_address_and_store_each_retried_event_once(postgres_db: str) -> None:
    token = add_kiosk(postgres_db, "k1")
    sent: list[dict[str, Any]] = []
    with ServerProcess(postgres_db, "--workers", "2") as server:
        for round_ in range(4):
            batch = _batch("k1", round_ * 30, 30)
            sent += batch
            replies = _at_once([(server.url, token)] * 4, batch)
            assert {reply.status for reply in replies} == {200}
            for n in range(len(batch)):
                answers = [reply.json()["results"][n]["status"] for reply in replies]
                assert sorted(answers) == ["accepted", "duplicate", "duplicate", "duplicate"]
        # the multiprocessing resource tracker is a child too: count the servers
        workers = [pid for pid in _children(server.proc.pid)
                   if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2
    assert _stored(postgres_db)[0] == len(sent)

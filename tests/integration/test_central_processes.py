"""Several `kiosk-central serve` processes on one database: a kiosk's retry racing its
first try reaches two processes at the same moment, and each event is stored once.

Real server processes, real HTTP on loopback, the real databases.
"""

from __future__ import annotations

import hashlib
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from central import store
from central.db import open_database
from central.orgs import DEFAULT_ORG
from central.testing import Client, Reply, ServerProcess, add_kiosk, event_dict
from kiosk.core.events import Event, EventKind, fold
from tests.support.central_cards import stored_fold, stored_state

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


def test_a_kiosk_paging_changed_cards_while_two_processes_write_misses_no_change(
    central_db: str,
) -> None:
    writers = {name: add_kiosk(central_db, name) for name in ("ka", "kb")}
    reader_token = add_kiosk(central_db, "reader")
    cards = [hashlib.sha256(f"paged {n}".encode()).hexdigest() for n in range(40)]
    with ServerProcess(central_db) as one, ServerProcess(central_db) as two:
        def write(name: str, url: str) -> None:
            client = Client(url, writers[name])
            for round_ in range(8):  # each round stamps every card once more
                batch = [event_dict(name, card, round_ * 100 + n,
                                    START + timedelta(seconds=round_ * 100 + n))
                         for n, card in enumerate(cards)]
                assert client.post_events(batch).status == 200
            client.close()

        threads = [threading.Thread(target=write, args=("ka", one.url)),
                   threading.Thread(target=write, args=("kb", two.url))]
        for thread in threads:
            thread.start()
        seen: dict[str, int] = {}
        cursor = "0"
        reader = Client(one.url, reader_token)

        def pull() -> None:
            nonlocal cursor
            while True:
                page = reader.get(f"/v1/cards/changes?after={cursor}&limit=7").json()
                seen.update({ref: card["stamps"] for ref, card in page["cards"].items()})
                cursor = page["cursor"]
                if not page["more"]:
                    return

        while any(thread.is_alive() for thread in threads):
            pull()  # pages read while both processes commit
        for thread in threads:
            thread.join()
        pull()  # what changed since the last page: the cursor never skipped a commit
        reader.close()
    # every card holds 16 stamps at the end, and the reader, following its cursor, has it
    assert seen == dict.fromkeys(cards, 16)


SHARED_CARDS = CARDS[:3]
KINDS = [(EventKind.STAMP, 1)] * 6 + [(EventKind.REWARD_EARNED, 0), (EventKind.REWARD_REDEEMED, 0)]


def _mixed_batch(kiosk: str, first_seq: int, size: int, rng: random.Random
                 ) -> list[dict[str, Any]]:
    """Events of every common kind, all on the few shared cards."""
    batch = []
    for n in range(size):
        kind, delta = rng.choice(KINDS)
        rewarded = kind in (EventKind.REWARD_EARNED, EventKind.REWARD_REDEEMED)
        batch.append(event_dict(kiosk, rng.choice(SHARED_CARDS), first_seq + n,
                                START + timedelta(minutes=rng.randrange(0, 100)), kind=kind,
                                delta=delta, reward_id="coffee" if rewarded else None))
    return batch


def test_two_processes_writing_the_same_cards_at_once_count_every_event_once(
    central_db: str,
) -> None:
    kiosks = [f"k{n}" for n in range(4)]
    tokens = {kiosk: add_kiosk(central_db, kiosk) for kiosk in kiosks}
    rng = random.Random(7)
    # each kiosk's batches, and whether each is also sent again at once to the other
    # process (a retry racing its first try)
    work = {kiosk: [(_mixed_batch(kiosk, b * 25, 25, rng), rng.random() < 0.3)
                    for b in range(8)] for kiosk in kiosks}
    failures: list[str] = []
    with ServerProcess(central_db) as one, ServerProcess(central_db) as two:
        go = threading.Barrier(len(kiosks))

        def kiosk_syncs(kiosk: str) -> None:
            clients = [Client(server.url, tokens[kiosk]) for server in (one, two)]
            go.wait()
            for n, (batch, raced) in enumerate(work[kiosk]):
                senders = clients if raced else [clients[n % 2]]
                replies = [threading.Thread(target=_post_checked, args=(client, batch, failures))
                           for client in senders]
                for reply in replies:
                    reply.start()
                for reply in replies:
                    reply.join(timeout=60)
            for client in clients:
                client.close()

        threads = [threading.Thread(target=kiosk_syncs, args=(kiosk,)) for kiosk in kiosks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert failures == []
    sent = [event for batches in work.values() for batch, _raced in batches for event in batch]
    db = open_database(central_db)
    try:
        assert store.event_count(db) == len(sent)
        for card in SHARED_CARDS:
            assert stored_state(db, card) == stored_fold(db, card)
            assert stored_fold(db, card).stamps > 0  # the cards were really written
    finally:
        db.dispose()


def _post_checked(client: Client, batch: list[dict[str, Any]], failures: list[str]) -> None:
    reply = client.post_events(batch)
    if reply.status != 200:
        failures.append(f"http {reply.status}: {reply.body[:200]!r}")
        return
    statuses = {result["status"] for result in reply.json()["results"]}
    if not statuses <= {"accepted", "duplicate", "held"}:
        failures.append(f"statuses {sorted(statuses)}")

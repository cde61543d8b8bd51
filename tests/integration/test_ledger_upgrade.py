"""Creating and upgrading a ledger while several real processes open it at the same moment
(the daemon at first boot and a staff `kiosk status`, or two `kiosk tap`s)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.adapters.ledger import SCHEMA_VERSION, Ledger
from kiosk.service import Counter, load_site_key
from tests.support.kiosk_config import make_config
from tests.support.old_ledgers import make_old_ledger

PROCESSES = 4
ROUNDS = 3
OLD_STAMPS, OLD_SYNCED = 30, 20
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _tap_when_all_are_ready(state: Path, uid: str, ready: Any, results: Any) -> None:
    """In a child process: open the kiosk and tap a card as soon as every sibling is ready."""
    try:
        config = make_config(state)
        ready.wait(timeout=60)
        counter = Counter.open(config)
        try:
            counter.tap(bytes.fromhex(uid))
        finally:
            counter.close()
        results.put((uid, "ok"))
    except BaseException as error:  # the parent reports what went wrong in which child
        results.put((uid, f"{type(error).__name__}: {error}"))


def _race(state: Path) -> dict[str, str]:
    """PROCESSES processes tapping one card each on the ledger in `state`, all at once."""
    context = multiprocessing.get_context("fork")
    ready, results = context.Barrier(PROCESSES), context.Queue()
    uids = [f"04{n:012x}" for n in range(1, PROCESSES + 1)]
    children = [
        context.Process(target=_tap_when_all_are_ready, args=(state, uid, ready, results))
        for uid in uids
    ]
    for child in children:
        child.start()
    answers = dict(results.get(timeout=120) for _ in children)
    for child in children:
        child.join(timeout=60)
    return answers


def _header(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        return (db.execute("PRAGMA user_version").fetchone()[0],
                db.execute("PRAGMA auto_vacuum").fetchone()[0])


@pytest.mark.parametrize("version", [None, 0, 1, 2], ids=[
    "no-file", "empty-file", "from-version-1", "from-version-2"])
def test_processes_opening_one_ledger_at_once_all_tap_and_it_is_built_once(
    tmp_path: Path, version: int | None
):
    for round_ in range(ROUNDS):
        state = tmp_path / f"round-{round_}"
        state.mkdir()
        path = state / "ledger.sqlite3"
        old = 0
        if version is not None:
            make_old_ledger(path, version, OLD_STAMPS, OLD_SYNCED, START)
            load_site_key(state / "site.key")  # an older kiosk made its key at its first start
            old = OLD_STAMPS if version else 0

        answers = _race(state)

        assert answers == dict.fromkeys(answers, "ok"), answers
        assert len(answers) == PROCESSES
        # the current schema, with incremental vacuum (an old file is rewritten once)
        assert _header(path) == (SCHEMA_VERSION, 2)
        with Ledger.open(path) as ledger:
            events = ledger.events()
            box = ledger.outbox()
        # each new card: enrolled + the visit's stamp; nothing older was lost
        assert len(events) == old + 2 * PROCESSES
        assert len({e.id for e in events}) == len(events)
        synced = OLD_SYNCED if old else 0
        assert (box.synced, box.pending) == (synced, len(events) - synced)


def test_an_old_ledger_too_big_to_rewrite_at_start_is_upgraded_and_keeps_its_free_pages(
    tmp_path: Path,
):
    path = tmp_path / "ledger.sqlite3"
    make_old_ledger(path, 2, OLD_STAMPS, OLD_SYNCED, START)
    with sqlite3.connect(path) as db:  # years of events, as far as the file size goes
        db.execute("INSERT INTO meta (key, value) VALUES ('ballast', ?)", ("x" * 70 * 2**20,))

    with Ledger.open(path) as ledger:
        # upgraded without the rewrite that would hold up the start
        assert _header(path) == (SCHEMA_VERSION, 0)
        assert len(ledger.events()) == OLD_STAMPS
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM meta WHERE key = 'ballast'")
        size = path.stat().st_size
        free = ledger.reclaim(64)
        ledger.checkpoint()
        # the free pages stay in the file, for new events to fill
        assert free > 64 and path.stat().st_size >= size

"""The writer's card folds in memory never drift from the fold of the stored events.

Real SQLite files and real PostgreSQL databases, and the real BatchWriter (group commits,
with the card cache); another Database handle plays the other writer (a
`kiosk-central program set` changing the time zone rebuilds every card, or a second
server process).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from central import store
from central.cardcache import CardCache, lock_every_card
from central.db import Database, open_database, reading, writing
from central.figures import visits_per_day
from central.ingest import Ingested, write_batch
from central.orgs import DEFAULT_ORG, Kiosk
from central.program import from_toml
from central.testing import add_kiosk, event_dict
from central.validate import check_event
from central.writer import BatchWriter
from kiosk.core.events import CardState, EventKind
from sim.harness import wait_until
from tests.support.central_cards import stored_fold, stored_state
from tests.support.databases import BACKENDS, database_url

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARDS = [f"{n:064x}" for n in (1, 2, 3, 4)]
KIOSKS = ("ka", "kb")


def _event(kiosk: str, seq: int, card: str, kind: EventKind, delta: int, at: datetime
           ) -> dict[str, Any]:
    rewarded = kind in (EventKind.REWARD_EARNED, EventKind.REWARD_REDEEMED,
                        EventKind.REWARD_REVOKED)
    return event_dict(kiosk, card, seq, at, kind=kind, delta=delta,
                      reward_id="coffee" if rewarded else None)


def _upload(writer: BatchWriter, kiosk: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    checked = [check_event(item, kiosk, NOW) for item in items]
    done = writer.submit(Kiosk(kiosk, 1, DEFAULT_ORG), checked, NOW).result(timeout=30)
    assert all(r.status != "rejected" for r in done.results), done.results
    return done.cards


@pytest.fixture()
def served(central_db: str) -> Iterator[tuple[str, Database, BatchWriter]]:
    path = central_db
    for kiosk in KIOSKS:
        add_kiosk(path, kiosk)
    db = open_database(path)
    writer = BatchWriter(db, max_group=4)
    try:
        yield path, db, writer
    finally:
        writer.close()
        db.dispose()


uploads = st.lists(
    st.tuples(
        st.sampled_from(KIOSKS),
        st.lists(
            st.tuples(
                st.sampled_from(CARDS),
                st.sampled_from(list(EventKind)),
                st.integers(-3, 5),
                st.integers(0, 60 * 24 * 40),  # minutes before NOW
            ),
            min_size=1,
            max_size=12,
        ),
        st.booleans(),  # send the same batch again (a retry after a lost answer)
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@pytest.mark.parametrize("backend", BACKENDS)
@given(batches=uploads)
def test_cached_card_states_equal_the_fold_of_every_stored_event(
    tmp_path_factory: pytest.TempPathFactory, pg_cluster: Any, backend: str, batches: list[Any]
) -> None:
    path = database_url(backend, tmp_path_factory.mktemp("cache"), pg_cluster)
    for kiosk in KIOSKS:
        add_kiosk(path, kiosk)
    db = open_database(path)
    writer = BatchWriter(db, max_group=3)
    writer.cards.limit = 2  # fewer than the cards drawn: evicted folds are read back
    seqs = dict.fromkeys(KIOSKS, 0)
    try:
        futures = []
        for kiosk, drawn, again in batches:
            items = []
            for card, kind, delta, minutes in drawn:
                seqs[kiosk] += 1
                items.append(_event(kiosk, seqs[kiosk], card, kind, delta,
                                    NOW - timedelta(minutes=minutes)))
            # submitted without waiting, so several batches share a group commit
            for _ in range(2 if again else 1):
                checked = [check_event(item, kiosk, NOW) for item in items]
                futures.append(writer.submit(Kiosk(kiosk, 1, DEFAULT_ORG), checked, NOW))
        answers = [future.result(timeout=30) for future in futures]
        last_answer: dict[str, dict[str, Any]] = {}
        for done in answers:
            last_answer.update(done.cards)
        for card in {c for _k, drawn, _a in batches for c, *_ in drawn}:
            expected = stored_fold(db, card)
            assert stored_state(db, card) == expected
            # one writer answers in the order it was given; on PostgreSQL several write
            # side by side, and the batch submitted last may commit before another
            if db.is_sqlite and expected != CardState(card):
                assert CardState.from_dict(last_answer[card]) == expected
        # the dashboard's visits per day add up to the cards' visits (retries count once)
        with reading(db) as conn:
            counted = sum(n for _k, _d, n in visits_per_day(conn, DEFAULT_ORG, "2000-01-01", "2999-12-31"))
        assert counted == sum(stored_fold(db, card).visits for card in CARDS)
    finally:
        writer.close()
        db.dispose()


def test_the_writer_keeps_card_folds_across_its_own_commits(
    served: tuple[str, Database, BatchWriter],
) -> None:
    _path, db, writer = served
    for seq, card in enumerate(CARDS[:2], start=1):
        _upload(writer, "ka", [_event("ka", seq, card, EventKind.STAMP, 1, NOW)])
    assert len(writer.cards) == 2, "the writer's own commit made its cache look stale"


def test_on_postgresql_a_card_being_written_holds_up_only_its_own_uploads(
    postgres_db: str,
) -> None:
    add_kiosk(postgres_db, "ka")
    db, other = open_database(postgres_db), open_database(postgres_db)
    writer, other_writer = BatchWriter(db), BatchWriter(other)
    busy, free = CARDS[0], CARDS[1]
    _upload(writer, "ka", [_event("ka", 1, busy, EventKind.STAMP, 1, NOW)])
    try:
        # another server process is in the middle of advancing the busy card, holding
        # what its writer holds then
        with writing(other) as conn:
            other_writer.cards.session(conn).get(DEFAULT_ORG, [busy])
            done = _upload(writer, "ka", [_event("ka", 2, free, EventKind.STAMP, 1, NOW)])
            assert done[free]["stamps"] == 1
            waiting = _held_up(writer, other, 3, busy)
        assert waiting.result(timeout=30).cards[busy]["stamps"] == 2
    finally:
        for each in (writer, other_writer):
            each.close()
        db.dispose()
        other.dispose()


def test_an_upload_whose_request_went_away_is_left_out_and_its_group_is_answered(
    served: tuple[str, Database, BatchWriter],
) -> None:
    _path, db, writer = served
    gone_card, live_card = CARDS[0], CARDS[1]
    # both queued before any writer looks (the writer's condition is re-entrant): one
    # group, whose first upload's request is cancelled, as asyncio does when a client
    # goes away
    with writer._changed:
        gone = writer.submit(Kiosk("ka", 1, DEFAULT_ORG), [check_event(
            _event("ka", 1, gone_card, EventKind.STAMP, 1, NOW), "ka", NOW)], NOW)
        assert gone.cancel()
        live = writer.submit(Kiosk("kb", 1, DEFAULT_ORG), [check_event(
            _event("kb", 1, live_card, EventKind.STAMP, 1, NOW), "kb", NOW)], NOW)
    assert live.result(timeout=30).cards[live_card]["stamps"] == 1
    # the cancelled one was not written (its kiosk sends it again), and the writers go on
    assert stored_state(db, gone_card) == CardState(gone_card)  # no row: a new card
    assert _upload(writer, "ka", [_event("ka", 1, gone_card, EventKind.STAMP, 1, NOW)]
                   )[gone_card]["stamps"] == 1


def test_on_postgresql_an_upload_naming_a_card_its_process_is_writing_waits_in_the_queue(
    postgres_db: str,
) -> None:
    add_kiosk(postgres_db, "ka")
    add_kiosk(postgres_db, "kb")
    db, other = open_database(postgres_db), open_database(postgres_db)
    writer, other_writer = BatchWriter(db), BatchWriter(other)
    busy, also, free = CARDS[0], CARDS[1], CARDS[2]
    try:
        with writing(other) as conn:
            other_writer.cards.session(conn).get(DEFAULT_ORG, [busy])  # another process
            first = writer.submit(Kiosk("ka", 1, DEFAULT_ORG), [check_event(
                _event("ka", 1, busy, EventKind.STAMP, 1, NOW), "ka", NOW)], NOW)
            assert wait_until(lambda: _waiting_on_locks(other) == 1, timeout=10)
            # the busy card again (with another one), then a card nobody is writing
            second = writer.submit(Kiosk("ka", 1, DEFAULT_ORG), [check_event(
                _event("ka", 2, busy, EventKind.STAMP, 1, NOW), "ka", NOW), check_event(
                _event("ka", 3, also, EventKind.STAMP, 1, NOW), "ka", NOW)], NOW)
            done = _upload(writer, "kb", [_event("kb", 1, free, EventKind.STAMP, 1, NOW)])
            assert done[free]["stamps"] == 1
            # the second upload was not taken into a group of its own to wait in the
            # database beside the first: it is still queued
            assert _waiting_on_locks(other) == 1
            assert not first.done() and not second.done()
        assert first.result(timeout=30).cards[busy]["stamps"] == 1
        answer = second.result(timeout=30).cards
        assert (answer[busy]["stamps"], answer[also]["stamps"]) == (2, 1)
        for card in (busy, also, free):
            assert stored_state(db, card) == stored_fold(db, card)
    finally:
        for each in (writer, other_writer):
            each.close()
        db.dispose()
        other.dispose()


def test_on_postgresql_a_rebuild_waits_for_the_upload_being_written_and_counts_it(
    postgres_db: str,
) -> None:
    add_kiosk(postgres_db, "ka")
    db, other = open_database(postgres_db), open_database(postgres_db)
    writer = BatchWriter(db)
    card = CARDS[0]
    late_evening = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)  # already 1 June in Paris
    _upload(writer, "ka", [_event("ka", 1, card, EventKind.STAMP, 1, late_evening)])
    rebuilt: list[bool] = []
    try:
        # an upload of the card is being written by another process...
        with writing(other) as conn:
            cards = CardCache(shared=True).session(conn)
            cards.get(DEFAULT_ORG, [card])
            # ...when the owner sets a program in another time zone (every card rebuilt)
            setting = threading.Thread(target=lambda: rebuilt.append(store.set_program(
                db, from_toml('version = "paris"\ntimezone = "Europe/Paris"\n'), NOW)))
            setting.start()
            assert wait_until(lambda: _waiting_on_a_lock(other), timeout=10)
            assert rebuilt == []
            item = check_event(_event("ka", 2, card, EventKind.STAMP, 1, late_evening), "ka",
                               NOW)
            write_batch(conn, Kiosk("ka", 1, DEFAULT_ORG), [item], NOW, cards)
            cards.flush()
        setting.join(timeout=30)
        assert rebuilt == [True]
        state = stored_state(db, card)
        assert state == stored_fold(db, card)
        assert (state.stamps, state.stamp_day) == (2, date(2026, 6, 1))
    finally:
        writer.close()
        db.dispose()
        other.dispose()


def test_on_postgresql_an_upload_waits_for_a_rebuild_of_every_card(postgres_db: str) -> None:
    add_kiosk(postgres_db, "ka")
    db, other = open_database(postgres_db), open_database(postgres_db)
    writer = BatchWriter(db)
    card = CARDS[0]
    try:
        with writing(other) as conn:  # a rebuild of every card is under way
            lock_every_card(conn, DEFAULT_ORG)
            upload = _held_up(writer, other, 1, card)
        assert upload.result(timeout=30).cards[card]["stamps"] == 1
    finally:
        writer.close()
        db.dispose()
        other.dispose()


def _held_up(writer: BatchWriter, other: Database, seq: int, card: str) -> Future[Ingested]:
    """Kiosk ka's stamp of `card`, submitted: it waits on a lock a transaction of `other`
    holds (checked), unanswered."""
    upload = writer.submit(Kiosk("ka", 1, DEFAULT_ORG), [check_event(
        _event("ka", seq, card, EventKind.STAMP, 1, NOW), "ka", NOW)], NOW)
    assert wait_until(lambda: _waiting_on_a_lock(other), timeout=10)
    assert not upload.done()
    return upload


def _waiting_on_locks(db: Database) -> int:
    with reading(db) as conn:
        found = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"))
        return int(found.scalar_one())


def _waiting_on_a_lock(db: Database) -> bool:
    return _waiting_on_locks(db) > 0


def test_a_batch_that_cannot_be_written_fails_alone_and_the_rest_of_its_group_commits(
    served: tuple[str, Database, BatchWriter],
) -> None:
    _path, db, writer = served
    good = [_event("ka", seq, CARDS[0], EventKind.STAMP, 1, NOW) for seq in (1, 2)]
    # passes every check, but no database stores an integer past 2**63 - 1: the write raises
    unwritable = check_event(_event("kb", 1, CARDS[0], EventKind.STAMP, 1, NOW), "kb", NOW)
    assert unwritable.event is not None
    unwritable = replace(unwritable, event=replace(unwritable.event, seq=2**63))
    with db.write_guard():  # the writer waits for the lock: the batches queue into one group
        futures = [writer.submit(Kiosk("ka", 1, DEFAULT_ORG), [check_event(good[0], "ka", NOW)], NOW),
                   writer.submit(Kiosk("kb", 1, DEFAULT_ORG), [unwritable], NOW),
                   writer.submit(Kiosk("ka", 1, DEFAULT_ORG), [check_event(good[1], "ka", NOW)], NOW)]
    with pytest.raises((OverflowError, DBAPIError)):
        futures[1].result(timeout=30)
    assert [f.result(timeout=30).results[0].status for f in (futures[0], futures[2])] == [
        "accepted", "accepted"]
    assert stored_state(db, CARDS[0]) == stored_fold(db, CARDS[0])
    assert stored_state(db, CARDS[0]).stamps == 2


def test_a_rebuild_by_another_writer_is_seen_by_the_next_upload(
    served: tuple[str, Database, BatchWriter],
) -> None:
    path, db, writer = served
    card = CARDS[0]
    late_evening = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)  # already 1 June in Paris
    first = _upload(writer, "ka", [_event("ka", 1, card, EventKind.STAMP, 1, late_evening)])
    assert first[card]["stamp_day"] == "2026-05-31"
    other = open_database(path)
    store.set_program(other, from_toml('version = "paris"\ntimezone = "Europe/Paris"\n'), NOW)
    other.dispose()
    second = _upload(writer, "ka", [_event("ka", 2, card, EventKind.STAMP, 1, late_evening)])
    assert second[card]["stamp_day"] == "2026-06-01"
    assert second[card]["stamps_that_day"] == 2
    assert CardState.from_dict(second[card]) == stored_fold(db, card) == stored_state(db, card)


def test_a_card_state_changed_behind_the_writers_back_is_read_again(
    served: tuple[str, Database, BatchWriter],
) -> None:
    path, db, writer = served
    card = CARDS[1]
    _upload(writer, "kb", [_event("kb", 1, card, EventKind.STAMP, 1, NOW)])
    # another server on the same database advanced the card (and renewed the tag)
    other = open_database(path)
    other_writer = BatchWriter(other)
    _upload(other_writer, "kb", [_event("kb", 2, card, EventKind.STAMP, 1, NOW)])
    other_writer.close()
    other.dispose()
    answer = _upload(writer, "kb", [_event("kb", 3, card, EventKind.STAMP, 1, NOW)])
    assert answer[card]["stamps"] == 3
    assert stored_state(db, card) == stored_fold(db, card)

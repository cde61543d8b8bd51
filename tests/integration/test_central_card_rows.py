"""What the central stores for each card (card_states), and how it finds cards by ref.

A card's row holds its fold in short (no card_ref, no new-card values), read back whole;
migration 0018 writes every row whole again on its way down, for an older server. On
PostgreSQL, a lookup by a list of refs probes the primary key once per ref even in a
table that has no statistics yet.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from sqlalchemy import bindparam, event, insert, select, text

from central import migrations
from central.cardcache import full_state, stored_text
from central.changes import changed_cards
from central.db import (
    Database,
    card_states,
    metadata,
    open_database,
    organisations,
    reading,
    writing,
)
from central.fastsql import InQuery
from central.orgs import DEFAULT_ORG, Kiosk
from central.testing import add_kiosk, event_dict
from central.validate import check_event
from central.writer import BatchWriter
from kiosk.core.events import CardState, EventKind
from tests.support.central_cards import stored_fold
from tests.unit.test_card_text import STATES

short_card_states = importlib.import_module(
    "central.migrations.versions.0018_short_card_states")

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARDS = [f"{n:064x}" for n in (1, 2, 3)]
NEW_CARD = CardState(card_ref="").to_dict()


@given(STATES)
def test_a_card_rows_text_reads_back_as_the_whole_fold_in_its_order(state: CardState) -> None:
    whole = state.to_dict()
    short = stored_text(whole)
    assert "card_ref" not in json.loads(short)
    assert list(full_state(state.card_ref, short).items()) == list(whole.items())
    # a row written whole (before rows were short) reads the same
    assert full_state(state.card_ref, json.dumps(whole)) == whole


def test_two_cards_read_from_short_rows_share_no_map_or_list() -> None:
    first, second = (full_state(ref, "{}") for ref in CARDS[:2])
    first["earned"]["r1"] = 5
    first["versions"].append("2")
    assert second["earned"] == {} and second["versions"] == []
    assert full_state(CARDS[2], "{}") == CardState(CARDS[2]).to_dict()


def test_a_short_row_means_what_it_meant_when_it_was_written() -> None:
    # a row leaves out what a new card holds: a new card's values may not change without
    # a migration that writes the rows of the old ones whole (as 0018's way down does)
    new_card = CardState(card_ref="").to_dict()
    del new_card["card_ref"]
    assert list(new_card.items()) == list(short_card_states.NEW_CARD.items())
    # and they are all falsy: what stored_text leaves out by its truth
    assert not any(new_card.values())


def test_a_new_cards_row_holds_nothing_but_what_differs_from_a_new_card() -> None:
    assert stored_text(CardState(CARDS[0]).to_dict()) == "{}"
    state = CardState(CARDS[0], stamps=0, links_revoked=0, tier="gold")
    assert json.loads(stored_text(state.to_dict())) == {"links_revoked": 0, "tier": "gold"}
    # empty, but not a new card's None: kept, and read back as it was
    state = CardState(CARDS[0], tier="", welcome_day="", links_revoked=0)
    assert json.loads(stored_text(state.to_dict())) == {
        "tier": "", "welcome_day": "", "links_revoked": 0}
    assert full_state(CARDS[0], stored_text(state.to_dict())) == state.to_dict()


@pytest.fixture()
def db(central_db: str) -> Iterator[Database]:
    add_kiosk(central_db, "k1")
    opened = open_database(central_db)
    try:
        yield opened
    finally:
        opened.dispose()


def _upload(db: Database) -> None:
    writer = BatchWriter(db)
    try:
        items = [event_dict("k1", CARDS[0], 1, NOW - timedelta(days=2), kind=EventKind.ENROLLED),
                 event_dict("k1", CARDS[0], 2, NOW - timedelta(days=1)),
                 event_dict("k1", CARDS[1], 3, NOW)]
        checked = [check_event(item, "k1", NOW) for item in items]
        done = writer.submit(Kiosk("k1", 1, DEFAULT_ORG), checked, NOW).result(timeout=30)
        assert {r.status for r in done.results} == {"accepted"}
    finally:
        writer.close()


def _rows(db: Database) -> dict[str, str]:
    with reading(db) as conn:
        return {row.card_ref: row.state for row in conn.execute(
            select(card_states.c.card_ref, card_states.c.state))}


def test_a_written_card_row_is_short_and_the_cards_pulled_are_whole(db: Database) -> None:
    _upload(db)
    rows = _rows(db)
    assert set(rows) == set(CARDS[:2])
    for ref, stored in rows.items():
        fold = stored_fold(db, ref)
        assert ref not in stored
        assert len(stored) < len(json.dumps(fold.to_dict())) / 2
        assert not {name for name, value in json.loads(stored).items() if value == NEW_CARD[name]}
    page = changed_cards(db, DEFAULT_ORG, "0")
    for ref in rows:
        card = page.cards[ref]
        assert {name: card[name] for name in NEW_CARD} | {"card_ref": ref} == \
            stored_fold(db, ref).to_dict()


def test_the_way_down_from_0018_writes_every_card_row_whole_for_an_older_server(
        db: Database) -> None:
    _upload(db)
    # rows past several of the way down's chunks, and a second organisation's cards whose
    # refs sort before the first's last ones (paged by organisation, then card)
    assert 2 * short_card_states.CHUNK < 2_500
    _fill(db, 2_500, first=10_000)
    with writing(db) as conn:
        other = int(conn.execute(insert(organisations).values(
            name="other", card_seq=0, created_at=NOW.isoformat())
                                 .returning(organisations.c.id)).scalar_one())
    _fill(db, 1_200, first=5, org=other)
    with db.engine.begin() as conn:
        command.downgrade(migrations.config(conn), "0013")
    rows = _rows(db)
    assert len(rows) == 2 + 2_500 + 1_200  # the two cards _upload names, the filled ones

    def fold_of(ref: str) -> CardState:
        return stored_fold(db, ref) if ref in CARDS else CardState(ref)  # filled: no event

    for ref, stored in rows.items():
        # as a server of revision 0013 reads a row
        assert CardState.from_dict(json.loads(stored)) == fold_of(ref)
    with db.engine.begin() as conn:
        command.upgrade(migrations.config(conn), "head")
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    _upload(db)  # the same events again: duplicates, nothing rewritten
    assert all(CardState.from_dict(full_state(ref, stored)) == fold_of(ref)
               for ref, stored in _rows(db).items())


_REFS = InQuery(card_states.c.card_ref, lambda wanted: select(card_states.c.card_ref).where(
    card_states.c.org_id == bindparam("org"), wanted))


def _fill(db: Database, cards: int, first: int = 1, org: int = DEFAULT_ORG) -> None:
    """`cards` rows of cards with no event (a new card's fold, stored short)."""
    with writing(db) as conn:
        conn.execute(card_states.insert(), [
            {"org_id": org, "card_ref": f"{n:064x}", "state": "{}", "flagged": "{}",
             "changed": n, "changed_xid": 0, "version": n}
            for n in range(first, first + cards)])


def test_a_lookup_by_refs_finds_each_stored_card_once(db: Database) -> None:
    _fill(db, 20)
    wanted = [f"{n:064x}" for n in (3, 3, 7, 99, 20)]
    with reading(db) as conn:
        found = [row.card_ref for row in _REFS.run(conn, wanted, org=DEFAULT_ORG)]
    assert sorted(found) == [f"{n:064x}" for n in (3, 7, 20)]


def test_a_lookup_by_refs_probes_the_primary_key_in_a_table_without_statistics(
        postgres_db: str) -> None:
    add_kiosk(postgres_db, "k1")
    db = open_database(postgres_db)
    try:
        with db.engine.begin() as conn:  # no ANALYZE, no autovacuum: no statistics
            conn.execute(text("ALTER TABLE card_states SET (autovacuum_enabled = off)"))
            key = conn.execute(text(
                "SELECT conindid::regclass::text FROM pg_constraint "
                "WHERE conrelid = 'card_states'::regclass AND contype = 'p'")).scalar_one()
        _fill(db, 20_000)

        def explain(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                    _many: bool) -> tuple[str, Any]:
            return "EXPLAIN " + statement, parameters

        event.listen(db.engine, "before_cursor_execute", explain, retval=True)
        with reading(db) as conn:
            wanted = [f"{n:064x}" for n in range(1, 20_000, 50)]
            plans = [row[0] for row in _REFS.run(conn, wanted, org=DEFAULT_ORG)]
        event.remove(db.engine, "before_cursor_execute", explain)
    finally:
        db.dispose()
    assert any(f"Index Scan using {key}" in line or f"Index Only Scan using {key}" in line
               for line in plans), plans
    assert not any("card_states_by_change" in line for line in plans), plans

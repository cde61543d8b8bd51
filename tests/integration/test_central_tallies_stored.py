"""The Overview's figures as stored (central.tallies.add) on each database: whatever
batches add, in whichever writers' shards, the rows read back are their sum. PostgreSQL
writes them with statements of its own (arrays), SQLite with the portable ones: both
are held to the same sums here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from central import tallies
from central.db import Database, card_activity, hour_figures, open_database, shop_totals, writing
from central.db import overdrawn_cards as overdrawn_table
from central.tallies import ALL_SHOPS, COLUMNS, Counts
from tests.support.databases import BACKENDS, database_url

ORG = 1
DAYS = ["2026-03-01", "2026-03-02"]
CARDS = [c * 64 for c in "abc"]

hour_keys = st.tuples(st.sampled_from([1, 2]), st.sampled_from(DAYS), st.integers(0, 23))
column_values = st.fixed_dictionaries({c: st.integers(-3, 5) for c in COLUMNS})


@st.composite
def counts(draw: st.DrawFn) -> Counts:
    found = Counts()
    for key, values in draw(st.dictionaries(hour_keys, column_values, max_size=5)).items():
        for column, n in values.items():
            found.add(key, column, n)
    found.last_day = draw(st.dictionaries(
        st.tuples(st.sampled_from([ALL_SHOPS, 1, 2]), st.sampled_from(CARDS)),
        st.sampled_from(DAYS), max_size=4))
    found.overdrawn = draw(st.dictionaries(st.sampled_from(CARDS),
                                           st.sampled_from([None, "k1", "k2"]), max_size=2))
    return found


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       pg_cluster: Any) -> Iterator[Database]:
    url = database_url(request.param, Path(tmp_path_factory.mktemp("tallies")), pg_cluster)
    opened = open_database(url)
    try:
        yield opened
    finally:
        opened.dispose()


def expected(batches: list[Counts]) -> tuple[dict[Any, tuple[int, ...]], dict[Any, tuple[int, int]],
                                             dict[Any, str], dict[str, str]]:
    hours: dict[tuple[int, str, int], Counter[str]] = {}
    for batch in batches:
        for (shop, day, hour), n in batch.hours.items():
            for place in {shop, ALL_SHOPS}:
                hours.setdefault((place, day, hour), Counter()).update(n)
    totals: dict[int, Counter[str]] = {}
    for (shop, _day, _hour), n in hours.items():
        totals.setdefault(shop, Counter()).update({c: n[c] for c in ("earned", "redeemed")})
    last: dict[tuple[int, str], str] = {}
    overdrawn: dict[str, str] = {}
    for batch in batches:
        for key, day in batch.last_day.items():
            last[key] = max(last.get(key, ""), day)
        for ref, kiosk in batch.overdrawn.items():
            if kiosk is None:
                overdrawn.pop(ref, None)
            else:
                overdrawn[ref] = kiosk
    return ({key: tuple(n[c] for c in COLUMNS) for key, n in hours.items()
             if any(n[c] for c in COLUMNS)},
            {shop: (n["earned"], n["redeemed"]) for shop, n in totals.items()
             if n["earned"] or n["redeemed"]},
            last, overdrawn)


def stored(db: Database) -> tuple[dict[Any, tuple[int, ...]], dict[Any, tuple[int, int]],
                                  dict[Any, str], dict[str, str]]:
    with db.engine.connect() as conn:
        sums = [func.sum(hour_figures.c[c]) for c in COLUMNS]
        hours = {(row[0], row[1], row[2]): tuple(int(n) for n in row[3:])
                 for row in conn.execute(select(
                     hour_figures.c.shop_id, hour_figures.c.day, hour_figures.c.hour, *sums
                 ).where(hour_figures.c.org_id == ORG).group_by(
                     hour_figures.c.shop_id, hour_figures.c.day, hour_figures.c.hour))}
        totals = {row[0]: (int(row[1]), int(row[2])) for row in conn.execute(select(
            shop_totals.c.shop_id, func.sum(shop_totals.c.earned),
            func.sum(shop_totals.c.redeemed)
        ).where(shop_totals.c.org_id == ORG).group_by(shop_totals.c.shop_id))}
        last = {(row.shop_id, row.card_ref): row.last_day for row in conn.execute(
            select(card_activity).where(card_activity.c.org_id == ORG))}
        overdrawn = {row.card_ref: row.kiosk_id for row in conn.execute(
            select(overdrawn_table).where(overdrawn_table.c.org_id == ORG))}
    return ({key: n for key, n in hours.items() if any(n)},
            {shop: n for shop, n in totals.items() if any(n)}, last, overdrawn)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.tuples(counts(), st.integers(0, 2)), min_size=1, max_size=3))
def test_the_stored_figures_are_the_sum_of_every_batch_in_any_shard(
        db: Database, batches: list[tuple[Counts, int]]) -> None:
    with writing(db) as conn:
        tallies.forget(conn, ORG)
    for batch, shard in batches:
        with writing(db) as conn:
            tallies.add(conn, ORG, batch, shard)
    assert stored(db) == expected([batch for batch, _shard in batches])


def test_writers_at_once_take_shards_of_their_own_and_keep_them_to_their_commit(
        postgres_db: str) -> None:
    db = open_database(postgres_db)
    try:
        with db.engine.connect() as first, db.engine.connect() as second, \
                db.engine.connect() as third:
            with first.begin():
                mine = tallies.writer_shard(first)
                with second.begin():
                    theirs = tallies.writer_shard(second)
                    assert theirs != mine
                    # each upload of a group asks again: the same shard each time
                    assert tallies.writer_shard(second) == theirs
                    assert tallies.writer_shard(first) == mine
            with third.begin():  # another writer takes the shard the first one freed
                assert tallies.writer_shard(third) == mine
                with first.begin():  # a new transaction on the first one's connection
                    assert tallies.writer_shard(first) != mine
    finally:
        db.dispose()

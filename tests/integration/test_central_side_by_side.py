"""Uploads of one organisation written side by side on PostgreSQL: none waits for another's
commit on a row they all share, and kiosks paging changed cards still miss no change; the
schema change that made it so goes up and down without losing a figure."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from central import migrations, orgs, overview
from central.cardcache import CardCache
from central.db import hour_figures, metadata, open_database, organisations, writing
from central.ingest import write_batch
from central.orgs import DEFAULT_ORG
from central.testing import Client, ServerProcess, add_kiosk, event_dict
from central.validate import check_event
from sim.harness import wait_until

NOW = datetime.now(UTC)
CARD_A, CARD_B, CARD_C = (hashlib.sha256(name).hexdigest() for name in (b"a", b"b", b"c"))


def _pull(reader: Client, cursor: str) -> tuple[dict[str, int], str]:
    seen: dict[str, int] = {}
    while True:
        page = reader.get(f"/v1/cards/changes?after={cursor}&limit=1").json()
        seen.update({ref: card["stamps"] for ref, card in page["cards"].items()})
        cursor = page["cursor"]
        if not page["more"]:
            return seen, cursor


def _pull_until(reader: Client, cursor: str, cards: int) -> tuple[dict[str, int], str]:
    """_pull again until `cards` cards came: a change is handed out once no transaction
    begun before its own is still running, and one of PostgreSQL's own (an autovacuum's
    ANALYZE of a table this test wrote) may still run for a moment after the upload."""
    seen: dict[str, int] = {}

    def arrived() -> bool:
        nonlocal cursor
        page, cursor = _pull(reader, cursor)
        seen.update(page)
        return len(seen) >= cards

    assert wait_until(arrived, timeout=10), seen
    return seen, cursor


def test_a_card_committed_late_by_an_older_upload_reaches_a_kiosk_that_paged_past_newer_ones(
    postgres_db: str,
) -> None:
    writer_token = add_kiosk(postgres_db, "ka")
    reader_token = add_kiosk(postgres_db, "reader")
    db = open_database(postgres_db)
    held_kiosk = orgs.authenticate(db, add_kiosk(postgres_db, "kb"))
    assert held_kiosk is not None
    try:
        with ServerProcess(postgres_db) as server:
            # a generous timeout: an upload that waited for the held one would hang here
            writer = Client(server.url, writer_token, timeout=20)
            reader = Client(server.url, reader_token)
            assert writer.post_events([event_dict("ka", CARD_A, 1, NOW)]).status == 200
            seen, cursor = _pull(reader, "0")
            assert seen == {CARD_A: 1}
            # an upload of the same organisation, written and flushed like the server's own
            # writer does it, but committed only after a later upload (same shop, same hour)
            with writing(db) as conn:
                cards = CardCache(shared=True).session(conn)
                held = [check_event(event_dict("kb", CARD_A, 1, NOW), "kb", NOW)]
                write_batch(conn, held_kiosk, held, NOW, cards)
                cards.flush()
                reply = writer.post_events([event_dict("ka", CARD_B, 2, NOW)])
                assert reply.status == 200  # it did not wait for the one held open
                seen, cursor = _pull(reader, cursor)
                # card B's change waits for the older upload: nothing is passed over
                assert seen == {}
            seen, cursor = _pull_until(reader, cursor, 2)
            assert seen == {CARD_A: 2, CARD_B: 1}
            assert writer.post_events([event_dict("ka", CARD_C, 3, NOW)]).status == 200
            assert _pull_until(reader, cursor, 1)[0] == {CARD_C: 1}
            writer.close()
            reader.close()
        with db.engine.connect() as conn:
            # the two uploads of one hour added to rows of their own; the Overview adds them
            shards = conn.execute(select(func.count(hour_figures.c.shard.distinct()))).scalar()
            assert shards == 2
            today = overview.read(conn, DEFAULT_ORG, None,
                                  overview.period("today", NOW.astimezone(UTC).date()))
            assert today.visits == 4
    finally:
        db.dispose()


def _figures(conn: object) -> list[tuple[int, str, int, int]]:
    rows = conn.execute(text(  # type: ignore[attr-defined]
        "SELECT shop_id, day, hour, SUM(visits) FROM hour_figures "
        "GROUP BY shop_id, day, hour ORDER BY shop_id, day, hour"))
    return [tuple(row) for row in rows]


def test_the_shards_migration_goes_down_and_up_again_keeping_every_figure_and_cursor(
    central_db: str,
) -> None:
    token = add_kiosk(central_db, "k1")
    with ServerProcess(central_db) as server:
        client = Client(server.url, token)
        for seq, card in enumerate((CARD_A, CARD_B, CARD_C, CARD_A), start=1):
            assert client.post_events([event_dict("k1", card, seq, NOW
                                                  - timedelta(hours=seq))]).status == 200
        last = client.get("/v1/cards/changes?after=0").json()["cursor"]
        client.close()
    db = open_database(central_db)
    try:
        with db.engine.begin() as conn:
            # another writer's share of one hour, as a second server process leaves it
            conn.execute(text("INSERT INTO hour_figures (org_id, shop_id, day, hour, shard, "
                              "visits, return_visits, new_cards, earned, redeemed) SELECT "
                              "org_id, shop_id, day, hour, 7, 5, 0, 0, 0, 0 FROM hour_figures "
                              "WHERE shard = 0 LIMIT 1"))
            before = _figures(conn)
            top = conn.execute(text("SELECT MAX(changed) FROM card_states")).scalar_one()
        with db.engine.begin() as conn:
            command.downgrade(migrations.config(conn), "0011")
        with db.engine.connect() as conn:
            assert _figures(conn) == before  # every shard folded into one row
            # the organisation's own numbering continues above every number given out
            seq = conn.execute(select(organisations.c.card_seq)).scalar_one()
            assert seq >= top
        with db.engine.begin() as conn:
            command.upgrade(migrations.config(conn), "head")
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert _figures(conn) == before
    finally:
        db.dispose()
    with ServerProcess(central_db) as server:
        client = Client(server.url, token)
        # a cursor given before the round trip still means what it meant
        assert client.get(f"/v1/cards/changes?after={last}").json()["cards"] == {}
        assert client.post_events([event_dict("k1", CARD_B, 9, NOW)]).status == 200
        assert list(client.get(f"/v1/cards/changes?after={last}").json()["cards"]) == [CARD_B]
        client.close()

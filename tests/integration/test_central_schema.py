"""The central's schema under Alembic: created whole, upgraded whole or not at all, and a
database of another schema refused by `serve` with one line naming the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, select, text

import central.migrations as migrations_package
from central import migrations, store
from central.cli import main
from central.db import Database, meta, metadata, open_database, table_names
from central.figures import visits_per_day
from central.orgs import DEFAULT_ORG
from central.testing import add_kiosk

BROKEN = '''
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("n", sa.Integer, primary_key=True))
    op.add_column("kiosks", sa.Column("shop", sa.String(40)))
    raise RuntimeError("a migration that fails half way")
'''


# visits as an old server stored them: two on 1 June (one undone), one on 2 June
OLD_EVENTS = [("stamp", "2026-06-01T09:00:00+00:00"), ("stamp", "2026-06-01T10:00:00+00:00"),
              ("adjustment", "2026-06-01T10:01:00+00:00"), ("stamp", "2026-06-02T09:00:00+00:00"),
              ("enrolled", "2026-06-02T09:00:00+00:00")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def _revision(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())


def _make_old_database(url: str) -> None:
    """A database as the server made it before Alembic and before the card cache."""
    db = open_database(url, create=False, check=False)
    try:
        with db.engine.begin() as conn:
            command.upgrade(migrations.config(conn), migrations.FIRST)
            conn.execute(text("DROP TABLE alembic_version"))
            conn.execute(delete(meta).where(meta.c.key == "cards_generation"))
            for n, (kind, at) in enumerate(OLD_EVENTS):
                conn.execute(text(
                    "INSERT INTO events VALUES (:id, 'h', 'k1', :seq, :card, :kind, 1, NULL, "
                    "'1', :at, NULL, :at, NULL)"),
                    {"id": f"old-{n}", "seq": n, "card": "ab" * 32, "kind": kind, "at": at})
    finally:
        db.dispose()


def test_the_migrations_build_exactly_the_schema_the_server_uses(central_db: str) -> None:
    db = open_database(central_db)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        assert _revision(db) == migrations.head()
    finally:
        db.dispose()


def test_an_old_database_is_refused_by_serve_until_migrate_upgrades_it(
    capsys: pytest.CaptureFixture[str], central_db: str
) -> None:
    _make_old_database(central_db)
    code, _, err = run(capsys, "serve", "--db", central_db, "--port", "0")
    assert code == 1 and err.count("\n") == 0
    assert "schema 0001" in err and "kiosk-central migrate" in err
    code, out, _ = run(capsys, "migrate", "--db", central_db)
    assert code == 0 and f"from schema 0001 to {migrations.head()}" in out
    db = open_database(central_db)
    try:
        with db.engine.connect() as conn:
            tags = conn.execute(select(meta.c.value).where(meta.c.key == "cards_generation"))
            assert len(tags.all()) == 1
            # a server from before Alembic reads this and refuses the database
            version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version"))
            assert version.scalar() == "2"
            # the dashboard's figures are counted once from the events already stored
            assert visits_per_day(conn, DEFAULT_ORG, "2026-06-01", "2026-06-30") == [
                ("k1", "2026-06-01", 1), ("k1", "2026-06-02", 1)]
        # what was there is the default organisation's; its kiosks' own site key is
        # unknown here, so none is made up (a pairing would hand out a key naming no card)
        assert store.site_key(db, DEFAULT_ORG) is None
        assert store.event_count(db, DEFAULT_ORG) == len(OLD_EVENTS)
    finally:
        db.dispose()
    up_to_date = f"is up to date (schema {migrations.head()})"
    assert run(capsys, "migrate", "--db", central_db)[1].endswith(up_to_date)


def test_a_database_of_a_newer_schema_is_refused_and_left_untouched(
    capsys: pytest.CaptureFixture[str], central_db: str
) -> None:
    add_kiosk(central_db, "k1")
    db = open_database(central_db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    for command_line in (("serve", "--port", "0"), ("migrate",), ("list-kiosks",)):
        code, _, err = run(capsys, *command_line, "--db", central_db)
        assert code == 1 and err.count("\n") == 0
        assert "schema 0099" in err and "upgrade kiosk-central" in err
    assert _revision(db) == "0099"
    db.dispose()


def test_a_migration_that_fails_half_way_leaves_the_database_as_it_was(
    central_db: str, tmp_path: Path
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(Path(migrations_package.__file__).parent, scripts,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_broken.py").write_text(BROKEN.format(head=migrations.head()))
    add_kiosk(central_db, "k1")
    db = open_database(central_db)
    try:
        with pytest.raises(RuntimeError, match="half way"):
            migrations.upgrade(db, location=str(scripts))
        assert _revision(db) == migrations.head()
        with db.engine.connect() as conn:
            assert "half_done" not in table_names(conn)
            columns = conn.execute(select(text("*")).select_from(text("kiosks"))).keys()
            assert "shop" not in list(columns)
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("postgresql://shop:s3cret-pw@127.0.0.1:1/loyalty", "127.0.0.1"),
        ("postgresql://shop:s3cret-pw@db.invalid/loyalty", "db.invalid"),
        ("postgresql://shop:s3cret-pw@", "the local socket"),
        ("nosuchdriver://shop:s3cret-pw@db.invalid/loyalty", "db.invalid"),
    ],
)
def test_a_wrong_or_unreachable_database_stops_serve_with_one_line_naming_its_host(
    capsys: pytest.CaptureFixture[str], url: str, host: str
) -> None:
    code, _, err = run(capsys, "serve", "--db", url, "--port", "0")
    assert code == 1 and err.count("\n") == 0
    assert host in err and "s3cret" not in err


def test_an_empty_database_is_created_at_the_newest_schema_by_any_command(
    central_db: str,
) -> None:
    add_kiosk(central_db, "k1")
    db = open_database(central_db)
    try:
        assert _revision(db) == migrations.head()
        with db.engine.connect() as conn:
            assert {"events", "kiosks", "card_states", "customers"} <= table_names(conn)
    finally:
        db.dispose()


def test_a_plain_postgresql_url_is_served_by_psycopg_3(postgres_db: str) -> None:
    plain = postgres_db.replace("postgresql+psycopg://", "postgresql://")
    db = open_database(plain)
    try:
        assert db.engine.dialect.driver == "psycopg" and not db.is_sqlite
    finally:
        db.dispose()

"""Organisations and shops: every card, event, customer, program and figure belongs to one
organisation; every kiosk to one shop. Pairing codes. The card-change cursor.

What was there becomes the default organisation's (one shop, "main"). Its site key is
generated only for a database that has neither kiosks nor events; otherwise the kiosks'
own key must be imported (`kiosk-central set-site-key FILE`), or card refs would differ.
Tables whose primary key gains org_id are copied into a new table (portable on SQLite and
PostgreSQL alike).

Revision ID: 0006
Revises: 0005
"""

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None



def _now() -> str:
    return datetime.now(UTC).isoformat()


def _count(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _copy(name: str, columns: list[sa.Column[Any]], *extra: sa.Constraint,
          select: str, indexes: dict[str, list[str]] | None = None) -> None:
    """Replace table `name` by one with `columns`, filled by the SELECT `select`."""
    op.create_table(f"{name}_new", *columns, *extra)
    names = ", ".join(column.name for column in columns)
    op.execute(f"INSERT INTO {name}_new ({names}) {select}")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)
    for index, on in (indexes or {}).items():
        op.create_index(index, name, on)


def upgrade() -> None:
    conn = op.get_bind()
    fresh = _count(conn, "kiosks") == 0 and _count(conn, "events") == 0
    organisations = op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("site_key", sa.String(64), nullable=True),
        sa.Column("card_seq", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    shops = op.create_table(
        "shops",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="shops_by_org_name"),
    )
    op.create_table(
        "pairing_codes",
        sa.Column("code_sha256", sa.String(64), primary_key=True),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("used_at", sa.String(40), nullable=True),
    )
    cards = _count(conn, "card_states")
    op.bulk_insert(organisations, [{
        "name": "default", "site_key": secrets.token_hex(32) if fresh else None,
        "card_seq": cards, "created_at": _now()}])
    op.bulk_insert(shops, [{"org_id": 1, "name": "main", "created_at": _now()}])

    for table, column in (("kiosks", "shop_id"), ("owner_keys", "org_id"),
                          ("events", "org_id")):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.Integer, nullable=True))
        op.execute(f"UPDATE {table} SET {column} = 1")
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, existing_type=sa.Integer, nullable=False)
    op.drop_index("ix_events_card_ref", "events")
    op.create_index("events_by_card", "events", ["org_id", "card_ref"])

    # each card keeps its place in the change order (any order will do: none was pulled)
    _copy("card_states", [
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(64), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("flagged", sa.Text, nullable=False),
        sa.Column("changed", sa.BigInteger, nullable=False),
    ], select="SELECT 1, card_ref, state, flagged, "
              "ROW_NUMBER() OVER (ORDER BY card_ref) FROM card_states",
        indexes={"card_states_by_change": ["org_id", "changed"]})
    _copy("customers", [
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(64), primary_key=True),
        sa.Column("first_name", sa.String(60), nullable=True),
        sa.Column("birthday", sa.String(10), nullable=True),
        sa.Column("consent", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    ], select="SELECT 1, card_ref, first_name, birthday, consent, updated_at FROM customers")
    _copy("daily_visits", [
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("shop_id", sa.Integer, primary_key=True),
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("visits", sa.Integer, nullable=False),
    ], select="SELECT 1, 1, kiosk_id, day, visits FROM daily_visits",
        indexes={"daily_visits_by_day": ["org_id", "day"]})
    _copy("programs", [
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("shop_id", sa.Integer, nullable=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("set_at", sa.String(40), nullable=False),
    ], sa.UniqueConstraint("org_id", "version", name="programs_by_org_version"),
        select="SELECT n, 1, NULL, version, body, set_at FROM programs")
    if conn.dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('programs', 'n'), "
                   "coalesce((SELECT max(n) FROM programs), 0) + 1, false)")


def downgrade() -> None:
    raise NotImplementedError("organisations cannot be folded back into one database; "
                              "restore the backup taken before `kiosk-central migrate`")

"""The schema as the first central server made it (before Alembic).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "meta",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_table(
        "kiosks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("card_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("reward_id", sa.String(40), nullable=True),
        sa.Column("program_version", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("staff_ref", sa.String(64), nullable=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("flags", sa.String(100), nullable=True),
    )
    op.create_index("ix_events_card_ref", "events", ["card_ref"])
    op.create_index("events_by_kiosk_seq", "events", ["kiosk_id", "seq"])
    op.create_table(
        "card_states",
        sa.Column("card_ref", sa.String(64), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("flagged", sa.Text, nullable=False),
    )
    op.create_table(
        "programs",
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(40), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("set_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("card_ref", sa.String(64), primary_key=True),
        sa.Column("first_name", sa.String(60), nullable=True),
        sa.Column("birthday", sa.String(10), nullable=True),
        sa.Column("consent", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"},
                          {"key": "cards_generation", "value": "0"}])


def downgrade() -> None:
    for table in ("customers", "programs", "card_states", "events", "kiosks", "meta"):
        op.drop_table(table)

"""held_moves: a card replacement's held moves, each waiting for a card's events.

Revision ID: 0013
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_moves",
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("waits_for", sa.String(40), primary_key=True),
        sa.Column("event_id", sa.String(100), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("held_moves")

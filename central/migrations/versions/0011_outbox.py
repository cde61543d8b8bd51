"""The messages' outbox (one row per message, claimed before sending) and bounced addresses.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("card_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("occasion", sa.String(100), nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("queued_at", sa.String(40), nullable=False),
        sa.Column("until", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try_at", sa.String(40), nullable=True),
        sa.Column("claimed_at", sa.String(40), nullable=True),
        sa.Column("sent_at", sa.String(40), nullable=True),
        sa.Column("unsubscribe_sha256", sa.String(64), nullable=True, unique=True),
        sa.Column("detail", sa.String(200), nullable=True),
    )
    op.create_index("outbox_by_status", "outbox", ["org_id", "status", "queued_at"])
    op.create_index("outbox_by_card", "outbox", ["org_id", "card_ref"])
    op.create_table(
        "mail_bounces",
        sa.Column("address_sha256", sa.String(64), primary_key=True),
        sa.Column("bounced_at", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mail_bounces")
    op.drop_table("outbox")

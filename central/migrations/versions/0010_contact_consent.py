"""Customers' contact and consent per purpose; card page links; referral codes and referrals.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_PURPOSES = ("consent_reminders", "consent_offers", "consent_week")


def upgrade() -> None:
    with op.batch_alter_table("customers") as table:
        table.add_column(sa.Column("email", sa.String(254), nullable=True))
        for name in _PURPOSES:
            table.add_column(sa.Column(name, sa.Boolean, nullable=False,
                                       server_default=sa.false()))
        table.add_column(sa.Column("consent_at", sa.String(40), nullable=True))
    op.create_table(
        "card_links",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("card_ref", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_card_links_card_ref", "card_links", ["org_id", "card_ref"])
    op.create_table(
        "referral_codes",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("card_ref", sa.String(64), nullable=False),
        sa.UniqueConstraint("org_id", "card_ref", name="referral_codes_by_card"),
    )
    op.create_table(
        "referrals",
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(64), primary_key=True),
        sa.Column("referrer_ref", sa.String(64), nullable=False),
        sa.Column("linked_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_referrals_referrer_ref", "referrals", ["org_id", "referrer_ref"])


def downgrade() -> None:
    op.drop_table("referrals")
    op.drop_table("referral_codes")
    op.drop_table("card_links")
    with op.batch_alter_table("customers") as table:
        for name in ("consent_at", *reversed(_PURPOSES), "email"):
            table.drop_column(name)

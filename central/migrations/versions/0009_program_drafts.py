"""The owner's program drafts (previewed before publishing) and who published each version.

Revision ID: 0009
Revises: 0008b
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_drafts",
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("saved_by", sa.String(254), nullable=False),
        sa.Column("saved_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "program_publications",
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("published_by", sa.String(254), nullable=False),
        sa.Column("published_at", sa.String(40), nullable=False),
    )
    op.create_index("program_publications_by_org", "program_publications", ["org_id", "version"])


def downgrade() -> None:
    op.drop_table("program_publications")
    op.drop_table("program_drafts")

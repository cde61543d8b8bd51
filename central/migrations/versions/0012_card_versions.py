"""card_states.version: each server process can trust its memory copy of a card's fold.

Every write of a card's row stores a new random version; a process that kept the fold it
wrote compares that number with the stored one instead of reading and parsing the fold
again (central.cardcache). Existing rows get 0, which no write stores: no memory copy
matches them, so each is read once.

Revision ID: 0012
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("card_states") as table:
        table.add_column(sa.Column("version", sa.BigInteger, nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("card_states") as table:
        table.drop_column("version")

"""events.seq as a 64-bit integer on every database.

PostgreSQL's INTEGER is 32 bits: a kiosk's seq past 2**31 - 1 could not be stored.
SQLite's INTEGER is 64 bits already; its declared type changes with the table's copy.
`meta.schema_version` becomes 2, so a server from before Alembic refuses this database.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.alter_column("seq", existing_type=sa.Integer, type_=sa.BigInteger,
                           existing_nullable=False)
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.String))
    op.execute(meta.update().where(meta.c.key == "schema_version").values(value="2"))
    # databases from before the card cache have no generation tag yet
    found = op.get_bind().execute(
        sa.select(meta.c.key).where(meta.c.key == "cards_generation")).first()
    if found is None:
        op.bulk_insert(meta, [{"key": "cards_generation", "value": "0"}])


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger, type_=sa.Integer,
                           existing_nullable=False)

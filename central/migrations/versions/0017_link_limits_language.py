"""Card links made at a counter for a card with details are limited; a customer's language.

card_links.kiosk_id: the kiosk whose card_link event filed the link (NULL: the owner's or
a link from before); card_links.replacing: it took the place of an earlier link (each
kiosk may file only so many a week); card_links.limited: the link was filed while the card held a
customer's details, so its page shows the stamps but not those details (central.links).
customers.lang: the language the customer reads their messages in ("fr" or "en"; NULL:
the shop's).

Revision ID: 0017
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("card_links") as table:
        table.add_column(sa.Column("kiosk_id", sa.String(64), nullable=True))
        table.add_column(sa.Column("replacing", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        table.add_column(sa.Column("limited", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
    op.create_index("ix_card_links_kiosk", "card_links", ["org_id", "kiosk_id", "created_at"])
    with op.batch_alter_table("customers") as table:
        table.add_column(sa.Column("lang", sa.String(2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as table:
        table.drop_column("lang")
    op.drop_index("ix_card_links_kiosk", table_name="card_links")
    with op.batch_alter_table("card_links") as table:
        table.drop_column("limited")
        table.drop_column("replacing")
        table.drop_column("kiosk_id")

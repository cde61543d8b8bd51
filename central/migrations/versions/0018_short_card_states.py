"""card_states.state in short: a card's fold without its card_ref and new-card values.

A row's JSON no longer repeats the card_ref (the row's key) nor the fields that still
hold what a new card holds (zeros, empty counts, nulls): about half of every card row,
and of what each write of one puts in the WAL (central.cardcache). Nothing is rewritten
on the way up: this server reads both forms, and each row takes the short one at its
next write. A server of an older revision reads only the whole form, so the way down
writes every short row whole again, CHUNK rows at a time.

Revision ID: 0018
Revises: 0013
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0013"
branch_labels = None
depends_on = None

# what every field of a new card held at this revision (CardState.to_dict() of a card
# with no event), in its order
NEW_CARD = {
    "enrolled": False, "stamps": 0, "visits": 0, "earned": {}, "redeemed": {},
    "first_seen": None, "last_visit": None, "stamp_day": None, "stamps_that_day": 0,
    "revoked": {}, "month_visits": {}, "day_stamps": {}, "tier": None, "tier_at": None,
    "birthday_at": None, "welcome": 0, "welcome_day": None, "blocked": False,
    "moved_in": {}, "moved_out": {}, "versions": [], "converted": [], "links": 0,
    "link_at": None, "links_revoked": None,
}

_CARDS = sa.table("card_states", sa.column("org_id", sa.Integer),
                  sa.column("card_ref", sa.String), sa.column("state", sa.Text))


def upgrade() -> None:
    pass


CHUNK = 1_000  # rows read and written back at a time: memory stays flat at any size


def downgrade() -> None:
    conn = op.get_bind()
    org, ref = _CARDS.c.org_id, _CARDS.c.card_ref
    write = (sa.update(_CARDS).where(org == sa.bindparam("org"), ref == sa.bindparam("ref"))
             .values(state=sa.bindparam("whole")))
    page = sa.select(org, ref, _CARDS.c.state).order_by(org, ref).limit(CHUNK)
    rows = conn.execute(page).all()
    while rows:
        whole = [{"org": o, "ref": r, "whole": json.dumps({"card_ref": r, **NEW_CARD, **short})}
                 for o, r, short in ((o, r, json.loads(text)) for o, r, text in rows)
                 if "card_ref" not in short]
        if whole:
            conn.execute(write, whole)
        # after the last row by the primary key, as a row value: both databases start the
        # next page from the key itself (an OR of the two columns scans from the first row)
        last = rows[-1]
        rows = conn.execute(page.where(sa.tuple_(org, ref) > sa.tuple_(
            sa.literal(last[0]), sa.literal(last[1])))).all()

"""card_states.state in short: a card's fold without its card_ref and new-card values.

A row's JSON no longer repeats the card_ref (the row's key) nor the fields that still
hold what a new card holds (zeros, empty counts, nulls): about half of every card row,
and of what each write of one puts in the WAL (central.cardcache). Nothing is rewritten
on the way up: this server reads both forms, and each row takes the short one at its
next write. A server of an older revision reads only the whole form, so the way down
writes every short row whole again.

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


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_CARDS.c.org_id, _CARDS.c.card_ref, _CARDS.c.state))
    whole = []
    for org, ref, text in rows:
        short = json.loads(text)
        if "card_ref" not in short:
            whole.append({"org": org, "ref": ref,
                          "whole": json.dumps({"card_ref": ref, **NEW_CARD, **short})})
    if whole:
        conn.execute(sa.update(_CARDS).where(_CARDS.c.org_id == sa.bindparam("org"),
                                             _CARDS.c.card_ref == sa.bindparam("ref"))
                     .values(state=sa.bindparam("whole")), whole)

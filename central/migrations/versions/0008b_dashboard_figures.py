"""The Overview's figures kept at ingest (per shop, day and hour; each card's last visit;
overdrawn cards; per-shop voucher totals), counted once from the stored events, and what
kiosks report of themselves and their till's tickets.

Revision ID: 0008b
Revises: 0012
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008b"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hour_figures",
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("shop_id", sa.Integer, primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("hour", sa.Integer, primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False)
          for name in ("visits", "return_visits", "new_cards", "earned", "redeemed")),
    )
    op.create_table(
        "shop_totals",
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("shop_id", sa.Integer, primary_key=True),
        sa.Column("earned", sa.Integer, nullable=False),
        sa.Column("redeemed", sa.Integer, nullable=False),
    )
    op.create_table(
        "card_activity",
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("shop_id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(64), primary_key=True),
        sa.Column("last_day", sa.String(10), nullable=False),
    )
    op.create_index("card_activity_by_day", "card_activity", ["org_id", "shop_id", "last_day"])
    op.create_table(
        "overdrawn_cards",
        sa.Column("org_id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(64), primary_key=True),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "till_hours",
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("hour", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("shop_id", sa.Integer, nullable=False),
        sa.Column("tickets", sa.Integer, nullable=False),
        sa.Column("card_tickets", sa.Integer, nullable=False),
        sa.Column("card_amount", sa.BigInteger, nullable=False),
        sa.Column("other_amount", sa.BigInteger, nullable=False),
    )
    op.create_index("till_hours_by_day", "till_hours", ["org_id", "day"])
    op.create_table(
        "kiosk_reports",
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("reported_at", sa.String(40), nullable=False),
        sa.Column("software_version", sa.String(40), nullable=False),
        sa.Column("program_version", sa.String(40), nullable=True),
        sa.Column("reader_online", sa.Boolean, nullable=False),
        sa.Column("clock_ok", sa.Boolean, nullable=False),
        sa.Column("pending", sa.Integer, nullable=False),
    )
    _count_stored_events()


def _count_stored_events() -> None:
    """The figures of the events already stored, counted once as ingest would have: per
    organisation, each kiosk's events in its shop."""
    from central import program, tallies
    from kiosk.core.events import Event, EventKind

    conn = op.get_bind()
    shops = {r.id: r.shop_id for r in conn.execute(sa.text("SELECT id, shop_id FROM kiosks"))}
    orgs = [r.org_id for r in conn.execute(sa.text("SELECT DISTINCT org_id FROM events"))]
    for org in orgs:
        found = conn.execute(sa.text(
            "SELECT body FROM programs WHERE org_id = :org AND shop_id IS NULL "
            "ORDER BY n DESC LIMIT 1"), {"org": org}).first()
        tz = UTC if found is None else program.timezone(json.loads(found.body))
        rows = conn.execute(sa.text(
            "SELECT id, kiosk_id, seq, card_ref, kind, delta, reward_id, program_version, "
            "occurred_at, staff_ref FROM events WHERE org_id = :org AND held_reason IS NULL"),
            {"org": org})
        events = [Event(id=r.id, kiosk_id=r.kiosk_id, seq=r.seq, card_ref=r.card_ref,
                        kind=EventKind(r.kind), delta=r.delta, reward_id=r.reward_id,
                        program_version=r.program_version,
                        occurred_at=datetime.fromisoformat(r.occurred_at), staff_ref=r.staff_ref)
                  for r in rows]
        tallies.add(conn, org, tallies.count(events, {}, tz, shops))


def downgrade() -> None:
    for table in ("kiosk_reports", "till_hours", "overdrawn_cards", "card_activity",
                  "shop_totals", "hour_figures"):
        op.drop_table(table)

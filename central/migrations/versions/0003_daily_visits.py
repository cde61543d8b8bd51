"""Visits per kiosk per day, kept at ingest for dashboards; counted once from the events.

Revision ID: 0003
Revises: 0002
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from central import figures, program
    from kiosk.core.events import Event, EventKind

    op.create_table(
        "daily_visits",
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("visits", sa.Integer, nullable=False),
    )
    op.create_index("daily_visits_by_day", "daily_visits", ["day"])
    conn = op.get_bind()
    found = conn.execute(sa.text("SELECT body FROM programs ORDER BY n DESC LIMIT 1")).first()
    tz = UTC if found is None else program.timezone(json.loads(found.body))
    rows = conn.execute(sa.text(
        "SELECT id, kiosk_id, seq, card_ref, kind, delta, reward_id, program_version, "
        "occurred_at, staff_ref FROM events WHERE kind IN ('stamp', 'adjustment')"))
    events = (Event(id=r.id, kiosk_id=r.kiosk_id, seq=r.seq, card_ref=r.card_ref,
                    kind=EventKind(r.kind), delta=r.delta, reward_id=r.reward_id,
                    program_version=r.program_version,
                    occurred_at=datetime.fromisoformat(r.occurred_at), staff_ref=r.staff_ref)
              for r in rows)
    # rows written here, not by central.figures: that module writes today's table, which
    # later revisions changed
    counts = figures.visits_by_day(events, tz)
    table = sa.table("daily_visits", sa.column("kiosk_id"), sa.column("day"),
                     sa.column("visits"))
    visits = [{"kiosk_id": k, "day": d, "visits": n}
              for (k, d), n in sorted(counts.items()) if n]
    if visits:
        op.bulk_insert(table, visits)


def downgrade() -> None:
    op.drop_table("daily_visits")

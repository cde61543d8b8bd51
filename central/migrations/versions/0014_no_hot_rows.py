"""Writes of one organisation no longer queue on rows they all share (PostgreSQL).

- `card_states.changed_xid`: the id of the transaction that wrote the row. On PostgreSQL
  a card's change number comes from the `card_changes` sequence instead of the
  organisation's row, and kiosks pull in (changed_xid, changed) order (central.changes).
  Rows already stored keep their number with changed_xid 0, so a cursor a kiosk holds
  (a bare number) still means what it meant. SQLite keeps the organisation's number
  and 0.
- `hour_figures.shard`, `shop_totals.shard`: one writer's share of a figure; the rows
  already stored are shard 0. Reads add the shards up.

Revision ID: 0014
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

_FIGURES = {
    "hour_figures": (["org_id", "shop_id", "day", "hour"],
                     ["visits", "return_visits", "new_cards", "earned", "redeemed"]),
    "shop_totals": (["org_id", "shop_id"], ["earned", "redeemed"]),
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("card_states_by_change", "card_states")
    with op.batch_alter_table("card_states") as table:
        table.add_column(sa.Column("changed_xid", sa.BigInteger, nullable=False,
                                   server_default="0"))
    op.create_index("card_states_by_change", "card_states",
                    ["org_id", "changed_xid", "changed"])
    if postgresql:
        # above every number taken so far, of any organisation
        op.execute("CREATE SEQUENCE card_changes AS bigint")
        op.execute("SELECT setval('card_changes', GREATEST(1, "
                   "(SELECT COALESCE(MAX(changed), 0) FROM card_states), "
                   "(SELECT COALESCE(MAX(card_seq), 0) FROM organisations)))")
    for name, (key, _counts) in _FIGURES.items():
        _set_key(name, key, with_shard=True, postgresql=postgresql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, (key, counts) in _FIGURES.items():
        _fold_shards(name, key, counts)
        _set_key(name, key, with_shard=False, postgresql=postgresql)
    if postgresql:
        # numbers taken from the sequence: the organisation's own count continues above
        op.execute("UPDATE organisations SET card_seq = GREATEST(card_seq, (SELECT "
                   "COALESCE(MAX(changed), 0) FROM card_states "
                   "WHERE card_states.org_id = organisations.id))")
        op.execute("DROP SEQUENCE card_changes")
    op.drop_index("card_states_by_change", "card_states")
    with op.batch_alter_table("card_states") as table:
        table.drop_column("changed_xid")
    op.create_index("card_states_by_change", "card_states", ["org_id", "changed"])


def _set_key(name: str, key: list[str], *, with_shard: bool, postgresql: bool) -> None:
    if postgresql:
        if with_shard:
            op.execute(f"ALTER TABLE {name} ADD COLUMN shard integer NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_pkey")
        if not with_shard:
            op.execute(f"ALTER TABLE {name} DROP COLUMN shard")
        columns = ", ".join([*key, "shard"] if with_shard else key)
        op.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({columns})")
        return
    # SQLite changes a primary key by copying the table
    key_columns = [*key, "shard"] if with_shard else key
    counts = _FIGURES[name][1]
    op.create_table(
        f"{name}_copy",
        *(sa.Column(c, sa.String(10) if c == "day" else sa.Integer, nullable=False)
          for c in key),
        *([sa.Column("shard", sa.Integer, nullable=False, server_default="0")]
          if with_shard else []),
        *(sa.Column(c, sa.Integer, nullable=False) for c in counts),
        sa.PrimaryKeyConstraint(*key_columns),
    )
    kept = ", ".join([*key, *counts])  # a downgrade folded the shards into shard 0 first
    op.execute(f"INSERT INTO {name}_copy ({kept}) SELECT {kept} FROM {name}")
    op.drop_table(name)
    op.rename_table(f"{name}_copy", name)


def _fold_shards(name: str, key: list[str], counts: list[str]) -> None:
    """Every shard's figures added into shard 0, the other shards' rows gone."""
    keys = ", ".join(key)
    sums = ", ".join(f"SUM({c}) AS {c}" for c in counts)
    op.execute(f"CREATE TABLE {name}_folded AS SELECT {keys}, {sums} FROM {name} "
               f"GROUP BY {keys}")
    op.execute(f"DELETE FROM {name}")
    op.execute(f"INSERT INTO {name} ({keys}, shard, {', '.join(counts)}) "
               f"SELECT {keys}, 0, {', '.join(counts)} FROM {name}_folded")
    op.execute(f"DROP TABLE {name}_folded")

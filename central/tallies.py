"""The Overview's figures, kept current at ingest: a dashboard reads a few hundred rows,
never the events.

- `hour_figures`: per shop (and for all shops, shop 0), local day and hour (the
  program's time zone): visits, visits by cards seen on an earlier day (returning), new
  cards, vouchers earned (net of those an undone stamp took back) and redeemed. Charts
  (visits per day, the hour-by-weekday heat map) and every period's sums come from here.
- `shop_totals`: vouchers earned and redeemed per shop since the start (what it owes).
- `card_activity`: each card's last visit day per shop, and over all shops (shop 0): active
  cardholders are a count of rows on an index.
- `overdrawn_cards`: cards with a voucher redeemed twice, and the kiosk where it happened.
- `till_hours`: what each kiosk's till reported per local hour: tickets, tickets paid with a
  card tapped, and their amounts (`central.kioskreports` stores them).

`count` is pure: what one batch of counted events adds, given the folds before it. Its
visits are what the kiosk's own fold counts, so these figures and the cards never disagree.

Shards: every upload of a shop adds to the same current hour, and every upload of the
organisation to its all-shops hour. On PostgreSQL, where several writers commit side by
side, one row per figure would make each upload wait for the one before it to commit (a
row stays locked until then, fsync included). So each write transaction first takes a
shard of its own (`writer_shard`: the lowest number no running transaction holds, by a
transaction-level advisory try-lock, never a wait) and adds to that shard's rows; a
figure is the sum of its shards (the Overview adds rows up anyway). There are never
more shards than writers that ran at one moment. SQLite has one writer: shard 0.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from central.db import card_activity, hour_figures, overdrawn_cards, shop_totals
from central.fastsql import Arrays, unnest
from central.steps import Step, walk
from kiosk.core.events import CardState, Event

ALL_SHOPS = 0  # the figures' shop for "every shop of the organisation"
COLUMNS = ("visits", "return_visits", "new_cards", "earned", "redeemed")


@dataclass
class Counts:
    """What a batch adds: per (shop, day, hour) the COLUMNS, and per (shop, card) its last
    visit day."""

    hours: dict[tuple[int, str, int], Counter[str]] = field(default_factory=dict)
    last_day: dict[tuple[int, str], str] = field(default_factory=dict)
    # cards that became overdrawn (the kiosk whose event did it) or stopped being (None)
    overdrawn: dict[str, str | None] = field(default_factory=dict)

    def add(self, key: tuple[int, str, int], column: str, n: int) -> None:
        if n:
            self.hours.setdefault(key, Counter())[column] += n


def count(batch: Iterable[Event], before: Mapping[str, CardState], tz: tzinfo,
          shop: int | Mapping[str, int]) -> Counts:
    """What `batch` (counted events) adds to the figures, from each card's fold before it.
    `shop`: the kiosks' shop, or each kiosk's shop by kiosk id."""
    return count_steps(walk(batch, before, tz), before, tz, shop)


def count_steps(steps: Iterable[Step], before: Mapping[str, CardState], tz: tzinfo,
                shop: int | Mapping[str, int]) -> Counts:
    """`count` from the batch already walked (central.steps.walk, oldest first)."""
    found = Counts()
    overdrawn: dict[str, bool] = {}  # each card's after its latest step
    for step in steps:
        event, old, new = step.event, step.old, step.new
        ref = event.card_ref
        local = event.occurred_at.astimezone(tz)
        where = shop if isinstance(shop, int) else shop.get(event.kiosk_id, ALL_SHOPS)
        day = local.date()
        key = (where, day.isoformat(), local.hour)
        visits = new.visits - old.visits
        found.add(key, "visits", visits)
        if old.first_seen is None:
            found.add(key, "new_cards", 1)
        elif old.first_seen.astimezone(tz).date() < day:
            found.add(key, "return_visits", visits)
        # the fold hands on a count it did not change as the same object: nothing to sum
        if new.earned is not old.earned or new.revoked is not old.revoked:
            found.add(key, "earned", sum(new.earned.values()) - sum(old.earned.values())
                      - (sum(new.revoked.values()) - sum(old.revoked.values())))
        if new.redeemed is not old.redeemed:
            found.add(key, "redeemed",
                      sum(new.redeemed.values()) - sum(old.redeemed.values()))
        if visits > 0:
            for place in {where, ALL_SHOPS}:
                found.last_day[(place, ref)] = max(found.last_day.get((place, ref), ""), key[1])
        was = overdrawn[ref] if ref in overdrawn else is_overdrawn(old)
        overdrawn[ref] = is_overdrawn(new)
        if overdrawn[ref] != was:
            found.overdrawn[ref] = event.kiosk_id if overdrawn[ref] else None
    for ref in list(found.overdrawn):
        first = before.get(ref) or CardState(card_ref=ref)
        if is_overdrawn(first) == (found.overdrawn[ref] is not None):
            del found.overdrawn[ref]  # back where it was before the batch: nothing to write
    return found


def is_overdrawn(state: CardState) -> bool:
    """A voucher redeemed twice (offline at two kiosks), as central.cards flags it."""
    return state.stamps < 0 or any(n < 0 for n in state.all_vouchers().values())


SHARDS = 64  # more writers at once than this share shards (and may wait on each other)
# the first key of the shards' advisory locks (the organisations' locks use 0)
_SHARD_LOCKS = 1
# no ORDER BY: a sort would try every lock first; the series comes in order, and the
# scan stops at the first lock taken
_TAKE_SHARD = text(f"SELECT n FROM generate_series(0, {SHARDS - 1}) AS n "
                   f"WHERE pg_try_advisory_xact_lock({_SHARD_LOCKS}, n) LIMIT 1")


_SHARD_TAKEN = "central.tallies shard"


def writer_shard(conn: Connection) -> int:
    """The shard this write transaction adds its figures to: one no other running
    transaction adds to (PostgreSQL), or 0 (SQLite). Held until the transaction ends; a
    transaction asking again (each upload of a group does) gets its own again, without
    asking the database."""
    if conn.dialect.name != "postgresql":
        return 0
    transaction = conn.get_transaction()
    taken = conn.info.get(_SHARD_TAKEN)
    if taken is not None and transaction is not None and taken[0] is transaction:
        return int(taken[1])
    found = conn.execute(_TAKE_SHARD).scalar_one_or_none()
    # every shard taken: share one (a wait on its rows at worst)
    shard = int(found) if found is not None else random.randrange(SHARDS)
    # on the driver connection's info, with the transaction it holds for (kept alive by
    # this reference, so a later transaction can never be taken for it)
    conn.info[_SHARD_TAKEN] = (transaction, shard)
    return shard


def _adding(table: Any, keys: Sequence[str], added: Sequence[str], *, sharded: bool,
            where: str = "") -> Arrays:
    """PostgreSQL: every row of a batch's counts added to `table` in one statement of
    arrays (an executemany sent and bound a statement per row, and SQLAlchemy built each
    row's parameters: a tenth of the write). `added`: columns added to the stored row;
    "=" before a name: the new value replaces the stored one."""
    fixed = {"org_id": "CAST(%(org)s AS integer)",
             **({"shard": "CAST(%(shard)s AS integer)"} if sharded else {})}
    names = [*keys, *(name.lstrip("=") for name in added)]
    conflict = ", ".join(["org_id", *keys, *(["shard"] if sharded else [])])
    sets = ", ".join(f"{name[1:]} = excluded.{name[1:]}" if name.startswith("=")
                     else f"{name} = {table.name}.{name} + excluded.{name}" for name in added)
    return Arrays(f"INSERT INTO {table.name} ({', '.join([*names, *fixed])}) "
                  f"{unnest(table, names, fixed)} "
                  f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}{where}", names)


_ADD_HOURS = _adding(hour_figures, ["shop_id", "day", "hour"], COLUMNS, sharded=True)
_ADD_TOTALS = _adding(shop_totals, ["shop_id"], ["earned", "redeemed"], sharded=True)
_SEEN = _adding(card_activity, ["shop_id", "card_ref"], ["=last_day"], sharded=False,
                where=" WHERE excluded.last_day > card_activity.last_day")


def _upserts(dialect: Any, sharded: bool) -> tuple[Any, Any, Any, Any]:
    """The portable statements of `add` (hours, totals, activity, overdrawn), built once
    per dialect: building them costs SQLAlchemy more than finding their compiled form."""
    shard = [hour_figures.c.shard] if sharded else []
    hours = dialect.insert(hour_figures)
    totals = dialect.insert(shop_totals)
    seen = dialect.insert(card_activity)
    overdrawn = dialect.insert(overdrawn_cards)
    return (
        hours.on_conflict_do_update(
            index_elements=[hour_figures.c.org_id, hour_figures.c.shop_id, hour_figures.c.day,
                            hour_figures.c.hour, *shard],
            set_={c: hour_figures.c[c] + hours.excluded[c] for c in COLUMNS}),
        totals.on_conflict_do_update(
            index_elements=[shop_totals.c.org_id, shop_totals.c.shop_id,
                            *([shop_totals.c.shard] if sharded else [])],
            set_={c: shop_totals.c[c] + totals.excluded[c] for c in ("earned", "redeemed")}),
        seen.on_conflict_do_update(
            index_elements=[card_activity.c.org_id, card_activity.c.shop_id,
                            card_activity.c.card_ref],
            set_={"last_day": seen.excluded.last_day},
            where=seen.excluded.last_day > card_activity.c.last_day),
        overdrawn.on_conflict_do_update(
            index_elements=[overdrawn_cards.c.org_id, overdrawn_cards.c.card_ref],
            set_={"kiosk_id": overdrawn.excluded.kiosk_id}),
    )


# by (PostgreSQL?, sharded?)
_UPSERTS = {(pg, sharded): _upserts(postgresql if pg else sqlite, sharded)
            for pg in (True, False) for sharded in (True, False)}


def add(conn: Connection, org: int, counts: Counts, shard: int | None = None) -> None:
    """Add a batch's counts to the organisation's stored figures, in key order (writers
    lock rows in one order), to the rows of `shard` (`writer_shard`; 0 for a writer that
    holds the organisation alone). None only for the tables as they were before shards:
    revision 0008b counts the events stored before it with this function."""
    pg = conn.dialect.name == "postgresql"
    in_shard = {} if shard is None else {"shard": shard}
    # each hour is added to its shop and to "all shops", so the organisation's figures are
    # read from as few rows as one shop's
    hours: dict[tuple[int, str, int], Counter[str]] = {}
    for (shop, day, hour), n in counts.hours.items():
        for place in {shop, ALL_SHOPS}:
            hours.setdefault((place, day, hour), Counter()).update(n)
    rows = [{"org_id": org, "shop_id": shop, "day": day, "hour": hour, **in_shard,
             **{c: n.get(c, 0) for c in COLUMNS}}
            for (shop, day, hour), n in sorted(hours.items()) if any(n.values())]
    totals: dict[int, Counter[str]] = {}
    for (shop, _day, _hour), n in hours.items():
        totals.setdefault(shop, Counter()).update(
            {"earned": n.get("earned", 0), "redeemed": n.get("redeemed", 0)})
    owed = [{"org_id": org, "shop_id": shop, **in_shard, "earned": n["earned"],
             "redeemed": n["redeemed"]}
            for shop, n in sorted(totals.items()) if n["earned"] or n["redeemed"]]
    seen = [{"org_id": org, "shop_id": shop, "card_ref": ref, "last_day": day}
            for (shop, ref), day in sorted(counts.last_day.items())]
    if pg and shard is not None:  # arrays, one statement per table
        if rows:
            _ADD_HOURS.run(conn, rows, org=org, shard=shard)
        if owed:
            _ADD_TOTALS.run(conn, owed, org=org, shard=shard)
        if seen:
            _SEEN.run(conn, seen, org=org)
    else:  # SQLite (its executemany binds rows in C), or the tables before shards
        add_hours, add_totals, add_seen, _ = _UPSERTS[pg, shard is not None]
        if rows:
            conn.execute(add_hours, rows)
        if owed:
            conn.execute(add_totals, owed)
        if seen:
            conn.execute(add_seen, seen)
    gone = sorted(ref for ref, kiosk in counts.overdrawn.items() if kiosk is None)
    if gone:
        conn.execute(delete(overdrawn_cards).where(overdrawn_cards.c.org_id == org,
                                                   overdrawn_cards.c.card_ref.in_(gone)))
    new = [{"org_id": org, "card_ref": ref, "kiosk_id": kiosk}
           for ref, kiosk in sorted(counts.overdrawn.items()) if kiosk is not None]
    if new:
        conn.execute(_UPSERTS[pg, shard is not None][3], new)


def forget(conn: Connection, org: int) -> None:
    """Drop the organisation's figures before counting them again (time zone changed)."""
    conn.execute(delete(hour_figures).where(hour_figures.c.org_id == org))
    conn.execute(delete(card_activity).where(card_activity.c.org_id == org))
    conn.execute(delete(shop_totals).where(shop_totals.c.org_id == org))
    conn.execute(delete(overdrawn_cards).where(overdrawn_cards.c.org_id == org))

"""Card folds between uploads: loaded once, advanced in memory, written once per commit.

Every upload touches a couple of hundred cards. Reading each card's stored fold back
from JSON, then writing it again after every batch, cost more than the rest of the
write path together. The writer thread therefore keeps the folds it last committed in
memory (`CardCache`), and a transaction (`CardSession`) advances them there, writing
each touched card's row once just before its commit.

On SQLite (one writer at a time) the memory copy is trusted while nobody else wrote
card states: every transaction that writes them stores a new random tag under
`meta.cards_generation`, and a cache whose tag is not the stored one starts empty.

Cards are kept per organisation (a card ref names a card within its organisation); each
write takes numbers from the organisation's `card_seq` (`take_seq`) into the rows'
`changed` column, the cursor kiosks pull changed cards with (central.changes).

On PostgreSQL several server processes write side by side, so there is no memory copy
(`CardCache(shared=True)`): each transaction reads the cards it advances FOR UPDATE, in
one sorted order. Writes for different cards then never wait for each other; two writes
for one card queue on that card's row alone.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from central.cards import card_json
from central.db import GENERATION_KEY, card_states, meta, organisations
from kiosk.core.events import CardState, Event, apply

# Built once: SQLAlchemy then reuses their compiled form instead of keying them anew.
_UPDATE_CARD = (
    update(card_states)
    .where(card_states.c.org_id == bindparam("org"), card_states.c.card_ref == bindparam("ref"))
    .values(state=bindparam("state"), flagged=bindparam("flagged"),
            changed=bindparam("seq"))
)
_INSERT_CARD = insert(card_states)
_READ_GENERATION = select(meta.c.value).where(meta.c.key == GENERATION_KEY).with_for_update()
_WRITE_GENERATION = update(meta).where(meta.c.key == GENERATION_KEY)
_TAKE_SEQ = (
    update(organisations).where(organisations.c.id == bindparam("org"))
    .values(card_seq=organisations.c.card_seq + bindparam("n"))
    .returning(organisations.c.card_seq)
)
Key = tuple[int, str]  # (organisation id, card ref)


@dataclass(frozen=True)
class Card:
    """A card's fold, its flagged events, and the fold as a dict (it is needed twice)."""

    state: CardState
    flagged: Mapping[str, list[str]]
    state_dict: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return card_json(self.state, self.flagged, self.state_dict)


def take_seq(conn: Connection, org: int, n: int) -> int:
    """Reserve n numbers of the organisation's card-change sequence; returns the first.

    The organisation's row stays locked until the transaction ends, so on PostgreSQL the
    numbers become visible in the order they were taken: a kiosk that read up to number
    N never later meets a card changed under a smaller one. Callers take it last, just
    before their commit."""
    last = conn.execute(_TAKE_SEQ, {"org": org, "n": n}).scalar_one()
    return int(last) - n + 1


def load(conn: Connection, org: int, refs: Iterable[str], *, for_update: bool = False
         ) -> dict[str, Card]:
    """The stored folds of the named cards of the organisation that have one."""
    wanted = sorted(set(refs))  # sorted: row locks are always taken in the same order
    if not wanted:
        return {}
    query = select(card_states).where(card_states.c.org_id == org,
                                      card_states.c.card_ref.in_(wanted))
    # Where writers run side by side (PostgreSQL), lock the rows we are about to advance.
    # SQLite has one writer at a time and renders no FOR UPDATE.
    rows = conn.execute(query.with_for_update() if for_update else query)
    loaded = {}
    for row in rows:
        as_dict = json.loads(row.state)
        loaded[row.card_ref] = Card(CardState.from_dict(as_dict), json.loads(row.flagged), as_dict)
    return loaded


def bump_generation(conn: Connection) -> str:
    """Store a new generation tag (every cache of card states is then stale); return it."""
    tag = secrets.token_hex(8)
    conn.execute(_WRITE_GENERATION.values(value=tag))  # open_database made the row
    return tag


class CardSession:
    """The card folds one write transaction reads and advances."""

    def __init__(self, conn: Connection, known: Mapping[Key, Card], *, tagged: bool = True
                 ) -> None:
        self.conn = conn
        self.tagged = tagged  # renew the generation tag on flush (SQLite's cache check)
        self._known = known  # committed folds that match the database (read only here)
        self.changed: dict[Key, Card] = {}
        self.read: dict[Key, Card] = {}  # loaded from the database, not changed (yet)
        self.generation: str | None = None

    def get(self, org: int, refs: Iterable[str]) -> dict[str, Card]:
        """The current fold of each named card of the organisation that has one (this
        transaction's included)."""
        found: dict[str, Card] = {}
        missing = []
        for ref in refs:
            key = (org, ref)
            card = self.changed.get(key) or self.read.get(key) or self._known.get(key)
            if card is None:
                missing.append(ref)
            else:
                found[ref] = card
        if missing:
            loaded = load(self.conn, org, missing, for_update=True)
            found.update(loaded)
            self.read.update({(org, ref): card for ref, card in loaded.items()})
        return found

    def advance(
        self, org: int, new: Sequence[Event], flagged: Mapping[str, list[str]], tz: tzinfo
    ) -> dict[str, Card]:
        """Add new events to their cards' folds (the fold is commutative: adding them to
        the fold so far equals folding every event again). Returns the cards touched."""
        current = self.get(org, {e.card_ref for e in new})
        folds = {ref: (card.state, card.flagged) for ref, card in current.items()}
        for event in new:
            ref = event.card_ref
            state, flags = folds.get(ref) or (CardState(card_ref=ref), {})
            if event.id in flagged:
                flags = {**flags, event.id: flagged[event.id]}
            folds[ref] = (apply(state, event, tz), flags)
        touched = {e.card_ref for e in new}
        advanced = {
            ref: Card(state, flags, state.to_dict())
            for ref, (state, flags) in folds.items() if ref in touched
        }
        self.changed.update({(org, ref): card for ref, card in advanced.items()})
        return advanced

    def flush(self) -> None:
        """Write every card this transaction changed, once, each under a new number of its
        organisation's change sequence, and a new generation tag."""
        old, fresh = [], []
        by_org: dict[int, int] = {}
        for org, _ref in self.changed:
            by_org[org] = by_org.get(org, 0) + 1
        # organisations in id order: two writers take their sequences in one order
        seqs = {org: take_seq(self.conn, org, n) for org, n in sorted(by_org.items())}
        # in card order, like the locks: two writers inserting the same new cards then
        # wait for each other instead of deadlocking
        for key, card in sorted(self.changed.items()):
            org, ref = key
            seq = seqs[org]
            seqs[org] += 1
            state, flags = json.dumps(card.state_dict), json.dumps(card.flagged)
            if key in self.read or key in self._known:  # the card has a row already
                old.append({"org": org, "ref": ref, "state": state, "flagged": flags,
                            "seq": seq})
            else:
                fresh.append({"org_id": org, "card_ref": ref, "state": state,
                              "flagged": flags, "changed": seq})
        if old:
            self.conn.execute(_UPDATE_CARD, old)
        if fresh:
            self.conn.execute(_INSERT_CARD, fresh)
        if self.tagged:
            self.generation = bump_generation(self.conn)


class CardCache:
    """The card folds the writer thread last committed, most recently used last."""

    # a card with a few months of visits holds about 7 KB here: 10,000 cards ~ 70 MB at most
    def __init__(self, limit: int = 10_000, *, shared: bool = False) -> None:
        self.limit = 0 if shared else limit
        self.shared = shared  # other processes write card states too: keep nothing
        self._cards: OrderedDict[Key, Card] = OrderedDict()
        self._generation: str | None = None

    def __len__(self) -> int:
        return len(self._cards)

    def session(self, conn: Connection) -> CardSession:
        """Open the card folds for one transaction; first check nobody else wrote any."""
        if self.shared:
            return CardSession(conn, {}, tagged=False)
        stored = conn.execute(_READ_GENERATION).scalar_one_or_none()
        if stored is None or stored != self._generation:
            self.clear()
        return CardSession(conn, self._cards)

    def committed(self, session: CardSession) -> None:
        """Take in a session's folds once its transaction has committed."""
        if self.shared:
            return
        for key, card in {**session.read, **session.changed}.items():
            self._cards[key] = card
            self._cards.move_to_end(key)
        while len(self._cards) > self.limit:
            self._cards.popitem(last=False)
        self._generation = session.generation

    def clear(self) -> None:
        """Forget everything (after a failed transaction, or another writer's)."""
        self._cards.clear()
        self._generation = None

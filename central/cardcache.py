"""Card folds between uploads: kept in memory, checked cheaply, written once per commit.

Every upload touches a couple of hundred cards. Reading each card's stored fold back
from JSON, then writing it again after every batch, cost more than the rest of the
write path together. A server process therefore keeps the folds it last committed in
memory (`CardCache`), and a transaction (`CardSession`) advances them there, writing
each touched card's row once just before its commit.

A row stores its card's fold in short: without its card_ref (the row's key, 64
characters) and without the fields that still hold what a new card holds (zeros, empty
counts, nulls), which are most of them (`stored_text`, `full_state`). That is about half
the row, and of what each write of it puts in the WAL.

Every write of a card's row stores a new random `version` with it. A kept fold is the
stored one exactly while the row's version is the one kept with it.

Cards are kept per organisation (a card ref names a card within its organisation); each
write also takes a position in the organisation's changes (`take_seq`) into the rows'
`changed_xid` and `changed` columns, which kiosks pull changed cards by (central.changes):
on SQLite from the organisation's `card_seq`, on PostgreSQL from a sequence, without a
lock that every upload of the organisation would queue on.

On SQLite (one writer at a time) the memory copy is trusted without a look at the rows
while nobody else wrote card states: every transaction that writes them stores a new
random tag under `meta.cards_generation`, and a cache whose tag is not the stored one
starts empty (a rebuild after a time zone change, another server process).

On PostgreSQL several server processes write side by side (`CardCache(shared=True)`):
each transaction first takes a lock per card it advances (a transaction-level advisory
lock, so a card with no row yet is locked too: two first uploads of one new card wait for
each other instead of failing on its key), in one sorted order, then reads the versions
of those cards' rows, and reads and parses a card's fold only when its version is not the
kept one. Writes for different cards never wait for each other; two writes for one card
queue on that card's lock alone (two of one server process queue before that, in its
writer's queue: central.writer), and the second sees the first's version (its statement
starts after the first committed). A rebuild of every card (`lock_every_card`) waits for
the uploads being written and holds up the next ones until it commits.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, tzinfo
from operator import itemgetter
from typing import Any, NamedTuple, get_args, get_type_hints

import orjson
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from central.cards import card_json
from central.db import GENERATION_KEY, card_states, meta, organisations
from central.fastsql import Arrays, InQuery, InsertMany
from central.steps import ends, walk
from kiosk.core.events import CardState, Event

# Built once: SQLAlchemy then reuses their compiled form instead of keying them anew.
_UPDATE_CARD = (
    update(card_states)
    .where(card_states.c.org_id == bindparam("org"), card_states.c.card_ref == bindparam("ref"))
    .values(state=bindparam("state"), flagged=bindparam("flagged"),
            version=bindparam("version"), changed=bindparam("seq"),
            changed_xid=bindparam("xid"))
)
_INSERT_CARD = InsertMany(insert(card_states), [column.name for column in card_states.columns])
# PostgreSQL only: every changed card in one statement, not one bound statement per card
_UPDATE_CARDS = Arrays(
    "UPDATE card_states SET state = changed.state, flagged = changed.flagged, "
    "version = changed.version, changed = changed.seq, changed_xid = changed.xid "
    "FROM unnest(CAST(%(org)b AS bigint[]), "
    "CAST(%(ref)b AS text[]), CAST(%(state)b AS text[]), CAST(%(flagged)b AS text[]), "
    "CAST(%(version)b AS bigint[]), CAST(%(seq)b AS bigint[]), CAST(%(xid)b AS bigint[])) "
    "AS changed(org_id, card_ref, state, flagged, version, seq, xid) "
    "WHERE card_states.org_id = changed.org_id AND card_states.card_ref = changed.card_ref",
    ["org", "ref", "state", "flagged", "version", "seq", "xid"])
_READ_GENERATION = select(meta.c.value).where(meta.c.key == GENERATION_KEY).with_for_update()
_WRITE_GENERATION = update(meta).where(meta.c.key == GENERATION_KEY)
_CARDS = InQuery(card_states.c.card_ref, lambda wanted: select(card_states).where(
    card_states.c.org_id == bindparam("org"), wanted))
_VERSIONS = InQuery(card_states.c.card_ref, lambda wanted: select(
    card_states.c.card_ref, card_states.c.version
).where(card_states.c.org_id == bindparam("org"), wanted))

# PostgreSQL only: the shared lock on every card of the organisation (a rebuild takes it
# alone; the two-key form never meets a card's one-key lock), then one lock per card, in
# the keys' order (volatile functions in the select list are run after the ORDER BY)
_LOCK_CARDS = text("SELECT pg_advisory_xact_lock_shared(0, :org), pg_advisory_xact_lock(key) "
                   "FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS wanted(key, n) "
                   "ORDER BY n")
_LOCK_EVERY_CARD = text("SELECT pg_advisory_xact_lock(0, :org)")

_TAKE_SEQ = (
    update(organisations).where(organisations.c.id == bindparam("org"))
    .values(card_seq=organisations.c.card_seq + bindparam("n"))
    .returning(organisations.c.card_seq)
)
# PostgreSQL: n numbers of the sequence (no lock; in the order they are taken within one
# transaction) and this transaction's id, as a 64-bit number
_TAKE_SEQ_POSTGRESQL = text(
    "SELECT CAST(CAST(pg_current_xact_id() AS text) AS bigint) AS xid, "
    "nextval('card_changes') AS n FROM generate_series(1, :n) ORDER BY n")
Key = tuple[int, str]  # (organisation id, card ref)

# 0 is what rows written before versions existed hold: no kept fold ever matches it.
# Versions are 1 .. 2**62 (a bigint with room to spare).
_VERSION_BITS = 62


def new_version() -> int:
    """The version a row gets when it is written (random: a rebuild that writes every
    row again can never bring back a version some process still keeps)."""
    return random.getrandbits(_VERSION_BITS) + 1  # randint costs several times more


def lock_key(org: int, ref: str) -> int:
    """A card's advisory lock (64 bits; two cards sharing one merely queue together)."""
    digest = hashlib.blake2b(f"{org} {ref}".encode(), digest_size=8,
                             person=b"card lock").digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_every_card(conn: Connection, org: int) -> None:
    """Before a transaction rewrites every card of an organisation: wait for its uploads
    being written, and hold up the next ones until this transaction ends (PostgreSQL;
    SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK_EVERY_CARD, {"org": org})


class Card(NamedTuple):
    """A card's fold, its flagged events, the fold as a dict (it is needed twice), and
    the version of the row it was read from or written to. (A named tuple: several are
    made for each card of each upload, each a fraction of a frozen dataclass's cost.)"""

    state: CardState
    flagged: Mapping[str, list[str]]
    state_dict: dict[str, Any]
    version: int = 0

    def to_json(self) -> dict[str, Any]:
        return card_json(self.state, self.flagged, self.state_dict)


# CardState.to_dict() of a card with no event yet: every field's value in a new card
_NEW_CARD = CardState(card_ref="").to_dict()


# Every value of a new card is falsy, so a row keeps the truthy values, then the falsy
# ones that differ from a new card's: only where a new card has None (0 is not None),
# and not a moment or a day (written as text that is never empty).
_HINTS = get_type_hints(CardState)
_FALSY_OR_NONE = tuple(
    name for name, value in _NEW_CARD.items() if value is None
    and not set(get_args(_HINTS[name])) - {type(None)} <= {datetime, date})
_TRUTHY = itemgetter(1)


def stored_text(state_dict: Mapping[str, Any]) -> str:
    """A fold (CardState.to_dict()) as its card's row stores it: JSON of the fields whose
    value is not a new card's, without the card_ref."""
    short = dict(filter(_TRUTHY, state_dict.items()))  # in C: a write per card per upload
    short.pop("card_ref", None)
    for name in _FALSY_OR_NONE:
        value = state_dict[name]
        if value is not None and not value:
            short[name] = value
    return orjson.dumps(short).decode()


# a new card's empty maps and lists: each card read gets its own, never _NEW_CARD's
_CONTAINERS = tuple((name, type(value)) for name, value in _NEW_CARD.items()
                    if isinstance(value, dict | list))


def full_state(card_ref: str, text: str | bytes) -> dict[str, Any]:
    """CardState.to_dict() of the card whose row stores `text` (`stored_text`; a row
    written before rows were short holds every field: the same dict)."""
    stored = orjson.loads(text)
    whole = {**_NEW_CARD, **stored, "card_ref": card_ref}
    for name, kind in _CONTAINERS:
        if name not in stored:
            whole[name] = kind()
    return whole


def take_seq(conn: Connection, org: int, n: int) -> list[tuple[int, int]]:
    """n positions (changed_xid, changed) in the organisation's card changes, in order,
    for the card rows this transaction writes (central.changes says how kiosks page them).

    SQLite: numbers of the organisation's `card_seq` (its row is locked until the commit;
    there is one writer anyway) and changed_xid 0. PostgreSQL: numbers of the
    `card_changes` sequence, which no transaction waits for, with this transaction's
    id."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return [(int(row.xid), int(row.n))
                for row in conn.execute(_TAKE_SEQ_POSTGRESQL, {"n": n})]
    last = int(conn.execute(_TAKE_SEQ, {"org": org, "n": n}).scalar_one())
    return [(0, number) for number in range(last - n + 1, last + 1)]


def load(conn: Connection, org: int, refs: Iterable[str]) -> dict[str, Card]:
    """The stored folds of the named cards of the organisation that have one."""
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    loaded = {}
    for row in _CARDS.run(conn, wanted, org=org):
        as_dict = full_state(row.card_ref, row.state)
        loaded[row.card_ref] = Card(CardState.from_dict(as_dict), orjson.loads(row.flagged),
                                    as_dict, row.version)
    return loaded


def bump_generation(conn: Connection) -> str:
    """Store a new generation tag (every cache of card states is then stale); return it."""
    tag = secrets.token_hex(8)
    conn.execute(_WRITE_GENERATION.values(value=tag))  # open_database made the row
    return tag


class CardSession:
    """The card folds one write transaction reads and advances.

    `known`: folds committed earlier; `trusted`: they match the database as they are (one
    writer, generation checked), else each is checked against its row's version, and read
    under `guard` (other threads' commits change `known` meanwhile)."""

    def __init__(self, conn: Connection, known: Mapping[Key, Card], *, trusted: bool = True,
                 guard: AbstractContextManager[Any] | None = None) -> None:
        self.conn = conn
        self.trusted = trusted  # SQLite: renew the generation tag on flush
        self._known = known  # read only here
        self._guard = guard or nullcontext()
        self.changed: dict[Key, Card] = {}
        self.read: dict[Key, Card] = {}  # as stored when this transaction looked (locked)
        self._absent: set[Key] = set()  # looked at: no row yet
        self.generation: str | None = None

    def _current(self, key: Key) -> Card | None:
        found = self.changed.get(key) or self.read.get(key)
        if found is None and self.trusted:
            found = self._known.get(key)
        return found

    def get(self, org: int, refs: Iterable[str]) -> dict[str, Card]:
        """The current fold of each named card of the organisation that has one (this
        transaction's included)."""
        found: dict[str, Card] = {}
        missing = []
        for ref in refs:
            card = self._current((org, ref))
            if card is not None:
                found[ref] = card
            elif (org, ref) not in self._absent:
                missing.append(ref)
        if missing:
            loaded = self._look_up(org, missing)
            found.update(loaded)
            self.read.update({(org, ref): card for ref, card in loaded.items()})
            self._absent.update((org, ref) for ref in missing if ref not in loaded)
        return found

    def _look_up(self, org: int, refs: Sequence[str]) -> dict[str, Card]:
        if self.trusted:
            return load(self.conn, org, refs)
        # lock the cards about to be advanced; read only the folds not kept as stored
        keys = sorted({lock_key(org, ref) for ref in refs})
        self.conn.execute(_LOCK_CARDS, {"org": org, "keys": keys})
        versions = {row.card_ref: row.version
                    for row in _VERSIONS.run(self.conn, sorted(set(refs)), org=org)}
        with self._guard:
            kept = {ref: card for ref in versions
                    if (card := self._known.get((org, ref))) is not None
                    and card.version == versions[ref]}
        return {**kept, **load(self.conn, org, [ref for ref in versions if ref not in kept])}

    def advance(
        self, org: int, new: Sequence[Event], flagged: Mapping[str, list[str]], tz: tzinfo
    ) -> dict[str, Card]:
        """Add new events to their cards' folds (the fold is commutative: adding them to
        the fold so far equals folding every event again). Returns the cards touched."""
        current = self.get(org, {e.card_ref for e in new})
        before = {ref: card.state for ref, card in current.items()}
        return self.take(org, ends(walk(new, before, tz)), new, flagged)

    def take(self, org: int, folds: Mapping[str, CardState], new: Sequence[Event],
             flagged: Mapping[str, list[str]]) -> dict[str, Card]:
        """`advance`, the new events already applied: `folds` holds each touched card's
        fold after them (central.steps.walk over the folds this CardSession read)."""
        current = self.get(org, folds)
        advanced = {}
        for ref, state in folds.items():
            found = current.get(ref)
            advanced[ref] = Card(state, {} if found is None else found.flagged, state.to_dict())
        for event in new:
            if event.id in flagged:
                card = advanced[event.card_ref]
                flags = {**card.flagged, event.id: flagged[event.id]}
                advanced[event.card_ref] = Card(card.state, flags, card.state_dict)
        self.changed.update({(org, ref): card for ref, card in advanced.items()})
        return advanced

    def flush(self) -> None:
        """Write every card this transaction changed, once, each with a new version (and,
        on SQLite, a new generation tag)."""
        old, fresh = [], []
        by_org: dict[int, int] = {}
        for org, _ref in self.changed:
            by_org[org] = by_org.get(org, 0) + 1
        # organisations in id order: two writers take their sequences in one order
        seqs = {org: iter(take_seq(self.conn, org, n)) for org, n in sorted(by_org.items())}
        # in card order, like the locks: two writers inserting the same new cards then
        # wait for each other instead of deadlocking
        for key, card in sorted(self.changed.items()):
            org, ref = key
            version, (xid, seq) = new_version(), next(seqs[org])
            self.changed[key] = Card(card.state, card.flagged, card.state_dict, version)
            state = stored_text(card.state_dict)
            flags = orjson.dumps(card.flagged).decode() if card.flagged else "{}"
            if key in self.read or (self.trusted and key in self._known):  # it has a row
                old.append({"org": org, "ref": ref, "state": state, "flagged": flags,
                            "version": version, "seq": seq, "xid": xid})
            else:
                fresh.append({"org_id": org, "card_ref": ref, "state": state,
                              "flagged": flags, "version": version, "changed": seq,
                              "changed_xid": xid})
        if old and self.conn.dialect.name == "postgresql":
            _UPDATE_CARDS.run(self.conn, old)
        elif old:
            self.conn.execute(_UPDATE_CARD, old)
        if fresh:
            _INSERT_CARD.run(self.conn, fresh)
        if self.trusted:
            self.generation = bump_generation(self.conn)


class CardCache:
    """The card folds this process last committed, most recently used last.

    On PostgreSQL several writer threads share one cache (hence the lock); each kept fold
    is only a guess there, checked against its row's version before it is used."""

    # a card with a few months of visits holds about 7 KB here: 10,000 cards ~ 70 MB at most
    def __init__(self, limit: int = 10_000, *, shared: bool = False) -> None:
        self.limit = limit
        self.shared = shared  # other processes write card states too: check each card
        self._cards: OrderedDict[Key, Card] = OrderedDict()
        self._generation: str | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cards)

    def session(self, conn: Connection) -> CardSession:
        """Open the card folds for one transaction; on SQLite first check nobody else
        wrote any."""
        if self.shared:
            # the cache itself, read under its lock: another thread's commit may change it
            # meanwhile (a copy of every kept card per transaction cost more than its reads)
            return CardSession(conn, self._cards, trusted=False, guard=self._lock)
        stored = conn.execute(_READ_GENERATION).scalar_one_or_none()
        if stored is None or stored != self._generation:
            self.clear()
        return CardSession(conn, self._cards)

    def committed(self, session: CardSession) -> None:
        """Take in a session's folds once its transaction has committed."""
        with self._lock:
            for key, card in {**session.read, **session.changed}.items():
                self._cards[key] = card
                self._cards.move_to_end(key)
            while len(self._cards) > self.limit:
                self._cards.popitem(last=False)
            if not self.shared:
                self._generation = session.generation

    def clear(self) -> None:
        """Forget everything (after a failed transaction, or another writer's)."""
        with self._lock:
            self._cards.clear()
            self._generation = None

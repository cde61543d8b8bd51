"""The central database: schema (SQLAlchemy Core) and engine set-up.

SQLite is the default (one shop, nothing to install); PostgreSQL (`postgresql://...`,
driven by psycopg 3) where a chain runs several server processes. Every query is portable
Core; only the engine set-up below knows SQLite. The schema's history is in
`central.migrations` (Alembic): a new, empty database is created at the newest revision,
an older one is refused until `kiosk-central migrate` upgrades it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    false,
    inspect,
    make_url,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

# meta key of the tag every write of card_states renews (see central.cardcache)
GENERATION_KEY = "cards_generation"

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

# The business: cards, events, customers and programs belong to one organisation, and no
# kiosk or owner key of another ever reads or writes them. Its site key (hex) is what every
# kiosk of the organisation names cards with (card_ref = HMAC(site key, UID)); null when
# a database from before organisations held events made under a key the server never saw.
# `card_seq` counts card_states writes on SQLite: the cursor kiosks pull changed cards
# with (PostgreSQL numbers them from the `card_changes` sequence: central.changes).
organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("site_key", String(64), nullable=True),
    Column("card_seq", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
)

# A location of the organisation; `program` is not here: a shop's own program is a row of
# `programs` with its shop_id (none: the organisation's program applies).
shops = Table(
    "shops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("org_id", "name", name="shops_by_org_name"),
)

kiosks = Table(
    "kiosks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Column("shop_id", Integer, nullable=False),
)

# One-time pairing codes (`kiosk-central add-kiosk ID --shop S`): only the code's hash is
# kept; a code pairs its kiosk once, before it expires.
pairing_codes = Table(
    "pairing_codes",
    metadata,
    Column("code_sha256", String(64), primary_key=True),
    Column("kiosk_id", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("used_at", String(40), nullable=True),
)

# The owner's API keys (scripts that manage customer details): only each key's hash is
# kept, as for kiosk tokens. A kiosk token and an owner key never stand in for each other.
owner_keys = Table(
    "owner_keys",
    metadata,
    Column("id", String(64), primary_key=True),  # the key's name, as given to add-key
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Column("org_id", Integer, nullable=False),
)

# The primary key on `id` is the permanent unique constraint that makes uploads idempotent.
events = Table(
    "events",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("org_id", Integer, nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("kiosk_id", String(64), nullable=False),
    # a kiosk's counter: up to 2**62 (central.validate), so 64 bits on every database
    Column("seq", BigInteger, nullable=False),
    Column("card_ref", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("reward_id", String(40), nullable=True),
    Column("program_version", String(40), nullable=False),
    # ISO 8601 UTC text: portable, and sorts like the instants it names
    Column("occurred_at", String(40), nullable=False),
    Column("staff_ref", String(64), nullable=True),
    Column("received_at", String(40), nullable=False),
    # comma-separated time flags given at ingest (clock_ahead, late_upload, clock_backwards)
    Column("flags", String(100), nullable=True),
    # why the event was held for the owner's review instead of counted (central.plausible);
    # null for every counted event
    Column("held_reason", String(200), nullable=True),
    Index("events_by_kiosk_seq", "kiosk_id", "seq"),
    Index("events_by_card", "org_id", "card_ref"),
)

# Moves between a replaced card and its new one held because the central had not seen the
# old card give that much (central.moves): each waits for the counted events of a card
# (its card_ref's first 12 characters), and is checked again when they come.
held_moves = Table(
    "held_moves",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("waits_for", String(40), primary_key=True),
    Column("event_id", String(100), primary_key=True),
)

# Derived: each card's fold so far, advanced in the same transaction as its new events
# (the fold is commutative, so adding new events to it equals folding them all again).
card_states = Table(
    "card_states",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("card_ref", String(64), primary_key=True),
    # CardState.to_dict() as JSON, without card_ref and new-card values (central.cardcache)
    Column("state", Text, nullable=False),
    Column("flagged", Text, nullable=False),  # {event id: [flags]} as JSON
    # kiosks pull cards changed after a cursor (changed_xid, changed), central.changes:
    # SQLite: the organisation's card_seq this write took, changed_xid 0; PostgreSQL: a
    # number of the card_changes sequence and the id of the transaction that wrote the row
    Column("changed", BigInteger, nullable=False),
    Column("changed_xid", BigInteger, nullable=False, server_default="0"),
    # a new random number on every write of the row: a server process trusts the fold it
    # keeps in memory while the stored version is the one it wrote (central.cardcache)
    Column("version", BigInteger, nullable=False, server_default="0"),
    Index("card_states_by_change", "org_id", "changed_xid", "changed"),
)

# Visits per shop and kiosk per local day, kept current at ingest (central.figures): a
# dashboard reads these few rows instead of scanning every event.
daily_visits = Table(
    "daily_visits",
    metadata,
    Column("org_id", Integer, nullable=False),
    Column("shop_id", Integer, primary_key=True),
    Column("kiosk_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD in the program's time zone
    Column("visits", Integer, nullable=False),
    Index("daily_visits_by_day", "org_id", "day"),
)

programs = Table(
    "programs",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("shop_id", Integer, nullable=True),  # null: the organisation's own program
    # a version tag names one program of the organisation for ever (events carry it)
    Column("version", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("set_at", String(40), nullable=False),
    UniqueConstraint("org_id", "version", name="programs_by_org_version"),
)

# The owner's program drafts (central.published): checked, previewed, then published.
# A draft's id is its content's hash, so checking the same text twice keeps one row.
program_drafts = Table(
    "program_drafts",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("body", Text, nullable=False),
    Column("saved_by", String(254), nullable=False),
    Column("saved_at", String(40), nullable=False),
)

# Who published which program version from the dashboard, and when (append-only).
program_publications = Table(
    "program_publications",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("version", String(40), nullable=False),
    Column("published_by", String(254), nullable=False),
    Column("published_at", String(40), nullable=False),
    Index("program_publications_by_org", "org_id", "version"),
)

customers = Table(
    "customers",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("card_ref", String(64), primary_key=True),
    Column("first_name", String(60), nullable=True),
    Column("birthday", String(10), nullable=True),
    # consent to keep and show first name and birthday at the kiosks (the greeting, the
    # birthday bonus); a value is kept only when its holder agreed to it
    Column("consent", Boolean, nullable=False),
    Column("updated_at", String(40), nullable=False),
    # given by the customer on their card's page (central.consent): the address is kept
    # only beside at least one e-mail purpose; each purpose is false until ticked
    Column("email", String(254), nullable=True),
    Column("consent_reminders", Boolean, nullable=False, server_default=false()),
    Column("consent_offers", Boolean, nullable=False, server_default=false()),
    Column("consent_week", Boolean, nullable=False, server_default=false()),
    # when the customer last changed their consent (the proof CNIL asks a shop to keep)
    Column("consent_at", String(40), nullable=True),
    # the language they read their messages in ("fr", "en"; NULL: the shop's)
    Column("lang", String(2), nullable=True),
)

# A card's own page link (central.web.card_page): only the hash of its long random token is
# kept. A kiosk draws the token at enrolment, writes it on the card and sends its hash in a
# card_link event; the central may issue one too. Revoked links answer 404 like unknown ones.
card_links = Table(
    "card_links",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("org_id", Integer, nullable=False),
    Column("card_ref", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    # the kiosk whose card_link event filed it (NULL: the owner's); replacing: it took the
    # place of an earlier link; limited: filed while the card held a customer's details,
    # which its page then does not show (central.links)
    Column("kiosk_id", String(64), nullable=True),
    Column("replacing", Boolean, nullable=False, server_default=false()),
    Column("limited", Boolean, nullable=False, server_default=false()),
    Index("ix_card_links_card_ref", "org_id", "card_ref"),
    Index("ix_card_links_kiosk", "org_id", "kiosk_id", "created_at"),
)

# A card's referral code, shown on its page for friends (not a secret: it only names the
# referrer, it opens nothing).
referral_codes = Table(
    "referral_codes",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("org_id", Integer, nullable=False),
    Column("card_ref", String(64), nullable=False),
    UniqueConstraint("org_id", "card_ref", name="referral_codes_by_card"),
)

# One referral per new card (its card_ref is the key); the referrer's count is a query on
# the index. The bonus events the central makes for both cards are in `events`.
referrals = Table(
    "referrals",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("card_ref", String(64), primary_key=True),
    Column("referrer_ref", String(64), nullable=False),
    Column("linked_at", String(40), nullable=False),
    Index("ix_referrals_referrer_ref", "org_id", "referrer_ref"),
)


# The Overview's figures, kept current at ingest (central.tallies): per shop, local day
# and hour. Shop 0 in card_activity stands for "any shop of the organisation".
hour_figures = Table(
    "hour_figures",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("shop_id", Integer, primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD in the program's time zone
    Column("hour", Integer, primary_key=True),  # 0..23, local
    # one writer's share (central.tallies.writer_shard): on PostgreSQL two uploads written
    # side by side add to rows of their own, summed at read; always 0 on SQLite
    Column("shard", Integer, primary_key=True, server_default="0"),
    Column("visits", Integer, nullable=False),
    Column("return_visits", Integer, nullable=False),
    Column("new_cards", Integer, nullable=False),
    Column("earned", Integer, nullable=False),
    Column("redeemed", Integer, nullable=False),
)

# Vouchers earned and redeemed per shop since the start: what a shop owes, without
# adding up every hour of its history.
shop_totals = Table(
    "shop_totals",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("shop_id", Integer, primary_key=True),
    Column("shard", Integer, primary_key=True, server_default="0"),  # as in hour_figures
    Column("earned", Integer, nullable=False),
    Column("redeemed", Integer, nullable=False),
)

card_activity = Table(
    "card_activity",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("shop_id", Integer, primary_key=True),
    Column("card_ref", String(64), primary_key=True),
    Column("last_day", String(10), nullable=False),  # of the card's latest visit there
    Index("card_activity_by_day", "org_id", "shop_id", "last_day"),
)

# Cards overdrawn now (a voucher redeemed offline at two kiosks), and the kiosk whose
# event overdrew each: the Kiosks page counts them without reading every card.
overdrawn_cards = Table(
    "overdrawn_cards",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("card_ref", String(64), primary_key=True),
    Column("kiosk_id", String(64), nullable=False),
)

# What each kiosk's till and the kiosk itself last reported (central.kioskreports).
till_hours = Table(
    "till_hours",
    metadata,
    Column("kiosk_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("hour", Integer, primary_key=True),
    Column("org_id", Integer, nullable=False),
    Column("shop_id", Integer, nullable=False),
    Column("tickets", Integer, nullable=False),
    Column("card_tickets", Integer, nullable=False),  # tickets a customer's card was tapped for
    Column("card_amount", BigInteger, nullable=False),  # cents, of those tickets
    Column("other_amount", BigInteger, nullable=False),  # cents, of the tickets with no card
    Index("till_hours_by_day", "org_id", "day"),
)

kiosk_reports = Table(
    "kiosk_reports",
    metadata,
    Column("kiosk_id", String(64), primary_key=True),
    Column("reported_at", String(40), nullable=False),
    Column("software_version", String(40), nullable=False),
    Column("program_version", String(40), nullable=True),
    Column("reader_online", Boolean, nullable=False),
    Column("clock_ok", Boolean, nullable=False),
    Column("pending", Integer, nullable=False),
)


# Dashboard accounts (central.accounts): an owner sees the organisation's shops, a manager
# one shop (`shop_id`). Only an Argon2 hash of the password is kept.
accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),  # trimmed, lower case
    Column("password_hash", String(200), nullable=False),
    Column("role", String(10), nullable=False),  # owner | manager
    Column("org_id", Integer, nullable=False),
    Column("shop_id", Integer, nullable=True),  # a manager's shop; null for an owner
    Column("created_at", String(40), nullable=False),
    Column("password_changed_at", String(40), nullable=False),
)

# Signed-in sessions: the cookie carries a random secret, only its hash is kept here with
# the session's form token (CSRF) and when it ends.
sessions = Table(
    "sessions",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("account_id", Integer, nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
)

# Failed sign-ins per account and per client address, for throttling (central.accounts).
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(300), primary_key=True),  # "account:EMAIL" or "address:IP"
    Column("failures", Integer, nullable=False),
    Column("first_at", String(40), nullable=False),
)


class DatabaseError(RuntimeError):
    """The database cannot be opened or was written by a newer server."""


def url_for(db: str) -> str:
    """A SQLAlchemy URL from what the user typed: a URL as is, anything else a SQLite path.

    A plain `postgresql://` goes to psycopg 3, the driver the `central` extra installs
    (SQLAlchemy 2.0 alone would pick psycopg2, which is not installed)."""
    for plain in ("postgresql://", "postgres://"):
        if db.startswith(plain):
            return "postgresql+psycopg://" + db.removeprefix(plain)
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def describe(db: str) -> str:
    """The database for a message: a SQLite path, or the URL's host and database (never
    its password)."""
    if "://" not in db:
        return db
    try:
        url = make_url(url_for(db))
    except ArgumentError:
        return "at an unreadable URL (use postgresql://USER:PASSWORD@HOST/DATABASE)"
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    where = url.host or str(url.query.get("host", "the local socket"))
    return f"{url.database or '?'} on {where}"


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below own transaction start (pysqlite would
        # otherwise begin lazily, too late to take the write lock up front).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: card states stay in memory
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the lock at BEGIN: a deferred one that reads first
        # could fail to upgrade when another writer got there in between.
        writing = conn.get_execution_options().get("central_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


@dataclass
class Database:
    """An engine plus what the store needs to know about its dialect."""

    engine: Engine
    is_sqlite: bool
    _write_lock: threading.Lock = field(default_factory=threading.Lock)

    def write_guard(self) -> AbstractContextManager[Any]:
        """SQLite has one writer at a time: queue writers here rather than in busy-retries."""
        return self._write_lock if self.is_sqlite else nullcontext()

    def flush_erased(self) -> None:
        """Copy the WAL into the main file and empty it, so erased bytes leave the disk."""
        if not self.is_sqlite:
            return
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            if raw is not None:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(db: str, *, create: bool = True, check: bool = True) -> Database:
    """Open the database named by a path or URL, creating the schema in an empty one.

    Raises DatabaseError with one line (naming the database, never a password) when it
    cannot be reached, is older than this server (run `kiosk-central migrate`) or newer.
    """
    from central import migrations  # Alembic is imported only where a database is opened

    url = url_for(db)
    try:
        # 16 connections at most per process. PostgreSQL keeps 12 open: its 4 writers and
        # the token checks of a burst of uploads stay within them, where 8 kept had a
        # backend started and ended every few hundred events (a new backend reads the
        # catalogue and prepares its statements again). SQLite keeps 8: each holds up to
        # 64 MiB of page cache (_tune_sqlite), and opening one costs little.
        kept = 8 if url.startswith("sqlite") else 12
        engine = create_engine(url, pool_size=kept, max_overflow=16 - kept,
                               pool_pre_ping=False)
    except (ArgumentError, ImportError, SQLAlchemyError) as error:
        raise DatabaseError(f"cannot open the database {describe(db)}: {error}") from None
    is_sqlite = engine.dialect.name == "sqlite"
    if is_sqlite:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            path = Path(url.removeprefix("sqlite:///"))
            if not path.parent.is_dir():
                raise DatabaseError(f"cannot open database {db!r}: no directory {path.parent}")
            # names, birthdays and token hashes: owner-only from its creation (SQLite gives
            # its -wal and -shm files the database file's mode)
            try:
                path.touch(mode=0o600, exist_ok=True)
            except OSError as error:
                raise DatabaseError(f"cannot open database {db!r}: {error.strerror}") from None
        _tune_sqlite(engine)
    database = Database(engine, is_sqlite)
    try:
        with engine.connect() as conn:
            state = migrations.state(conn)
        if state.empty and create:
            migrations.upgrade(database)
        elif check and not state.current:
            raise DatabaseError(state.problem(db))
    except SQLAlchemyError as error:
        engine.dispose()
        raise DatabaseError(f"cannot open the database {describe(db)}: {short(error)}") from None
    except DatabaseError:
        engine.dispose()
        raise
    return database


def short(error: SQLAlchemyError) -> str:
    """The driver's own first line of a database error (no SQL, no parameters)."""
    found = getattr(error, "orig", None) or error
    lines = str(found).strip().splitlines()
    return f"{found.__class__.__name__}: {lines[0] if lines else ''}"


def table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


@contextmanager
def writing(db: Database) -> Iterator[Connection]:
    """One write transaction: committed on leaving the block, rolled back on an error."""
    with db.write_guard(), db.engine.connect() as conn:
        conn.execution_options(central_write=True)
        with conn.begin():
            yield conn


@contextmanager
def reading(db: Database) -> Iterator[Connection]:
    """One read transaction (a consistent snapshot)."""
    with db.engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def erasing(db: Database) -> Iterator[Connection]:
    """A write transaction whose replaced or deleted bytes are overwritten with zeros.

    Only personal data needs it, and it slows the upload path, so it is switched on here
    alone (SQLite's secure_delete is a per-connection setting).
    """
    with writing(db) as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        try:
            yield conn
        finally:
            if db.is_sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete=OFF")


# --- the messages' outbox (central.messages) ------------------------------------------------

# One row per message, ever: its id is derived from (card, kind, occasion), so queuing the
# same occasion twice is a conflict, not a second e-mail. A row is claimed (status
# "sending") before it goes out and marked after; a row found still "sending" after a crash
# is never sent again (at most once: see central.messages.outbox).
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("org_id", Integer, nullable=False),
    Column("card_ref", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("occasion", String(100), nullable=False),
    Column("facts", Text, nullable=False),  # what the message says, as JSON
    Column("queued_at", String(40), nullable=False),
    Column("until", String(40), nullable=False),  # not sent after this (out of date)
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_try_at", String(40), nullable=True),
    Column("claimed_at", String(40), nullable=True),
    Column("sent_at", String(40), nullable=True),
    # hash of the token in the message's unsubscribe link (the token itself is only mailed)
    Column("unsubscribe_sha256", String(64), nullable=True, unique=True),
    Column("detail", String(200), nullable=True),  # why it failed, bounced or was skipped
    Index("outbox_by_status", "org_id", "status", "queued_at"),
    Index("outbox_by_card", "org_id", "card_ref"),
)

# Addresses a mail server refused for good (a permanent 5xx): never written to again. Only
# a hash of the address is kept; a customer who gives a new address is reachable again.
mail_bounces = Table(
    "mail_bounces",
    metadata,
    Column("address_sha256", String(64), primary_key=True),
    Column("bounced_at", String(40), nullable=False),
    Column("reason", String(200), nullable=False),
)

"""The central schema's history, as Alembic revisions (`versions/`), and how to apply it.

`kiosk-central migrate` upgrades a database to the newest revision in one transaction
(PostgreSQL and SQLite both undo DDL on rollback), so a failed upgrade leaves the
database as it was. Databases made before Alembic (their `meta.schema_version` is 1, and
they have no `alembic_version` table) are recognised as revision 0001.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from central.db import Database

FIRST = "0001"
LOCATION = "central:migrations"


def config(connection: Connection | None = None, location: str = LOCATION) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", location)
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _script(location: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(config(location=location))


def head(location: str = LOCATION) -> str:
    found = _script(location).get_current_head()
    assert found is not None
    return found


@dataclass(frozen=True)
class State:
    """Where a database stands against this server's revisions."""

    revision: str | None  # None: no schema at all
    head: str
    known: bool  # the revision is one of this server's

    @property
    def empty(self) -> bool:
        return self.revision is None

    @property
    def current(self) -> bool:
        return self.revision == self.head

    def problem(self, db: str) -> str:
        from central.db import describe

        if self.empty:
            return (f"the database {describe(db)} has no schema yet: "
                    f"run `kiosk-central migrate --db ...` to create it")
        if self.known:
            return (f"the database {describe(db)} has schema {self.revision}, this server "
                    f"needs {self.head}: back it up, then run `kiosk-central migrate --db ...`")
        return (f"the database {describe(db)} has schema {self.revision}, which this server "
                f"does not know (a newer kiosk-central wrote it): upgrade kiosk-central; "
                f"the database was not touched")


def state(conn: Connection, location: str = LOCATION) -> State:
    """The database's revision (0001 for a database from before Alembic)."""
    from central.db import table_names

    tables = table_names(conn)
    revision: str | None = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    elif "events" in tables:
        revision = FIRST
    script = _script(location)
    known = revision in {r.revision for r in script.walk_revisions()}
    return State(revision, head(location), known)


def upgrade(db: Database, location: str = LOCATION) -> tuple[str | None, str]:
    """Bring the database to the newest revision, all or nothing; (from, to) revisions.

    A database of an unknown (newer) revision is refused untouched."""
    from central.db import DatabaseError, table_names, writing

    with writing(db) as conn:
        found = state(conn, location)
        if found.revision is not None and not found.known:
            raise DatabaseError(found.problem(str(db.engine.url.render_as_string())))
        if found.revision == FIRST and "alembic_version" not in table_names(conn):
            command.stamp(config(conn, location), FIRST)
        command.upgrade(config(conn, location), "head")
    return found.revision, found.head

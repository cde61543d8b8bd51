"""The owner's program drafts and the record of who published which version.

A draft is a checked program the owner is looking at before publishing: its screens are
previewed from it, and publishing makes exactly that draft current (`store.set_program`,
the same path as `kiosk-central program set`). A draft's id is the hash of its content,
so the page can name it in a link and checking the same text twice keeps one row.
Each publication from the dashboard is kept with who published it and when.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from central import program as programs_mod
from central import store
from central.db import (
    Database,
    organisations,
    program_drafts,
    program_publications,
    programs,
    reading,
    writing,
)
from central.ingest import iso

KEPT_DRAFTS = 20  # per organisation: older drafts are dropped as new ones are checked
BY_COMMAND_LINE = ""  # published_by of a version set with `kiosk-central program set`


def draft_id(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def save_draft(db: Database, org: int, fields: dict[str, Any], who: str, now: datetime) -> str:
    """Keep checked program fields as a draft of `org`; returns the draft's id."""
    found = draft_id(fields)
    body = json.dumps(fields, sort_keys=True)
    with writing(db) as conn:
        key = (program_drafts.c.org_id == org, program_drafts.c.id == found)
        conn.execute(delete(program_drafts).where(*key))
        conn.execute(insert(program_drafts).values(
            org_id=org, id=found, body=body, saved_by=who, saved_at=iso(now)))
        old = select(program_drafts.c.id).where(program_drafts.c.org_id == org).order_by(
            program_drafts.c.saved_at.desc(), program_drafts.c.id).offset(KEPT_DRAFTS)
        stale = [row.id for row in conn.execute(old)]
        if stale:
            conn.execute(delete(program_drafts).where(
                program_drafts.c.org_id == org, program_drafts.c.id.in_(stale)))
    return found


def draft(db: Database, org: int, wanted: str) -> dict[str, Any] | None:
    """The fields of one of `org`'s drafts, or None (unknown, dropped, or another's)."""
    with reading(db) as conn:
        row = conn.execute(select(program_drafts.c.body).where(
            program_drafts.c.org_id == org, program_drafts.c.id == wanted)).first()
    return None if row is None else dict(json.loads(row.body))


def served(db: Database, org: int, fields: dict[str, Any]) -> dict[str, Any]:
    """A draft as kiosks are served it after the organisation's program in use: with the
    rewards whose vouchers cards still hold and how a switch of unit converts (as
    `kiosk-central program set` does). programs_mod.BadProgram when a switch says not how."""
    current = store.current_program(db, org)
    return programs_mod.following(None if current is None else current[1], fields)


def publish(db: Database, org: int, wanted: str, who: str, now: datetime) -> dict[str, Any]:
    """Make a draft the organisation's program, picked up by kiosks at their next sync,
    recording who did it. Raises store.StoreError when the draft is gone or its version
    names another program, BadProgram when it cannot follow the program in use."""
    fields = draft(db, org, wanted)
    if fields is None:
        raise store.StoreError("this draft is no longer kept: check the program again")
    fields = served(db, org, fields)
    if not store.set_program(db, fields, now, org=_org_name(db, org)):
        return fields  # already the current program: nothing new was published
    with writing(db) as conn:
        conn.execute(insert(program_publications).values(
            org_id=org, version=fields["version"], published_by=who, published_at=iso(now)))
    return fields


@dataclass(frozen=True)
class Version:
    """A program kiosks ran or run: its tag, when it was set, by whom ("" from the CLI)."""

    number: int  # the row's number: a tag re-issued later is a new row
    version: str
    set_at: str
    published_by: str
    current: bool
    fields: dict[str, Any]


def _org_name(db: Database, org: int) -> str:
    with reading(db) as conn:
        return str(conn.execute(
            select(organisations.c.name).where(organisations.c.id == org)).scalar_one())


def _organisations(org: int) -> tuple[Any, ...]:
    """The organisation's own programs (a shop's own program is not the owner's page's)."""
    return (programs.c.org_id == org, programs.c.shop_id.is_(None))


def history(db: Database, org: int, limit: int = 50) -> list[Version]:
    """The organisation's programs set, newest first; the first is the one kiosks run now."""
    with reading(db) as conn:
        rows = conn.execute(select(programs.c.n, programs.c.version, programs.c.set_at,
                                   programs.c.body).where(*_organisations(org))
                            .order_by(programs.c.n.desc()).limit(limit)).all()
        who: dict[tuple[str, str], str] = {}
        for row in conn.execute(select(program_publications).where(
                program_publications.c.org_id == org)):
            who[(row.version, row.published_at)] = row.published_by
    return [Version(row.n, row.version, row.set_at, who.get((row.version, row.set_at), BY_COMMAND_LINE),
                    index == 0, dict(json.loads(row.body)))
            for index, row in enumerate(rows)]


def version(db: Database, org: int, number: int) -> dict[str, Any] | None:
    """The fields of a program set earlier (its row's number, as `history` gives it)."""
    with reading(db) as conn:
        row = conn.execute(select(programs.c.body).where(
            programs.c.n == number, *_organisations(org))).first()
    return None if row is None else dict(json.loads(row.body))
